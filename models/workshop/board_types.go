package workshop

import (
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

// Board is a store's workshop board: open orders and those delivered today,
// grouped by status, with owner data masked. The same value serves the
// GraphQL field, the subscription and the screens' REST endpoint.
type Board struct {
	Store       *models.Store `json:"-"`
	StoreCode   string        `json:"storeCode"`
	Version     int64         `json:"version"`
	GeneratedAt time.Time     `json:"generatedAt"`
	Columns     []Column      `json:"columns"`
}

// Column is one status column of the board, in workflow order.
type Column struct {
	Status Status `json:"status"`
	Cards  []Card `json:"cards"`
}

// Card is one order on the board.
type Card struct {
	OrderID         uuid.UUID  `json:"orderId"`
	Number          string     `json:"number"`
	Status          Status     `json:"status"`
	MaskedPlate     string     `json:"maskedPlate"`
	Model           string     `json:"model"`
	OwnerSurname    string     `json:"ownerSurname"`
	AdvisorName     string     `json:"advisorName"`
	TechnicianName  *string    `json:"technicianName"`
	Bay             *string    `json:"bay"`
	PromisedAt      *time.Time `json:"promisedAt"`
	Overdue         bool       `json:"overdue"`
	StatusChangedAt time.Time  `json:"statusChangedAt"`
	MinutesInStatus int        `json:"minutesInStatus"`
}
