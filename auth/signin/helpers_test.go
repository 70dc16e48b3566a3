package signin_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/auth/authtest"
	"github.com/ownerhub/ownerhub/auth/signin"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/testdb"
	"github.com/ownerhub/ownerhub/models/validate"
)

const (
	phone     = "+8613800138000"
	testPhone = "+8613800000001" // in Config.TestCodes
	testCode  = "246810"
	ip        = "203.0.113.7"
	otherIP   = "198.51.100.9"
	newIP     = "192.0.2.33" // a network nobody signs in from before the test's end
)

var ctx = context.Background()

type clock = testdb.Clock

// env is one test's world: a fresh database, the service, and the fakes of
// the outside services (SMS gateway, WeChat).
type env struct {
	t      *testing.T
	db     *models.DB
	svc    *signin.Service
	sms    *authtest.SMSOutbox
	wechat *authtest.FakeWeChat
	clock  *clock
	tokens *auth.Tokens
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db := testdb.Open(t)
	tokens, err := auth.NewTokens(bytes.Repeat([]byte("t"), 32), signin.DefaultAccessTTL)
	if err != nil {
		t.Fatal(err)
	}
	wx := authtest.NewFakeWeChat()
	t.Cleanup(wx.Close)
	e := &env{
		t:      t,
		db:     db,
		sms:    &authtest.SMSOutbox{},
		wechat: wx,
		clock:  testdb.NewClock(testdb.Now()),
		tokens: tokens,
	}
	e.svc = &signin.Service{
		DB:     db,
		Tokens: tokens,
		SMS:    e.sms,
		WeChat: &auth.WeChatClient{BaseURL: wx.URL(), AppID: "wx-app", Secret: "wx-secret"},
		Config: signin.Config{
			TestCodes:  map[string]string{testPhone: testCode},
			CodeSecret: bytes.Repeat([]byte("c"), 32),
		},
		Clock: e.clock.Now,
	}
	return e
}

// requestCode asks for a code and returns the one the SMS delivered.
func (e *env) requestCode(phone, ip string) string {
	e.t.Helper()
	if _, err := e.svc.RequestCode(ctx, phone, ip); err != nil {
		e.t.Fatalf("RequestCode(%s): %v", phone, err)
	}
	e164, err := validate.NormalizePhone(phone)
	if err != nil {
		e.t.Fatal(err)
	}
	code, ok := e.sms.Last(e164)
	if !ok {
		e.t.Fatalf("no SMS to %s", phone)
	}
	return code
}

// signIn signs phone in through an SMS code.
func (e *env) signIn(phone string) (*signin.Session, *models.Owner) {
	e.t.Helper()
	code := e.requestCode(phone, ip)
	sess, owner, err := e.svc.VerifyCode(ctx, phone, code, "", ip)
	if err != nil {
		e.t.Fatalf("VerifyCode: %v", err)
	}
	return sess, owner
}

// count counts rows of a table.
func (e *env) count(table, where string, args ...any) int64 {
	e.t.Helper()
	var n int64
	q := e.db.Conn(ctx).Table(table)
	if where != "" {
		q = q.Where(where, args...)
	}
	if err := q.Count(&n).Error; err != nil {
		e.t.Fatal(err)
	}
	return n
}

// seedFailures inserts n auth failures dated at, as if recorded then.
func (e *env) seedFailures(kind, subject, ip string, at time.Time, n int) {
	e.t.Helper()
	rows := make([]models.AuthFailure, n)
	for i := range rows {
		rows[i] = models.AuthFailure{ID: models.NewID(), Kind: kind, Subject: subject, IP: ip, CreatedAt: at}
	}
	if err := e.db.Conn(ctx).CreateInBatches(rows, 100).Error; err != nil {
		e.t.Fatal(err)
	}
}

// principal verifies an access token at the service's time.
func (e *env) principal(access string) *auth.Principal {
	e.t.Helper()
	p, err := e.tokens.WithClock(e.clock.Now).Verify(access)
	if err != nil {
		e.t.Fatalf("access token: %v", err)
	}
	return p
}

// wantCode fails unless err is a *models.Error with code (and, when given,
// field).
func wantCode(t *testing.T, err error, code models.Code, field ...string) *models.Error {
	t.Helper()
	me, ok := models.AsError(err)
	if !ok {
		t.Fatalf("got error %v; want %s", err, code)
	}
	if me.Code != code {
		t.Fatalf("got %s (%v); want %s", me.Code, err, code)
	}
	if len(field) > 0 && me.Field != field[0] {
		t.Errorf("%s: field %q, want %q", code, me.Field, field[0])
	}
	return me
}

// wantRetry checks a refusal's RetryAfterSeconds is within [min, max].
func wantRetry(t *testing.T, err error, lo, hi time.Duration) {
	t.Helper()
	me, _ := models.AsError(err)
	got := time.Duration(me.RetryAfterSeconds) * time.Second
	if got < lo || got > hi {
		t.Errorf("retry after %s; want between %s and %s", got, lo, hi)
	}
}

// race runs fn n times at once and waits for all.
func race(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			fn(i)
		})
	}
	close(start)
	wg.Wait()
}

// Staff fixtures. The bcrypt hash is computed once: ~50 ms each.
const staffPassword = "correct horse battery"

var staffHash = sync.OnceValue(func() string {
	h, err := auth.HashPassword(staffPassword)
	if err != nil {
		panic(err)
	}
	return h
})

func (e *env) store(code string) uuid.UUID {
	e.t.Helper()
	now := testdb.Now()
	st := models.Store{ID: models.NewID(), Code: code, Name: "Store " + code, City: "Shenzhen",
		Timezone: "Asia/Shanghai", ServiceBays: 4, SlotMinutes: 60, CreatedAt: now, UpdatedAt: now}
	if err := e.db.Conn(ctx).Create(&st).Error; err != nil {
		e.t.Fatal(err)
	}
	return st.ID
}

func (e *env) staff(username string, active bool, roles []auth.Role, stores ...uuid.UUID) *models.Staff {
	e.t.Helper()
	now := testdb.Now()
	st := &models.Staff{ID: models.NewID(), Username: username, Name: username,
		PasswordHash: staffHash(), Active: active, CreatedAt: now, UpdatedAt: now}
	for _, r := range roles {
		st.Roles = append(st.Roles, models.StaffRole{StaffID: st.ID, Role: string(r)})
	}
	for _, s := range stores {
		st.Stores = append(st.Stores, models.StaffStore{StaffID: st.ID, StoreID: s})
	}
	if err := e.db.Conn(ctx).Create(st).Error; err != nil {
		e.t.Fatal(err)
	}
	return st
}

func isModelsError(err error) bool {
	var me *models.Error
	return errors.As(err, &me)
}
