package graph

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/graph/model"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// money is an amount of fen as the API shows it.
func money(fen int64) *model.Money {
	return &model.Money{AmountFen: int(fen), Currency: "CNY"}
}

// staffSummary names a staff member for owners and screens.
func staffSummary(ctx context.Context, id *uuid.UUID) (*model.StaffSummary, error) {
	if id == nil {
		return nil, nil
	}
	name, err := optional(loaders(ctx).StaffName.Load(ctx, *id))
	if err != nil {
		return nil, err
	}
	return &model.StaffSummary{ID: globalID(typeStaffSummary, *id), StaffID: globalID(typeStaff, *id), Name: name}, nil
}

// quantityMilli turns a quantity such as 1.5 into thousandths, refusing
// more precision than that rather than rounding it away.
func quantityMilli(q float64, field string) (int, error) {
	m := q * 1000
	n := int(m + 0.5)
	if q <= 0 || q > 1000 || float64(n)-m > 1e-6 || m-float64(n) > 1e-6 {
		return 0, models.Invalid(field, "数量须大于 0，最多三位小数", "quantity must be > 0 with at most three decimals")
	}
	return n, nil
}

func itemInput(in *model.RepairItemInput, field string) (workshop.ItemInput, error) {
	q, err := quantityMilli(in.Quantity, field+".quantity")
	if err != nil {
		return workshop.ItemInput{}, err
	}
	return workshop.ItemInput{
		Kind:          in.Kind,
		Code:          deref(in.Code),
		Description:   in.Description,
		QuantityMilli: q,
		UnitPriceFen:  int64(in.UnitPriceFen),
		Warranty:      deref(in.WarrantyCovered),
	}, nil
}

func itemInputs(in []*model.RepairItemInput) ([]workshop.ItemInput, error) {
	out := make([]workshop.ItemInput, len(in))
	for i, it := range in {
		var err error
		if out[i], err = itemInput(it, fmt.Sprintf("items[%d]", i)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// actorNames names everyone who moved an order, with one batch per kind of
// actor (staff, owners) whatever the number of events.
func actorNames(ctx context.Context, events []*workshop.Event) (map[uuid.UUID]string, error) {
	var staffIDs, ownerIDs []uuid.UUID
	for _, e := range events {
		if e.ActorID == nil {
			continue
		}
		switch e.ActorKind {
		case workshop.ActorStaff:
			staffIDs = append(staffIDs, *e.ActorID)
		case workshop.ActorOwner:
			// An owner's own move names them only to those the directory
			// lets see the customer: not to technicians.
			ownerIDs = append(ownerIDs, *e.ActorID)
		}
	}
	names := map[uuid.UUID]string{}
	if len(staffIDs) > 0 {
		got, err := loaders(ctx).StaffName.LoadAll(ctx, staffIDs)
		if err != nil && !errors.Is(err, errNotFound) {
			return nil, err
		}
		for i, id := range staffIDs {
			names[id] = got[i]
		}
	}
	if len(ownerIDs) > 0 {
		got, err := loaders(ctx).Customer.LoadAll(ctx, ownerIDs)
		if err != nil && !errors.Is(err, errNotFound) {
			return nil, err
		}
		for i, id := range ownerIDs {
			if got[i] != nil {
				names[id] = got[i].Name
			}
		}
	}
	return names, nil
}

// refusal answers a repair order mutation refused before the domain ran
// (input the API itself checks, such as a quantity's precision).
func refusal(ctx context.Context, err error) (*model.RepairOrderPayload, error) {
	ues, err := userErrors(ctx, err)
	if err != nil {
		return nil, err
	}
	return &model.RepairOrderPayload{UserErrors: ues}, nil
}

// nilIfNotFound answers a lookup of something absent, or not the caller's,
// with null: the same answer either way.
func nilIfNotFound[T any](v *T, err error) (*T, error) {
	if errors.Is(err, models.ErrNotFound) {
		return nil, nil
	}
	return v, err
}

// customer loads the owner of a record the caller may see. The directory
// decides whether the caller sees the customer (directory.CustomersFor); one
// it keeps back is FORBIDDEN here, as the field has always answered it.
func customer(ctx context.Context, id uuid.UUID) (*models.Owner, error) {
	o, err := loaders(ctx).Customer.Load(ctx, id)
	if errors.Is(err, errNotFound) {
		return nil, models.ErrForbidden
	}
	return o, err
}
