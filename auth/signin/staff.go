package signin

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
)

// Limits of staff sign-in.
//
// The tight limit is per username and client (Limits.StaffFailuresPerUserIP):
// a stranger guessing from elsewhere cannot lock a colleague out. A looser
// limit per username bounds a guesser spread over many addresses, and one per
// client (Limits.StaffFailuresPerIP) a guesser trying many usernames.
const (
	staffUserFailureLimit = 30 // wrong passwords per username from anywhere per staffFailureWindow
	staffFailureWindow    = 15 * time.Minute
	maxUsernameRunes      = 64
	lockKeyStaffUser      = "staff-user:"
	lockKeyStaffClientIP  = "staff-ip:"
)

// StaffLogin signs a staff member in with username and password. The
// returned Staff has its Roles and Stores loaded and PasswordHash cleared;
// the access token carries the roles and store ids.
//
// Every attempt first reserves a failure against the username and the IP,
// atomically with checking the limits, and only the right password releases
// it. The password check itself (bcrypt, ~50 ms) runs outside any
// transaction, so it never holds the SQLite write lock, yet concurrent
// guesses can never exceed the limits.
//
// Refusals:
//   - INVALID_ARGUMENT (field "username"): longer than 64 characters or with
//     control characters, so no account's; nothing is recorded.
//   - INVALID_CREDENTIALS: unknown username, wrong password or inactive
//     account, with one message and the same timing for all three.
//   - RATE_LIMITED: Limits.StaffFailuresPerUserIP (5) failures for this
//     username from this client network, 30 for this username from anywhere,
//     or Limits.StaffFailuresPerIP (50) from this client network, in the last
//     15 minutes, until the oldest of them is 15 minutes old; refused even
//     with the right password, and without checking it.
func (s *Service) StaffLogin(ctx context.Context, username, password, ip string) (*Session, *models.Staff, error) {
	if err := s.ready(); err != nil {
		return nil, nil, err
	}
	// Checked before any SQL: PostgreSQL refuses NUL in text, and no
	// account's name has a control character.
	username, err := models.Text("username", "用户名", username, 0, maxUsernameRunes, false)
	if err != nil {
		return nil, nil, err
	}
	limits := s.config().Limits
	var (
		st       *models.Staff
		reserved uuid.UUID
	)
	err = s.inTx(ctx, func(ctx context.Context) (error, error) {
		st = nil
		now := s.Clock.Now(ctx)
		if err := s.serialize(ctx, lockKeyStaffUser+username, lockKeyStaffClientIP+ip); err != nil {
			return nil, err
		}
		since := now.Add(-staffFailureWindow)
		for _, l := range []struct {
			where string
			args  []any
			n     int
		}{
			{"subject = ? AND ip = ?", []any{username, ip}, limits.StaffFailuresPerUserIP},
			{"subject = ?", []any{username}, staffUserFailureLimit},
			{"ip = ?", []any{ip}, limits.StaffFailuresPerIP},
		} {
			t, hit, err := nthNewest(s.failures(ctx, failurePassword).Where(l.where, l.args...), since, l.n)
			if err != nil || hit {
				return rateLimitedUntil(t.Add(staffFailureWindow), now, hit), err
			}
		}
		f, err := s.recordFailure(ctx, failurePassword, username, ip, now)
		if err != nil {
			return nil, err
		}
		reserved = f.ID
		st, err = s.loadStaff(ctx, "username = ?", username)
		return nil, err
	})
	if err != nil {
		return nil, nil, err
	}
	if st == nil {
		auth.CheckNoPassword(password)
		return nil, nil, ErrInvalidCredentials
	}
	// Inactive accounts pay for the check too, so timing tells nothing.
	if !auth.CheckPassword(st.PasswordHash, password) || !st.Active {
		return nil, nil, ErrInvalidCredentials
	}
	var sess *Session
	err = s.inTx(ctx, func(ctx context.Context) (error, error) {
		if err := s.DB.Conn(ctx).Delete(&models.AuthFailure{}, "id = ?", reserved).Error; err != nil {
			return nil, fmt.Errorf("signin: release reserved failure: %w", err)
		}
		var err error
		sess, err = s.newSession(ctx, staffPrincipal(st), models.NewID(), s.Clock.Now(ctx))
		return nil, err
	})
	if err != nil {
		return nil, nil, err
	}
	st.PasswordHash = ""
	return sess, st, nil
}

// loadStaff loads one staff member with roles and stores, or nil.
func (s *Service) loadStaff(ctx context.Context, where string, arg any) (*models.Staff, error) {
	var st models.Staff
	err := s.DB.Conn(ctx).Preload("Roles").Preload("Stores").Where(where, arg).Take(&st).Error
	if notFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("signin: load staff: %w", err)
	}
	return &st, nil
}
