package signin

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"gorm.io/gorm/clause"
)

// Limits of staff sign-in (docs/sign-in.md).
//
// The tight limit is per username and client (Limits.StaffFailuresPerUserIP):
// a stranger guessing from elsewhere cannot lock a colleague out. A looser
// limit per username bounds a guesser spread over many addresses; it spares
// the networks the staff member signed in from within StaffNetworkKept, so
// strangers cannot lock them out with it either. One per client
// (Limits.StaffFailuresPerIP) bounds a guesser trying many usernames.
const (
	staffUserFailureLimit = 30 // wrong passwords per username from anywhere per staffFailureWindow
	staffFailureWindow    = 15 * time.Minute
	maxUsernameRunes      = 64
	lockKeyStaffUser      = "staff-user:"
	lockKeyStaffClientIP  = "staff-ip:"
)

// StaffNetworkKept is how long a client network a staff member signed in
// from with their password stays known: spared by the username-wide limit.
const StaffNetworkKept = 90 * 24 * time.Hour

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
//     username from this client network, 30 for this username from anywhere
//     (unless the staff member signed in from this client network within
//     StaffNetworkKept), or Limits.StaffFailuresPerIP (50) from this client
//     network, in the last 15 minutes, until the oldest of them is 15
//     minutes old; refused even with the right password, and without
//     checking it.
//
// A successful sign-in remembers its client network as known.
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
			where      string
			args       []any
			n          int
			spareKnown bool
		}{
			{"subject = ? AND ip = ?", []any{username, ip}, limits.StaffFailuresPerUserIP, false},
			{"subject = ?", []any{username}, staffUserFailureLimit, true},
			{"ip = ?", []any{ip}, limits.StaffFailuresPerIP, false},
		} {
			t, hit, err := nthNewest(s.failures(ctx, failurePassword).Where(l.where, l.args...), since, l.n)
			if err == nil && hit && l.spareKnown {
				var known bool
				known, err = s.knownNetwork(ctx, username, ip, now)
				hit = !known
			}
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
		now := s.Clock.Now(ctx)
		if err := s.rememberNetwork(ctx, st.ID, ip, now); err != nil {
			return nil, err
		}
		var err error
		sess, err = s.newSession(ctx, staffPrincipal(st), models.NewID(), now)
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

// knownNetwork reports whether the staff member named username signed in
// from the client network ip within StaffNetworkKept.
func (s *Service) knownNetwork(ctx context.Context, username, ip string, now time.Time) (bool, error) {
	if ip == "" { // no client network: nothing to tell callers apart by
		return false, nil
	}
	conn := s.DB.Conn(ctx)
	var n int64
	err := conn.Model(&models.StaffNetwork{}).
		Where("staff_id IN (?)", conn.Model(&models.Staff{}).Select("id").Where("username = ?", username)).
		Where("network = ? AND last_sign_in_at > ?", ip, now.Add(-StaffNetworkKept)).
		Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("signin: known network: %w", err)
	}
	return n > 0, nil
}

// rememberNetwork records that staffID signed in from ip at now.
func (s *Service) rememberNetwork(ctx context.Context, staffID uuid.UUID, ip string, now time.Time) error {
	if ip == "" {
		return nil
	}
	err := s.DB.Conn(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "staff_id"}, {Name: "network"}},
		DoUpdates: clause.AssignmentColumns([]string{"last_sign_in_at"}),
	}).Create(&models.StaffNetwork{StaffID: staffID, Network: ip, LastSignInAt: now}).Error
	if err != nil {
		return fmt.Errorf("signin: remember network: %w", err)
	}
	return nil
}

// PruneStaffNetworks forgets the client networks staff last signed in from
// more than StaffNetworkKept before now, which are no longer known anyway;
// a scheduled job. It returns how many it forgot.
func (s *Service) PruneStaffNetworks(ctx context.Context, now time.Time) (int64, error) {
	res := s.DB.Conn(ctx).Where("last_sign_in_at <= ?", now.UTC().Add(-StaffNetworkKept)).Delete(&models.StaffNetwork{})
	if res.Error != nil {
		return 0, fmt.Errorf("signin: prune staff networks: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// SignInRecordsKept is how long login codes and failed sign-ins are kept:
// the longest window a limit counts them in (a phone's codes over 24
// hours), with a day to spare.
const SignInRecordsKept = 48 * time.Hour

// PruneSignInRecords deletes the login codes and failed sign-ins older than
// SignInRecordsKept before now, which no limit counts any more; a scheduled
// job. It returns how many rows it deleted.
func (s *Service) PruneSignInRecords(ctx context.Context, now time.Time) (int64, error) {
	before := now.UTC().Add(-SignInRecordsKept)
	var n int64
	for _, model := range []any{&models.LoginCode{}, &models.AuthFailure{}} {
		res := s.DB.Conn(ctx).Where("created_at < ?", before).Delete(model)
		if res.Error != nil {
			return n, fmt.Errorf("signin: prune sign-in records: %w", res.Error)
		}
		n += res.RowsAffected
	}
	return n, nil
}
