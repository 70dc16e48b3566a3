// Package crm is the aftersales programme's view of the group's owners:
// the segment each owner falls in by the business they bring, and how likely
// they are to drift away (流失), computed nightly from the repair history
// and read by staff on the customer and per store. See docs/crm.md.
package crm

import (
	"slices"
	"sort"
	"time"
)

// Segment is one of the programme's eight groups of owners, by whether the
// owner brings much (high) or little (low) of each of three kinds of
// business within the window.
type Segment string

// The eight segments, with the programme's strategy for each (Strategy).
const (
	LowLoyalty    Segment = "LOW_LOYALTY"     // low insurance, low maintenance, low mechanical
	ToDevelop     Segment = "TO_DEVELOP"      // high insurance only
	ValueForMoney Segment = "VALUE_FOR_MONEY" // high maintenance only
	QualityFirst  Segment = "QUALITY_FIRST"   // high insurance and maintenance
	Appearance    Segment = "APPEARANCE"      // high mechanical only
	Relationship  Segment = "RELATIONSHIP"    // high insurance and mechanical
	Safety        Segment = "SAFETY"          // high maintenance and mechanical
	HighLoyalty   Segment = "HIGH_LOYALTY"    // high in all three
)

// Segments lists the segments in the programme's order.
var Segments = []Segment{LowLoyalty, ToDevelop, ValueForMoney, QualityFirst, Appearance, Relationship, Safety, HighLoyalty}

// Strategy is what the programme does for a segment's owners.
func (s Segment) Strategy() string {
	switch s {
	case LowLoyalty:
		return "free checks"
	case ToDevelop:
		return "maintenance instead of repair"
	case ValueForMoney:
		return "cycle reminders and care"
	case QualityFirst:
		return "insurance renewal packages"
	case Appearance:
		return "maintenance and beauty packages"
	case Relationship:
		return "extended-warranty packages"
	case Safety:
		return "car-care classes"
	case HighLoyalty:
		return "thank-you rewards"
	}
	return ""
}

// Business is a kind of business a repair order brings.
type Business int

// The three kinds of business the programme counts.
const (
	Insurance   Business = iota // accident and body/paint work, mostly paid by insurers
	Maintenance                 // scheduled maintenance and detailing
	Mechanical                  // mechanical repair and warranty work
)

// Thresholds say when a kind of business is "high": at least that many
// delivered visits of the kind within the last WindowMonths months.
type Thresholds struct {
	WindowMonths int
	Insurance    int
	Maintenance  int
	Mechanical   int
}

// DefaultThresholds: over two years, an accident visit, three maintenance
// visits (the default six-month interval, kept up within a visit) and two
// mechanical or warranty visits.
var DefaultThresholds = Thresholds{WindowMonths: 24, Insurance: 1, Maintenance: 3, Mechanical: 2}

// Counts are an owner's delivered visits of each kind within the window.
type Counts struct {
	Insurance, Maintenance, Mechanical int
}

// Classify is the programme's table: the segment of counts under t.
func Classify(c Counts, t Thresholds) Segment {
	ins := c.Insurance >= t.Insurance
	mnt := c.Maintenance >= t.Maintenance
	mec := c.Mechanical >= t.Mechanical
	switch {
	case ins && mnt && mec:
		return HighLoyalty
	case mnt && mec:
		return Safety
	case ins && mec:
		return Relationship
	case mec:
		return Appearance
	case ins && mnt:
		return QualityFirst
	case mnt:
		return ValueForMoney
	case ins:
		return ToDevelop
	}
	return LowLoyalty
}

// Risk is how likely an owner is to have drifted away.
type Risk string

// The churn risks, from least to most likely.
const (
	RiskLow    Risk = "LOW"
	RiskMedium Risk = "MEDIUM"
	RiskHigh   Risk = "HIGH"
)

var risks = []Risk{RiskLow, RiskMedium, RiskHigh}

// Risks lists the churn risks from least to most likely.
func Risks() []Risk { return slices.Clone(risks) }

// raise is the next risk up (HIGH stays HIGH).
func (r Risk) raise() Risk {
	i := slices.Index(risks, r)
	return risks[min(i+1, len(risks)-1)]
}

// Reason explains a churn risk.
type Reason string

// The reasons a risk is what it is.
const (
	// NoVisitYet: no delivered visit; the time is counted from the car's
	// purchase (or the owner's registration).
	NoVisitYet Reason = "NO_VISIT_YET"
	// Overdue: longer since the last visit than the usual interval allows
	// (OverdueRatio times it).
	Overdue Reason = "OVERDUE"
	// FarOverdue: more than FarOverdueRatio times the usual interval.
	FarOverdue Reason = "FAR_OVERDUE"
	// OutOfWarranty: every car's warranty has ended, by date or distance;
	// owners drift to independent garages after the warranty years.
	OutOfWarranty Reason = "OUT_OF_WARRANTY"
	// OlderCar: the newest car is OlderCarYears old or more.
	OlderCar Reason = "OLDER_CAR"
)

// The churn rule's numbers (docs/crm.md).
const (
	OverdueRatio    = 1.25
	FarOverdueRatio = 2.0
	OlderCarYears   = 6
	// Visits closer together than this are one stay (a comeback, a
	// second order for the same job) when the usual interval is measured.
	sameStay = 14 * 24 * time.Hour
	// The usual interval is kept within these bounds: an owner who came
	// twice in a month is not expected back monthly, nor one who skipped a
	// year expected back only every other year.
	minInterval = 60 * 24 * time.Hour
	maxInterval = 365 * 24 * time.Hour
)

// Car is what the churn rule reads of one of the owner's cars.
type Car struct {
	PurchaseDate    *time.Time
	WarrantyEndDate *time.Time
	WarrantyEndKm   *int
	MileageKm       int
	IntervalMonths  int // the car's maintenance interval
}

// ChurnInput is what the churn rule reads of an owner.
type ChurnInput struct {
	Now        time.Time
	Visits     []time.Time // delivered visits, any order
	Cars       []Car
	Registered time.Time // the owner's creation, when no car has a purchase date
}

// Churn is the result of the churn rule.
type Churn struct {
	Risk     Risk
	Reasons  []Reason
	LastAt   *time.Time    // the last delivered visit
	Interval time.Duration // the usual interval between visits
	DueBy    time.Time     // when the owner was expected back (last visit, or purchase, plus the interval)
}

// ChurnOf applies the churn rule. ok is false for an owner without a car:
// they have nothing to come back for, and get no risk.
//
// The usual interval is the median gap between the owner's stays (visits
// closer than two weeks are one stay), within 60 to 365 days; with fewer
// than two stays it is the shortest maintenance interval of their cars.
// The risk is LOW until OverdueRatio times the interval has passed since
// the last visit (or the purchase), MEDIUM until FarOverdueRatio times,
// HIGH after; once overdue, cars out of warranty and an older car each
// raise it one step.
func ChurnOf(in ChurnInput) (c Churn, ok bool) {
	if len(in.Cars) == 0 {
		return Churn{}, false
	}
	visits := slices.Clone(in.Visits)
	sort.Slice(visits, func(i, j int) bool { return visits[i].Before(visits[j]) })
	var stays []time.Time
	for _, v := range visits {
		if len(stays) == 0 || v.Sub(stays[len(stays)-1]) >= sameStay {
			stays = append(stays, v)
		} else {
			stays[len(stays)-1] = v
		}
	}
	c.Interval = usualInterval(stays, in.Cars)
	var since time.Time
	if len(visits) > 0 {
		last := visits[len(visits)-1]
		c.LastAt, since = &last, last
	} else {
		c.Reasons = append(c.Reasons, NoVisitYet)
		since = newestPurchase(in.Cars, in.Registered)
	}
	c.DueBy = since.Add(c.Interval)
	ratio := float64(in.Now.Sub(since)) / float64(c.Interval)
	c.Risk = RiskLow
	switch {
	case ratio >= FarOverdueRatio:
		c.Risk = RiskHigh
		c.Reasons = append(c.Reasons, FarOverdue)
	case ratio >= OverdueRatio:
		c.Risk = RiskMedium
		c.Reasons = append(c.Reasons, Overdue)
	}
	if ratio < OverdueRatio {
		return c, true
	}
	if outOfWarranty(in.Cars, in.Now) {
		c.Risk = c.Risk.raise()
		c.Reasons = append(c.Reasons, OutOfWarranty)
	}
	if p := newestPurchase(in.Cars, time.Time{}); !p.IsZero() && !p.AddDate(OlderCarYears, 0, 0).After(in.Now) {
		c.Risk = c.Risk.raise()
		c.Reasons = append(c.Reasons, OlderCar)
	}
	return c, true
}

// usualInterval is the median gap between stays, bounded, or the shortest
// maintenance interval of the cars when there are fewer than two stays.
func usualInterval(stays []time.Time, cars []Car) time.Duration {
	if len(stays) < 2 {
		months := 0
		for _, car := range cars {
			if car.IntervalMonths > 0 && (months == 0 || car.IntervalMonths < months) {
				months = car.IntervalMonths
			}
		}
		if months == 0 {
			months = 6
		}
		return max(minInterval, min(maxInterval, time.Duration(months)*30*24*time.Hour))
	}
	gaps := make([]time.Duration, 0, len(stays)-1)
	for i := 1; i < len(stays); i++ {
		gaps = append(gaps, stays[i].Sub(stays[i-1]))
	}
	slices.Sort(gaps)
	m := gaps[len(gaps)/2]
	if len(gaps)%2 == 0 {
		m = (gaps[len(gaps)/2-1] + m) / 2
	}
	return max(minInterval, min(maxInterval, m))
}

// newestPurchase is the latest purchase date among the cars, or fallback
// when none has one.
func newestPurchase(cars []Car, fallback time.Time) time.Time {
	var newest time.Time
	for _, car := range cars {
		if car.PurchaseDate != nil && car.PurchaseDate.After(newest) {
			newest = *car.PurchaseDate
		}
	}
	if newest.IsZero() {
		return fallback
	}
	return newest
}

// outOfWarranty reports whether every car's warranty has ended by date or
// by distance. A car with no warranty recorded counts as covered: nothing
// says it has ended.
func outOfWarranty(cars []Car, now time.Time) bool {
	for _, car := range cars {
		ended := (car.WarrantyEndDate != nil && !car.WarrantyEndDate.After(now)) ||
			(car.WarrantyEndKm != nil && car.MileageKm >= *car.WarrantyEndKm)
		if !ended {
			return false
		}
	}
	return true
}
