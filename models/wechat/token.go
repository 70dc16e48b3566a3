package wechat

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The token's timing: a stored token with less than refreshBefore left is
// replaced; the instance replacing it holds the row's lease for at most
// tokenLease (longer than one call to WeChat); the others wait for it in
// steps of tokenPoll, using the old token meanwhile while it lasts.
const (
	refreshBefore = 5 * time.Minute
	tokenLease    = 30 * time.Second
	tokenPoll     = 50 * time.Millisecond
)

// Token is the stored access token of a mini-program (a row of
// wechat_tokens), shared by every instance.
type Token struct {
	AppID       string `gorm:"primaryKey"`
	AccessToken string
	ExpiresAt   time.Time
	// LeaseUntil, in the future, says an instance is fetching a new token.
	LeaseUntil *time.Time
	UpdatedAt  time.Time
}

// TableName names the tokens table.
func (Token) TableName() string { return "wechat_tokens" }

// AccessToken is the mini-program's access token: the stored one while it
// has refreshBefore left, else a new one that one instance at a time
// fetches (POST /cgi-bin/stable_token) and stores for all. failed, when not
// empty, is a token WeChat just refused: it is not returned again, and it
// is replaced with force_refresh only if it is still the stored one (an
// instance that saw it fail after another replaced it takes the new one).
func (s *Service) AccessToken(ctx context.Context, failed string) (string, error) {
	if s == nil || s.Config.AppID == "" || s.Config.Secret == "" {
		return "", errors.New("wechat: app id and secret are not configured")
	}
	conn := s.DB.Conn(ctx)
	for {
		now := s.now(ctx)
		var t Token
		err := conn.Take(&t, "app_id = ?", s.Config.AppID).Error
		found := err == nil
		if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return "", fmt.Errorf("wechat: read token: %w", err)
		}
		usable := found && t.AccessToken != "" && t.AccessToken != failed
		if usable && t.ExpiresAt.Sub(now) > refreshBefore {
			return t.AccessToken, nil
		}
		leased, err := s.lease(ctx, found, now)
		if err != nil {
			return "", err
		}
		if leased {
			return s.refresh(ctx, failed)
		}
		// Another instance is fetching: the old token serves while it lasts.
		if usable && now.Before(t.ExpiresAt) {
			return t.AccessToken, nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(tokenPoll):
		}
	}
}

// lease takes the token row's lease (creating the row when there is none):
// true when this call holds it, false when another instance does.
func (s *Service) lease(ctx context.Context, found bool, now time.Time) (bool, error) {
	conn := s.DB.Conn(ctx)
	until := now.Add(tokenLease)
	if !found {
		res := conn.Clauses(clause.OnConflict{DoNothing: true}).
			Create(&Token{AppID: s.Config.AppID, ExpiresAt: now, LeaseUntil: &until, UpdatedAt: now})
		if res.Error != nil {
			return false, fmt.Errorf("wechat: lease token: %w", res.Error)
		}
		return res.RowsAffected == 1, nil
	}
	res := conn.Model(&Token{}).Where("app_id = ? AND (lease_until IS NULL OR lease_until <= ?)", s.Config.AppID, now).
		Updates(map[string]any{"lease_until": until, "updated_at": now})
	if res.Error != nil {
		return false, fmt.Errorf("wechat: lease token: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// stableTokenAnswer is stable_token's answer.
type stableTokenAnswer struct {
	apiError
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
}

// refresh fetches a token under the lease and stores it; the lease ends
// either way. A token stored by another instance meanwhile (whose lease
// had lapsed) and still good is taken instead of fetching.
func (s *Service) refresh(ctx context.Context, failed string) (string, error) {
	conn := s.DB.Conn(ctx)
	var t Token
	if err := conn.Take(&t, "app_id = ?", s.Config.AppID).Error; err != nil {
		return "", fmt.Errorf("wechat: read token: %w", err)
	}
	release := func() {
		// The lease lapses by itself if this fails.
		_ = conn.Model(&Token{}).Where("app_id = ?", s.Config.AppID).Update("lease_until", nil).Error
	}
	if t.AccessToken != "" && t.AccessToken != failed && t.ExpiresAt.Sub(s.now(ctx)) > refreshBefore {
		release()
		return t.AccessToken, nil
	}
	var a stableTokenAnswer
	err := s.post(ctx, "/cgi-bin/stable_token", "", map[string]any{
		"grant_type": "client_credential", "appid": s.Config.AppID, "secret": s.Config.Secret,
		"force_refresh": failed != "" && t.AccessToken == failed,
	}, &a)
	switch {
	case err != nil:
	case a.Code != 0:
		err = fmt.Errorf("wechat stable_token: %w", &a.apiError)
	case a.AccessToken == "" || a.ExpiresIn <= 0:
		err = errors.New("wechat stable_token: answer without a token")
	}
	if err != nil {
		release()
		return "", err
	}
	now := s.now(ctx)
	err = conn.Model(&Token{}).Where("app_id = ?", s.Config.AppID).Updates(map[string]any{
		"access_token": a.AccessToken, "expires_at": now.Add(time.Duration(a.ExpiresIn) * time.Second),
		"lease_until": nil, "updated_at": now,
	}).Error
	if err != nil {
		return "", fmt.Errorf("wechat: store token: %w", err)
	}
	s.log().InfoContext(ctx, "wechat: access token refreshed", "expires_in", a.ExpiresIn)
	return a.AccessToken, nil
}
