package workshop

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/coupons"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/packages"
	"github.com/ownerhub/ownerhub/models/payments"
	"github.com/ownerhub/ownerhub/models/referrals"
	"github.com/ownerhub/ownerhub/models/wallet"
)

// Service runs the workshop's operations on a database.
//
// Every staff write runs in one transaction (models.DB.WithTx, so it joins a
// transaction already in ctx): it locks the order row, checks the caller's
// role and store scope and the optional expected version, changes the order,
// bumps the order's Version and the store's board version, records a
// timeline event for every status change, and publishes BoardTopic and
// OrderTopic (delivered after commit).
type Service struct {
	DB *models.DB
	// Clock is the service's clock (nil: the real time). Tests and the
	// demo data move it.
	Clock models.Clock
	// Wallet is the membership wallet settlements pay from and earn points
	// in; nil leaves WALLET and POINTS PAYMENT_METHOD_UNAVAILABLE and earns
	// no points.
	Wallet *wallet.Service
	// Directory reads owners, vehicles and stores (nil: one on DB and
	// Clock).
	Directory *directory.Service
	// Inbox takes the notifications to owners (nil: one on DB and Clock).
	Inbox *inbox.Service
	// Payments is online payment: owners pay bills through it
	// (BillPurpose), and the counter does not settle a bill being paid
	// online. Nil: no online payment.
	Payments *payments.Service
	// Coupons redeems the owner's coupon a settlement names (nil: a
	// settlement naming one is COUPON_NOT_APPLICABLE).
	Coupons *coupons.Service
	// Referrals is told of every settlement on which money was paid, in
	// its transaction: the owner's first paid visit may reward their
	// referral (nil: no referrals; docs/referrals.md).
	Referrals *referrals.Service
	// Packages consumes the owner's service package a settlement names
	// (nil: a settlement naming one is PACKAGE_NOT_APPLICABLE).
	Packages *packages.Service
}

// BoardTopic is the realtime topic of a store's board.
func BoardTopic(storeID uuid.UUID) string { return "board:" + storeID.String() }

// OrderTopic is the realtime topic of one order.
func OrderTopic(orderID uuid.UUID) string { return "order:" + orderID.String() }

// Who may do what (docs/authorization.md), one list per operation; GROUP_ADMIN
// holds every role. The GraphQL schema's @auth roles are generated from
// these (docs/architecture.md, "Role lists and the schema's @auth").
var (
	// rolesOpen may open orders (Open), and only they may be an order's advisor.
	rolesOpen = []auth.Role{auth.RoleAdvisor, auth.RoleManager}
	// rolesAddItem may add items (AddItem); a technician only on their own jobs.
	rolesAddItem = []auth.Role{auth.RoleAdvisor, auth.RoleForeman, auth.RoleTechnician, auth.RoleManager}
	// rolesAssign (Assign) and rolesRemoveItem (RemoveItem) dispatch work:
	// one list, rolesDispatch, which also lifts a technician's own-jobs limit.
	rolesAssign     = rolesDispatch
	rolesRemoveItem = rolesDispatch
	// rolesMove may move orders (Move); a technician only their own jobs.
	rolesMove = []auth.Role{auth.RoleAdvisor, auth.RoleForeman, auth.RoleTechnician, auth.RoleManager}
	// rolesSettle may settle orders (Settle).
	rolesSettle = []auth.Role{auth.RoleAdvisor, auth.RoleCashier, auth.RoleManager}
	// rolesScreenTokens (ScreenTokens), rolesIssueScreenToken
	// (IssueScreenToken) and rolesRevokeScreenToken (RevokeScreenToken)
	// administer a store's screens: one list, rolesScreens.
	rolesScreenTokens      = rolesScreens
	rolesIssueScreenToken  = rolesScreens
	rolesRevokeScreenToken = rolesScreens

	// rolesApprovalDeliveries may see how an order's approval requests
	// reached the owner (ApprovalDeliveriesVisible): who asks the owner
	// and follows up when a request did not arrive.
	rolesApprovalDeliveries = []auth.Role{auth.RoleAdvisor, auth.RoleForeman, auth.RoleManager}

	rolesDispatch = []auth.Role{auth.RoleAdvisor, auth.RoleForeman, auth.RoleManager}
	rolesScreens  = []auth.Role{auth.RoleManager}
)

// technicianOnly reports whether the actor acts as a technician: they may
// touch only the orders assigned to them.
func technicianOnly(actor *auth.Principal) bool {
	return actor.HasAnyRole(auth.RoleTechnician) && !actor.HasAnyRole(rolesDispatch...)
}

// Actor kinds of timeline events.
const (
	ActorOwner  = "OWNER"
	ActorStaff  = "STAFF"
	ActorSystem = "SYSTEM"
)

// lockOrder reads and locks the order q selects, within the actor's stores.
// An order of another store is not found, so ids reveal nothing.
func (s *Service) lockOrder(ctx context.Context, actor *auth.Principal, nf *models.Error, where string, args ...any) (*RepairOrder, error) {
	q, _ := models.StoreScope(s.DB.Conn(ctx).Where(where, args...), actor, nil, "store_id")
	var o RepairOrder
	if err := s.DB.ForUpdate(q).Take(&o).Error; err != nil {
		return nil, models.NotFoundAs(err, nf)
	}
	return &o, nil
}

// change is one write to one locked order.
type change struct {
	s     *Service
	ctx   context.Context
	actor *auth.Principal
	now   time.Time
	o     *RepairOrder
	items []*Item // loaded on first use
	// online is the online payment settling the order (a bill paid
	// online), nil for staff at the counter.
	online *uuid.UUID
}

// staffChange runs fn on the order selected by where, locked, for staff
// holding one of roles in the order's store, then saves it.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (role), NOT_FOUND (absent or another
// store's), CONFLICT (expectedVersion is not the current version), and
// whatever fn returns.
func (s *Service) staffChange(ctx context.Context, actor *auth.Principal, roles []auth.Role, nf *models.Error,
	expectedVersion *int, fn func(c *change) error, where string, args ...any) (*RepairOrder, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	if !actor.HasAnyRole(roles...) {
		return nil, models.ErrForbidden
	}
	return s.write(ctx, actor, expectedVersion, func(ctx context.Context) (*RepairOrder, error) {
		return s.lockOrder(ctx, actor, nf, where, args...)
	}, fn)
}

// write runs lock, the version check, fn and save in one transaction.
func (s *Service) write(ctx context.Context, actor *auth.Principal, expectedVersion *int,
	lock func(ctx context.Context) (*RepairOrder, error), fn func(c *change) error) (*RepairOrder, error) {
	var out *RepairOrder
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		o, err := lock(ctx)
		if err != nil {
			return err
		}
		if expectedVersion != nil && *expectedVersion != o.Version {
			return models.ErrConflict.On("expectedVersion")
		}
		c := &change{s: s, ctx: ctx, actor: actor, now: s.Clock.Now(ctx), o: o}
		if err := fn(c); err != nil {
			return err
		}
		if err := c.save(); err != nil {
			return err
		}
		out = c.o
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// save writes the order with its version bumped, bumps the store's board
// and announces both.
func (c *change) save() error {
	c.o.Version++
	c.o.UpdatedAt = c.now
	// Without hooks GORM keeps UpdatedAt as set (the service's clock).
	if err := c.s.DB.Conn(c.ctx).Session(&gorm.Session{SkipHooks: true}).Save(c.o).Error; err != nil {
		return err
	}
	return c.s.changed(c.ctx, c.o, c.now)
}

// changed bumps the store's board version and announces the order's and the
// board's topics (delivered to subscribers when the transaction commits).
func (s *Service) changed(ctx context.Context, o *RepairOrder, now time.Time) error {
	err := s.DB.Conn(ctx).Exec(`INSERT INTO store_boards (store_id, version, updated_at) VALUES (?, 1, ?)
		ON CONFLICT (store_id) DO UPDATE SET version = store_boards.version + 1, updated_at = excluded.updated_at`,
		o.StoreID, now).Error
	if err != nil {
		return err
	}
	if err := s.DB.Publish(ctx, BoardTopic(o.StoreID)); err != nil {
		return err
	}
	return s.DB.Publish(ctx, OrderTopic(o.ID))
}

// loadItems returns the order's items by id, reading them once.
func (c *change) loadItems() ([]*Item, error) {
	if c.items != nil {
		return c.items, nil
	}
	items := []*Item{}
	if err := c.s.DB.Conn(c.ctx).Where("order_id = ?", c.o.ID).Order("id ASC").Find(&items).Error; err != nil {
		return nil, err
	}
	c.items = items
	return items, nil
}

// pending counts the order's PENDING items.
func (c *change) pending() (int, error) {
	items, err := c.loadItems()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, it := range items {
		if it.Approval == Pending {
			n++
		}
	}
	return n, nil
}

// ownJob refuses a technician acting on an order not assigned to them.
func (c *change) ownJob() error {
	if technicianOnly(c.actor) && (c.o.TechnicianID == nil || *c.o.TechnicianID != c.actor.ID) {
		return ErrNotYourJob
	}
	return nil
}

// open refuses changes to a delivered or cancelled order.
func (c *change) open() error {
	if c.o.Status.Closed() {
		return ErrOrderClosed
	}
	return nil
}

// setStatus moves the order, records the move on its timeline and applies
// what entering the new status means: work starts on agreed items in
// IN_PROGRESS, the owner hears READY_FOR_PICKUP, DELIVERED fixes the totals
// of an order delivered without settlement, CANCELLED keeps the reason.
// The caller has checked the move is allowed.
func (c *change) setStatus(to Status, note, actorKind string) error {
	from := c.o.Status
	ev := &Event{
		ID: models.NewID(), OrderID: c.o.ID, FromStatus: &from, ToStatus: to,
		ActorKind: actorKind, ActorID: &c.actor.ID, Note: note, CreatedAt: c.now,
	}
	if err := c.s.DB.Conn(c.ctx).Create(ev).Error; err != nil {
		return err
	}
	c.o.Status, c.o.StatusChangedAt = to, c.now
	c.o.ResumeStatus = nil
	switch to {
	case AwaitingApproval:
		c.o.ResumeStatus = &from
	case InProgress:
		return c.startWork()
	case ReadyForPickup:
		return c.notifyReady()
	case Delivered:
		c.o.DeliveredAt = &c.now
		if c.o.SettledAt == nil {
			items, err := c.loadItems()
			if err != nil {
				return err
			}
			t := Totals(items, nil)
			c.o.TotalFen, c.o.WarrantyFen, c.o.PayableFen = t.TotalFen, t.WarrantyFen, t.PayableFen
		}
	case Cancelled:
		c.o.CancelReason = &note
	}
	return nil
}

// startWork stamps work_started_at on the agreed items whose work has not
// started: the order is in progress, so they are being worked on.
func (c *change) startWork() error {
	err := c.s.DB.Conn(c.ctx).Model(&Item{}).
		Where("order_id = ? AND work_started_at IS NULL AND approval IN ?", c.o.ID, []Approval{PreApproved, Approved}).
		Update("work_started_at", c.now).Error
	if err != nil {
		return err
	}
	for _, it := range c.items {
		if it.WorkStartedAt == nil && (it.Approval == PreApproved || it.Approval == Approved) {
			it.WorkStartedAt = &c.now
		}
	}
	return nil
}

// resume returns an order waiting for approval to the status it came from.
func (c *change) resume(note, actorKind string) error {
	to := InProgress
	if c.o.ResumeStatus != nil {
		to = *c.o.ResumeStatus
	}
	return c.setStatus(to, note, actorKind)
}

// notify puts a notification in the order's owner's inbox (once per dedupe key).
func (c *change) notify(kind, title, body, dedupe string) error {
	_, err := c.s.inbox().CreateNotification(c.ctx, &inbox.Notification{
		OwnerID: c.o.OwnerID, Kind: kind, Title: title, Body: body,
		Link: OrderLink(c.o.ID), DedupeKey: &dedupe, CreatedAt: c.now,
		VehicleID: &c.o.VehicleID, StoreID: &c.o.StoreID,
	})
	return err
}

// Notification kinds the workshop sends.
const (
	NotifyApprovalNeeded = "APPROVAL_NEEDED"
	NotifyReadyForPickup = "READY_FOR_PICKUP"
)

func (c *change) notifyReady() error {
	return c.notify(NotifyReadyForPickup, "您的爱车已可取车",
		"工单 "+c.o.Number+" 已完工并通过质检，欢迎到店取车。", "ready:"+c.o.ID.String())
}

// staffQualifies reports whether a staff member is active, holds one of
// roles and works at the store. With adminQualifies, GROUP_ADMIN holds
// every role at every store, as auth.Principal says.
func (s *Service) staffQualifies(ctx context.Context, staffID, storeID uuid.UUID, roles []auth.Role, adminQualifies bool) (bool, error) {
	if roles == nil {
		roles = []auth.Role{}
	}
	_, ok, err := s.directory().StaffAtStore(ctx, staffID, storeID, roles, adminQualifies)
	return ok, err
}

// OrderOverdue reports whether o is past its promised time now (Overdue at
// the service's clock), so that the edge reads no clock.
func (s *Service) OrderOverdue(ctx context.Context, o *RepairOrder) bool {
	return Overdue(o, s.Clock.Now(ctx))
}

// OrderMinutesInStatus is how long o has been in its status now
// (MinutesInStatus at the service's clock).
func (s *Service) OrderMinutesInStatus(ctx context.Context, o *RepairOrder) int {
	return MinutesInStatus(o, s.Clock.Now(ctx))
}

// directory is the wired Directory, or one on the service's database.
func (s *Service) directory() *directory.Service { return s.Directory.Or(s.DB, s.Clock) }

// inbox is the wired Inbox, or one on the service's database.
func (s *Service) inbox() *inbox.Service { return s.Inbox.Or(s.DB, s.Clock) }

// RolesOpen is the list rolesOpen, copied: a caller cannot change the rule.
func RolesOpen() []auth.Role { return slices.Clone(rolesOpen) }

// RolesAddItem is the list rolesAddItem, copied: a caller cannot change the rule.
func RolesAddItem() []auth.Role { return slices.Clone(rolesAddItem) }

// RolesAssign is the list rolesAssign, copied: a caller cannot change the rule.
func RolesAssign() []auth.Role { return slices.Clone(rolesAssign) }

// RolesRemoveItem is the list rolesRemoveItem, copied: a caller cannot change the rule.
func RolesRemoveItem() []auth.Role { return slices.Clone(rolesRemoveItem) }

// RolesMove is the list rolesMove, copied: a caller cannot change the rule.
func RolesMove() []auth.Role { return slices.Clone(rolesMove) }

// RolesSettle is the list rolesSettle, copied: a caller cannot change the rule.
func RolesSettle() []auth.Role { return slices.Clone(rolesSettle) }

// RolesApprovalDeliveries is the list rolesApprovalDeliveries, copied: a
// caller cannot change the rule.
func RolesApprovalDeliveries() []auth.Role { return slices.Clone(rolesApprovalDeliveries) }

// RolesScreenTokens is the list rolesScreenTokens, copied: a caller cannot change the rule.
func RolesScreenTokens() []auth.Role { return slices.Clone(rolesScreenTokens) }

// RolesIssueScreenToken is the list rolesIssueScreenToken, copied: a caller cannot change the rule.
func RolesIssueScreenToken() []auth.Role { return slices.Clone(rolesIssueScreenToken) }

// RolesRevokeScreenToken is the list rolesRevokeScreenToken, copied: a caller cannot change the rule.
func RolesRevokeScreenToken() []auth.Role { return slices.Clone(rolesRevokeScreenToken) }
