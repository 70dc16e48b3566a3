package models

import (
	"time"

	"github.com/google/uuid"
)

// ConsentMarketing is the purpose of the one consent owners give today:
// marketing messages (birthday and anniversary greetings, offers).
const ConsentMarketing = "MARKETING"

// ConsentSource says why a consent changed.
type ConsentSource string

// Consent sources.
const (
	// ConsentByOwner: the owner gave or withdrew it.
	ConsentByOwner ConsentSource = "OWNER"
	// ConsentByDeletion: withdrawn because the owner deleted the account.
	ConsentByDeletion ConsentSource = "ACCOUNT_DELETED"
)

// ConsentEvent is one change of an owner's consent, kept as proof (PIPL):
// every change, whichever operation makes it, appends one.
type ConsentEvent struct {
	ID        uuid.UUID `gorm:"primaryKey"`
	OwnerID   uuid.UUID
	Purpose   string
	Given     bool
	Source    ConsentSource
	CreatedAt time.Time
}
