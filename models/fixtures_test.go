package models_test

import (
	"testing"

	"github.com/ownerhub/ownerhub/models/testdb"
)

// world is testdb's small dealer group.
type world struct {
	*testdb.World
}

func newWorld(t *testing.T) *world {
	t.Helper()
	return &world{World: testdb.NewWorld(t)}
}

var (
	must           = testdb.Must
	date           = testdb.Day
	ownerPrincipal = testdb.OwnerPrincipal
	wantCode       = testdb.WantCode
)

func ptr[T any](v T) *T { return &v }
