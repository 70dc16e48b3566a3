package workshop

import "github.com/ownerhub/ownerhub/models"

// Refusal codes of the workshop. Clients branch on them; they never change
// once published. Besides these, operations return the shared codes of
// package models (UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, CONFLICT,
// INVALID_ARGUMENT) and models.CodeMileageDecreased.
const (
	// CodeInvalidTransition: the state machine (moves, in rules.go) does not
	// allow this move from the order's current status (including a manual
	// move out of AWAITING_APPROVAL, and extra work requested in a status
	// that cannot wait for approval).
	CodeInvalidTransition models.Code = "INVALID_TRANSITION"
	// CodeReasonRequired: QC failure (back to IN_PROGRESS) and cancellation
	// need a note saying why.
	CodeReasonRequired models.Code = "REASON_REQUIRED"
	// CodeNotYourJob: a technician acting on an order assigned to someone else.
	CodeNotYourJob models.Code = "NOT_YOUR_JOB"
	// CodeItemWorkStarted: the item cannot be removed, work on it has started.
	CodeItemWorkStarted models.Code = "ITEM_WORK_STARTED"
	// CodeItemDecided: the owner approved or declined the item; it is kept
	// (declined advice stays as a recommendation) and cannot be removed.
	CodeItemDecided models.Code = "ITEM_DECIDED"
	// CodeItemNotPending: a decision about an item that is not waiting for
	// the owner (already decided, agreed at check-in, or not on this order).
	CodeItemNotPending models.Code = "ITEM_NOT_PENDING"
	// CodeNoPendingItems: a move to AWAITING_APPROVAL with nothing to approve.
	CodeNoPendingItems models.Code = "NO_PENDING_ITEMS"
	// CodeWorkNotFinished: settlement before the order reached quality check
	// (or while items wait for the owner).
	CodeWorkNotFinished models.Code = "WORK_NOT_FINISHED"
	// CodeNotSettled: delivery of an order with something to pay before it
	// was settled.
	CodeNotSettled models.Code = "NOT_SETTLED"
	// CodeAlreadySettled: a second settlement, or a change to the bill
	// (items, cancellation) of a settled order.
	CodeAlreadySettled models.Code = "ALREADY_SETTLED"
	// CodePaymentsDoNotAddUp: the payments' sum differs from the payable amount.
	CodePaymentsDoNotAddUp models.Code = "PAYMENTS_DO_NOT_ADD_UP"
	// CodeVehicleInWorkshop: the vehicle already has an open order.
	CodeVehicleInWorkshop models.Code = "VEHICLE_IN_WORKSHOP"
	// CodeOrderClosed: the order is DELIVERED or CANCELLED and accepts no changes.
	CodeOrderClosed models.Code = "ORDER_CLOSED"
)

// Errors to compare with errors.Is (which matches on the code).
var (
	// ErrScreenRefused: a screen token that is unknown, revoked or another
	// store's, polling a board.
	ErrScreenRefused     = models.E(models.CodeUnauthenticated, "看板令牌无效、已撤销或不属于该门店", "screen token is invalid, revoked or for another store")
	ErrInvalidTransition = models.E(CodeInvalidTransition, "工单当前状态不允许此操作", "the order cannot move there from its current status")
	ErrReasonRequired    = models.E(CodeReasonRequired, "请填写原因", "a reason is required for this move").On("note")
	ErrNotYourJob        = models.E(CodeNotYourJob, "该工单未分派给您", "this order is assigned to another technician")
	ErrItemWorkStarted   = models.E(CodeItemWorkStarted, "该项目已开工，不能删除", "work on this item has started; it cannot be removed")
	ErrItemDecided       = models.E(CodeItemDecided, "车主已确认或拒绝该项目，不能删除", "the owner has decided on this item; it is kept")
	ErrItemNotPending    = models.E(CodeItemNotPending, "该项目不在待确认状态", "the item is not waiting for a decision")
	ErrNoPendingItems    = models.E(CodeNoPendingItems, "没有待车主确认的项目", "no item is waiting for the owner's approval")
	ErrWorkNotFinished   = models.E(CodeWorkNotFinished, "维修尚未完工，质检后才能结算", "the work is not finished; settle from quality check on")
	ErrNotSettled        = models.E(CodeNotSettled, "工单尚未结算，不能交车", "the order must be settled before delivery")
	ErrAlreadySettled    = models.E(CodeAlreadySettled, "工单已结算", "the order is already settled")
	ErrPaymentsMismatch  = models.E(CodePaymentsDoNotAddUp, "付款合计与应付金额不符", "the payments do not add up to the payable amount").On("payments")
	ErrMethodUnavailable = models.E(models.CodePaymentMethodUnavailable, "暂不支持该付款方式", "this payment method is not available yet")
	ErrVehicleInWorkshop = models.E(CodeVehicleInWorkshop, "该车已有未完成的工单", "the vehicle already has an open repair order").On("vehicle")
	ErrOrderClosed       = models.E(CodeOrderClosed, "工单已交车或已取消，不能再修改", "the order is delivered or cancelled and cannot change")

	errOrderNotFound   = models.E(models.CodeNotFound, "未找到该工单", "repair order not found")
	errItemNotFound    = models.E(models.CodeNotFound, "未找到该项目", "repair order item not found")
	errVehicleNotFound = models.E(models.CodeNotFound, "未找到该车辆", "no vehicle with this plate or VIN").On("vehicle")
	errStoreNotFound   = models.E(models.CodeNotFound, "未找到该门店", "store not found")
	errTokenNotFound   = models.E(models.CodeNotFound, "未找到该看板令牌", "screen token not found")
	errNotYourStore    = models.ErrNotYourStore
)

// CodeNeedsApproval refuses work added as agreed after reception: from then
// on the owner approves every addition.
const CodeNeedsApproval models.Code = "NEEDS_APPROVAL"
