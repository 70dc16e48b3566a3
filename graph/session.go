package graph

import (
	"github.com/ownerhub/ownerhub/auth/signin"
	"github.com/ownerhub/ownerhub/graph/model"
)

// session maps a signed-in session to its GraphQL type.
func session(s *signin.Session) *model.Session {
	if s == nil {
		return nil
	}
	return &model.Session{
		AccessToken:           s.AccessToken,
		AccessTokenExpiresAt:  s.AccessExpiresAt,
		RefreshToken:          s.RefreshToken,
		RefreshTokenExpiresAt: s.RefreshExpiresAt,
	}
}
