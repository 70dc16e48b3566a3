package directory

import (
	"time"

	"github.com/ownerhub/ownerhub/models"
)

// earliestDate bounds every vehicle date (no car of interest predates it).
var earliestDate = models.Date{Year: 1980, Month: time.January, Day: 1}

// checkText is Text on one line.
func checkText(field, label, s string, minRunes, maxRunes int) (string, error) {
	return models.Text(field, label, s, minRunes, maxRunes, false)
}

// checkDate checks lo <= d <= hi; the refusal is INVALID_ARGUMENT on field.
func checkDate(field, label string, d *models.Date, lo, hi models.Date) error {
	if d == nil {
		return nil
	}
	if d.IsZero() || d.Before(lo) || hi.Before(*d) {
		return models.Ef(models.CodeInvalidArgument, label+"须在 "+lo.String()+" 至 "+hi.String()+" 之间",
			"%s must be between %s and %s", field, lo, hi).On(field)
	}
	return nil
}

// checkInt checks lo <= n <= hi; the refusal is INVALID_ARGUMENT on field.
func checkInt(field, label string, n *int, lo, hi int) error {
	if n == nil {
		return nil
	}
	if *n < lo || *n > hi {
		return models.Ef(models.CodeInvalidArgument, label+"超出允许范围", "%s must be between %d and %d", field, lo, hi).On(field)
	}
	return nil
}
