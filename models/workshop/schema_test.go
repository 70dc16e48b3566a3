package workshop_test

import (
	"testing"

	"github.com/ownerhub/ownerhub/models/testdb"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// Every GORM entity of package workshop; a new one belongs here.
var entities = []any{
	&workshop.RepairOrder{}, &workshop.Item{}, &workshop.Event{}, &workshop.Payment{},
	&workshop.Sequence{}, &workshop.BoardVersion{}, &workshop.ScreenToken{},
}

// TestSchemaMatchesModels checks, on the dialect under test, that every
// workshop entity has its table, every field its column and every column a
// field, and that a column is nullable exactly when its field is a pointer
// (as models.TestSchemaMatchesModels does for the core entities).
func TestSchemaMatchesModels(t *testing.T) {
	t.Parallel()
	testdb.CheckSchema(t, testdb.Open(t), entities...)
}
