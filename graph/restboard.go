package graph

import (
	"strconv"

	"github.com/ownerhub/ownerhub/models/workshop"
)

// RESTBoard is the workshop board as GET /api/v1/stores/{code}/board writes
// it: the fields of GraphQL's WorkshopBoard, with ids as the same global IDs
// and the version as the same string, so that a client holding both (a
// screen that also subscribes) compares them as they are.
type RESTBoard struct {
	*workshop.Board
	StoreID string       `json:"storeId"`
	Version string       `json:"version"`
	Columns []RESTColumn `json:"columns"`
}

// RESTColumn is a column of RESTBoard.
type RESTColumn struct {
	Status workshop.Status `json:"status"`
	Cards  []RESTCard      `json:"cards"`
}

// RESTCard is a card of RESTBoard: the order's global ID, as BoardCard.orderId.
type RESTCard struct {
	workshop.Card
	OrderID string `json:"orderId"`
}

// BoardOut writes a board for REST in GraphQL's forms.
func BoardOut(b *workshop.Board) RESTBoard {
	out := RESTBoard{Board: b, Version: boardVersion(b.Version), Columns: make([]RESTColumn, len(b.Columns))}
	if b.Store != nil {
		out.StoreID = globalID(typeStore, b.Store.ID)
	}
	for i, col := range b.Columns {
		cards := make([]RESTCard, len(col.Cards))
		for j, c := range col.Cards {
			cards[j] = RESTCard{Card: c, OrderID: globalID(typeRepairOrder, c.OrderID)}
		}
		out.Columns[i] = RESTColumn{Status: col.Status, Cards: cards}
	}
	return out
}

// boardVersion is a board's version as clients read it.
func boardVersion(v int64) string { return strconv.FormatInt(v, 10) }
