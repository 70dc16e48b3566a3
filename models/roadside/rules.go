package roadside

import (
	"math"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

// Limits of what owners and staff type.
const (
	MaxAddressRunes     = 200
	MaxDescriptionRunes = 500
	MaxNoteRunes        = 500
	MaxNameRunes        = 40
	// MaxETAMinutes bounds a dispatch's estimated time of arrival.
	MaxETAMinutes = 12 * 60
)

// Change is what someone asks of a request.
type Change int

// Changes of a request.
const (
	Accept Change = iota
	Dispatch
	Close
	Cancel
)

// target is the status a change leads to.
func (c Change) target() Status {
	switch c {
	case Accept:
		return Accepted
	case Dispatch:
		return Dispatched
	case Close:
		return Closed
	}
	return Cancelled
}

// CheckChange says whether a request in status from may take change c, by
// the owner (byOwner) or by staff, and returns the status it moves to.
//
//   - Staff accept a REQUESTED request (ALREADY_ACCEPTED otherwise: someone
//     else was first), dispatch an ACCEPTED one (one dispatch; a new ETA is
//     a call, not a change), and close an ACCEPTED or DISPATCHED one (an
//     accepted request may be settled on the phone).
//   - The owner cancels until someone is dispatched; staff until closed.
//   - CLOSED and CANCELLED are final.
//
// Codes: REQUEST_FINISHED, ALREADY_ACCEPTED, WRONG_STATUS,
// TOO_LATE_TO_CANCEL, FORBIDDEN (an owner asking for a staff change).
func CheckChange(from Status, c Change, byOwner bool) (Status, error) {
	if !from.Open() {
		return "", ErrFinished
	}
	if byOwner && c != Cancel {
		return "", models.ErrForbidden
	}
	switch c {
	case Accept:
		if from != Requested {
			return "", ErrAlreadyAccepted
		}
	case Dispatch:
		if from != Accepted {
			return "", ErrWrongStatus
		}
	case Close:
		if from == Requested {
			return "", ErrWrongStatus
		}
	case Cancel:
		if byOwner && from == Dispatched {
			return "", ErrTooLateToCancel
		}
	default:
		return "", ErrWrongStatus
	}
	return c.target(), nil
}

// earthRadiusM is the mean radius of the Earth in metres.
const earthRadiusM = 6_371_008.8

// DistanceM is the great-circle distance between two points (degrees) in
// metres, by the haversine formula: within 0.5% of the ellipsoid, which is
// plenty to pick the nearer of two stores.
func DistanceM(lat1, lng1, lat2, lng2 float64) float64 {
	rad := math.Pi / 180
	dLat, dLng := (lat2-lat1)*rad, (lng2-lng1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * earthRadiusM * math.Asin(math.Min(1, math.Sqrt(a)))
}

// Nearest picks the store nearest to (lat, lng) among those with
// coordinates, and its distance in metres; ok is false when none has any.
// Ties go to the lower id, so the choice does not depend on read order.
func Nearest(stores []models.Store, lat, lng float64) (store *models.Store, distanceM float64, ok bool) {
	for i := range stores {
		s := &stores[i]
		if s.Latitude == nil || s.Longitude == nil {
			continue
		}
		d := DistanceM(lat, lng, *s.Latitude, *s.Longitude)
		if !ok || d < distanceM || (d == distanceM && lessID(s.ID, store.ID)) {
			store, distanceM, ok = s, d, true
		}
	}
	return store, distanceM, ok
}

func lessID(a, b uuid.UUID) bool { return a.String() < b.String() }

// checkCoordinates validates a position in WGS-84 degrees.
func checkCoordinates(lat, lng float64) error {
	if math.IsNaN(lat) || lat < -90 || lat > 90 {
		return models.Invalid("latitude", "纬度须在 -90 到 90 之间", "latitude must be between -90 and 90")
	}
	if math.IsNaN(lng) || lng < -180 || lng > 180 {
		return models.Invalid("longitude", "经度须在 -180 到 180 之间", "longitude must be between -180 and 180")
	}
	return nil
}
