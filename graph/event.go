package graph

import (
	"context"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/graph/model"
	"github.com/ownerhub/ownerhub/models/events"
)

// stopsOf maps itinerary inputs to stops.
func stopsOf(in []*model.ItineraryStopInput) []events.Stop {
	out := make([]events.Stop, len(in))
	for i, s := range in {
		out[i] = events.Stop{At: s.At, Place: s.Place, Note: deref(s.Note)}
	}
	return out
}

// int64Of widens an optional GraphQL Int.
func int64Of(n *int) *int64 {
	if n == nil {
		return nil
	}
	v := int64(*n)
	return &v
}

// eventPayload answers an event mutation: the event, or the refusal.
func eventPayload(ctx context.Context, e *events.Event, err error) (*model.EventPayload, error) {
	ues, err := userErrors(ctx, err)
	if err != nil {
		return nil, err
	}
	return &model.EventPayload{Event: e, UserErrors: ues}, nil
}

// registrationPayload answers a registration mutation.
func registrationPayload(ctx context.Context, r *events.Registration, err error) (*model.RegistrationPayload, error) {
	ues, err := userErrors(ctx, err)
	if err != nil {
		return nil, err
	}
	return &model.RegistrationPayload{Registration: r, UserErrors: ues}, nil
}

// specOf maps createEvent's input.
func specOf(in model.CreateEventInput, store uuid.UUID) events.Spec {
	s := events.Spec{StoreID: store, Kind: in.Kind, Title: in.Title, Description: deref(in.Description),
		Location: in.Location, Itinerary: stopsOf(in.Itinerary), StartsAt: in.StartsAt, EndsAt: in.EndsAt,
		RegistrationOpensAt: in.RegistrationOpensAt, RegistrationClosesAt: in.RegistrationClosesAt,
		CancellationDeadline: in.CancellationDeadline, Capacity: in.Capacity,
		FeeFen: deref(int64Of(in.FeeFen)), FeePoints: deref(int64Of(in.FeePoints)), MinTier: deref(in.MinTier),
		VehicleRequired: deref(in.VehicleRequired), MaxPartySize: deref(in.MaxPartySize),
		AttendancePoints: deref(int64Of(in.AttendancePoints))}
	return s
}

// patchOf maps updateEvent's input.
func patchOf(in model.UpdateEventInput) events.Patch {
	p := events.Patch{Title: in.Title, Description: in.Description, Location: in.Location,
		StartsAt: in.StartsAt, EndsAt: in.EndsAt, RegistrationOpensAt: in.RegistrationOpensAt,
		RegistrationClosesAt: in.RegistrationClosesAt, CancellationDeadline: in.CancellationDeadline,
		Capacity: in.Capacity, FeeFen: int64Of(in.FeeFen), FeePoints: int64Of(in.FeePoints),
		VehicleRequired: in.VehicleRequired, MaxPartySize: in.MaxPartySize, AttendancePoints: int64Of(in.AttendancePoints)}
	p.MinTier = in.MinTier
	if in.Itinerary != nil {
		stops := stopsOf(in.Itinerary)
		p.Itinerary = &stops
	}
	return p
}

// prefetchEvents reads up front, for a page of events, the stores and the
// caller's registrations the operation selects of them, so that the
// events' fields do not wait for a batch (Loader.Prefetch).
func prefetchEvents(ctx context.Context, rows []*events.Event) error {
	if len(rows) == 0 {
		return nil
	}
	l := loaders(ctx)
	if selects(ctx, "edges", "node", "store") {
		ids := make([]uuid.UUID, len(rows))
		for i, e := range rows {
			ids[i] = e.StoreID
		}
		if err := l.Store.Prefetch(ctx, ids); err != nil {
			return err
		}
	}
	if selects(ctx, "edges", "node", "myRegistration") {
		ids := make([]uuid.UUID, len(rows))
		for i, e := range rows {
			ids[i] = e.ID
		}
		return l.MyRegistration.Prefetch(ctx, ids)
	}
	return nil
}
