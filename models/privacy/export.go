package privacy

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/booking"
	"github.com/ownerhub/ownerhub/models/wallet"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// ExportFormat names the layout of the export document.
const ExportFormat = "ownerhub-export/1"

// Export is an owner's data as one JSON document.
type Export struct {
	OwnerID     uuid.UUID
	GeneratedAt time.Time
	// JSON is {"format", "ownerId", "generatedAt", "sections": {name: data}}.
	JSON []byte
}

// Export gathers everything held about the caller, section by section (the
// built-in ones, then Service.Sections), in one transaction so the
// sections agree with one another, into one JSON document.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (not an owner), NOT_FOUND (deleted).
func (s *Service) Export(ctx context.Context, actor *auth.Principal) (*Export, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	if !actor.IsOwner() {
		return nil, models.ErrForbidden
	}
	out := &Export{OwnerID: actor.ID, GeneratedAt: s.Clock.Now(ctx)}
	sections := map[string]any{}
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		if deleted, err := s.Deleted(ctx, actor.ID); err != nil {
			return err
		} else if deleted {
			return errOwnerNotFound
		}
		for _, sec := range append(s.builtIn(), s.Sections...) {
			v, err := sec.Export(ctx, actor.ID)
			if err != nil {
				return fmt.Errorf("export section %s: %w", sec.Name, err)
			}
			if _, dup := sections[sec.Name]; dup {
				return fmt.Errorf("export section %s given twice", sec.Name)
			}
			sections[sec.Name] = plain(reflect.ValueOf(v))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	doc := map[string]any{"format": ExportFormat, "ownerId": actor.ID, "generatedAt": out.GeneratedAt, "sections": sections}
	if out.JSON, err = json.Marshal(doc); err != nil {
		return nil, err
	}
	return out, nil
}

// Built-in section names.
const (
	SectionOwner         = "owner"
	SectionConsent       = "consent"
	SectionVehicles      = "vehicles"
	SectionRepairOrders  = "repairOrders"
	SectionWallet        = "wallet"
	SectionAppointments  = "appointments"
	SectionNotifications = "notifications"
	SectionSessions      = "sessions"
)

func (s *Service) builtIn() []Section {
	return []Section{
		{SectionOwner, s.exportOwner},
		{SectionConsent, listOf[ConsentEvent](s, "owner_id = ?")},
		{SectionVehicles, listOf[models.Vehicle](s, "owner_id = ?")},
		{SectionRepairOrders, s.exportRepairOrders},
		{SectionWallet, s.exportWallet},
		{SectionAppointments, listOf[booking.Appointment](s, "owner_id = ?")},
		{SectionNotifications, listOf[models.Notification](s, "owner_id = ?")},
		{SectionSessions, s.exportSessions},
	}
}

// listOf is a section listing the rows of T matching cond, oldest first.
func listOf[T any](s *Service, cond string) func(context.Context, uuid.UUID) (any, error) {
	return func(ctx context.Context, ownerID uuid.UUID) (any, error) {
		rows := []*T{}
		err := s.DB.Conn(ctx).Where(cond, ownerID).Order("id ASC").Find(&rows).Error
		return rows, err
	}
}

func (s *Service) exportOwner(ctx context.Context, ownerID uuid.UUID) (any, error) {
	var o models.Owner
	if err := s.DB.Conn(ctx).Where("id = ?", ownerID).Take(&o).Error; err != nil {
		return nil, notFound(err)
	}
	return &o, nil
}

// exportedOrder is a repair order with its lines, timeline and payments.
type exportedOrder struct {
	*workshop.RepairOrder
	Items    []*workshop.Item
	Timeline []*workshop.Event
	Payments []*workshop.Payment
}

// exportRepairOrders lists the orders the owner brought a car in for, each
// with its items, timeline and payments: four statements.
func (s *Service) exportRepairOrders(ctx context.Context, ownerID uuid.UUID) (any, error) {
	conn := s.DB.Conn(ctx)
	var orders []*workshop.RepairOrder
	if err := conn.Where("owner_id = ?", ownerID).Order("id ASC").Find(&orders).Error; err != nil {
		return nil, err
	}
	out := make([]*exportedOrder, len(orders))
	byID := make(map[uuid.UUID]*exportedOrder, len(orders))
	ids := make([]uuid.UUID, len(orders))
	for i, o := range orders {
		out[i] = &exportedOrder{RepairOrder: o, Items: []*workshop.Item{}, Timeline: []*workshop.Event{}, Payments: []*workshop.Payment{}}
		byID[o.ID], ids[i] = out[i], o.ID
	}
	if len(ids) == 0 {
		return out, nil
	}
	var items []*workshop.Item
	if err := conn.Where("order_id IN ?", ids).Order("id ASC").Find(&items).Error; err != nil {
		return nil, err
	}
	for _, it := range items {
		byID[it.OrderID].Items = append(byID[it.OrderID].Items, it)
	}
	var events []*workshop.Event
	if err := conn.Where("order_id IN ?", ids).Order("id ASC").Find(&events).Error; err != nil {
		return nil, err
	}
	for _, e := range events {
		byID[e.OrderID].Timeline = append(byID[e.OrderID].Timeline, e)
	}
	var payments []*workshop.Payment
	if err := conn.Where("order_id IN ?", ids).Order("id ASC").Find(&payments).Error; err != nil {
		return nil, err
	}
	for _, p := range payments {
		byID[p.OrderID].Payments = append(byID[p.OrderID].Payments, p)
	}
	return out, nil
}

// exportedWallet is the membership account with its ledger and points lots.
type exportedWallet struct {
	Account    *wallet.Account
	Ledger     []*wallet.Entry
	PointsLots []*wallet.PointsLot
}

func (s *Service) exportWallet(ctx context.Context, ownerID uuid.UUID) (any, error) {
	conn := s.DB.Conn(ctx)
	w := &exportedWallet{Ledger: []*wallet.Entry{}, PointsLots: []*wallet.PointsLot{}}
	var accounts []*wallet.Account
	if err := conn.Where("owner_id = ?", ownerID).Find(&accounts).Error; err != nil {
		return nil, err
	}
	if len(accounts) == 1 {
		w.Account = accounts[0]
	}
	if err := conn.Where("owner_id = ?", ownerID).Order("id ASC").Find(&w.Ledger).Error; err != nil {
		return nil, err
	}
	if err := conn.Where("owner_id = ?", ownerID).Order("id ASC").Find(&w.PointsLots).Error; err != nil {
		return nil, err
	}
	return w, nil
}

// session is a refresh token's metadata: never its hash.
type session struct {
	ID        uuid.UUID
	FamilyID  uuid.UUID
	CreatedAt time.Time
	ExpiresAt time.Time
	RotatedAt *time.Time
	RevokedAt *time.Time
}

func (s *Service) exportSessions(ctx context.Context, ownerID uuid.UUID) (any, error) {
	var rts []*models.RefreshToken
	err := s.DB.Conn(ctx).Where("subject_kind = ? AND subject_id = ?", string(auth.KindOwner), ownerID).Order("id ASC").Find(&rts).Error
	if err != nil {
		return nil, err
	}
	out := make([]session, len(rts))
	for i, rt := range rts {
		out[i] = session{ID: rt.ID, FamilyID: rt.FamilyID, CreatedAt: rt.CreatedAt, ExpiresAt: rt.ExpiresAt, RotatedAt: rt.RotatedAt, RevokedAt: rt.RevokedAt}
	}
	return out, nil
}
