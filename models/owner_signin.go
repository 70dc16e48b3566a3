package models

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
)

// What an owner's data rights (models/privacy) need of the kernel's
// sign-in and idempotency tables, which no capability names itself.

// OwnerRefreshTokens reads the owner's refresh tokens, oldest first, in one
// statement.
func (db *DB) OwnerRefreshTokens(ctx context.Context, ownerID uuid.UUID) ([]*RefreshToken, error) {
	var rts []*RefreshToken
	err := db.Conn(ctx).Where("subject_kind = ? AND subject_id = ?", string(auth.KindOwner), ownerID).Order("id ASC").Find(&rts).Error
	return rts, err
}

// EraseOwnerSignIn, in the transaction of ctx, revokes every refresh token
// of the owner at now (signs them out everywhere) and deletes their
// idempotency records (scope, see IdempotencyScope) and the login codes and
// failed code sign-ins of their phone.
func (db *DB) EraseOwnerSignIn(ctx context.Context, ownerID uuid.UUID, phone, scope string, now time.Time) error {
	conn := db.Conn(ctx)
	if err := conn.Model(&RefreshToken{}).Where("subject_kind = ? AND subject_id = ? AND revoked_at IS NULL", string(auth.KindOwner), ownerID).
		Update("revoked_at", now).Error; err != nil {
		return err
	}
	for _, q := range []struct {
		model any
		cond  string
		arg   any
	}{
		{&IdempotencyKey{}, "scope = ?", scope},
		{&LoginCode{}, "phone = ?", phone},
		{&AuthFailure{}, "kind = 'OTP' AND subject = ?", phone},
	} {
		if err := conn.Where(q.cond, q.arg).Delete(q.model).Error; err != nil {
			return err
		}
	}
	return nil
}
