package graph

import "github.com/ownerhub/ownerhub/graph/model"

// capMoney is a per-visit cap: null for none (0).
func capMoney(fen int64) *model.Money {
	if fen == 0 {
		return nil
	}
	return money(fen)
}
