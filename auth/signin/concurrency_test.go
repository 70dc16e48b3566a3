package signin_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/auth/signin"
	"github.com/ownerhub/ownerhub/models"
)

const racers = 20

// warmPool opens a connection per racer first, so that racers really overlap
// instead of queueing one by one for new connections. PostgreSQL only: SQLite
// runs one write transaction at a time anyway.
func (e *env) warmPool() {
	if e.db.Dialect != models.Postgres {
		return
	}
	var all sync.WaitGroup
	all.Add(racers)
	race(racers, func(int) {
		err := e.db.WithTx(ctx, func(ctx context.Context) error {
			var n int64
			err := e.db.Conn(ctx).Table("owners").Count(&n).Error
			all.Done()
			all.Wait() // every racer holds its own connection now
			return err
		})
		if err != nil {
			e.t.Error(err)
		}
	})
}

// codes tallies the outcomes of a race by error code ("" for success).
type tally struct {
	mu sync.Mutex
	by map[models.Code]int
}

func (c *tally) add(t *testing.T, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.by == nil {
		c.by = map[models.Code]int{}
	}
	if err == nil {
		c.by[""]++
		return
	}
	me, ok := models.AsError(err)
	if !ok {
		t.Errorf("internal error: %v", err)
		return
	}
	c.by[me.Code]++
}

func TestConcurrentVerifyOfOneCode(t *testing.T) {
	e := newEnv(t)
	code := e.requestCode(phone, ip)
	e.warmPool()
	var results tally
	race(racers, func(int) {
		_, _, err := e.svc.VerifyCode(ctx, phone, code, "", ip)
		results.add(t, err)
	})
	if results.by[""] != 1 || results.by[signin.CodeInvalidCode] != racers-1 {
		t.Errorf("outcomes %v; want one success", results.by)
	}
	if n := e.count("owners", ""); n != 1 {
		t.Errorf("%d owners", n)
	}
	if n := e.count("refresh_tokens", ""); n != 1 {
		t.Errorf("%d sessions", n)
	}
}

func TestConcurrentWrongCodesCountExactly(t *testing.T) {
	e := newEnv(t)
	code := e.requestCode(phone, ip)
	e.warmPool()
	var results tally
	race(racers, func(int) {
		_, _, err := e.svc.VerifyCode(ctx, phone, wrong(code), "", ip)
		results.add(t, err)
	})
	if results.by[signin.CodeInvalidCode] != 5 || results.by[signin.CodeTooManyAttempts] != racers-5 {
		t.Errorf("outcomes %v; want 5 wrong tries, then a dead code", results.by)
	}
	if n := e.count("login_codes", "attempts = 5"); n != 1 {
		t.Error("attempts not exactly 5")
	}
	if n := e.count("auth_failures", "subject = ?", phone); n != racers {
		t.Errorf("%d failures, want %d", n, racers)
	}
}

func TestConcurrentCodeRequests(t *testing.T) {
	e := newEnv(t)
	e.warmPool()
	var results tally
	race(racers, func(int) {
		_, err := e.svc.RequestCode(ctx, phone, ip)
		results.add(t, err)
	})
	if results.by[""] != 1 || results.by[models.CodeRateLimited] != racers-1 {
		t.Errorf("outcomes %v; want one code sent", results.by)
	}
	if e.sms.Count(phone) != 1 || e.count("login_codes", "") != 1 {
		t.Errorf("%d SMS sent", e.sms.Count(phone))
	}
}

func TestConcurrentRefreshOfOneToken(t *testing.T) {
	e := newEnv(t)
	sess, _ := e.signIn(phone)
	e.warmPool()
	var (
		results tally
		winner  atomic.Pointer[signin.Session]
	)
	race(racers, func(int) {
		s, _, err := e.svc.Refresh(ctx, sess.RefreshToken)
		results.add(t, err)
		if err == nil {
			winner.Store(s)
		}
	})
	if results.by[""] != 1 || results.by[signin.CodeRefreshTokenReused] != racers-1 {
		t.Fatalf("outcomes %v; want one success", results.by)
	}
	// The others presented a rotated token: reuse, so the family is revoked,
	// the winner's new token included.
	_, _, err := e.svc.Refresh(ctx, winner.Load().RefreshToken)
	wantCode(t, err, signin.CodeInvalidRefreshToken)
	if n := e.count("refresh_tokens", ""); n != 2 {
		t.Errorf("%d refresh tokens, want 2", n)
	}
}

func TestConcurrentFirstSignIns(t *testing.T) {
	e := newEnv(t)
	e.warmPool()
	var (
		mu  sync.Mutex
		ids = map[uuid.UUID]int{}
	)
	race(racers, func(int) {
		o, err := e.svc.FindOrCreateOwner(ctx, phone)
		if err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		ids[o.ID]++
		mu.Unlock()
	})
	if len(ids) != 1 || e.count("owners", "") != 1 {
		t.Errorf("owners %v; want one", ids)
	}
	// And the sign-in then finds that owner.
	_, owner := e.signIn(phone)
	if ids[owner.ID] != racers {
		t.Errorf("sign-in found owner %s", owner.ID)
	}
}

func TestConcurrentStaffGuesses(t *testing.T) {
	e := newEnv(t)
	e.staff("advisor.sz01", true, []auth.Role{auth.RoleAdvisor}, e.store("SZ01"))
	e.warmPool()
	var results tally
	race(racers, func(int) {
		_, _, err := e.svc.StaffLogin(ctx, "advisor.sz01", "guess", ip)
		results.add(t, err)
	})
	if results.by[signin.CodeInvalidCredentials] != 5 || results.by[models.CodeRateLimited] != racers-5 {
		t.Errorf("outcomes %v; want exactly 5 guesses checked", results.by)
	}
}
