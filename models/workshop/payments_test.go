package workshop

import (
	"slices"
	"strings"
	"testing"

	"github.com/ownerhub/ownerhub/models"
)

func TestCheckPayments(t *testing.T) {
	t.Parallel()
	cash := func(fen int64) PaymentInput { return PaymentInput{Method: Cash, AmountFen: fen} }
	card := func(fen int64, ref string) PaymentInput {
		return PaymentInput{Method: BankCard, AmountFen: fen, Reference: ref}
	}
	for _, c := range []struct {
		name     string
		in       []PaymentInput
		walletOn bool
		want     []PaymentInput // when accepted
		code     models.Code    // when refused
		field    string
	}{
		{name: "none", in: nil, walletOn: true, want: []PaymentInput{}},
		{name: "cash and card", in: []PaymentInput{cash(100), card(200, " T-1 ")}, walletOn: true,
			want: []PaymentInput{cash(100), card(200, "T-1")}},
		{name: "points priced when given as 0", in: []PaymentInput{{Method: Points, Points: 500}}, walletOn: true,
			want: []PaymentInput{{Method: Points, Points: 500, AmountFen: 500}}},
		{name: "too many", in: make([]PaymentInput, MaxPayments+1), code: models.CodeInvalidArgument, field: "payments"},
		{name: "wallet without the wallet", in: []PaymentInput{{Method: Wallet, AmountFen: 1}},
			code: models.CodePaymentMethodUnavailable, field: "payments[0].method"},
		{name: "unknown method", in: []PaymentInput{cash(1), {Method: "GOLD", AmountFen: 1}}, walletOn: true,
			code: models.CodeInvalidArgument, field: "payments[1].method"},
		{name: "second wallet payment", in: []PaymentInput{{Method: Wallet, AmountFen: 1}, {Method: Wallet, AmountFen: 2}}, walletOn: true,
			code: models.CodeInvalidArgument, field: "payments[1].method"},
		{name: "two cash payments are fine", in: []PaymentInput{cash(1), cash(2)}, walletOn: true,
			want: []PaymentInput{cash(1), cash(2)}},
		{name: "points without points", in: []PaymentInput{{Method: Points, AmountFen: 100}}, walletOn: true,
			code: models.CodeInvalidArgument, field: "payments[0].points"},
		{name: "zero amount", in: []PaymentInput{cash(0)}, walletOn: true,
			code: models.CodeInvalidArgument, field: "payments[0].amountFen"},
		{name: "amount over the bound", in: []PaymentInput{cash(maxPaymentFen + 1)}, walletOn: true,
			code: models.CodeInvalidArgument, field: "payments[0].amountFen"},
		{name: "points amount not their value", in: []PaymentInput{{Method: Points, Points: 500, AmountFen: 400}}, walletOn: true,
			code: models.CodeInvalidArgument, field: "payments[0].amountFen"},
		{name: "points on cash", in: []PaymentInput{{Method: Cash, AmountFen: 100, Points: 1}}, walletOn: true,
			code: models.CodeInvalidArgument, field: "payments[0].points"},
		{name: "card without reference", in: []PaymentInput{card(100, "  ")}, walletOn: true,
			code: models.CodeInvalidArgument, field: "payments[0].reference"},
		{name: "reference too long", in: []PaymentInput{card(100, strings.Repeat("x", MaxReferenceRunes+1))}, walletOn: true,
			code: models.CodeInvalidArgument, field: "payments[0].reference"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := checkPayments(c.in, c.walletOn)
			if c.code == "" {
				if err != nil || !slices.Equal(got, c.want) {
					t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
				}
				return
			}
			e, ok := models.AsError(err)
			if !ok || e.Code != c.code || e.Field != c.field {
				t.Fatalf("got %v; want %s on %s", err, c.code, c.field)
			}
		})
	}
}
