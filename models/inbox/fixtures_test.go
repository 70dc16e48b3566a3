package inbox_test

import (
	"testing"

	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/testdb"
)

// world is testdb's small dealer group, with the inbox on its database.
type world struct {
	*testdb.World
	inbox *inbox.Service
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{World: testdb.NewWorld(t)}
	w.inbox = &inbox.Service{DB: w.DB}
	return w
}

var (
	must           = testdb.Must
	ownerPrincipal = testdb.OwnerPrincipal
	wantCode       = testdb.WantCode
)

func ptr[T any](v T) *T { return &v }
