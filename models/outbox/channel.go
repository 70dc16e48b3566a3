package outbox

import (
	"context"
	"log/slog"
)

// Channel delivers one delivery through a provider. Send returns the
// provider's message id, or an error: wrapped with Permanent when the
// provider refused for good, otherwise it is retried later with backoff.
// Send may be called more than once for a delivery only if a worker died
// between sending and recording it (at least once); never for a delivery
// already recorded SENT.
type Channel interface {
	Send(ctx context.Context, d Delivery) (providerID string, err error)
}

// LogChannel is the channel used when no provider is configured: it writes
// the delivery's kind, channel and id to Log and reports it sent. It logs
// neither the recipient nor the payload (a login code would let whoever
// reads the logs sign in).
type LogChannel struct {
	// Log receives the lines; nil means slog.Default().
	Log *slog.Logger
}

var _ Channel = LogChannel{}

// Send logs the delivery's kind, channel and id, and succeeds.
func (c LogChannel) Send(ctx context.Context, d Delivery) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	log := c.Log
	if log == nil {
		log = slog.Default()
	}
	log.InfoContext(ctx, "outbox: delivery not sent (no provider configured)",
		slog.String("kind", d.Kind), slog.String("channel", d.Channel), slog.String("delivery", d.ID.String()))
	return "log:" + d.ID.String(), nil
}

// Templated is a Channel that sends only the templates it was configured
// with (an SMS provider's approved templates).
type Templated interface {
	HasTemplate(template string) bool
}

// HasTemplate reports whether a template code is configured for template.
func (a *AliyunSMS) HasTemplate(template string) bool { return a.cfg.Templates[template] != "" }

// Sends reports whether this outbox has a provider on channel that sends
// template: a channel left to the log sends nothing to owners.
func (o *Outbox) Sends(channel, template string) bool {
	ch, ok := o.channels[channel]
	if !ok || ch == nil {
		return false
	}
	if t, ok := ch.(Templated); ok {
		return t.HasTemplate(template)
	}
	return true
}
