package roadside

import (
	"context"
	"math"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/validate"
)

// RequestInput is an owner's call for help.
type RequestInput struct {
	VehicleID uuid.UUID
	// StoreID chooses the store; nil sends the request to the nearest store
	// with coordinates.
	StoreID             *uuid.UUID
	Latitude, Longitude float64 // WGS-84 degrees
	Address             string  // what the owner sees around them, 1-200 characters
	Problem             Problem
	// Description is up to 500 characters; required for OTHER.
	Description string
	// CallbackPhone is a mainland mobile number; empty means the owner's.
	CallbackPhone string
}

// check validates and normalizes the input (the callback phone stays empty
// when not given).
func (in RequestInput) check() (RequestInput, error) {
	if err := checkCoordinates(in.Latitude, in.Longitude); err != nil {
		return in, err
	}
	var err error
	if in.Address, err = models.Text("address", "所在位置", in.Address, 1, MaxAddressRunes, false); err != nil {
		return in, err
	}
	if !in.Problem.Valid() {
		return in, models.Invalid("problem", "请选择故障类型", "unknown problem")
	}
	minDescription := 0
	if in.Problem == Other {
		minDescription = 1
	}
	if in.Description, err = models.Text("description", "故障描述", in.Description, minDescription, MaxDescriptionRunes, true); err != nil {
		return in, err
	}
	if in.CallbackPhone != "" {
		phone, err := validate.NormalizePhone(in.CallbackPhone)
		if err != nil {
			return in, models.InvalidPhone("callbackPhone", err)
		}
		in.CallbackPhone = phone
	}
	return in, nil
}

// RequestAssistance records an owner's call for help with one of their
// cars, for the chosen store or else the nearest store with coordinates
// (great-circle distance, computed here over the group's few stores after
// one read). A vehicle has one open request at a time: the partial unique
// index decides between concurrent requests, so of many at once exactly
// one is stored. The store's staff see it in their open requests; the
// owner follows it with assistanceRequestUpdated.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (not an owner), INVALID_ARGUMENT
// ("latitude", "longitude", "address", "problem", "description"),
// INVALID_PHONE ("callbackPhone"), NOT_FOUND ("vehicleId": absent or another owner's;
// "storeId"), NO_STORE_AVAILABLE ("storeId"), ASSISTANCE_ALREADY_OPEN
// ("vehicleId").
func (s *Service) RequestAssistance(ctx context.Context, actor *auth.Principal, in RequestInput) (*Request, error) {
	switch {
	case actor == nil:
		return nil, models.ErrUnauthenticated
	case !actor.IsOwner():
		return nil, models.ErrForbidden
	}
	in, err := in.check()
	if err != nil {
		return nil, err
	}
	var out *Request
	err = s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		now := s.Clock.Now(ctx)
		conn := s.DB.Conn(ctx)
		v, err := s.directory().VehicleOf(ctx, actor.ID, in.VehicleID)
		if err != nil {
			return models.NotFoundAs(err, errVehicleNotFound)
		}
		if in.CallbackPhone == "" {
			if in.CallbackPhone, err = s.directory().OwnerPhone(ctx, actor.ID); err != nil {
				return models.NotFoundAs(err, errOwnerNotFound)
			}
		}
		store, distance, err := s.storeFor(ctx, in)
		if err != nil {
			return err
		}
		r := &Request{
			ID: models.NewID(), OwnerID: actor.ID, VehicleID: v.ID, StoreID: store.ID, StoreChosen: in.StoreID != nil,
			DistanceM: distance, Status: Requested, Problem: in.Problem, Description: in.Description,
			Latitude: in.Latitude, Longitude: in.Longitude, Address: in.Address, CallbackPhone: in.CallbackPhone,
			Version: 1, CreatedAt: now, UpdatedAt: now,
		}
		if err := conn.Create(r).Error; err != nil {
			if models.IsUniqueViolation(err) {
				return ErrAlreadyOpen
			}
			return err
		}
		if err := s.record(ctx, r.ID, nil, Requested, actor, "", now); err != nil {
			return err
		}
		out = r
		return s.DB.Publish(ctx, Topic(r.ID))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// storeFor finds the request's store: the chosen one, or the nearest with
// coordinates. The distance is nil when the store has no coordinates.
//
// Codes: NOT_FOUND ("storeId"), NO_STORE_AVAILABLE.
func (s *Service) storeFor(ctx context.Context, in RequestInput) (*models.Store, *int, error) {
	if in.StoreID != nil {
		st, err := s.directory().StoreRow(ctx, *in.StoreID)
		if err != nil {
			return nil, nil, models.NotFoundAs(err, errStoreNotFound)
		}
		if st.Latitude == nil || st.Longitude == nil {
			return st, nil, nil
		}
		d := metres(DistanceM(in.Latitude, in.Longitude, *st.Latitude, *st.Longitude))
		return st, &d, nil
	}
	// The group has a handful of stores: one read and the arithmetic here
	// beat a dialect-specific distance in SQL.
	stores, err := s.directory().StoresWithCoordinates(ctx)
	if err != nil {
		return nil, nil, err
	}
	st, dist, ok := Nearest(stores, in.Latitude, in.Longitude)
	if !ok {
		return nil, nil, ErrNoStore
	}
	d := metres(dist)
	return st, &d, nil
}

func metres(d float64) int { return int(math.Round(d)) }
