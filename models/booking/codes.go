package booking

import (
	"errors"
	"fmt"

	"github.com/ownerhub/ownerhub/models"
)

// Refusal codes of maintenance booking. Clients branch on them; they never
// change once published. Besides these, operations return the shared codes
// of package models (UNAUTHENTICATED, FORBIDDEN, NOT_FOUND,
// INVALID_ARGUMENT) and its idempotency code IDEMPOTENCY_KEY_REUSED.
const (
	// CodeSlotFull: no seat is left in the slot for this kind of service
	// (or the slot has no seats for it at all).
	CodeSlotFull models.Code = "SLOT_FULL"
	// CodeTooLate: less than MinLeadTime before the slot, to book or move
	// into it; or, for an owner, to cancel or move out of it (staff may
	// until the slot starts).
	CodeTooLate models.Code = "TOO_LATE"
	// CodeTooFarAhead: the slot starts more than MaxAhead from now.
	CodeTooFarAhead models.Code = "TOO_FAR_AHEAD"
	// CodeStoreClosed: the store is closed then: a closed weekday or date,
	// outside opening hours, or the date is closed for this kind of service.
	CodeStoreClosed models.Code = "STORE_CLOSED"
	// CodeInvalidSlot: within opening hours but not the start of a slot of
	// the store's calendar (off the slot grid, or the slot would run past
	// closing time).
	CodeInvalidSlot models.Code = "INVALID_SLOT"
	// CodeVehicleAlreadyBooked: the vehicle already has an active (BOOKED)
	// appointment.
	CodeVehicleAlreadyBooked models.Code = "VEHICLE_ALREADY_BOOKED"
	// CodeTooManyAppointments: the owner already has MaxActivePerOwner
	// active appointments.
	CodeTooManyAppointments models.Code = "TOO_MANY_APPOINTMENTS"
	// CodeCapacityBelowBookings: a calendar change would leave fewer seats
	// than are already booked in future slots; the message says how many
	// bookings would not fit. Force applies it anyway and lists them.
	CodeCapacityBelowBookings models.Code = "CAPACITY_BELOW_BOOKINGS"
	// CodeNotBooked: the appointment is not BOOKED any more (arrived, no-show
	// or cancelled), so it cannot change.
	CodeNotBooked models.Code = "NOT_BOOKED"
	// CodeTooEarly: a no-show before the slot has started, or an arrival
	// before the slot's day.
	CodeTooEarly models.Code = "TOO_EARLY"
)

// Errors to compare with errors.Is (which matches on the code).
var (
	ErrSlotFull             = models.E(CodeSlotFull, "该时段已约满，请选择其他时段", "this slot is fully booked; choose another").On("slotStart")
	ErrTooLate              = models.E(CodeTooLate, "距预约时间已不足 2 小时", "less than 2 hours before the slot").On("slotStart")
	ErrTooLateToChange      = models.E(CodeTooLate, "距预约时间已不足 2 小时，无法改约或取消，请致电门店", "less than 2 hours before the appointment; it can no longer be changed or cancelled, please call the store")
	ErrTooLateStarted       = models.E(CodeTooLate, "预约时段已开始，无法改约或取消", "the appointment's slot has started; it can no longer be changed or cancelled")
	ErrTooFarAhead          = models.E(CodeTooFarAhead, "最多只能预约 30 天内的时段", "slots can be booked at most 30 days ahead").On("slotStart")
	ErrStoreClosed          = models.E(CodeStoreClosed, "门店该时段不营业或不提供此项服务", "the store is closed then, or does not offer this service that day").On("slotStart")
	ErrInvalidSlot          = models.E(CodeInvalidSlot, "所选时间不是门店的预约时段", "not the start of one of the store's slots").On("slotStart")
	ErrVehicleAlreadyBooked = models.E(CodeVehicleAlreadyBooked, "该车辆已有未完成的预约", "this vehicle already has an active appointment").On("vehicleId")
	ErrTooManyAppointments  = models.E(CodeTooManyAppointments, "每位车主最多同时保留 3 个预约", "an owner may hold at most 3 active appointments")
	ErrNotBooked            = models.E(CodeNotBooked, "该预约已到店、已爽约或已取消，不能再修改", "the appointment is no longer booked and cannot change")
	ErrNoShowTooEarly       = models.E(CodeTooEarly, "预约时段尚未开始，不能标记爽约", "the slot has not started yet; it cannot be a no-show")
	ErrArrivalTooEarly      = models.E(CodeTooEarly, "还未到预约当天，不能登记到店", "the appointment is on a later day; it cannot be marked arrived yet")

	errAppointmentNotFound = models.E(models.CodeNotFound, "未找到该预约", "appointment not found")
	errStoreNotFound       = models.E(models.CodeNotFound, "未找到该门店", "store not found").On("storeId")
	errVehicleNotFound     = models.E(models.CodeNotFound, "未找到该车辆", "vehicle not found").On("vehicleId")
	errNotYourStore        = models.ErrNotYourStore
	errNoWorkshop          = errors.New("booking: MarkArrived needs Service.Workshop")
)

// CapacityBelowBookings is the CAPACITY_BELOW_BOOKINGS refusal for n
// bookings that would not fit.
func CapacityBelowBookings(n int) *models.Error {
	return models.Ef(CodeCapacityBelowBookings,
		fmt.Sprintf("调整后将有 %d 个已有预约无法容纳；如确需调整，请强制执行并为这些预约改约", n),
		"%d existing bookings would not fit; force the change to apply it and move them", n)
}
