package signin

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/outbox"
	"github.com/ownerhub/ownerhub/models/referrals"
	"github.com/ownerhub/ownerhub/models/validate"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Limits of phone sign-in (docs/sign-in.md). What bounds guessing is per
// phone and fixed: at most codesPerPhone codes a day, each dead after
// maxCodeAttempts wrong tries, so at most 50 guesses a day at a million
// codes. A refused code counts against nothing else of the phone, so that a
// stranger cannot lock its owner out; it counts against the client network
// (Limits.WrongCodesPerIP), which throttles the guesser.
const (
	codeDigits         = 6
	maxCodeAttempts    = 5                // wrong tries per code; the schema CHECKs attempts <= 5
	resendInterval     = 60 * time.Second // one new code per phone per minute
	codesPerPhone      = 10               // per phone per rolling codesPhoneWindow
	codesPhoneWindow   = 24 * time.Hour
	codesIPWindow      = time.Hour // of Limits.CodesPerIP
	otpFailureWindow   = time.Hour // of Limits.WrongCodesPerIP
	lockKeyPhone       = "otp-phone:"
	lockKeyOTPClientIP = "otp-ip:"
)

// RequestCode sends a 6-digit sign-in code to phone by SMS, or, for a number
// in Config.TestCodes, stores that number's fixed code and sends nothing. On
// success it returns how long until another code may be requested.
//
// Refusals, which say nothing about whether an owner has this phone:
//   - INVALID_PHONE (field "phone"): not a mainland China mobile number.
//   - RATE_LIMITED: a code was sent to this phone less than 60 s ago, 10 in
//     the last 24 h, or from this client network Limits.CodesPerIP codes were
//     requested or Limits.WrongCodesPerIP wrong codes given in the last hour.
//     retryAfter (and the error's RetryAfterSeconds) say when to try again.
//
// Any other error (database, SMS gateway) is internal; a code the gateway
// failed to send is forgotten, so it counts against no limit. With an
// Outbox, the code's SMS is enqueued with the code's row and sent by a
// worker at once; a gateway's failure then retries (see models/outbox)
// rather than failing the request, and a code whose delivery failed for
// good simply never arrives (the owner asks again after a minute).
func (s *Service) RequestCode(ctx context.Context, phone, ip string) (retryAfter time.Duration, err error) {
	if err := s.ready(); err != nil {
		return 0, err
	}
	e164, err := normalizePhone(phone)
	if err != nil {
		return 0, err
	}
	code, isTest := s.Config.TestCodes[e164]
	if !isTest {
		if s.SMS == nil && s.Outbox == nil {
			return 0, errors.New("signin: Service.SMS is not set")
		}
		if code, err = newCode(); err != nil {
			return 0, err
		}
	}
	var id uuid.UUID
	err = s.inTx(ctx, func(ctx context.Context) (error, error) {
		now := s.Clock.Now(ctx)
		if err := s.serialize(ctx, lockKeyPhone+e164, lockKeyOTPClientIP+ip); err != nil {
			return nil, err
		}
		if refusal, err := s.wrongCodeLimit(ctx, ip, now); refusal != nil || err != nil {
			return refusal, err
		}
		if refusal, err := s.codeLimits(ctx, e164, ip, now); refusal != nil || err != nil {
			return refusal, err
		}
		id = models.NewID()
		lc := models.LoginCode{
			ID:        id,
			Phone:     e164,
			CodeHash:  s.hashCode(id, e164, code),
			IP:        ip,
			ExpiresAt: now.Add(s.config().CodeTTL),
			CreatedAt: now,
		}
		if err := s.DB.Conn(ctx).Create(&lc).Error; err != nil {
			return nil, fmt.Errorf("signin: store login code: %w", err)
		}
		if !isTest && s.Outbox != nil {
			return nil, s.enqueueCode(ctx, id, e164, code, lc.ExpiresAt)
		}
		return nil, nil
	})
	if err != nil {
		return retryAfterOf(err), err
	}
	// Sent after the commit: the gateway is slow and outside the transaction,
	// which WithTx may run more than once.
	if !isTest && s.Outbox == nil {
		if err := s.SMS.SendLoginCode(ctx, e164, code); err != nil {
			// Nothing reached the phone: forget the code, so that the owner
			// may ask again at once.
			_ = s.DB.Conn(context.WithoutCancel(ctx)).Delete(&models.LoginCode{}, "id = ?", id).Error
			return 0, fmt.Errorf("signin: send login code: %w", err)
		}
	}
	return resendInterval, nil
}

// enqueueCode writes the SMS delivery of code, keyed by the code's row, in
// the transaction in ctx. It is not sent after the code expires: a code
// throttled by the gateway until then would reach the phone dead.
func (s *Service) enqueueCode(ctx context.Context, id uuid.UUID, phone, code string, expires time.Time) error {
	_, err := s.Outbox.Enqueue(ctx, outbox.Message{
		Kind:      outbox.KindLoginCode,
		DedupeKey: "login-code:" + id.String(),
		Payload:   map[string]string{"code": code},
		NotAfter:  expires,
		To:        []outbox.Recipient{{Channel: outbox.ChannelSMS, Address: phone}},
	})
	if err != nil {
		return fmt.Errorf("signin: enqueue login code: %w", err)
	}
	return nil
}

// codeLimits refuses a new code for phone or from ip when one of the sending
// limits is reached.
func (s *Service) codeLimits(ctx context.Context, phone, ip string, now time.Time) (refusal, err error) {
	codes := func() *gorm.DB { return s.DB.Conn(ctx).Model(&models.LoginCode{}) }
	limits := []struct {
		q      *gorm.DB
		window time.Duration
		n      int
	}{
		{codes().Where("phone = ?", phone), resendInterval, 1},
		{codes().Where("phone = ?", phone), codesPhoneWindow, codesPerPhone},
		{codes().Where("ip = ?", ip), codesIPWindow, s.config().Limits.CodesPerIP},
	}
	for _, l := range limits {
		t, hit, err := nthNewest(l.q, now.Add(-l.window), l.n)
		if err != nil || hit {
			return rateLimitedUntil(t.Add(l.window), now, hit), err
		}
	}
	return nil, nil
}

// wrongCodeLimit refuses phone sign-in (RATE_LIMITED) from a client network
// that gave Limits.WrongCodesPerIP wrong codes in the last hour, for any
// phones. While refused, attempts are not recorded, so the limit lifts one
// hour after the oldest of the failures that set it.
func (s *Service) wrongCodeLimit(ctx context.Context, ip string, now time.Time) (refusal, err error) {
	q := s.failures(ctx, failureOTP).Where("ip = ?", ip)
	t, hit, err := nthNewest(q, now.Add(-otpFailureWindow), s.config().Limits.WrongCodesPerIP)
	if err != nil {
		return nil, err
	}
	return rateLimitedUntil(t.Add(otpFailureWindow), now, hit), nil
}

// rateLimitedUntil is RATE_LIMITED until t when hit, else nil.
func rateLimitedUntil(t, now time.Time, hit bool) error {
	if !hit {
		return nil
	}
	return models.RateLimited(secondsUntil(t, now))
}

// VerifyCode signs an owner in with the code sent to phone, creating the owner
// on first sign-in. With a bindingTicket from LoginWithWeChat it also binds
// that WeChat account (openid, and unionid when known) to the owner.
//
// The code checked is the phone's newest unconsumed one; a right code is
// consumed (with any older ones), so each code signs in once even when
// presented concurrently. A wrong code counts against the phone only as one
// of its live code's 5 tries: with no live code (none requested, used,
// expired or dead) a guess costs the phone nothing. Every refused code is
// recorded against the client network; a malformed one (not 6 digits)
// cannot be right and is not.
//
// Refusals:
//   - INVALID_PHONE (field "phone").
//   - INVALID_CODE (field "code"): wrong or malformed code, or no code
//     requested. A wrong code uses up one of the code's 5 tries.
//   - CODE_EXPIRED (field "code"): the newest code is older than CodeTTL.
//   - TOO_MANY_ATTEMPTS (field "code"): the code had 5 wrong tries and is
//     dead, even if right now; request a new one.
//   - RATE_LIMITED: Limits.WrongCodesPerIP wrong codes from this client
//     network in the last hour.
//   - INVALID_BINDING_TICKET (field "weChatBindingTicket"): bad, tampered or
//     expired ticket; nothing is changed.
//   - WECHAT_ALREADY_BOUND (field "weChatBindingTicket"): the WeChat account
//     belongs to another owner; nothing is changed, the code stays usable.
func (s *Service) VerifyCode(ctx context.Context, phone, code, bindingTicket, ip string) (*Session, *models.Owner, error) {
	return s.VerifyCodeReferred(ctx, phone, code, bindingTicket, ip, referrals.SignUp{})
}

// VerifyCodeReferred is VerifyCode for a sign-up that may bring a
// referral code and the device it is made on (referrals.SignUp, Via set
// here): the code refers the owner only when this sign-in creates them
// (Service.Referrals, docs/referrals.md).
//
// Refusals, beside VerifyCode's (checked first; nothing changed, the code
// stays usable): REFERRAL_CODE_UNKNOWN (field "referralCode"),
// INVALID_ARGUMENT (field "deviceId").
func (s *Service) VerifyCodeReferred(ctx context.Context, phone, code, bindingTicket, ip string, su referrals.SignUp) (*Session, *models.Owner, error) {
	if err := s.ready(); err != nil {
		return nil, nil, err
	}
	e164, err := normalizePhone(phone)
	if err != nil {
		return nil, nil, err
	}
	su.Via = referrals.ViaSMS
	if bindingTicket != "" {
		su.Via = referrals.ViaWeChat
	}
	if su, err = s.checkReferral(ctx, su); err != nil {
		return nil, nil, err
	}
	var wechat *weChatIdentity
	if bindingTicket != "" {
		id, err := s.parseBindingTicket(ctx, bindingTicket)
		if err != nil {
			return nil, nil, err
		}
		wechat = &id
	}
	code = strings.TrimSpace(code)
	if !isCode(code) {
		// Cannot be right, so it costs the owner no try: typos of the form
		// ("12345") are not guesses.
		return nil, nil, ErrInvalidCode
	}
	var (
		sess  *Session
		owner *models.Owner
	)
	err = s.inTx(ctx, func(ctx context.Context) (error, error) {
		sess, owner = nil, nil
		now := s.Clock.Now(ctx)
		if err := s.serialize(ctx, lockKeyPhone+e164, lockKeyOTPClientIP+ip); err != nil {
			return nil, err
		}
		if refusal, err := s.wrongCodeLimit(ctx, ip, now); refusal != nil || err != nil {
			return refusal, err
		}
		if refusal, err := s.consumeCode(ctx, e164, code, ip, now); refusal != nil || err != nil {
			return refusal, err
		}
		o, created, err := s.findOrCreateOwner(ctx, e164, now)
		if err != nil {
			return nil, err
		}
		if err := s.signedIn(ctx, o, created, su); err != nil {
			return nil, err
		}
		if wechat != nil {
			// An error, not a refusal: the whole sign-in rolls back, and the
			// code can be used again without the ticket.
			if err := s.bindWeChat(ctx, o, *wechat, now); err != nil {
				return nil, err
			}
		}
		if sess, err = s.newSession(ctx, ownerPrincipal(o), models.NewID(), now); err != nil {
			return nil, err
		}
		owner = o
		return nil, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return sess, owner, nil
}

// consumeCode checks code against the phone's newest unconsumed code and
// consumes it when right. A refused code is recorded as a failure of the
// client network, and the refusal commits with it; only a live code's tries
// count against the phone.
func (s *Service) consumeCode(ctx context.Context, phone, code, ip string, now time.Time) (refusal, err error) {
	conn := s.DB.Conn(ctx)
	fail := func(refusal error) (error, error) {
		if _, err := s.recordFailure(ctx, failureOTP, phone, ip, now); err != nil {
			return nil, err
		}
		return refusal, nil
	}
	var lc models.LoginCode
	err = conn.Where("phone = ? AND consumed_at IS NULL", phone).
		Order("created_at DESC, id DESC").Take(&lc).Error
	switch {
	case notFound(err):
		return fail(ErrInvalidCode)
	case err != nil:
		return nil, fmt.Errorf("signin: load login code: %w", err)
	case !now.Before(lc.ExpiresAt):
		return fail(ErrCodeExpired)
	case lc.Attempts >= maxCodeAttempts:
		return fail(ErrTooManyAttempts)
	}
	if !hmac.Equal([]byte(s.hashCode(lc.ID, phone, code)), []byte(lc.CodeHash)) {
		res := conn.Model(&models.LoginCode{}).
			Where("id = ? AND attempts < ?", lc.ID, maxCodeAttempts).
			Update("attempts", gorm.Expr("attempts + 1"))
		if res.Error != nil {
			return nil, fmt.Errorf("signin: count wrong code: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return fail(ErrTooManyAttempts)
		}
		return fail(ErrInvalidCode)
	}
	res := conn.Model(&models.LoginCode{}).
		Where("id = ? AND consumed_at IS NULL AND attempts < ? AND expires_at > ?", lc.ID, maxCodeAttempts, now).
		Update("consumed_at", now)
	if res.Error != nil {
		return nil, fmt.Errorf("signin: consume login code: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		// A concurrent verification of the same code won. Not a wrong code,
		// so not recorded as one.
		return ErrInvalidCode, nil
	}
	// Older codes are superseded: none of them may sign in again later.
	err = conn.Model(&models.LoginCode{}).
		Where("phone = ? AND consumed_at IS NULL", phone).
		Update("consumed_at", now).Error
	if err != nil {
		return nil, fmt.Errorf("signin: retire older login codes: %w", err)
	}
	return nil, nil
}

// findOrCreateOwner returns the owner with phone, creating it on first
// sign-in. Two first sign-ins at once (or a sign-in racing a staff member who
// registers the phone) create one owner: the insert does nothing on a phone
// conflict, which does not abort the transaction as a failed INSERT would on
// PostgreSQL, and the winner's row is read back.
func (s *Service) findOrCreateOwner(ctx context.Context, phone string, now time.Time) (*models.Owner, bool, error) {
	conn := s.DB.Conn(ctx)
	var o models.Owner
	err := conn.Where("phone = ?", phone).Take(&o).Error
	if err == nil {
		return &o, false, nil
	}
	if !notFound(err) {
		return nil, false, fmt.Errorf("signin: load owner: %w", err)
	}
	o = models.Owner{ID: models.NewID(), Phone: phone, CreatedAt: now, UpdatedAt: now}
	res := conn.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "phone"}}, DoNothing: true}).Create(&o)
	if res.Error != nil {
		return nil, false, fmt.Errorf("signin: create owner: %w", res.Error)
	}
	if res.RowsAffected == 1 {
		return &o, true, nil
	}
	o = models.Owner{}
	if err := conn.Where("phone = ?", phone).Take(&o).Error; err != nil {
		return nil, false, fmt.Errorf("signin: load owner created concurrently: %w", err)
	}
	return &o, false, nil
}

// normalizePhone maps validation failures to INVALID_PHONE.
func normalizePhone(phone string) (string, error) {
	e164, err := validate.NormalizePhone(phone)
	if err != nil {
		if errors.Is(err, validate.ErrInvalidPhone) {
			return "", models.InvalidPhone("phone", err)
		}
		return "", fmt.Errorf("signin: normalize phone: %w", err)
	}
	return e164, nil
}

// newCode draws a uniformly random 6-digit code.
func newCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("signin: random code: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// isCode reports whether c has the form of a code: 6 ASCII digits.
func isCode(c string) bool {
	if len(c) != codeDigits {
		return false
	}
	for i := range len(c) {
		if c[i] < '0' || c[i] > '9' {
			return false
		}
	}
	return true
}

// hashCode is what is stored instead of a code. Keyed, because a million
// possible codes are no obstacle to anyone reading an unkeyed hash; bound to
// the row and phone, so equal codes never share a hash.
func (s *Service) hashCode(id uuid.UUID, phone, code string) string {
	m := hmac.New(sha256.New, s.subkey("login-code"))
	m.Write([]byte(id.String() + "\x00" + phone + "\x00" + code))
	return hex.EncodeToString(m.Sum(nil))
}
