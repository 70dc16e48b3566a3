package signin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
)

const refreshTokenBytes = 32

// newSession issues an access token for p and stores a new refresh token in
// familyID (a new family at sign-in, the presented token's at refresh).
func (s *Service) newSession(ctx context.Context, p auth.Principal, familyID uuid.UUID, now time.Time) (*Session, error) {
	access, accessExp, err := s.Tokens.WithClock(func() time.Time { return now }).Issue(p)
	if err != nil {
		return nil, fmt.Errorf("signin: %w", err)
	}
	raw := make([]byte, refreshTokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("signin: random refresh token: %w", err)
	}
	refresh := base64.RawURLEncoding.EncodeToString(raw)
	rt := models.RefreshToken{
		ID:          models.NewID(),
		FamilyID:    familyID,
		SubjectKind: string(p.Kind),
		SubjectID:   p.ID,
		TokenHash:   hashRefreshToken(refresh),
		ExpiresAt:   now.Add(s.config().RefreshTTL),
		CreatedAt:   now,
	}
	if err := s.DB.Conn(ctx).Create(&rt).Error; err != nil {
		return nil, fmt.Errorf("signin: store refresh token: %w", err)
	}
	return &Session{
		AccessToken:      access,
		AccessExpiresAt:  accessExp,
		RefreshToken:     refresh,
		RefreshExpiresAt: rt.ExpiresAt,
	}, nil
}

// hashRefreshToken is what is stored instead of a refresh token. Unkeyed is
// enough: the token has 256 random bits.
func hashRefreshToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// isRefreshToken reports whether t is spelled as newSession spells refresh
// tokens: 32 bytes in unpadded base64url, 43 characters.
func isRefreshToken(t string) bool {
	if len(t) != base64.RawURLEncoding.EncodedLen(refreshTokenBytes) {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(t)
	return err == nil && base64.RawURLEncoding.EncodeToString(raw) == t
}

// loadRefreshToken finds the stored row of a presented token, or nil. A
// string that no token is spelled like is nil without a query.
func (s *Service) loadRefreshToken(ctx context.Context, token string) (*models.RefreshToken, error) {
	if !isRefreshToken(token) {
		return nil, nil
	}
	var rt models.RefreshToken
	err := s.DB.Conn(ctx).Where("token_hash = ?", hashRefreshToken(token)).Take(&rt).Error
	if notFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("signin: load refresh token: %w", err)
	}
	return &rt, nil
}

// Refresh exchanges a refresh token for a new session in the same family and
// returns the caller it belongs to, reloaded (a staff member's current roles
// and stores). The presented token stops working.
//
// Refusals:
//   - INVALID_REFRESH_TOKEN (field "refreshToken"): unknown, expired or
//     revoked (logged out) token; or its owner is gone or its staff member
//     inactive, in which case the family is revoked.
//   - REFRESH_TOKEN_REUSED (field "refreshToken"): the token was already
//     rotated, so it was copied; the whole family is revoked, the newest
//     token included. Of concurrent refreshes of one token exactly one gets a
//     session; to the others it is reuse.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (*Session, *auth.Principal, error) {
	if err := s.ready(); err != nil {
		return nil, nil, err
	}
	var (
		sess *Session
		p    *auth.Principal
	)
	err := s.inTx(ctx, func(ctx context.Context) (error, error) {
		sess, p = nil, nil
		now := s.Clock.Now(ctx)
		rt, err := s.loadRefreshToken(ctx, refreshToken)
		switch {
		case err != nil:
			return nil, err
		case rt == nil:
			return ErrInvalidRefreshToken, nil
		case rt.RotatedAt != nil:
			return s.revokeFamily(ctx, rt.FamilyID, now, ErrRefreshTokenReused)
		case rt.RevokedAt != nil || !now.Before(rt.ExpiresAt):
			return ErrInvalidRefreshToken, nil
		}
		res := s.DB.Conn(ctx).Model(&models.RefreshToken{}).
			Where("id = ? AND rotated_at IS NULL AND revoked_at IS NULL", rt.ID).
			Update("rotated_at", now)
		if res.Error != nil {
			return nil, fmt.Errorf("signin: rotate refresh token: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			// Changed since read: rotated by a concurrent refresh (reuse) or
			// revoked by a concurrent logout.
			if rt, err = s.loadRefreshToken(ctx, refreshToken); err != nil {
				return nil, err
			}
			if rt != nil && rt.RotatedAt != nil {
				return s.revokeFamily(ctx, rt.FamilyID, now, ErrRefreshTokenReused)
			}
			return ErrInvalidRefreshToken, nil
		}
		principal, err := s.principalOf(ctx, rt)
		if err != nil {
			return nil, err
		}
		if principal == nil {
			return s.revokeFamily(ctx, rt.FamilyID, now, ErrInvalidRefreshToken)
		}
		if sess, err = s.newSession(ctx, *principal, rt.FamilyID, now); err != nil {
			return nil, err
		}
		p = principal
		return nil, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return sess, p, nil
}

// Logout ends the session of refreshToken by revoking its whole family.
// Unknown, expired or already revoked tokens are no error: logging out twice
// is logging out. It returns no refusal codes; errors are internal.
func (s *Service) Logout(ctx context.Context, refreshToken string) error {
	if err := s.ready(); err != nil {
		return err
	}
	return s.inTx(ctx, func(ctx context.Context) (error, error) {
		rt, err := s.loadRefreshToken(ctx, refreshToken)
		if err != nil || rt == nil {
			return nil, err
		}
		return s.revokeFamily(ctx, rt.FamilyID, s.Clock.Now(ctx), nil)
	})
}

// revokeFamily revokes every token of a family and then refuses with refusal.
func (s *Service) revokeFamily(ctx context.Context, familyID uuid.UUID, now time.Time, refusal error) (error, error) {
	err := s.DB.Conn(ctx).Model(&models.RefreshToken{}).
		Where("family_id = ? AND revoked_at IS NULL", familyID).
		Update("revoked_at", now).Error
	if err != nil {
		return nil, fmt.Errorf("signin: revoke refresh tokens: %w", err)
	}
	return refusal, nil
}

// principalOf reloads who a refresh token belongs to; nil when that owner is
// gone or that staff member is gone or inactive.
func (s *Service) principalOf(ctx context.Context, rt *models.RefreshToken) (*auth.Principal, error) {
	switch auth.Kind(rt.SubjectKind) {
	case auth.KindOwner:
		var o models.Owner
		err := s.DB.Conn(ctx).Select("id").Where("id = ?", rt.SubjectID).Take(&o).Error
		if notFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("signin: load owner: %w", err)
		}
		p := ownerPrincipal(&o)
		return &p, nil
	case auth.KindStaff:
		st, err := s.loadStaff(ctx, "id = ?", rt.SubjectID)
		if err != nil || st == nil || !st.Active {
			return nil, err
		}
		p := staffPrincipal(st)
		return &p, nil
	}
	return nil, fmt.Errorf("signin: refresh token of unknown kind %q", rt.SubjectKind)
}

func ownerPrincipal(o *models.Owner) auth.Principal {
	return auth.Principal{Kind: auth.KindOwner, ID: o.ID}
}

// staffPrincipal carries the staff member's roles and stores, sorted so that
// tokens do not depend on the order rows were read in.
func staffPrincipal(st *models.Staff) auth.Principal {
	p := auth.Principal{Kind: auth.KindStaff, ID: st.ID}
	for _, r := range st.Roles {
		p.Roles = append(p.Roles, auth.Role(r.Role))
	}
	for _, ss := range st.Stores {
		p.StoreIDs = append(p.StoreIDs, ss.StoreID)
	}
	slices.Sort(p.Roles)
	slices.SortFunc(p.StoreIDs, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	return p
}
