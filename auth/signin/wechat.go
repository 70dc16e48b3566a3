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
	if err := s.ready(); err != nil {
		return nil, nil, "", err
	}
	if s.WeChat == nil {
		return nil, nil, "", ErrWeChatNotConfigured
	}
	code = strings.TrimSpace(code)
	if !isWeChatCode(code) {
		return nil, nil, "", ErrWeChatCodeInvalid
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
