package auth

import (
	"context"
	"log/slog"
)

// SMSSender delivers one-time login codes by text message. It is an interface
// so development and tests need no SMS gateway.
type SMSSender interface {
	// SendLoginCode sends code to the phone number, given in E.164 form.
	SendLoginCode(ctx context.Context, phoneE164, code string) error
}

// LogSMSSender is the development sender: it writes the code to Log (level
// INFO, message "sms login code", attrs phone and code) instead of sending
// it. Not for production: anyone who can read the logs can log in as anyone.
type LogSMSSender struct {
	// Log receives the codes; nil means slog.Default().
	Log *slog.Logger
}

var _ SMSSender = LogSMSSender{}

// SendLoginCode logs the code. It fails only if ctx is already done, to mirror
// a real gateway call being abandoned.
func (s LogSMSSender) SendLoginCode(ctx context.Context, phoneE164, code string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	log := s.Log
	if log == nil {
		log = slog.Default()
	}
	log.InfoContext(ctx, "sms login code", slog.String("phone", phoneE164), slog.String("code", code))
	return nil
}
