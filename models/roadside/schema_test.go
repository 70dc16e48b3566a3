package roadside_test

import (
	"testing"

	"github.com/ownerhub/ownerhub/models/roadside"
	"github.com/ownerhub/ownerhub/models/testdb"
)

// Every GORM entity of package roadside; a new one belongs here.
var entities = []any{&roadside.Request{}, &roadside.Event{}}

// TestSchemaMatchesModels checks, on the dialect under test, that every
// roadside entity has its table, every field its column and every column a
// field, with NULL exactly where the field is a pointer.
func TestSchemaMatchesModels(t *testing.T) {
	t.Parallel()
	testdb.CheckSchema(t, testdb.Open(t), entities...)
}
