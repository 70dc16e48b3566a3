package main

import (
	"encoding/json"
	"testing"
)

// TestBoardRESTMatchesGraphQL: the REST board is GraphQL's board for the same
// store in the same forms: the store's and orders' global IDs, the version
// as the same string, and every card's fields alike.
func TestBoardRESTMatchesGraphQL(t *testing.T) {
	f := newWorkshop(t)
	car := f.newCar(t, "")
	f.open(t, f.staff(t, "advisor.sz01"), f.sz, car.Plate, 500, "MAINTENANCE", nil)
	token := f.staff(t, "advisor.sz01")
	_, rest, _ := bdFull(t, f.testServer, "SZ01", token)
	store := f.sz
	g := f.gql(t, token, `query($s: ID!) { workshopBoard(storeId: $s) { store { id code } version
		columns { status cards { orderId number status maskedPlate model ownerSurname advisorName technicianName bay
			promisedAt overdue statusChangedAt minutesInStatus } } } }`, map[string]any{"s": store})["workshopBoard"].(map[string]any)

	if rest["storeId"] != store || rest["storeId"] != dig(g, "store", "id") || rest["storeCode"] != dig(g, "store", "code") {
		t.Fatalf("store: REST %v %v, GraphQL %v", rest["storeId"], rest["storeCode"], g["store"])
	}
	if rest["version"] != g["version"] {
		t.Fatalf("version: REST %#v, GraphQL %#v", rest["version"], g["version"])
	}
	cards := 0
	for _, col := range g["columns"].([]any) {
		for _, card := range col.(map[string]any)["cards"].([]any) {
			card := card.(map[string]any)
			other, status := bdCard(rest, card["number"].(string))
			if other == nil || status != col.(map[string]any)["status"] {
				t.Fatalf("order %v: not in the REST board's column %v", card["number"], col.(map[string]any)["status"])
			}
			// The two answers were made apart: minutes may have passed.
			for _, c := range []map[string]any{card, other} {
				delete(c, "minutesInStatus")
				delete(c, "overdue")
			}
			a, _ := json.Marshal(card)
			b, _ := json.Marshal(other)
			if string(a) != string(b) {
				t.Errorf("card differs:\nGraphQL %s\nREST    %s", a, b)
			}
			cards++
		}
	}
	if cards < 2 {
		t.Fatalf("%d cards compared", cards)
	}
}
