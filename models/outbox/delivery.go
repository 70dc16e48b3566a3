// Package outbox is the one way a message leaves the server for an owner
// (an SMS, later WeChat and push): the caller enqueues it inside its own
// transaction, one delivery per channel is written with the job that
// delivers it, and workers on any instance send it after commit, at least
// once, with bounded retries and exponential backoff. The job queue is River
// on the project's own pool; docs/decisions/0004-outbox-on-river.md says why
// and how it was measured.
package outbox

import (
	"errors"
	"time"

	"github.com/google/uuid"
)

// Statuses of a delivery. PENDING waits for its job; SENDING is claimed by
// a worker that is calling the channel; SENT, FAILED (refused for good),
// DEAD (retries used up) and EXPIRED (claimed after its NotAfter, not sent)
// are final.
const (
	Pending = "PENDING"
	Sending = "SENDING"
	Sent    = "SENT"
	Failed  = "FAILED"
	Dead    = "DEAD"
	Expired = "EXPIRED"
)

// Kinds of message.
const (
	// KindLoginCode is a sign-in code: secret (its payload is erased once
	// the delivery ends, and never logged) and sent at any hour.
	KindLoginCode = "LOGIN_CODE"
)

// Channels.
const (
	ChannelSMS = "SMS"
	// ChannelPush is the owner app's push; its address is a device's id
	// (see models/push).
	ChannelPush = "PUSH"
)

// Delivery is one message to one recipient on one channel (a row of
// deliveries).
type Delivery struct {
	ID uuid.UUID `gorm:"primaryKey"`
	// OwnerID is nil for a login code to a phone that is no owner's yet.
	OwnerID *uuid.UUID
	// NotificationID links the in-app notification this delivery carries.
	NotificationID *uuid.UUID
	Kind           string
	Channel        string
	// Recipient is the address on the channel: an E.164 phone, an openid,
	// a device token. Not logged for login codes.
	Recipient string
	// Template names what to send; the channel maps it to the provider's
	// template (for SMS, a template code per kind).
	Template string
	// Payload is the template's parameters as a JSON object of strings.
	Payload string
	// DedupeKey is unique: a second enqueue with the same key is a no-op.
	DedupeKey string
	Status    string
	// Attempts counts the channel calls made so far.
	Attempts      int
	NextAttemptAt time.Time
	// NotAfter is when the message becomes useless (a login code's
	// expiry): a worker that claims the delivery later ends it EXPIRED
	// without sending. Nil means never.
	NotAfter *time.Time
	// ProviderMessageID is the provider's receipt of a sent message.
	ProviderMessageID string
	// LastError is why the last attempt failed, without the payload.
	LastError string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TableName names the deliveries table.
func (Delivery) TableName() string { return "deliveries" }

// secret reports whether the payload must not outlive the delivery.
func (d *Delivery) secret() bool { return d.Kind == KindLoginCode }

// permanentError marks a refusal that no retry will change.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err, returned by a Channel's Send, as a refusal that
// retrying will not change (invalid number, template refused, blacklisted):
// the delivery ends FAILED. Any other error means "retry later".
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err was marked by Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// State is what staff may see of a delivery: how it went, never to whom or
// what (no recipient, no payload).
type State struct {
	ID             uuid.UUID
	NotificationID uuid.UUID
	Channel        string
	Status         string
	Attempts       int
	LastError      string
	// SentAt is when the provider accepted it; nil unless SENT.
	SentAt    *time.Time
	CreatedAt time.Time
}

// SentDeliveryOf is a subquery for EXISTS: a delivery of the notification
// whose id is in column notificationCol that its provider accepted (SENT),
// on any channel. Campaign reports count delivered invitations with it
// (index deliveries_notification_idx).
func SentDeliveryOf(notificationCol string) string {
	return "SELECT 1 FROM deliveries dl WHERE dl.notification_id = " + notificationCol + " AND dl.status = '" + Sent + "'"
}
