package care

import (
	"github.com/ownerhub/ownerhub/models"
)

// Refusal codes of the care loop. Clients branch on them; they never change
// once published. Besides these, operations return the shared codes of
// package models (UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, INVALID_ARGUMENT).
const (
	// CodeSurveyClosed: the survey can no longer be answered (30 days after
	// the invitation) or changed (7 days after the first answer).
	CodeSurveyClosed models.Code = "SURVEY_CLOSED"
	// CodeTaskClosed: the follow-up task is already closed.
	CodeTaskClosed models.Code = "TASK_CLOSED"
	// CodeComplaintStatus: the complaint's status does not allow the step
	// (acknowledging twice, accepting before a resolution, acting on a
	// closed complaint, ...).
	CodeComplaintStatus models.Code = "COMPLAINT_STATUS"
	// CodeNoStore: no store can be found for a complaint (no order, no
	// vehicle with a selling store, no home store and no storeId given).
	CodeNoStore models.Code = "NO_STORE"
)

// Errors to compare with errors.Is (which matches on the code).
var (
	ErrSurveyExpired  = models.E(CodeSurveyClosed, "该问卷已过期，无法再填写", "this survey has expired and can no longer be answered")
	ErrSurveyLocked   = models.E(CodeSurveyClosed, "评价提交 7 天后不能再修改", "a survey can be changed for 7 days after it was answered")
	ErrTaskClosed     = models.E(CodeTaskClosed, "该回访任务已关闭", "this follow-up task is already closed")
	ErrNoStore        = models.E(CodeNoStore, "无法确定投诉所属门店，请选择门店", "no store could be determined for the complaint; give storeId").On("storeId")
	ErrNotAcknowledge = models.E(CodeComplaintStatus, "该投诉已受理或已结束", "the complaint has already been acknowledged or is finished")
	ErrNotOpen        = models.E(CodeComplaintStatus, "该投诉已解决或已关闭", "the complaint is resolved or closed")
	ErrNotResolved    = models.E(CodeComplaintStatus, "该投诉尚未给出处理结果", "the complaint has not been resolved yet")

	errSurveyNotFound    = models.E(models.CodeNotFound, "未找到该问卷", "survey not found")
	errTaskNotFound      = models.E(models.CodeNotFound, "未找到该回访任务", "follow-up task not found")
	errComplaintNotFound = models.E(models.CodeNotFound, "未找到该投诉", "complaint not found")
	errOrderNotFound     = models.E(models.CodeNotFound, "未找到该工单", "repair order not found").On("repairOrderId")
	errVehicleNotFound   = models.E(models.CodeNotFound, "未找到该车辆", "vehicle not found").On("vehicleId")
	errStoreNotFound     = models.E(models.CodeNotFound, "未找到该门店", "store not found").On("storeId")
	errOwnerNotFound     = models.E(models.CodeNotFound, "未找到该车主", "owner not found")
)
