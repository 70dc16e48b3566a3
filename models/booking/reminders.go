package booking

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/inbox"
)

// reminderWindow bounds the slots a reminder run looks at: tomorrow in any
// zone starts and ends within two days of now.
const reminderWindow = 50 * time.Hour

// ReminderDedupeKey is the dedupe key of an appointment's reminder: one
// per appointment, however often and wherever the job runs.
func ReminderDedupeKey(appointmentID uuid.UUID) string {
	return "appointment-reminder:" + appointmentID.String()
}

// SendReminders puts a reminder (kind APPOINTMENT_REMINDER, linking the
// appointment's global ID) in the inbox of the owner of every BOOKED
// appointment whose slot is on the day after now's day, both in the
// appointment's store's zone. Each reminder has the dedupe key
// ReminderDedupeKey, so running the job twice, or on several instances at
// once, creates it once. Returns how many reminders it created.
func (s *Service) SendReminders(ctx context.Context, now time.Time) (int, error) {
	now = now.UTC()
	var rows []struct {
		ID        uuid.UUID
		OwnerID   uuid.UUID
		VehicleID uuid.UUID
		StoreID   uuid.UUID
		Kind      string
		SlotStart time.Time
		Timezone  string
		StoreName string
		Plate     *string
		VIN       string
	}
	err := s.DB.Conn(ctx).Raw(`SELECT a.id, a.owner_id, a.vehicle_id, a.store_id, a.kind, a.slot_start, s.timezone, s.name AS store_name, v.plate, v.vin
		FROM appointments a `+directory.JoinStore("s", "a.store_id")+` `+directory.JoinVehicle("v", "a.vehicle_id")+`
		WHERE a.status = ? AND a.slot_start > ? AND a.slot_start < ?
		ORDER BY a.id`, Booked, now, now.Add(reminderWindow)).Scan(&rows).Error
	if err != nil {
		return 0, err
	}
	created := 0
	for _, r := range rows {
		loc := (&models.Store{Timezone: r.Timezone}).Location()
		local := r.SlotStart.In(loc)
		if models.DateOf(local) != models.DateOf(now.In(loc)).AddDate(0, 0, 1) {
			continue
		}
		car := r.VIN
		if r.Plate != nil {
			car = *r.Plate
		}
		key := ReminderDedupeKey(r.ID)
		ok, err := s.inbox().CreateNotification(ctx, &inbox.Notification{
			OwnerID: r.OwnerID, Kind: NotifyAppointmentReminder, Title: "预约提醒：明天到店" + kindLabel(r.Kind),
			Body: fmt.Sprintf("您预约了明天（%d月%d日）%s 在%s为车辆 %s 做%s，请准时到店。如需改约或取消，请在预约时间 2 小时前操作。",
				local.Month(), local.Day(), local.Format("15:04"), r.StoreName, car, kindLabel(r.Kind)),
			Link: AppointmentLink(r.ID), DedupeKey: &key, CreatedAt: s.Clock.Now(ctx),
			VehicleID: &r.VehicleID, StoreID: &r.StoreID,
		})
		if err != nil {
			return created, err
		}
		if ok {
			created++
		}
	}
	return created, nil
}
