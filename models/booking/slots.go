package booking

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

// checkRange validates a from..to range of days of at most maxDays.
func checkRange(from, to models.Date, maxDays int) error {
	if from.IsZero() {
		return models.Invalid("from", "请选择开始日期", "from is required")
	}
	if to.IsZero() {
		return models.Invalid("to", "请选择结束日期", "to is required")
	}
	if to.Before(from) {
		return models.Invalid("to", "结束日期不能早于开始日期", "to is before from")
	}
	if from.AddDate(0, 0, maxDays-1).Before(to) {
		return models.Ef(models.CodeInvalidArgument, fmt.Sprintf("一次最多查询 %d 天", maxDays),
			"at most %d days from from to to", maxDays).On("to")
	}
	return nil
}

// AvailableSlots lists the slots of a store for a kind of service on the
// days from..to (dates in the store's zone, at most MaxSlotDays) that can
// be booked now: starting at least MinLeadTime and at most MaxAhead from
// now, on days open for the kind. Full slots are listed too, with
// SeatsLeft 0 (apps grey them out). Public.
//
// It reads the same five statements whatever the range: the store, its
// hours, its capacities, the overrides in the range and the seat counters
// in the range.
//
// Codes: NOT_FOUND ("storeId"), INVALID_ARGUMENT ("kind", "from", "to").
func (s *Service) AvailableSlots(ctx context.Context, storeID uuid.UUID, kind string, from, to models.Date) ([]Slot, error) {
	if !validKind(kind) {
		return nil, models.Invalid("kind", "服务类型无效", "unknown kind")
	}
	if err := checkRange(from, to, MaxSlotDays); err != nil {
		return nil, err
	}
	cal, _, err := s.loadCalendar(ctx, storeID, from, to, noLock)
	if err != nil {
		return nil, err
	}
	taken, err := s.seatsTaken(ctx, storeID, &kind, cal.dayStart(from), cal.dayStart(to.AddDate(0, 0, 1)))
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now(ctx)
	out := []Slot{}
	for day := from; !to.Before(day); day = day.AddDate(0, 0, 1) {
		seats, closed := cal.seatsOn(day, kind)
		if closed {
			continue
		}
		for _, sl := range cal.slotsOf(day) {
			if bookable(now, sl.start) != nil {
				continue
			}
			left := max(0, seats-taken[seatKey{kind, sl.start.UnixMicro()}])
			out = append(out, Slot{Start: sl.start, End: sl.end, SeatsLeft: left})
		}
	}
	return out, nil
}

// seatKey names a slot's counter: kind and start (Unix microseconds).
type seatKey struct {
	kind  string
	start int64
}

// seatsTaken reads the counters of a store's slots starting in
// [from, to), of one kind or (nil) all, in one statement.
func (s *Service) seatsTaken(ctx context.Context, storeID uuid.UUID, kind *string, from, to time.Time) (map[seatKey]int, error) {
	q := s.DB.Conn(ctx).Where("store_id = ? AND slot_start >= ? AND slot_start < ?", storeID, from.UTC(), to.UTC())
	if kind != nil {
		q = q.Where("kind = ?", *kind)
	}
	var rows []SlotBooking
	if err := q.Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[seatKey]int, len(rows))
	for _, r := range rows {
		out[seatKey{r.Kind, r.SlotStart.UnixMicro()}] = r.Booked
	}
	return out, nil
}
