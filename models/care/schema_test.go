package care_test

import (
	"testing"

	"github.com/ownerhub/ownerhub/models/care"
	"github.com/ownerhub/ownerhub/models/testdb"
)

// Every GORM entity of package care; a new one belongs here.
var entities = []any{&care.Survey{}, &care.FollowUpTask{}, &care.Complaint{}, &care.ComplaintEvent{}}

// TestSchemaMatchesModels checks, on the dialect under test, that every
// care entity has its table and columns, nullable exactly when the field
// is a pointer.
func TestSchemaMatchesModels(t *testing.T) {
	t.Parallel()
	testdb.CheckSchema(t, testdb.Open(t), entities...)
}
