package workshop

import (
	"context"
	"database/sql"
	"errors"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
)

// Screen tokens: a store's manager issues a long-lived token to each
// workshop screen and may revoke it. The row is the grant; the bearer token
// the screen holds is signed by the caller (auth) over the row's ID, so no
// secret is stored here and a revoked row ends the token at the next poll.

// managesStore reports whether the actor holds one of roles (the
// operation's list of rolesScreens) at the store.
func managesStore(actor *auth.Principal, roles []auth.Role, storeID uuid.UUID) bool {
	return actor.IsGroupAdmin() || (actor.HasAnyRole(roles...) && actor.CanAccessStore(storeID))
}

// IssueScreenToken records a new screen grant for a store; the caller signs
// the bearer token with the returned row's ID. MANAGER of the store or
// GROUP_ADMIN.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND ("storeId"),
// INVALID_ARGUMENT ("name": 1 to 40 characters).
func (s *Service) IssueScreenToken(ctx context.Context, actor *auth.Principal, storeID uuid.UUID, name string) (*ScreenToken, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	if !managesStore(actor, rolesIssueScreenToken, storeID) {
		return nil, models.ErrForbidden
	}
	name, err := text("name", "看板名称", name, 1, MaxScreenNameRunes, false)
	if err != nil {
		return nil, err
	}
	var t *ScreenToken
	err = s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		if ok, err := s.directory().StoreExists(ctx, storeID); err != nil {
			return err
		} else if !ok {
			return errStoreNotFound.On("storeId")
		}
		id := models.NewID()
		t = &ScreenToken{ID: id, StoreID: storeID, Name: name, CreatedBy: actor.ID, CreatedAt: s.Clock.Now(ctx)}
		return s.DB.Conn(ctx).Create(t).Error
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// RevokeScreenToken ends a screen's access; revoking a revoked token
// changes nothing and returns it. MANAGER of the token's store or
// GROUP_ADMIN.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (role), NOT_FOUND (absent, or another
// store's token).
func (s *Service) RevokeScreenToken(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*ScreenToken, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	if !actor.HasAnyRole(rolesRevokeScreenToken...) {
		return nil, models.ErrForbidden
	}
	var t ScreenToken
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		if err := s.DB.ForUpdate(s.DB.Conn(ctx).Where("id = ?", id)).Take(&t).Error; err != nil {
			return models.NotFoundAs(err, errTokenNotFound)
		}
		if !managesStore(actor, rolesRevokeScreenToken, t.StoreID) {
			return errTokenNotFound
		}
		if t.RevokedAt != nil {
			return nil
		}
		now := s.Clock.Now(ctx)
		t.RevokedAt = &now
		if err := s.DB.Conn(ctx).Model(&ScreenToken{}).Where("id = ?", id).Update("revoked_at", now).Error; err != nil {
			return err
		}
		// Every instance's cached grant ends at commit (see polledScreen).
		return s.DB.Publish(ctx, ScreenTopic(id))
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// ScreenTokens lists a store's screen tokens, revoked ones included, oldest
// first. MANAGER of the store or GROUP_ADMIN.
//
// Codes: UNAUTHENTICATED, FORBIDDEN.
func (s *Service) ScreenTokens(ctx context.Context, actor *auth.Principal, storeID uuid.UUID) ([]*ScreenToken, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	if !managesStore(actor, rolesScreenTokens, storeID) {
		return nil, models.ErrForbidden
	}
	out := []*ScreenToken{}
	err := s.DB.Conn(ctx).Where("store_id = ?", storeID).Order("id ASC").Find(&out).Error
	return out, err
}

// ScreenBoardVersion answers a screen's poll in one statement: the store's
// board version (0 before the first change) if the screen token is live and
// belongs to the store, else ok=false (revoked, unknown, or another store's
// token). It reads the token and the board row by their primary keys.
func (s *Service) ScreenBoardVersion(ctx context.Context, screenTokenID, storeID uuid.UUID) (version int64, ok bool, err error) {
	row := s.DB.Conn(ctx).Raw(`SELECT COALESCE(b.version, 0) FROM screen_tokens t
		LEFT JOIN store_boards b ON b.store_id = t.store_id
		WHERE t.id = ? AND t.store_id = ? AND t.revoked_at IS NULL`, screenTokenID, storeID).Row()
	if err := row.Scan(&version); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, false, nil
		}
		return 0, false, err
	}
	return version, true, nil
}

// ScreenTopic is announced when a screen token is revoked: the instances
// that keep the grant in memory (polledScreen) drop it.
func ScreenTopic(tokenID uuid.UUID) string { return "screen:" + tokenID.String() }

// screenGrant is what a poll needs of a screen token: its store, and
// whether it is live.
type screenGrant struct {
	storeID uuid.UUID
	live    bool
}

// polledScreen is the screen token's grant as a poll checks it: kept in
// memory until the token is revoked (ScreenTopic) or the cache's bound
// passes (models.CachedUntilAnnounced), so that a poll costs no statement.
func (s *Service) polledScreen(ctx context.Context, tokenID uuid.UUID) (screenGrant, error) {
	return models.CachedUntilAnnounced(ctx, s.DB, ScreenTopic(tokenID), func(ctx context.Context) (screenGrant, error) {
		var ts []ScreenToken
		if err := s.DB.Conn(ctx).Select("store_id", "revoked_at").Where("id = ?", tokenID).Limit(1).Find(&ts).Error; err != nil {
			return screenGrant{}, err
		}
		if len(ts) == 0 {
			return screenGrant{}, nil // unknown: never live, IDs are not reused
		}
		return screenGrant{storeID: ts[0].StoreID, live: ts[0].RevokedAt == nil}, nil
	})
}

// polledBoardVersion is BoardVersion kept in memory until the board's topic
// is announced (every change to the store's orders announces it).
func (s *Service) polledBoardVersion(ctx context.Context, storeID uuid.UUID) (int64, error) {
	return models.CachedUntilAnnounced(ctx, s.DB, BoardTopic(storeID), func(ctx context.Context) (int64, error) {
		return s.BoardVersion(ctx, storeID)
	})
}
