package roadside_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"

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

// The schema itself refuses what the operations never write, on both
// dialects.
func TestSchemaConstraints(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	conn := e.db.Conn(e.ctx)
	c := e.customer()
	now := base
	insert := func(status, problem, phone string, finished *time.Time, accepted *uuid.UUID) error {
		return conn.Exec(`INSERT INTO assistance_requests (id, owner_id, vehicle_id, store_id, status, problem, latitude, longitude,
			address, callback_phone, accepted_by, finished_at, outcome, cancel_reason, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, 22.5, 114.0, '某地', ?, ?, ?, 'x', 'x', ?, ?)`,
			models.NewID(), c.owner.ID, c.car.ID, e.a, status, problem, phone, accepted, finished, now, now).Error
	}
	admin := e.who("admin").ID
	fails := map[string]func() error{
		"latitude without longitude": func() error {
			return conn.Exec(`INSERT INTO stores (id, code, name, city, latitude, created_at, updated_at) VALUES (?, ?, 'x', 'y', 22.5, ?, ?)`,
				models.NewID(), "RX"+models.NewID().String()[:6], now, now).Error
		},
		"latitude 91": func() error {
			return conn.Exec(`INSERT INTO stores (id, code, name, city, latitude, longitude, created_at, updated_at) VALUES (?, ?, 'x', 'y', 91, 114, ?, ?)`,
				models.NewID(), "RY"+models.NewID().String()[:6], now, now).Error
		},
		"unknown status":         func() error { return insert("LOST", "BATTERY", "+8613900000000", nil, nil) },
		"unknown problem":        func() error { return insert("REQUESTED", "ALIENS", "+8613900000000", nil, nil) },
		"phone not E.164":        func() error { return insert("REQUESTED", "BATTERY", "13900000000", nil, nil) },
		"accepted by nobody":     func() error { return insert("ACCEPTED", "BATTERY", "+8613900000000", nil, nil) },
		"closed without its end": func() error { return insert("CLOSED", "BATTERY", "+8613900000000", nil, &admin) },
		"open with an end":       func() error { return insert("REQUESTED", "BATTERY", "+8613900000000", &now, nil) },
	}
	for name, f := range fails {
		if err := f(); err == nil {
			t.Errorf("%s: insert succeeded; want a constraint violation", name)
		}
	}
	// One open request per car; finished ones do not count.
	must(t, insert("CLOSED", "BATTERY", "+8613900000000", &now, &admin))
	must(t, insert("CANCELLED", "BATTERY", "+8613900000000", &now, nil))
	must(t, insert("REQUESTED", "BATTERY", "+8613900000000", nil, nil))
	if err := insert("ACCEPTED", "BATTERY", "+8613900000000", nil, &admin); !models.IsUniqueViolation(err) {
		t.Fatalf("a second open request: %v; want a unique violation", err)
	}
}
