package graph

import (
	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models/booking"
	"github.com/ownerhub/ownerhub/models/care"
	"github.com/ownerhub/ownerhub/models/coupons"
	"github.com/ownerhub/ownerhub/models/crm"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/events"
	"github.com/ownerhub/ownerhub/models/jobs"
	"github.com/ownerhub/ownerhub/models/packages"
	"github.com/ownerhub/ownerhub/models/payments"
	"github.com/ownerhub/ownerhub/models/referrals"
	"github.com/ownerhub/ownerhub/models/roadside"
	"github.com/ownerhub/ownerhub/models/wallet"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// staffRoles maps every schema field marked @auth(requires: STAFF) to the
// domain's list of roles for the operation its resolver calls (nil: any
// staff, the operation decides the rest). The lists live with the
// operations; the schema's `roles:` arguments are generated from this
// table (`go test ./graph -run TestSchemaAuthRoles -update-auth`), and the
// test fails when they differ. See docs/architecture.md.
var staffRoles = map[string][]auth.Role{
	"Query.appointments":           nil,
	"Query.bookingStats":           booking.RolesDayStats(),
	"Mutation.markArrived":         booking.RolesMarkArrived(),
	"Mutation.markNoShow":          booking.RolesMarkNoShow(),
	"Mutation.setStoreCalendar":    booking.RolesSetCalendar(),
	"Mutation.setCalendarOverride": booking.RolesSetOverride(),

	"Query.followUpTasks":                 care.RolesFollowUps(),
	"Query.complaints":                    care.RolesComplaints(),
	"Query.satisfactionReport":            care.RolesSatisfaction(),
	"Query.complaintReport":               care.RolesComplaintStats(),
	"Mutation.assignFollowUpTask":         care.RolesAssignFollowUp(),
	"Mutation.recordFollowUpOutcome":      care.RolesRecordOutcome(),
	"Mutation.closeFollowUpTask":          care.RolesCloseFollowUp(),
	"Mutation.acknowledgeComplaint":       care.RolesComplaintStep(),
	"Mutation.proposeComplaintResolution": care.RolesComplaintStep(),
	"Mutation.resolveComplaint":           care.RolesComplaintStep(),

	"Query.jobRuns": jobs.RolesStatuses(),

	"Query.segmentReport":               crm.RolesReport(),
	"Query.audienceSize":                crm.RolesAudiences(),
	"Query.audiences":                   crm.RolesAudiences(),
	"Mutation.saveAudience":             crm.RolesAudiences(),
	"Query.campaigns":                   crm.RolesAudiences(),
	"Query.campaignReport":              crm.RolesAudiences(),
	"Mutation.createCampaign":           crm.RolesAudiences(),
	"Mutation.cancelCampaign":           crm.RolesAudiences(),
	"Mutation.recordInvitationResponse": crm.RolesAudiences(),
	"Owner.segment":                     crm.RolesSegments(),
	"Owner.churnRisk":                   crm.RolesSegments(),
	"Query.couponTemplates":             coupons.RolesTemplates(),
	"Mutation.createCouponTemplate":     coupons.RolesCreateTemplate(),
	"Mutation.issueCoupon":              coupons.RolesIssue(),
	"Mutation.revokeCoupon":             coupons.RolesRevoke(),
	"Query.storeReferrals":              referrals.RolesStoreReferrals(),
	"Mutation.createServicePackage":     packages.RolesCreate(),
	"Mutation.retireServicePackage":     packages.RolesRetire(),
	"Mutation.sellServicePackage":       packages.RolesSell(),
	"Mutation.refundServicePackage":     packages.RolesRefund(),

	"Query.paymentReconciliation":  payments.RolesReconciliation(),
	"Query.paymentsOwingRefunds":   payments.RolesRefundsOwed(),
	"Mutation.refundOnlinePayment": payments.RolesRefundOnline(),
	"Mutation.recordManualRefund":  payments.RolesRefundsOwed(),

	"Query.eventRoster":            events.RolesRoster(),
	"Mutation.createEvent":         events.RolesCreateEvent(),
	"Mutation.updateEvent":         events.RolesUpdateEvent(),
	"Mutation.publishEvent":        events.RolesPublishEvent(),
	"Mutation.cancelEvent":         events.RolesCancelEvent(),
	"Mutation.checkInRegistration": events.RolesCheckIn(),

	"Query.owners":             directory.RolesSearchOwners(),
	"Query.staffMe":            nil,
	"Mutation.registerVehicle": directory.RolesRegisterVehicle(),
	"Mutation.updateVehicle":   directory.RolesUpdateVehicle(),

	"Query.workshopBoard":            nil,
	"Subscription.boardChanged":      nil,
	"Query.screenTokens":             workshop.RolesScreenTokens(),
	"Mutation.openRepairOrder":       workshop.RolesOpen(),
	"Mutation.addRepairOrderItem":    workshop.RolesAddItem(),
	"Mutation.removeRepairOrderItem": workshop.RolesRemoveItem(),
	"Mutation.assignRepairOrder":     workshop.RolesAssign(),
	"Mutation.moveRepairOrder":       workshop.RolesMove(),
	"Mutation.settleRepairOrder":     workshop.RolesSettle(),
	"Mutation.issueScreenToken":      workshop.RolesIssueScreenToken(),
	"Mutation.revokeScreenToken":     workshop.RolesRevokeScreenToken(),
	"RepairOrder.approvalDeliveries": workshop.RolesApprovalDeliveries(),

	"Query.openAssistanceRequests":     roadside.RolesOpenRequests(),
	"Mutation.acceptAssistanceRequest": roadside.RolesAccept(),
	"Mutation.dispatchAssistance":      roadside.RolesDispatch(),
	"Mutation.closeAssistanceRequest":  roadside.RolesClose(),

	"Mutation.topUpWallet":  wallet.RolesTopUp(),
	"Mutation.refundWallet": wallet.RolesRefund(),
	"Mutation.adjustWallet": wallet.RolesAdjust(),
}
