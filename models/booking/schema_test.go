package booking_test

import (
	"testing"

	"github.com/ownerhub/ownerhub/models/booking"
	"github.com/ownerhub/ownerhub/models/testdb"
)

// Every GORM entity of package booking; a new one belongs here.
var entities = []any{&booking.Appointment{}, &booking.SlotCapacity{}, &booking.Override{}, &booking.SlotBooking{}}

// TestSchemaMatchesModels checks, on the dialect under test, that every
// booking entity has its table, every field its column and every column a
// field, and that a column is nullable exactly when its field is a pointer
// (as models.TestSchemaMatchesModels does for the core entities).
func TestSchemaMatchesModels(t *testing.T) {
	t.Parallel()
	testdb.CheckSchema(t, testdb.Open(t), entities...)
}
