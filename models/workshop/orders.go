package workshop

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/validate"
)

// OpenInput checks a car in.
type OpenInput struct {
	StoreID   uuid.UUID
	Vehicle   string // plate or VIN
	MileageIn int
	Kind      Kind
	Concern   string
	// PromisedAt is when the car should be ready; not in the past.
	PromisedAt *time.Time
	// AdvisorID defaults to the caller.
	AdvisorID *uuid.UUID
	// Items agreed at check-in (PRE_APPROVED).
	Items                []ItemInput
	FirstFreeMaintenance bool
	AppointmentID        *uuid.UUID
	// IdempotencyKey, when set, makes a retry answer the order the first
	// request opened instead of VEHICLE_IN_WORKSHOP.
	IdempotencyKey string
}

// ItemInput is a line to add to an order.
type ItemInput struct {
	Kind          ItemKind
	Code          string
	Description   string
	QuantityMilli int   // thousandths: 1500 = 1.5
	UnitPriceFen  int64 // per whole unit
	Warranty      bool
}

// check validates the input (except what needs the database) and returns it
// normalized.
func (in OpenInput) check(now time.Time) (OpenInput, error) {
	if !in.Kind.Valid() {
		return in, models.Invalid("kind", "维修类型无效", "unknown repair order kind")
	}
	if in.MileageIn < 0 || in.MileageIn > models.MaxMileageKm {
		return in, models.Ef(models.CodeInvalidArgument, "进厂里程超出允许范围",
			"mileageIn must be between 0 and %d", models.MaxMileageKm).On("mileageIn")
	}
	var err error
	if in.Concern, err = text("concern", "客户描述", in.Concern, 0, MaxConcernRunes, true); err != nil {
		return in, err
	}
	if in.PromisedAt != nil {
		p := in.PromisedAt.UTC().Truncate(time.Microsecond)
		if p.Before(now) {
			return in, models.Invalid("promisedAt", "预计交车时间不能早于现在", "promisedAt is in the past")
		}
		if p.After(now.Add(MaxPromiseAhead)) {
			return in, models.Invalid("promisedAt", "预计交车时间过远", "promisedAt is more than a year ahead")
		}
		in.PromisedAt = &p
	}
	if len(in.Items) > MaxItemsPerRequest {
		return in, models.Ef(models.CodeInvalidArgument, "项目过多", "at most %d items", MaxItemsPerRequest).On("items")
	}
	items := make([]ItemInput, len(in.Items))
	for i, it := range in.Items {
		if items[i], err = checkItem(fmt.Sprintf("items[%d]", i), it); err != nil {
			return in, err
		}
	}
	in.Items = items
	return in, nil
}

// Open checks a vehicle in: it opens a repair order in CHECKED_IN with the
// items agreed at reception (PRE_APPROVED) and the first timeline event.
// Staff with ADVISOR or MANAGER open orders at a store they work for. The
// vehicle is found by plate or VIN anywhere in the group (owners belong to
// the group, not a store). The mileage in becomes the vehicle's last reading
// and may not be lower than it. The advisor (default: the caller) must be an
// active ADVISOR or MANAGER of the store.
//
// The number is <store code>-<yyyymmdd in the store's zone>-<seq>, the
// sequence taken by one upsert of repair_order_sequences, so numbers are
// unique however many orders open at once. A vehicle has one open order at a
// time; the partial unique index on repair_orders decides under concurrency.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (role, or a store the caller does not
// work for), NOT_FOUND ("storeId"; "vehicle": no vehicle with that plate or
// VIN), INVALID_ARGUMENT ("vehicle", "kind", "mileageIn", "concern",
// "promisedAt", "advisorId", "items[i].kind|code|description|quantity|
// unitPriceFen", "idempotencyKey"), VEHICLE_IN_WORKSHOP ("vehicle"),
// MILEAGE_DECREASED ("mileageIn"), IDEMPOTENCY_KEY_REUSED.
func (s *Service) Open(ctx context.Context, actor *auth.Principal, in OpenInput) (*RepairOrder, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	if !actor.HasAnyRole(rolesOpen...) {
		return nil, models.ErrForbidden
	}
	if !actor.CanAccessStore(in.StoreID) {
		return nil, errNotYourStore.On("storeId")
	}
	in, err := in.check(s.Clock.Now(ctx))
	if err != nil {
		return nil, err
	}
	plate, vin, err := vehicleKey(in.Vehicle)
	if err != nil {
		return nil, err
	}
	advisorID := actor.ID
	if in.AdvisorID != nil && *in.AdvisorID != uuid.Nil {
		advisorID = *in.AdvisorID
	}
	key := in.IdempotencyKey
	in.IdempotencyKey = ""
	id, err := models.Idempotent(ctx, s.DB.WithClock(s.Clock), models.IdempotencyScope(actor), key, "workshop.open", in, false,
		func(ctx context.Context) (uuid.UUID, error) { return s.open(ctx, actor, in, plate, vin, advisorID) })
	if err != nil {
		return nil, err
	}
	return s.order(ctx, id)
}

func (s *Service) open(ctx context.Context, actor *auth.Principal, in OpenInput, plate, vin string, advisorID uuid.UUID) (uuid.UUID, error) {
	var out uuid.UUID
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		now := s.Clock.Now(ctx)
		store, err := s.openingStore(ctx, in.StoreID, advisorID)
		if err != nil {
			return err
		}
		v, err := s.checkInVehicle(ctx, plate, vin, in.MileageIn, now)
		if err != nil {
			return err
		}
		number, err := s.nextNumber(ctx, store, now)
		if err != nil {
			return err
		}
		o := &RepairOrder{
			ID: models.NewID(), Number: number,
			StoreID: store.ID, VehicleID: v.ID, OwnerID: v.OwnerID, AdvisorID: advisorID,
			Kind: in.Kind, Concern: in.Concern, MileageIn: in.MileageIn, PromisedAt: in.PromisedAt,
			Status: CheckedIn, StatusChangedAt: now, Version: 1, AppointmentID: in.AppointmentID,
			FirstFreeMaintenance: in.FirstFreeMaintenance, CreatedAt: now, UpdatedAt: now,
		}
		if err := s.createOpened(ctx, actor, o, in.Items, now); err != nil {
			return err
		}
		out = o.ID
		return nil
	})
	return out, err
}

// openingStore reads the store an order opens at and checks the advisor is
// an active ADVISOR or MANAGER there.
func (s *Service) openingStore(ctx context.Context, storeID, advisorID uuid.UUID) (*models.Store, error) {
	store, err := s.directory().StoreRow(ctx, storeID)
	if err != nil {
		return nil, models.NotFoundAs(err, errStoreNotFound.On("storeId"))
	}
	ok, err := s.staffQualifies(ctx, advisorID, store.ID, rolesOpen, true)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, models.Invalid("advisorId", "接待顾问须为本店服务顾问或店长", "the advisor must be an ADVISOR or MANAGER of this store")
	}
	return store, nil
}

// checkInVehicle locks the vehicle found by plate (or else VIN), checks it
// has no open order and the mileage in is not lower than its last reading,
// and records that reading at now.
func (s *Service) checkInVehicle(ctx context.Context, plate, vin string, mileageIn int, now time.Time) (*models.Vehicle, error) {
	conn := s.DB.Conn(ctx)
	// The vehicle row is locked: concurrent check-ins of one car queue
	// here and see each other's order below.
	v, err := s.directory().LockVehicle(ctx, plate, vin)
	if err != nil {
		return nil, models.NotFoundAs(err, errVehicleNotFound)
	}
	var open int64
	if err := conn.Model(&RepairOrder{}).Where("vehicle_id = ? AND status NOT IN ?", v.ID, closedStatuses).Count(&open).Error; err != nil {
		return nil, err
	}
	if open > 0 {
		return nil, ErrVehicleInWorkshop
	}
	if err := v.CheckReading("mileageIn", mileageIn); err != nil {
		return nil, err
	}
	if err := s.directory().RecordMileage(ctx, v.ID, mileageIn, now); err != nil {
		return nil, err
	}
	return v, nil
}

// nextNumber takes the next order number of the store's day (in the
// store's zone) at now: <store code>-<yyyymmdd>-<seq>.
func (s *Service) nextNumber(ctx context.Context, store *models.Store, now time.Time) (string, error) {
	day := now.In(store.Location()).Format("20060102")
	var seq int
	err := s.DB.Conn(ctx).Raw(`INSERT INTO repair_order_sequences (store_id, day, last_seq) VALUES (?, ?, 1)
		ON CONFLICT (store_id, day) DO UPDATE SET last_seq = repair_order_sequences.last_seq + 1
		RETURNING last_seq`, store.ID, day).Scan(&seq).Error
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s-%s-%03d", store.Code, day, seq), nil
}

// createOpened writes a new order with the items agreed at check-in, its
// first timeline event, and announces it.
func (s *Service) createOpened(ctx context.Context, actor *auth.Principal, o *RepairOrder, in []ItemInput, now time.Time) error {
	conn := s.DB.Conn(ctx)
	if err := conn.Create(o).Error; err != nil {
		// The number is unique by construction, so the key that can
		// clash is the one open order per vehicle.
		if models.IsUniqueViolation(err) {
			return ErrVehicleInWorkshop
		}
		return err
	}
	if len(in) > 0 {
		items := make([]*Item, len(in))
		for i, it := range in {
			items[i] = newItem(o.ID, it, PreApproved, actor.ID, now)
		}
		if err := conn.Create(&items).Error; err != nil {
			return err
		}
	}
	ev := &Event{ID: models.NewID(), OrderID: o.ID, ToStatus: CheckedIn, ActorKind: ActorStaff, ActorID: &actor.ID, CreatedAt: now}
	if err := conn.Create(ev).Error; err != nil {
		return err
	}
	return s.changed(ctx, o, now)
}

// order reads an order by id for an operation that has authorized it.
func (s *Service) order(ctx context.Context, id uuid.UUID) (*RepairOrder, error) {
	var o RepairOrder
	if err := s.DB.Conn(ctx).Where("id = ?", id).Take(&o).Error; err != nil {
		return nil, models.NotFoundAs(err, errOrderNotFound)
	}
	return &o, nil
}

// closedStatuses are the statuses of orders that are no longer open.
var closedStatuses = []Status{Delivered, Cancelled}

// vehicleKey reads a plate or a VIN: exactly one of the results is set.
func vehicleKey(s string) (plate, vin string, err error) {
	if p, err := validate.NormalizePlate(s); err == nil {
		return p, "", nil
	}
	if v, err := validate.NormalizeVIN(s); err == nil {
		return "", v, nil
	}
	return "", "", models.Invalid("vehicle", "请输入车牌号或车架号（VIN）", "vehicle must be a licence plate or a VIN")
}

func newItem(orderID uuid.UUID, in ItemInput, a Approval, by uuid.UUID, now time.Time) *Item {
	return &Item{
		ID: models.NewID(), OrderID: orderID, Kind: in.Kind, Code: in.Code, Description: in.Description,
		QuantityMilli: in.QuantityMilli, UnitPriceFen: in.UnitPriceFen,
		AmountFen: ItemAmount(in.QuantityMilli, in.UnitPriceFen), Warranty: in.Warranty,
		Approval: a, CreatedBy: by, CreatedAt: now,
	}
}

// Assign gives the order a technician and/or a bay. A nil argument leaves
// that part unchanged; technicianID uuid.Nil unassigns the technician and an
// empty bay clears it. The technician must be an active TECHNICIAN of the
// order's store. Staff with ADVISOR, FOREMAN or MANAGER.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, CONFLICT, ORDER_CLOSED,
// INVALID_ARGUMENT ("technicianId", "bay").
func (s *Service) Assign(ctx context.Context, actor *auth.Principal, orderID uuid.UUID, technicianID *uuid.UUID, bay *string, expectedVersion *int) (*RepairOrder, error) {
	if technicianID == nil && bay == nil {
		return nil, models.Invalid("technicianId", "请选择技师或工位", "give a technician, a bay or both")
	}
	var bayText string
	if bay != nil {
		var err error
		if bayText, err = text("bay", "工位", *bay, 0, MaxBayRunes, false); err != nil {
			return nil, err
		}
	}
	return s.staffChange(ctx, actor, rolesAssign, errOrderNotFound, expectedVersion, func(c *change) error {
		if err := c.open(); err != nil {
			return err
		}
		if technicianID != nil {
			if *technicianID == uuid.Nil {
				c.o.TechnicianID = nil
			} else {
				ok, err := s.staffQualifies(c.ctx, *technicianID, c.o.StoreID, []auth.Role{auth.RoleTechnician}, false)
				if err != nil {
					return err
				}
				if !ok {
					return models.Invalid("technicianId", "只能分派给本店技师", "the technician must be a TECHNICIAN of this store")
				}
				id := *technicianID
				c.o.TechnicianID = &id
			}
		}
		if bay != nil {
			if bayText == "" {
				c.o.Bay = nil
			} else {
				c.o.Bay = &bayText
			}
		}
		return nil
	}, "id = ?", orderID)
}

// Move moves an order along the state machine (moves, in rules.go) and
// records the move with its note on the timeline. Staff with ADVISOR,
// FOREMAN or MANAGER move any order of their store; a TECHNICIAN only the
// orders assigned to them, and never to DELIVERED or CANCELLED (handing the
// car over and cancelling are the advisor's). A QC failure (QUALITY_CHECK to
// IN_PROGRESS) and a cancellation need a note. AWAITING_APPROVAL is left only
// by the owner's decisions (or cancellation); moving there needs PENDING
// items. DELIVERED needs settlement unless nothing is payable (everything
// warranty-covered). Moving to READY_FOR_PICKUP tells the owner.
//
// Concurrent moves of one order are serialized by the row lock: the later
// one sees the order already moved (INVALID_TRANSITION) or, with
// expectedVersion, a newer version (CONFLICT). A retry with the same
// idempotency key (optional) answers the order as its first request left it
// moved instead.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (role; a technician delivering or
// cancelling), NOT_FOUND, CONFLICT, NOT_YOUR_JOB, ORDER_CLOSED,
// INVALID_TRANSITION, REASON_REQUIRED ("note"), NO_PENDING_ITEMS,
// NOT_SETTLED, ALREADY_SETTLED (cancelling a settled order),
// INVALID_ARGUMENT ("to", "note", "idempotencyKey"), IDEMPOTENCY_KEY_REUSED.
func (s *Service) Move(ctx context.Context, actor *auth.Principal, orderID uuid.UUID, to Status, note string, expectedVersion *int,
	idempotencyKey string) (*RepairOrder, error) {
	if !to.Valid() {
		return nil, models.Invalid("to", "目标状态无效", "unknown status")
	}
	note, err := text("note", "备注", note, 0, MaxNoteRunes, true)
	if err != nil {
		return nil, err
	}
	if idempotencyKey == "" {
		return s.move(ctx, actor, orderID, to, note, expectedVersion)
	}
	params := struct {
		Order    uuid.UUID
		To       Status
		Note     string
		Expected *int
	}{orderID, to, note, expectedVersion}
	id, err := models.Idempotent(ctx, s.DB.WithClock(s.Clock), models.IdempotencyScope(actor), idempotencyKey, "workshop.move", params, false,
		func(ctx context.Context) (uuid.UUID, error) {
			o, err := s.move(ctx, actor, orderID, to, note, expectedVersion)
			if err != nil {
				return uuid.Nil, err
			}
			return o.ID, nil
		})
	if err != nil {
		return nil, err
	}
	return s.order(ctx, id)
}

func (s *Service) move(ctx context.Context, actor *auth.Principal, orderID uuid.UUID, to Status, note string, expectedVersion *int) (*RepairOrder, error) {
	return s.staffChange(ctx, actor, rolesMove, errOrderNotFound, expectedVersion, func(c *change) error {
		if err := c.ownJob(); err != nil {
			return err
		}
		if technicianOnly(c.actor) && (to == Delivered || to == Cancelled) {
			return models.E(models.CodeForbidden, "交车和取消工单由服务顾问操作", "advisors deliver and cancel orders, not technicians")
		}
		if err := CheckMove(c.o.Status, to, note); err != nil {
			return err
		}
		switch to {
		case AwaitingApproval:
			n, err := c.pending()
			if err != nil {
				return err
			}
			if n == 0 {
				return ErrNoPendingItems
			}
		case Delivered:
			if c.o.SettledAt == nil {
				items, err := c.loadItems()
				if err != nil {
					return err
				}
				if Totals(items, nil).PayableFen > 0 {
					return ErrNotSettled
				}
			}
		case Cancelled:
			if c.o.SettledAt != nil {
				return ErrAlreadySettled
			}
		}
		return c.setStatus(to, note, ActorStaff)
	}, "id = ?", orderID)
}

// OrderFor reads an order the actor may see (directory.ScopeByCar): an
// owner the orders they brought in (owner at check-in) and those of the
// vehicles they own now; staff the orders of their stores (GROUP_ADMIN
// all). Screens see none.
// When the owner reads an order waiting for their approval, its PENDING
// items they had not seen are stamped seen (one conditional update), so
// staff see when the owner opened the request.
//
// Codes: UNAUTHENTICATED, NOT_FOUND (absent or not visible).
func (s *Service) OrderFor(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*RepairOrder, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	q := directory.ScopeByCar(s.DB.Conn(ctx).Where("id = ?", id), actor, nil, "")
	var o RepairOrder
	if err := q.Take(&o).Error; err != nil {
		return nil, models.NotFoundAs(err, errOrderNotFound)
	}
	if actor.IsOwner() && o.Status == AwaitingApproval {
		if err := s.markSeen(ctx, &o); err != nil {
			return nil, err
		}
	}
	return &o, nil
}

// markSeen stamps seen_at on the order's PENDING items that have none and,
// when it stamped any, tells the order's subscribers (staff watching it).
// It changes no decision, so the order's version stays.
func (s *Service) markSeen(ctx context.Context, o *RepairOrder) error {
	return s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		res := s.DB.Conn(ctx).Model(&Item{}).
			Where("order_id = ? AND approval = ? AND seen_at IS NULL", o.ID, Pending).
			Update("seen_at", s.Clock.Now(ctx))
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected > 0 {
			return s.DB.Publish(ctx, OrderTopic(o.ID))
		}
		return nil
	})
}

// LinkAppointments records, for each order id in links, the appointment
// the car came in for, in one statement: for rows written after the fact
// (the demo data's past) rather than through Open.
func (s *Service) LinkAppointments(ctx context.Context, links map[uuid.UUID]uuid.UUID) error {
	if len(links) == 0 {
		return nil
	}
	// PostgreSQL types a CASE of bare parameters as text.
	when := " WHEN ? THEN ?"
	if s.DB.Dialect == models.Postgres {
		when = " WHEN ? THEN CAST(? AS uuid)"
	}
	var cases strings.Builder
	args := make([]any, 0, 2*len(links)+1)
	ids := make([]uuid.UUID, 0, len(links))
	for order, appointment := range links {
		cases.WriteString(when)
		args = append(args, order, appointment)
		ids = append(ids, order)
	}
	args = append(args, ids)
	return s.DB.Conn(ctx).Exec(`UPDATE repair_orders SET appointment_id = CASE id`+cases.String()+` END WHERE id IN ?`, args...).Error
}
