package roadside

import (
	"github.com/ownerhub/ownerhub/models"
)

// Refusal codes of roadside assistance. Clients branch on them; they never
// change once published. Besides these, operations return the shared codes
// of package models (UNAUTHENTICATED, FORBIDDEN, NOT_FOUND,
// INVALID_ARGUMENT).
const (
	// CodeAlreadyOpen: the vehicle already has an open request (REQUESTED,
	// ACCEPTED or DISPATCHED).
	CodeAlreadyOpen models.Code = "ASSISTANCE_ALREADY_OPEN"
	// CodeNoStore: no store can be found for the request (none has
	// coordinates); the owner may choose one or call.
	CodeNoStore models.Code = "NO_STORE_AVAILABLE"
	// CodeAlreadyAccepted: the request was accepted already (by someone
	// else, or cancelled meanwhile): accepting lost the race.
	CodeAlreadyAccepted models.Code = "ALREADY_ACCEPTED"
	// CodeWrongStatus: the request's status does not allow the change (a
	// dispatch before it was accepted, a close before it was accepted).
	CodeWrongStatus models.Code = "WRONG_STATUS"
	// CodeFinished: the request is CLOSED or CANCELLED; nothing changes it.
	CodeFinished models.Code = "REQUEST_FINISHED"
	// CodeTooLateToCancel: someone is on the way; the owner cannot cancel
	// in the app any more (the store can, with a reason).
	CodeTooLateToCancel models.Code = "TOO_LATE_TO_CANCEL"
)

// Errors to compare with errors.Is (which matches on the code).
var (
	ErrAlreadyOpen     = models.E(CodeAlreadyOpen, "该车辆已有进行中的救援请求", "this vehicle already has an open assistance request").On("vehicleId")
	ErrNoStore         = models.E(CodeNoStore, "附近没有可提供救援的门店，请选择门店或致电客服", "no store can take the request; choose a store or call us").On("storeId")
	ErrAlreadyAccepted = models.E(CodeAlreadyAccepted, "该救援请求已被受理", "the request has already been accepted")
	ErrWrongStatus     = models.E(CodeWrongStatus, "救援请求当前状态不允许此操作", "the request's status does not allow this")
	ErrFinished        = models.E(CodeFinished, "该救援请求已结束", "the request is closed or cancelled")
	ErrTooLateToCancel = models.E(CodeTooLateToCancel, "救援人员已出发，无法在线取消，请致电门店", "help is on the way; call the store to cancel")
	errRequestNotFound = models.E(models.CodeNotFound, "未找到该救援请求", "assistance request not found")
	errVehicleNotFound = models.E(models.CodeNotFound, "未找到该车辆", "vehicle not found").On("vehicleId")
	errStoreNotFound   = models.E(models.CodeNotFound, "未找到该门店", "store not found").On("storeId")
	errStaffNotFound   = models.E(models.CodeNotFound, "未找到该员工，或其不属于该门店", "staff member not found at the request's store").On("staffId")
	errOwnerNotFound   = models.E(models.CodeNotFound, "未找到该车主", "owner not found")
	errNotYourStore    = models.ErrNotYourStore.On("storeId")
)
