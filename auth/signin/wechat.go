package signin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/referrals"
	"github.com/ownerhub/ownerhub/models/validate"
	"github.com/ownerhub/ownerhub/models/wechat"
)

const (
	// bindingAudience keeps binding tickets and access tokens apart even if
	// they were ever signed with the same key.
	bindingAudience  = "ownerhub-wechat-binding"
	bindingTicketTTL = 10 * time.Minute
	maxTicketLen     = 4 << 10
	// maxWeChatCodeLen bounds a wx.login code (32 characters today).
	maxWeChatCodeLen = 128
)

// weChatIdentity is the WeChat account a binding ticket vouches for.
type weChatIdentity struct {
	OpenID, UnionID string
}

// bindingClaims is the payload of a binding ticket, an HS256 JWT.
type bindingClaims struct {
	jwt.RegisteredClaims
	UnionID string `json:"uid,omitempty"`
}

// LoginWithWeChat signs an owner in with a mini-program wx.login code. When
// the WeChat account (openid) is bound to an owner it returns a session and
// that owner; otherwise only a binding ticket, valid 10 minutes, that
// VerifyCode accepts to bind the account to the phone the owner signs in
// with.
//
// Refusals:
//   - WECHAT_NOT_CONFIGURED: this server has no mini-program credentials
//     (Service.WeChat is nil, or the client has no app id or secret);
//     nothing is asked of WeChat.
//   - WECHAT_CODE_INVALID (field "code"): empty, malformed (not up to 128
//     printable ASCII characters; not sent to WeChat), unknown, expired or
//     used code; the mini-program should call wx.login again.
//
// A WeChat outage or an error WeChat answers is an internal error (not a
// *models.Error), for the caller to log.
func (s *Service) LoginWithWeChat(ctx context.Context, code string) (sess *Session, owner *models.Owner, bindingTicket string, err error) {
	return s.LoginWithWeChatPhone(ctx, code, "")
}

// WeChatPhones tells the phone number WeChat verified for a getPhoneNumber
// code (models/wechat.Service): "+86" and the number, or
// wechat.ErrPhoneCodeInvalid or wechat.ErrPhoneNotMainland.
type WeChatPhones interface {
	PhoneNumber(ctx context.Context, code string) (string, error)
}

// LoginWithWeChatPhone is LoginWithWeChat with, when phoneCode is not
// empty, the code of the mini-program's getPhoneNumber button: a WeChat
// account bound to no owner is then bound at once to the owner with the
// number WeChat verified, created as SMS sign-in creates one for a new
// phone, and signed in (docs/sign-in.md, "WeChat"). A bound account signs
// in as before and the phone code is not used.
//
// Refusals, beside LoginWithWeChat's (nothing changed):
//   - WECHAT_NOT_CONFIGURED: a phone code, and no WeChatPhones.
//   - WECHAT_PHONE_CODE_INVALID (field "phoneCode"): malformed (not sent to
//     WeChat), unknown, expired or used phone code.
//   - WECHAT_PHONE_NOT_MAINLAND (field "phoneCode"): WeChat's number is not
//     a mainland China one; sign in by SMS.
//   - INVALID_PHONE (field "phoneCode"): WeChat's number is no mainland
//     mobile number.
//   - WECHAT_ALREADY_BOUND (field "phoneCode"): the phone's owner is bound
//     to another WeChat account of the same user (unionid) or the account
//     was bound to another owner meanwhile.
func (s *Service) LoginWithWeChatPhone(ctx context.Context, code, phoneCode string) (sess *Session, owner *models.Owner, bindingTicket string, err error) {
	return s.LoginWithWeChatReferred(ctx, code, phoneCode, referrals.SignUp{})
}

// LoginWithWeChatReferred is LoginWithWeChatPhone for a sign-up that may
// bring a referral code and the device it is made on (referrals.SignUp):
// the code refers the owner only when the phone code creates them
// (Service.Referrals, docs/referrals.md). A sign-up finished by
// verifyLoginCode with the binding ticket brings the code there.
//
// Refusals, beside LoginWithWeChatPhone's (checked before WeChat is
// asked): REFERRAL_CODE_UNKNOWN (field "referralCode"), INVALID_ARGUMENT
// (field "deviceId").
func (s *Service) LoginWithWeChatReferred(ctx context.Context, code, phoneCode string, su referrals.SignUp) (sess *Session, owner *models.Owner, bindingTicket string, err error) {
	if err := s.ready(); err != nil {
		return nil, nil, "", err
	}
	su.Via = referrals.ViaWeChat
	if su, err = s.checkReferral(ctx, su); err != nil {
		return nil, nil, "", err
	}
	if s.WeChat == nil || (phoneCode != "" && s.WeChatPhones == nil) {
		return nil, nil, "", ErrWeChatNotConfigured
	}
	code = strings.TrimSpace(code)
	if !isWeChatCode(code) {
		return nil, nil, "", ErrWeChatCodeInvalid
	}
	phoneCode = strings.TrimSpace(phoneCode)
	if phoneCode != "" && !isWeChatCode(phoneCode) {
		return nil, nil, "", ErrWeChatPhoneCodeInvalid
	}
	ws, err := s.WeChat.Code2Session(ctx, code)
	switch {
	case errors.Is(err, auth.ErrWeChatNotConfigured):
		return nil, nil, "", ErrWeChatNotConfigured
	case errors.Is(err, auth.ErrWeChatCodeInvalid):
		return nil, nil, "", ErrWeChatCodeInvalid
	}
	if err != nil {
		return nil, nil, "", fmt.Errorf("signin: wechat login: %w", err)
	}
	if ws.OpenID == "" {
		return nil, nil, "", errors.New("signin: wechat login: no openid")
	}
	err = s.inTx(ctx, func(ctx context.Context) (error, error) {
		sess, owner = nil, nil
		var o models.Owner
		err := s.DB.Conn(ctx).Where("wechat_openid = ?", ws.OpenID).Take(&o).Error
		if notFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("signin: load owner by openid: %w", err)
		}
		if err := s.signedIn(ctx, &o, false, su); err != nil {
			return nil, err
		}
		if sess, err = s.newSession(ctx, ownerPrincipal(&o), models.NewID(), s.Clock.Now(ctx)); err != nil {
			return nil, err
		}
		owner = &o
		return nil, nil
	})
	if err != nil {
		return nil, nil, "", err
	}
	if owner != nil {
		return sess, owner, "", nil
	}
	if phoneCode != "" {
		sess, owner, err = s.bindByPhone(ctx, weChatIdentity{OpenID: ws.OpenID, UnionID: ws.UnionID}, phoneCode, su)
		return sess, owner, "", err
	}
	ticket, err := s.bindingTicket(ctx, weChatIdentity{OpenID: ws.OpenID, UnionID: ws.UnionID})
	if err != nil {
		return nil, nil, "", err
	}
	return nil, nil, ticket, nil
}

// isWeChatCode reports whether c can be a wx.login code: 1 to 128 printable
// ASCII characters. Anything else is refused before it reaches WeChat's URL.
func isWeChatCode(c string) bool {
	if c == "" || len(c) > maxWeChatCodeLen {
		return false
	}
	for i := range len(c) {
		if c[i] <= ' ' || c[i] > '~' {
			return false
		}
	}
	return true
}

// bindingTicket signs a ticket for id. The openid travels readable in it, as
// it does to the mini-program; the signature is what makes it trusted.
func (s *Service) bindingTicket(ctx context.Context, id weChatIdentity) (string, error) {
	now := s.Clock.Now(ctx)
	c := bindingClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    auth.Issuer,
			Subject:   id.OpenID,
			Audience:  jwt.ClaimStrings{bindingAudience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(bindingTicketTTL)),
			ID:        uuid.NewString(),
		},
		UnionID: id.UnionID,
	}
	t, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.subkey("wechat-binding"))
	if err != nil {
		return "", fmt.Errorf("signin: sign binding ticket: %w", err)
	}
	return t, nil
}

// parseBindingTicket checks a ticket: one spelling only, HS256, with our
// key, issuer and audience, not expired. Any fault is INVALID_BINDING_TICKET.
func (s *Service) parseBindingTicket(ctx context.Context, ticket string) (weChatIdentity, error) {
	if len(ticket) > maxTicketLen || !auth.IsCompactJWS(ticket) {
		return weChatIdentity{}, ErrInvalidBindingTicket
	}
	key := s.subkey("wechat-binding")
	var c bindingClaims
	_, err := jwt.ParseWithClaims(ticket, &c,
		func(t *jwt.Token) (any, error) {
			if t.Method != jwt.SigningMethodHS256 {
				return nil, fmt.Errorf("unexpected signing method %v", t.Header["alg"])
			}
			return key, nil
		},
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithStrictDecoding(),
		jwt.WithIssuer(auth.Issuer),
		jwt.WithAudience(bindingAudience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(func() time.Time { return s.Clock.Now(ctx) }),
	)
	if err != nil || c.Subject == "" {
		return weChatIdentity{}, ErrInvalidBindingTicket
	}
	return weChatIdentity{OpenID: c.Subject, UnionID: c.UnionID}, nil
}

// bindWeChat binds id to owner o, replacing a different account bound
// before (the owner just proved the phone, and WeChat accounts change). An
// account bound to another owner is WECHAT_ALREADY_BOUND, also when a
// concurrent binding wins the race on the unique keys.
func (s *Service) bindWeChat(ctx context.Context, o *models.Owner, id weChatIdentity, now time.Time) error {
	conn := s.DB.Conn(ctx)
	q := conn.Model(&models.Owner{}).Where("id <> ?", o.ID)
	if id.UnionID != "" {
		q = q.Where("wechat_openid = ? OR wechat_unionid = ?", id.OpenID, id.UnionID)
	} else {
		q = q.Where("wechat_openid = ?", id.OpenID)
	}
	var taken int64
	if err := q.Count(&taken).Error; err != nil {
		return fmt.Errorf("signin: check wechat binding: %w", err)
	}
	if taken > 0 {
		return ErrWeChatAlreadyBound
	}
	sameAccount := o.WeChatOpenID != nil && *o.WeChatOpenID == id.OpenID
	openID, unionID := id.OpenID, o.WeChatUnionID
	switch {
	case id.UnionID != "":
		unionID = &id.UnionID
	case !sameAccount:
		unionID = nil // belonged to the account being replaced
	}
	err := conn.Model(&models.Owner{}).Where("id = ?", o.ID).Updates(map[string]any{
		"wechat_openid":  openID,
		"wechat_unionid": unionID,
		"updated_at":     now,
	}).Error
	if err != nil && models.IsUniqueViolation(err) {
		return ErrWeChatAlreadyBound
	}
	if err != nil {
		return fmt.Errorf("signin: bind wechat: %w", err)
	}
	o.WeChatOpenID, o.WeChatUnionID, o.UpdatedAt = &openID, unionID, now
	return nil
}

// bindByPhone binds id to the owner with the number WeChat verified for
// phoneCode (creating the owner for a new phone) and signs that owner in.
// WeChat's verification stands for the SMS code: the same binding rules as
// VerifyCode's, under the same per-phone lock.
func (s *Service) bindByPhone(ctx context.Context, id weChatIdentity, phoneCode string, su referrals.SignUp) (*Session, *models.Owner, error) {
	number, err := s.WeChatPhones.PhoneNumber(ctx, phoneCode)
	switch {
	case errors.Is(err, wechat.ErrPhoneCodeInvalid):
		return nil, nil, ErrWeChatPhoneCodeInvalid
	case errors.Is(err, wechat.ErrPhoneNotMainland):
		return nil, nil, ErrWeChatPhoneNotMainland
	case err != nil:
		return nil, nil, fmt.Errorf("signin: wechat phone number: %w", err)
	}
	e164, err := validate.NormalizePhone(number)
	if err != nil {
		return nil, nil, models.InvalidPhone("phoneCode", err)
	}
	var (
		sess  *Session
		owner *models.Owner
	)
	err = s.inTx(ctx, func(ctx context.Context) (error, error) {
		sess, owner = nil, nil
		now := s.Clock.Now(ctx)
		if err := s.serialize(ctx, lockKeyPhone+e164); err != nil {
			return nil, err
		}
		o, created, err := s.findOrCreateOwner(ctx, e164, now)
		if err != nil {
			return nil, err
		}
		if err := s.signedIn(ctx, o, created, su); err != nil {
			return nil, err
		}
		// An error, not a refusal: an owner created for the phone is
		// rolled back with the binding.
		if err := s.bindWeChat(ctx, o, id, now); err != nil {
			if errors.Is(err, ErrWeChatAlreadyBound) {
				return nil, ErrWeChatAlreadyBound.On("phoneCode")
			}
			return nil, err
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
