package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/graph/model"
	"github.com/ownerhub/ownerhub/models"
)

// authDirective implements @auth(requires:, roles:). It only answers "is the
// caller the right kind of principal"; whether they may touch a given row is
// decided by the domain operation. The schema's roles are the domain's
// lists, generated from staffRoles (authroles.go).
func authDirective(ctx context.Context, _ any, next graphql.Resolver, requires model.Principal, roles []model.StaffRole) (any, error) {
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		return nil, models.ErrUnauthenticated
	}
	switch requires {
	case model.PrincipalOwner:
		if !p.IsOwner() {
			return nil, models.ErrForbidden
		}
	case model.PrincipalStaff:
		if !p.IsStaff() {
			return nil, models.ErrForbidden
		}
		if len(roles) > 0 {
			want := make([]auth.Role, len(roles))
			for i, r := range roles {
				want[i] = auth.Role(r)
			}
			if !p.HasAnyRole(want...) {
				return nil, models.ErrForbidden
			}
		}
	default:
		return nil, models.ErrForbidden
	}
	return next(ctx)
}

// caller is the authenticated principal; resolvers behind @auth always have one.
func caller(ctx context.Context) *auth.Principal {
	p, _ := auth.PrincipalFrom(ctx)
	return p
}
