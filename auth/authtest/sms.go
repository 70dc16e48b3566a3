package authtest

import (
	"context"
	"sync"

	"github.com/ownerhub/ownerhub/auth"
)

// SMSOutbox is a fake SMS gateway that records every login code sent, so
// tests can read the code a user would have received. The zero value is ready
// to use and it is safe for concurrent use.
type SMSOutbox struct {
	mu   sync.Mutex
	sent map[string][]string
	err  error
}

var _ auth.SMSSender = (*SMSOutbox)(nil)

// SendLoginCode records code for phoneE164, or returns the error set by
// FailWith without recording anything.
func (o *SMSOutbox) SendLoginCode(ctx context.Context, phoneE164, code string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return o.err
	}
	if o.sent == nil {
		o.sent = make(map[string][]string)
	}
	o.sent[phoneE164] = append(o.sent[phoneE164], code)
	return nil
}

// Last returns the most recent code sent to phone, and false if none was.
func (o *SMSOutbox) Last(phone string) (code string, ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	codes := o.sent[phone]
	if len(codes) == 0 {
		return "", false
	}
	return codes[len(codes)-1], true
}

// Count returns how many codes were sent to phone, for rate-limit tests.
func (o *SMSOutbox) Count(phone string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.sent[phone])
}

// FailWith makes later sends return err, simulating a gateway outage; nil
// restores normal delivery.
func (o *SMSOutbox) FailWith(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.err = err
}
