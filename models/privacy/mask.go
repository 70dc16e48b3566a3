package privacy

import (
	"strings"

	"github.com/ownerhub/ownerhub/models/validate"
)

// What other owners may see of an owner (event rosters, car-club lists) and
// what the workshop board shows: never a full phone number or plate.

// MaskPhone shows a mainland mobile number as people write it masked:
// the first three and last four digits ("138****0001"). Anything else
// becomes "****".
func MaskPhone(e164 string) string {
	d := strings.TrimPrefix(e164, "+86")
	if len(d) != 11 || strings.Trim(d, "0123456789") != "" {
		return "****"
	}
	return d[:3] + "****" + d[7:]
}

// MaskPlate keeps a plate's province, letter and last two characters
// ("粤B·***23"), as the workshop board does.
func MaskPlate(plate string) string { return validate.MaskPlate(plate) }
