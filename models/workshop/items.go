package workshop

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
)

// AddItem adds a line to an order. Without needsApproval the item is agreed
// (PRE_APPROVED) and, if the order is in progress, its work starts at once.
// With needsApproval it is extra work found during the job: PENDING, with
// the time it was requested; the order waits in AWAITING_APPROVAL (entered
// from DIAGNOSING or IN_PROGRESS, or already there) and the owner is told.
//
// Staff with ADVISOR, FOREMAN or MANAGER add to any order of their store; a
// TECHNICIAN only to their own jobs, and only items that need the owner's
// approval (a technician cannot bill work the owner did not agree to).
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, CONFLICT, NOT_YOUR_JOB,
// ORDER_CLOSED, ALREADY_SETTLED (the bill is fixed), NEEDS_APPROVAL (work
// agreed without the owner after reception), INVALID_TRANSITION
// (extra work requested in a status that cannot wait for approval),
// INVALID_ARGUMENT ("item.kind|code|description|quantity|unitPriceFen").
func (s *Service) AddItem(ctx context.Context, actor *auth.Principal, orderID uuid.UUID, item ItemInput, needsApproval bool, expectedVersion *int) (*RepairOrder, error) {
	item, err := checkItem("item", item)
	if err != nil {
		return nil, err
	}
	if actor != nil && technicianOnly(actor) && !needsApproval {
		return nil, models.E(models.CodeForbidden, "技师追加的项目须经车主确认", "technicians add items for the owner's approval only").On("needsApproval")
	}
	return s.staffChange(ctx, actor, rolesAddItem, errOrderNotFound, expectedVersion, func(c *change) error {
		if err := c.ownJob(); err != nil {
			return err
		}
		if err := c.open(); err != nil {
			return err
		}
		if c.o.SettledAt != nil {
			return ErrAlreadySettled
		}
		if !needsApproval {
			// Agreed at reception only: once the car is in the workshop,
			// anything more is billed only with the owner's yes.
			if c.o.Status != CheckedIn {
				return models.E(CodeNeedsApproval, "车辆已进入车间，追加项目须经车主确认",
					"after reception, added work needs the owner's approval (needsApproval: true)").On("needsApproval")
			}
			it := newItem(c.o.ID, item, PreApproved, c.actor.ID, c.now)
			if c.o.Status == InProgress {
				it.WorkStartedAt = &c.now
			}
			return c.s.DB.Conn(c.ctx).Create(it).Error
		}
		if !CanAwaitApproval(c.o.Status) {
			return models.Ef(CodeInvalidTransition, "只有诊断或维修中的工单可以追加待确认项目",
				"extra work can be requested while diagnosing or in progress, not in %s", c.o.Status)
		}
		it := newItem(c.o.ID, item, Pending, c.actor.ID, c.now)
		it.RequestedAt = &c.now
		if err := c.s.DB.Conn(c.ctx).Create(it).Error; err != nil {
			return err
		}
		if c.o.Status != AwaitingApproval {
			if err := c.setStatus(AwaitingApproval, "追加项目待车主确认："+it.Description, ActorStaff); err != nil {
				return err
			}
		}
		// save bumps the version once: the dedupe key names the version
		// this request creates, one notification per request.
		return c.notify(NotifyApprovalNeeded, "需要您确认追加项目",
			fmt.Sprintf("工单 %s：建议增加「%s」%s，请在 App 中确认或拒绝。", c.o.Number, it.Description, models.Yuan(it.AmountFen)),
			fmt.Sprintf("approval:%s:%d", c.o.ID, c.o.Version+1))
	}, "id = ?", orderID)
}

// RemoveItem deletes an item whose work has not started and that the owner
// has not decided on (declined advice is kept as a recommendation). When it
// was the last PENDING item of an order waiting for approval, the order
// returns to the status it came from. Staff with ADVISOR, FOREMAN or MANAGER.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND (item absent or of another
// store's order), CONFLICT, ORDER_CLOSED, ALREADY_SETTLED, ITEM_WORK_STARTED,
// ITEM_DECIDED.
func (s *Service) RemoveItem(ctx context.Context, actor *auth.Principal, itemID uuid.UUID, expectedVersion *int) (*RepairOrder, error) {
	return s.staffChange(ctx, actor, rolesRemoveItem, errItemNotFound, expectedVersion, func(c *change) error {
		if err := c.open(); err != nil {
			return err
		}
		if c.o.SettledAt != nil {
			return ErrAlreadySettled
		}
		items, err := c.loadItems()
		if err != nil {
			return err
		}
		i := slices.IndexFunc(items, func(it *Item) bool { return it.ID == itemID })
		if i < 0 {
			return errItemNotFound
		}
		it := items[i]
		switch {
		case it.WorkStartedAt != nil:
			return ErrItemWorkStarted
		case it.Approval == Approved || it.Approval == Declined:
			return ErrItemDecided
		}
		if err := c.s.DB.Conn(c.ctx).Delete(&Item{}, "id = ?", it.ID).Error; err != nil {
			return err
		}
		c.items = slices.Delete(items, i, i+1)
		if c.o.Status == AwaitingApproval {
			n, err := c.pending()
			if err != nil {
				return err
			}
			if n == 0 {
				return c.resume("追加项目已撤回："+it.Description, ActorStaff)
			}
		}
		return nil
	}, "id = (SELECT i.order_id FROM repair_order_items i WHERE i.id = ?)", itemID)
}

// Decision is the owner's answer about one PENDING item.
type Decision struct {
	ItemID  uuid.UUID
	Approve bool
}

// Decide records the owner's decisions on PENDING items of their order, each
// with its time (and the time the owner saw it, if not stamped yet). When no
// item is pending any more, the order returns to the status it came from,
// recorded on the timeline as the owner's move; work on approved items
// starts if that status is IN_PROGRESS. Declined items are kept.
//
// Only the owner who brought the car in decides.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (not an owner), NOT_FOUND (not the
// caller's order), INVALID_ARGUMENT ("decisions", "decisions[i].itemId":
// none or a duplicate), ORDER_CLOSED, ITEM_NOT_PENDING
// ("decisions[i].itemId": decided, agreed at check-in, or not on this order).
func (s *Service) Decide(ctx context.Context, actor *auth.Principal, orderID uuid.UUID, decisions []Decision) (*RepairOrder, error) {
	switch {
	case actor == nil:
		return nil, models.ErrUnauthenticated
	case !actor.IsOwner():
		return nil, models.ErrForbidden
	}
	if err := checkDecisions(decisions); err != nil {
		return nil, err
	}
	return s.write(ctx, actor, nil, s.lockOwned(orderID, actor.ID), func(c *change) error {
		if err := c.open(); err != nil {
			return err
		}
		items, err := c.loadItems()
		if err != nil {
			return err
		}
		approve, decline, err := applyDecisions(items, decisions, c.now)
		if err != nil {
			return err
		}
		if err := c.saveDecisions(Approved, approve); err != nil {
			return err
		}
		if err := c.saveDecisions(Declined, decline); err != nil {
			return err
		}
		n, err := c.pending()
		if err != nil {
			return err
		}
		if n == 0 && c.o.Status == AwaitingApproval {
			return c.resume(fmt.Sprintf("车主已确认追加项目：同意 %d 项，拒绝 %d 项", len(approve), len(decline)), ActorOwner)
		}
		return nil
	})
}

// checkDecisions refuses a request with no decisions, too many, or one item
// decided twice.
func checkDecisions(decisions []Decision) error {
	switch {
	case len(decisions) == 0:
		return models.Invalid("decisions", "请至少确认一个项目", "decisions is empty")
	case len(decisions) > MaxDecisions:
		return models.Ef(models.CodeInvalidArgument, "项目过多", "at most %d decisions", MaxDecisions).On("decisions")
	}
	seen := map[uuid.UUID]bool{}
	for i, d := range decisions {
		if seen[d.ItemID] {
			return models.Invalid(fmt.Sprintf("decisions[%d].itemId", i), "同一项目只能确认一次", "the item is decided twice")
		}
		seen[d.ItemID] = true
	}
	return nil
}

// lockOwned locks the order for update if the owner brought the car in; any
// other order is not found.
func (s *Service) lockOwned(orderID, ownerID uuid.UUID) func(context.Context) (*RepairOrder, error) {
	return func(ctx context.Context) (*RepairOrder, error) {
		var o RepairOrder
		err := s.DB.ForUpdate(s.DB.Conn(ctx).Where("id = ? AND owner_id = ?", orderID, ownerID)).Take(&o).Error
		if err != nil {
			return nil, models.NotFoundAs(err, errOrderNotFound)
		}
		return &o, nil
	}
}

// applyDecisions records the decisions on the order's items (approval,
// decision time, and seen time if not stamped yet) and returns the ids
// approved and declined, in request order. Every decided item must be on
// the order and PENDING.
func applyDecisions(items []*Item, decisions []Decision, now time.Time) (approve, decline []uuid.UUID, err error) {
	byID := make(map[uuid.UUID]*Item, len(items))
	for _, it := range items {
		byID[it.ID] = it
	}
	for i, d := range decisions {
		it := byID[d.ItemID]
		if it == nil || it.Approval != Pending {
			return nil, nil, ErrItemNotPending.On(fmt.Sprintf("decisions[%d].itemId", i))
		}
		it.DecidedAt = &now
		if it.SeenAt == nil {
			it.SeenAt = &now
		}
		if d.Approve {
			it.Approval = Approved
			approve = append(approve, it.ID)
		} else {
			it.Approval = Declined
			decline = append(decline, it.ID)
		}
	}
	return approve, decline, nil
}

// saveDecisions writes approval a on the still PENDING items ids.
func (c *change) saveDecisions(a Approval, ids []uuid.UUID) error {
	if len(ids) == 0 {
		return nil
	}
	return c.s.DB.Conn(c.ctx).Exec(`UPDATE repair_order_items SET approval = ?, decided_at = ?, seen_at = COALESCE(seen_at, ?)
		WHERE id IN ? AND approval = ?`, a, c.now, c.now, ids, Pending).Error
}
