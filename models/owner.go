package models

import (
	"time"

	"github.com/google/uuid"
)

// Owner is a car owner (车主), a member of the dealer group.
type Owner struct {
	ID                 uuid.UUID `gorm:"primaryKey"`
	Phone              string    // E.164, unique
	Name               string
	Birthday           *Date
	Gender             *string // MALE, FEMALE
	HomeStoreID        *uuid.UUID
	WeChatOpenID       *string `gorm:"column:wechat_openid"`
	WeChatUnionID      *string `gorm:"column:wechat_unionid"`
	MarketingConsent   bool
	MarketingConsentAt *time.Time
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// Surname is the family name shown where an owner's full name must not be
// (the workshop board): the first character of a Chinese name, or the last
// word of a Western one.
func (o *Owner) Surname() string {
	r := []rune(o.Name)
	if len(r) == 0 {
		return ""
	}
	for i := len(r) - 1; i >= 0; i-- {
		if r[i] == ' ' {
			return string(r[i+1:])
		}
	}
	return string(r[0])
}
