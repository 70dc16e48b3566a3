package testdb

import (
	"errors"
	"sync"
	"testing"

	"github.com/ownerhub/ownerhub/models"
)

// shared is one prepared database per test binary, for tests that only add
// rows of their own (fresh owners, cars, stores) and so may share it.
var shared struct {
	once    sync.Once
	db      *models.DB
	err     error
	cleanup func()
}

// Shared returns the test binary's shared database, created, migrated and
// prepared (e.g. seeded with demo data) once. Call CloseShared from TestMain.
func Shared(t testing.TB, prepare func(*models.DB) error) *models.DB {
	t.Helper()
	shared.once.Do(func() {
		shared.db, shared.cleanup, shared.err = New()
		if shared.err == nil && prepare != nil {
			shared.err = prepare(shared.db)
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.db
}

// CloseShared drops the shared database, if one was made.
func CloseShared() {
	if shared.cleanup != nil {
		shared.cleanup()
	}
}

// WantCode fails unless err is a *models.Error with the code and the field,
// and messages in both languages.
func WantCode(t testing.TB, err error, code models.Code, field string) {
	t.Helper()
	var me *models.Error
	if !errors.As(err, &me) {
		t.Fatalf("err = %v; want %s on %q", err, code, field)
	}
	if me.Code != code || me.Field != field {
		t.Fatalf("err = %s on %q (%v); want %s on %q", me.Code, me.Field, me, code, field)
	}
	if me.Message("zh") == "" || me.Message("en") == "" {
		t.Errorf("error %v lacks a message", me)
	}
}
