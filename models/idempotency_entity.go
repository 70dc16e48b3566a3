package models

import "time"

// IdempotencyKey records the result of one idempotent request of one caller.
type IdempotencyKey struct {
	Scope       string `gorm:"primaryKey"` // the caller, e.g. "STAFF:<id>"
	Key         string `gorm:"primaryKey"`
	Operation   string
	RequestHash string
	Response    string // JSON of the first result, replayed to retries
	CreatedAt   time.Time
}
