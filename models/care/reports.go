package care

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
)

// MaxReportDays bounds a report's date range.
const MaxReportDays = 366

// Averages are mean scores (0 when nothing was answered).
type Averages struct {
	Overall, Advisor, Quality, Timeliness, Cleanliness float64
}

// AdvisorSatisfaction is one advisor's surveys in a period.
type AdvisorSatisfaction struct {
	AdvisorID uuid.UUID
	Offered   int
	Answered  int
	Averages  Averages
}

// SatisfactionReport is a store's surveys offered in a period.
type SatisfactionReport struct {
	StoreID  uuid.UUID
	From, To models.Date
	Offered  int
	Answered int
	// ResponseRate is Answered / Offered (0 when nothing was offered).
	ResponseRate float64
	Averages     Averages
	// Advisors, most surveys first.
	Advisors []*AdvisorSatisfaction
}

// period checks a report's range and turns it into times in loc.
func period(from, to models.Date, loc *time.Location) (time.Time, time.Time, error) {
	if to.Before(from) {
		return time.Time{}, time.Time{}, models.Invalid("to", "结束日期不能早于开始日期", "to is before from")
	}
	// from..to counts both ends: at most MaxReportDays days.
	if from.AddDate(0, 0, MaxReportDays-1).Before(to) {
		return time.Time{}, time.Time{}, models.Ef(models.CodeInvalidArgument, "统计区间最长 366 天", "at most %d days", MaxReportDays).On("to")
	}
	start := time.Date(from.Year, from.Month, from.Day, 0, 0, 0, 0, loc).UTC()
	end := time.Date(to.Year, to.Month, to.Day, 0, 0, 0, 0, loc).AddDate(0, 0, 1).UTC()
	return start, end, nil
}

// Satisfaction reports a store's satisfaction over the surveys offered on
// the days from..to (store-local): surveys offered and answered, response
// rate, average scores per aspect, and the same per advisor. One grouped
// statement (plus the store's zone). Managers of the store (GROUP_ADMIN:
// any) read it.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND ("storeId"),
// INVALID_ARGUMENT ("to").
func (s *Service) Satisfaction(ctx context.Context, actor *auth.Principal, storeID uuid.UUID, from, to models.Date) (*SatisfactionReport, error) {
	if err := staffFor(actor, storeID, rolesSatisfaction); err != nil {
		return nil, err
	}
	store, err := s.directory().StoreRow(ctx, storeID)
	if err != nil {
		return nil, models.NotFoundAs(err, errStoreNotFound)
	}
	start, end, err := period(from, to, store.Location())
	if err != nil {
		return nil, err
	}
	var rows []struct {
		AdvisorID                               uuid.UUID
		Offered, Answered                       int
		Overall, Advisor, Quality, Timely, Lean int64
	}
	err = s.DB.Conn(ctx).Raw(`SELECT advisor_id, COUNT(*) AS offered, COUNT(submitted_at) AS answered,
		COALESCE(SUM(overall), 0) AS overall, COALESCE(SUM(advisor_score), 0) AS advisor, COALESCE(SUM(quality), 0) AS quality,
		COALESCE(SUM(timeliness), 0) AS timely, COALESCE(SUM(cleanliness), 0) AS lean
		FROM surveys WHERE store_id = ? AND offered_at >= ? AND offered_at < ?
		GROUP BY advisor_id ORDER BY COUNT(*) DESC, advisor_id`, storeID, start, end).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	r := &SatisfactionReport{StoreID: storeID, From: from, To: to, Advisors: []*AdvisorSatisfaction{}}
	var sum [5]int64
	for _, row := range rows {
		r.Offered += row.Offered
		r.Answered += row.Answered
		sums := [5]int64{row.Overall, row.Advisor, row.Quality, row.Timely, row.Lean}
		for i := range sum {
			sum[i] += sums[i]
		}
		r.Advisors = append(r.Advisors, &AdvisorSatisfaction{AdvisorID: row.AdvisorID, Offered: row.Offered, Answered: row.Answered,
			Averages: averages(sums, row.Answered)})
	}
	r.Averages = averages(sum, r.Answered)
	if r.Offered > 0 {
		r.ResponseRate = float64(r.Answered) / float64(r.Offered)
	}
	return r, nil
}

func averages(sum [5]int64, n int) Averages {
	if n == 0 {
		return Averages{}
	}
	d := float64(n)
	return Averages{float64(sum[0]) / d, float64(sum[1]) / d, float64(sum[2]) / d, float64(sum[3]) / d, float64(sum[4]) / d}
}

// ComplaintCount counts complaints of one group (a category or a store).
type ComplaintCount struct {
	Category Category  // by category
	StoreID  uuid.UUID // by store
	Total    int
	// Finished: resolved or closed.
	Finished int
	// Missed: with at least one deadline missed (a resolution deadline
	// missed before a reopening included).
	Missed int
}

// ComplaintReport counts complaints filed in a period by category and by
// store.
type ComplaintReport struct {
	From, To   models.Date
	Total      int
	ByCategory []*ComplaintCount // every category, in Categories order
	ByStore    []*ComplaintCount // stores with complaints
}

// ComplaintStats counts the complaints filed on the days from..to (China
// time, the group's) in the caller's stores (GROUP_ADMIN: all) or one of
// them, by category and by store, in one grouped statement. Managers read
// it.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (not a manager, a store not theirs),
// INVALID_ARGUMENT ("to").
func (s *Service) ComplaintStats(ctx context.Context, actor *auth.Principal, storeID *uuid.UUID, from, to models.Date) (*ComplaintReport, error) {
	switch {
	case actor == nil:
		return nil, models.ErrUnauthenticated
	case !actor.HasAnyRole(rolesComplaintStats...):
		return nil, models.ErrForbidden
	}
	start, end, err := period(from, to, (&models.Store{}).Location())
	if err != nil {
		return nil, err
	}
	q, err := models.StoreScope(s.DB.Conn(ctx).Model(&Complaint{}), actor, storeID, "store_id")
	if err != nil {
		return nil, err
	}
	var rows []struct {
		StoreID                 uuid.UUID
		Category                Category
		Total, Finished, Missed int
	}
	err = q.Select(`store_id, category, COUNT(*) AS total,
		SUM(CASE WHEN status IN ('RESOLVED', 'CLOSED') THEN 1 ELSE 0 END) AS finished,
		SUM(CASE WHEN response_state = 'MISSED' OR proposal_state = 'MISSED' OR resolution_state = 'MISSED' OR resolution_missed THEN 1 ELSE 0 END) AS missed`).
		Where("created_at >= ? AND created_at < ?", start, end).
		Group("store_id, category").Order("store_id, category").Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	r := &ComplaintReport{From: from, To: to, ByStore: []*ComplaintCount{}}
	byCat := map[Category]*ComplaintCount{}
	for _, c := range Categories {
		byCat[c] = &ComplaintCount{Category: c}
		r.ByCategory = append(r.ByCategory, byCat[c])
	}
	byStore := map[uuid.UUID]*ComplaintCount{}
	for _, row := range rows {
		st := byStore[row.StoreID]
		if st == nil {
			st = &ComplaintCount{StoreID: row.StoreID}
			byStore[row.StoreID] = st
			r.ByStore = append(r.ByStore, st)
		}
		for _, c := range []*ComplaintCount{st, byCat[row.Category]} {
			if c == nil {
				continue
			}
			c.Total += row.Total
			c.Finished += row.Finished
			c.Missed += row.Missed
		}
		r.Total += row.Total
	}
	return r, nil
}
