package wallet

import (
	"testing"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

func TestChargeInputCheck(t *testing.T) {
	t.Parallel()
	ok := ChargeInput{OwnerID: uuid.New(), WalletFen: 100, Points: 50, MoneyFen: 300, Key: "order:1"}
	with := func(f func(*ChargeInput)) ChargeInput { in := ok; f(&in); return in }
	for _, c := range []struct {
		name  string
		in    ChargeInput
		valid bool
	}{
		{"wallet, points and money", ok, true},
		{"nothing at all", ChargeInput{Key: "k"}, true},
		{"money equal to the wallet part", with(func(in *ChargeInput) { in.MoneyFen = in.WalletFen }), true},
		{"money below the wallet part", with(func(in *ChargeInput) { in.MoneyFen = in.WalletFen - 1 }), false},
		{"negative wallet", with(func(in *ChargeInput) { in.WalletFen = -1 }), false},
		{"negative points", with(func(in *ChargeInput) { in.Points = -1 }), false},
		{"wallet over the bound", with(func(in *ChargeInput) { in.WalletFen, in.MoneyFen = MaxAmountFen+1, MaxAmountFen+1 }), false},
		{"money at the bound", with(func(in *ChargeInput) { in.MoneyFen = MaxAmountFen }), true},
		{"money over the bound", with(func(in *ChargeInput) { in.MoneyFen = MaxAmountFen + 1 }), false},
		{"points at the bound", with(func(in *ChargeInput) { in.Points = MaxPoints }), true},
		{"points over the bound", with(func(in *ChargeInput) { in.Points = MaxPoints + 1 }), false},
		{"no earn, no money", with(func(in *ChargeInput) { in.NoEarn, in.MoneyFen = true, 0 }), true},
		{"no earn with money", with(func(in *ChargeInput) { in.NoEarn = true }), false},
		{"no key", with(func(in *ChargeInput) { in.Key = "" }), false},
		{"a blank key", with(func(in *ChargeInput) { in.Key = "  " }), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.in.check()
			if c.valid {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if e, isErr := models.AsError(err); !isErr || e.Code != models.CodeInvalidArgument {
				t.Fatalf("got %v, want INVALID_ARGUMENT", err)
			}
		})
	}
}
