package workshop

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/validate"
)

// Board renders a store's workshop board: its open
// orders and those delivered today (the store's local day), in the nine
// workflow columns (every status but CANCELLED, each present even when
// empty), each column's cards longest-in-status first. Cards show the masked
// plate, the owner's surname only, the advisor's and technician's names,
// the bay, the promised time, the overdue flag and the minutes in status as
// of GeneratedAt.
//
// Staff of the store (any role; GROUP_ADMIN any store) and the store's
// screens may read it. It takes a fixed number of statements whatever the
// number of orders: the store (two: the row and its opening hours), the
// board version, and one join of the orders with their vehicles, owners and
// staff. The version is read before the orders, so a change racing the
// rendering makes the next poll see a newer version rather than caching
// stale cards under a new one.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (owners; staff or screens of other
// stores), NOT_FOUND (no such store).
func (s *Service) Board(ctx context.Context, actor *auth.Principal, storeID uuid.UUID) (*Board, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	if !actor.IsStaff() && actor.Kind != auth.KindScreen {
		return nil, models.ErrForbidden
	}
	if !actor.CanAccessStore(storeID) {
		return nil, errNotYourStore
	}
	store, err := s.directory().Store(ctx, storeID)
	if err != nil {
		return nil, err
	}
	version, err := s.BoardVersion(ctx, storeID)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now(ctx)
	loc := store.Location()
	y, m, d := now.In(loc).Date()
	dayStart := time.Date(y, m, d, 0, 0, 0, 0, loc).UTC()
	dayEnd := time.Date(y, m, d+1, 0, 0, 0, 0, loc).UTC()

	var rows []struct {
		ID              uuid.UUID
		Number          string
		Status          Status
		PromisedAt      *time.Time
		StatusChangedAt time.Time
		Bay             *string
		Plate           *string
		VIN             string `gorm:"column:vin"`
		Model           string
		OwnerName       string
		AdvisorName     string
		TechnicianName  *string
	}
	err = models.Scan(s.DB.Conn(ctx).Table("repair_orders o").
		Select(`o.id, o.number, o.status, o.promised_at, o.status_changed_at, o.bay,
			v.plate, v.vin, v.model, ow.name AS owner_name, a.name AS advisor_name, t.name AS technician_name`).
		Joins(directory.JoinVehicle("v", "o.vehicle_id")).
		Joins(directory.JoinOwner("ow", "o.owner_id")).
		Joins(directory.JoinStaff("a", "o.advisor_id")).
		Joins(directory.LeftJoin(directory.JoinStaff("t", "o.technician_id"))).
		Where("o.store_id = ? AND (o.status NOT IN ? OR (o.status = ? AND o.delivered_at >= ? AND o.delivered_at < ?))",
			storeID, closedStatuses, Delivered, dayStart, dayEnd).
		Order("o.status_changed_at ASC, o.id ASC"), &rows)
	if err != nil {
		return nil, err
	}
	b := &Board{Store: store, StoreCode: store.Code, Version: version, GeneratedAt: now, Columns: make([]Column, len(BoardColumns))}
	index := make(map[Status]int, len(BoardColumns))
	for i, st := range BoardColumns {
		b.Columns[i] = Column{Status: st, Cards: []Card{}}
		index[st] = i
	}
	for _, r := range rows {
		i, ok := index[r.Status]
		if !ok {
			continue
		}
		o := &RepairOrder{Status: r.Status, PromisedAt: r.PromisedAt, StatusChangedAt: r.StatusChangedAt}
		b.Columns[i].Cards = append(b.Columns[i].Cards, Card{
			OrderID: r.ID, Number: r.Number, Status: r.Status,
			MaskedPlate:  maskedPlate(r.Plate, r.VIN),
			Model:        r.Model,
			OwnerSurname: (&models.Owner{Name: r.OwnerName}).Surname(),
			AdvisorName:  r.AdvisorName, TechnicianName: r.TechnicianName, Bay: r.Bay,
			PromisedAt: r.PromisedAt, Overdue: Overdue(o, now),
			StatusChangedAt: r.StatusChangedAt, MinutesInStatus: MinutesInStatus(o, now),
		})
	}
	return b, nil
}

// maskedPlate is the plate as the board shows it, or for a car not yet
// registered the last four characters of its VIN.
func maskedPlate(plate *string, vin string) string {
	if plate != nil && *plate != "" {
		return validate.MaskPlate(*plate)
	}
	if len(vin) > 4 {
		return "VIN ****" + vin[len(vin)-4:]
	}
	return ""
}

// BoardVersion is the store's board version: it moves with every change to
// the store's orders (0 before the first). One primary-key read.
func (s *Service) BoardVersion(ctx context.Context, storeID uuid.UUID) (int64, error) {
	var v int64
	err := s.DB.Conn(ctx).Model(&BoardVersion{}).Select("version").Where("store_id = ?", storeID).Scan(&v).Error
	return v, err
}

// maxStoreCodeLen bounds a store code in a screen's URL ("SZ01").
const maxStoreCodeLen = 32

// StoreByCode reads a store with its opening hours by its code ("SZ01"),
// for the screens' REST route. Public.
//
// Codes: NOT_FOUND.
func (s *Service) StoreByCode(ctx context.Context, code string) (*models.Store, error) {
	code = strings.TrimSpace(code)
	if code == "" || len(code) > maxStoreCodeLen || !models.PlainText(code, false) {
		// No store has such a code: not worth a query (and PostgreSQL
		// refuses a NUL byte in a parameter).
		return nil, errStoreNotFound
	}
	st, err := s.directory().StoreByCode(ctx, code)
	if err != nil {
		return nil, models.NotFoundAs(err, errStoreNotFound)
	}
	return st, nil
}

// BoardVersionFor is what a poll of storeID's board by actor compares with
// its ETag: the board's version and the time of the poll (the ETag carries
// the minute, so that minutes-in-status and overdue flags refresh). A screen
// polls its own store's board with a live token; staff poll the boards of
// their stores. The version and the screen's grant are kept in memory until
// a change announces them (polledBoardVersion, polledScreen), so that a
// poll of an unchanged board costs no statement (docs/performance.md).
//
// Codes: UNAUTHENTICATED (ErrScreenRefused), FORBIDDEN.
func (s *Service) BoardVersionFor(ctx context.Context, actor *auth.Principal, storeID uuid.UUID) (version int64, at time.Time, err error) {
	switch {
	case actor == nil:
		return 0, time.Time{}, models.ErrForbidden
	case actor.Kind == auth.KindScreen:
		g, err := s.polledScreen(ctx, actor.ID)
		if err != nil {
			return 0, time.Time{}, err
		}
		if !g.live || g.storeID != storeID {
			return 0, time.Time{}, ErrScreenRefused
		}
	case actor.Kind == auth.KindStaff:
		if !actor.CanAccessStore(storeID) {
			return 0, time.Time{}, models.ErrForbidden
		}
	default:
		return 0, time.Time{}, models.ErrForbidden
	}
	if version, err = s.polledBoardVersion(ctx, storeID); err != nil {
		return 0, time.Time{}, err
	}
	return version, s.Clock.Now(ctx), nil
}
