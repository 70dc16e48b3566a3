// Package signin implements how callers get a session: owners with their phone
// and an SMS code (optionally binding their WeChat account) or with a WeChat
// mini-program code, staff with username and password; and how sessions go on
// (rotating refresh tokens) and end (logout, reuse detection).
//
// Every rule is enforced inside a database transaction. Limits count rows
// (login codes, recorded failures) that the same transaction reads and
// writes; on PostgreSQL the transactions touching one phone, IP or username
// are serialized by advisory locks (see serialize), on SQLite by the database
// write lock every transaction takes at BEGIN. Single-use rules (a code, a
// refresh token) are conditional UPDATEs whose RowsAffected decides who won.
//
// Each operation owns its transaction; a refusal commits what led to it (the
// recorded failure, the revoked token family) before it is returned. Call
// the operations outside any transaction of your own, or a rollback of yours
// would undo those records.
package signin

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/outbox"
	"github.com/ownerhub/ownerhub/models/referrals"
	"gorm.io/gorm"
)

// Config holds the lifetimes and secrets of sign-in. Zero durations take the
// defaults noted beside them.
type Config struct {
	RefreshTTL time.Duration // 30 days default; each rotation starts a new period
	CodeTTL    time.Duration // 5 minutes default
	// TestCodes maps E.164 phones to fixed codes (OTP_TEST_NUMBERS, see
	// ParseTestCodes): nothing is sent to them, every other rule applies.
	TestCodes map[string]string
	// CodeSecret keys the HMACs of login code hashes and WeChat binding
	// tickets (at least 32 bytes). Changing it voids outstanding codes and
	// tickets, nothing else.
	CodeSecret []byte
	// Limits are the limits per client network; zero fields take
	// DefaultLimits.
	Limits Limits
}

// Limits are the sign-in limits that count per client network (an IPv4
// address or an IPv6 /64). Behind carrier NAT one address stands for
// thousands of phones, so these are generous and configurable; what bounds
// guessing is fixed per phone and per username (docs/sign-in.md). A zero
// field takes its default, Off turns a limit off (for benchmarks).
type Limits struct {
	CodesPerIP             int // login codes sent per hour
	WrongCodesPerIP        int // refused codes per hour, any phone
	StaffFailuresPerIP     int // wrong passwords per 15 minutes, any username
	StaffFailuresPerUserIP int // wrong passwords for one username per 15 minutes
}

// Off, as a limit, turns that limit off.
const Off = -1

// DefaultLimits are the limits per client network of a new server.
var DefaultLimits = Limits{CodesPerIP: 100, WrongCodesPerIP: 200, StaffFailuresPerIP: 50, StaffFailuresPerUserIP: 5}

// Defaults of Config.
const (
	// DefaultAccessTTL is the access token lifetime to build auth.Tokens with.
	DefaultAccessTTL  = 15 * time.Minute
	DefaultRefreshTTL = 30 * 24 * time.Hour
	DefaultCodeTTL    = 5 * time.Minute
)

// minCodeSecret is the HMAC-SHA256 key size.
const minCodeSecret = 32

// Service signs callers in. Its fields are set once at start; it is safe for
// concurrent use.
type Service struct {
	DB     *models.DB
	Tokens *auth.Tokens
	// Outbox, when set, sends login codes: the SMS delivery is written in
	// the transaction of the code's row and sent by the outbox's workers.
	// Otherwise SMS sends them, after the commit.
	Outbox *outbox.Outbox
	SMS    auth.SMSSender
	WeChat auth.WeChat
	// WeChatPhones exchanges the mini-program's getPhoneNumber codes for
	// the numbers WeChat verified (nil: loginWithWeChat takes no phone
	// code).
	WeChatPhones WeChatPhones
	// Referrals, when set, takes the referral code and device a sign-up
	// brings, in the sign-in's transaction (docs/referrals.md); without
	// it they are ignored.
	Referrals *referrals.Service
	Config    Config
	// Clock is the service's clock (nil: the real time). Tests move it.
	Clock models.Clock
}

// Session is what a successful sign-in or refresh hands the client.
type Session struct {
	AccessToken      string
	AccessExpiresAt  time.Time
	RefreshToken     string
	RefreshExpiresAt time.Time
}

func (s *Service) config() Config {
	c := s.Config
	if c.RefreshTTL <= 0 {
		c.RefreshTTL = DefaultRefreshTTL
	}
	if c.CodeTTL <= 0 {
		c.CodeTTL = DefaultCodeTTL
	}
	for _, l := range []struct {
		v   *int
		def int
	}{
		{&c.Limits.CodesPerIP, DefaultLimits.CodesPerIP},
		{&c.Limits.WrongCodesPerIP, DefaultLimits.WrongCodesPerIP},
		{&c.Limits.StaffFailuresPerIP, DefaultLimits.StaffFailuresPerIP},
		{&c.Limits.StaffFailuresPerUserIP, DefaultLimits.StaffFailuresPerUserIP},
	} {
		if *l.v == 0 {
			*l.v = l.def
		}
	}
	return c
}

// ready reports a wiring mistake as an internal error rather than a panic or,
// worse, codes hashed with an empty key.
func (s *Service) ready() error {
	switch {
	case s == nil || s.DB == nil:
		return errors.New("signin: Service.DB is not set")
	case s.Tokens == nil:
		return errors.New("signin: Service.Tokens is not set")
	case len(s.Config.CodeSecret) < minCodeSecret:
		return fmt.Errorf("signin: Config.CodeSecret must be at least %d bytes", minCodeSecret)
	}
	return nil
}

// subkey derives a key for one purpose from CodeSecret, so that a code hash
// can never be mistaken for a ticket signature or the other way round.
func (s *Service) subkey(purpose string) []byte {
	m := hmac.New(sha256.New, s.Config.CodeSecret)
	m.Write([]byte("ownerhub/signin/" + purpose))
	return m.Sum(nil)
}

// inTx runs fn in a transaction (joining one already in ctx). fn returns a
// refusal or an error: an error rolls everything back, while a refusal is
// returned only after the transaction commits, so that what fn recorded on
// the way to refusing (a failed attempt, a revoked token family) is kept.
func (s *Service) inTx(ctx context.Context, fn func(ctx context.Context) (refusal, err error)) error {
	var refusal error
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		var err error
		refusal, err = fn(ctx) // WithTx may run fn again: refusal is reset each time
		return err
	})
	if err != nil {
		return err
	}
	return refusal
}

// serialize makes transactions that touch the same keys (a phone, an IP, a
// username) run one after another until this one ends, so that the counts
// limits are decided on cannot change between reading and writing.
//
// Dialect-specific: on PostgreSQL it takes transaction-scoped advisory locks,
// in sorted order so that two transactions cannot deadlock; SQLite needs
// nothing, because every transaction holds the database's write lock from
// BEGIN (_txlock=immediate).
func (s *Service) serialize(ctx context.Context, keys ...string) error {
	if s.DB.Dialect != models.Postgres {
		return nil
	}
	keys = slices.Clone(keys)
	slices.Sort(keys)
	for _, k := range slices.Compact(keys) {
		if err := s.DB.Conn(ctx).Exec("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", k).Error; err != nil {
			return fmt.Errorf("signin: lock %s: %w", k, err)
		}
	}
	return nil
}

// nthNewest returns the created_at of the n-th newest row of q created after
// since, and false when there are fewer than n. With n a limit it says at once
// whether the limit is reached and when the oldest row counted leaves the
// window, which is when the limit lifts. A limit that is Off is never reached.
func nthNewest(q *gorm.DB, since time.Time, n int) (time.Time, bool, error) {
	if n == Off {
		return time.Time{}, false, nil
	}
	var ts []time.Time
	err := q.Where("created_at > ?", since).
		Order("created_at DESC").Offset(n-1).Limit(1).
		Pluck("created_at", &ts).Error
	if err != nil {
		return time.Time{}, false, fmt.Errorf("signin: count: %w", err)
	}
	if len(ts) == 0 {
		return time.Time{}, false, nil
	}
	return ts[0], true, nil
}

// secondsUntil rounds up, and is at least 1: "retry in 0 s" would invite a
// retry that is refused again.
func secondsUntil(t, now time.Time) int {
	secs := int(math.Ceil(t.Sub(now).Seconds()))
	return max(secs, 1)
}

// retryAfterOf is the wait a RATE_LIMITED error carries.
func retryAfterOf(err error) time.Duration {
	if e, ok := models.AsError(err); ok && e.RetryAfterSeconds > 0 {
		return time.Duration(e.RetryAfterSeconds) * time.Second
	}
	return 0
}

// Failure kinds of auth_failures.
const (
	failureOTP      = "OTP"
	failurePassword = "PASSWORD"
)

// recordFailure inserts one auth_failures row and returns its id.
func (s *Service) recordFailure(ctx context.Context, kind, subject, ip string, now time.Time) (models.AuthFailure, error) {
	f := models.AuthFailure{ID: models.NewID(), Kind: kind, Subject: subject, IP: ip, CreatedAt: now}
	if err := s.DB.Conn(ctx).Create(&f).Error; err != nil {
		return f, fmt.Errorf("signin: record failure: %w", err)
	}
	return f, nil
}

// failures selects the recorded failures of one kind.
func (s *Service) failures(ctx context.Context, kind string) *gorm.DB {
	return s.DB.Conn(ctx).Model(&models.AuthFailure{}).Where("kind = ?", kind)
}

func notFound(err error) bool { return errors.Is(err, gorm.ErrRecordNotFound) }

// checkReferral validates a sign-up's referral input before anything is
// done (referrals.Service.CheckSignUp); without Referrals it is dropped.
func (s *Service) checkReferral(ctx context.Context, su referrals.SignUp) (referrals.SignUp, error) {
	if s.Referrals == nil {
		return referrals.SignUp{}, nil
	}
	return s.Referrals.CheckSignUp(ctx, su)
}

// signedIn hands a sign-in's referral input to Referrals in its
// transaction.
func (s *Service) signedIn(ctx context.Context, o *models.Owner, created bool, su referrals.SignUp) error {
	if s.Referrals == nil || (su.Code == "" && su.DeviceID == "") {
		return nil
	}
	return s.Referrals.SignedIn(ctx, o, created, su)
}
