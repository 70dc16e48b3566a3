package testdb

import (
	"context"
	"reflect"
	"sync"
	"testing"

	"gorm.io/gorm/schema"

	"github.com/ownerhub/ownerhub/models"
)

// CheckSchema checks, on the dialect under test, that every entity has its
// table, every field its column and every column a field, and that a column
// is nullable exactly when its field is a pointer, so that no read fails on
// a NULL and no write loses a value. Every package with GORM entities calls
// it with all of them.
func CheckSchema(t *testing.T, db *models.DB, entities ...any) {
	t.Helper()
	conn := db.Conn(context.Background())
	m := conn.Migrator()
	cache := &sync.Map{}
	for _, e := range entities {
		s, err := schema.Parse(e, cache, conn.NamingStrategy)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(s.Table, func(t *testing.T) {
			if !m.HasTable(e) {
				t.Fatalf("no table %s for %s", s.Table, s.Name)
			}
			cols, err := m.ColumnTypes(e)
			if err != nil {
				t.Fatal(err)
			}
			byName := map[string]bool{}
			nullable := map[string]bool{}
			for _, c := range cols {
				byName[c.Name()] = true
				if n, ok := c.Nullable(); ok {
					nullable[c.Name()] = n
				}
			}
			fields := map[string]bool{}
			for _, f := range s.Fields {
				if f.DBName == "" {
					continue
				}
				fields[f.DBName] = true
				if !byName[f.DBName] {
					t.Errorf("%s.%s: no column %s", s.Name, f.Name, f.DBName)
					continue
				}
				isPtr := f.FieldType.Kind() == reflect.Pointer
				if n, ok := nullable[f.DBName]; ok && !f.PrimaryKey && n != isPtr {
					t.Errorf("%s.%s: column %s nullable=%v but field is %s", s.Name, f.Name, f.DBName, n, f.FieldType)
				}
			}
			for name := range byName {
				if !fields[name] {
					t.Errorf("table %s: column %s has no field in %s", s.Table, name, s.Name)
				}
			}
		})
	}
}
