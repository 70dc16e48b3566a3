package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ownerhub/ownerhub/models/outbox"
)

// Notification is what a provider sends to one device.
type Notification struct {
	// ID is the delivery's id: APNs' apns-id, so that a resent delivery is
	// one notification; JPush's sendno is derived from it.
	ID uuid.UUID
	// Title and Body are the alert's text.
	Title, Body string
	// CollapseID replaces an earlier notification with the same id on the
	// device (the in-app notification's id); empty for none.
	CollapseID string
	// Expiration is when the provider stops trying to reach the device;
	// zero means the provider's default.
	Expiration int64
}

// ErrDeadToken is wrapped by a provider's error when the provider reports
// the token will never receive again (the app was removed, the token is not
// one of the app's): the channel drops the device.
var ErrDeadToken = errors.New("push: dead device token")

// Provider sends to one device. Its errors follow outbox.Channel's rules
// (outbox.Permanent for a refusal no retry changes, anything else retried),
// and wrap ErrDeadToken (permanently) for a dead token.
type Provider interface {
	Send(ctx context.Context, token string, n Notification) (providerID string, err error)
}

// Channel is the outbox's push channel: a delivery's address is a device id
// (see Registry), its payload's "title" and "body" are the alert. It sends
// through the device's provider and drops the device its provider reports
// dead.
type Channel struct {
	Registry *Registry
	// Providers by name (ProviderAPNs, ProviderJPush); a device whose
	// provider is not configured fails permanently.
	Providers map[string]Provider
	Log       *slog.Logger
}

var _ outbox.Channel = (*Channel)(nil)

// Send sends d to its device.
func (c *Channel) Send(ctx context.Context, d outbox.Delivery) (string, error) {
	id, err := uuid.Parse(d.Recipient)
	if err != nil {
		return "", outbox.Permanent(fmt.Errorf("push: recipient is not a device id: %w", err))
	}
	var dev Device
	if err := c.Registry.DB.Conn(ctx).Take(&dev, "id = ?", id).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return "", outbox.Permanent(errors.New("push: device no longer registered"))
		}
		return "", err
	}
	if d.OwnerID != nil && *d.OwnerID != dev.OwnerID {
		return "", outbox.Permanent(errors.New("push: device belongs to another owner"))
	}
	p := c.Providers[dev.Provider]
	if p == nil {
		return "", outbox.Permanent(fmt.Errorf("push: provider %s not configured", dev.Provider))
	}
	var payload map[string]string
	if err := json.Unmarshal([]byte(d.Payload), &payload); err != nil || payload["body"] == "" {
		return "", outbox.Permanent(errors.New("push: payload needs a body"))
	}
	n := Notification{ID: d.ID, Title: payload["title"], Body: payload["body"]}
	if d.NotificationID != nil {
		n.CollapseID = d.NotificationID.String()
	}
	if d.NotAfter != nil {
		n.Expiration = d.NotAfter.Unix()
	}
	pid, err := p.Send(ctx, dev.Token, n)
	if errors.Is(err, ErrDeadToken) {
		if derr := c.Registry.drop(context.WithoutCancel(ctx), dev.ID); derr != nil {
			return "", fmt.Errorf("push: drop dead device: %w", derr)
		}
		log := c.Log
		if log == nil {
			log = slog.Default()
		}
		log.InfoContext(ctx, "push: dead device dropped", "device", dev.ID.String(), "provider", dev.Provider)
		return "", outbox.Permanent(err)
	}
	return pid, err
}
