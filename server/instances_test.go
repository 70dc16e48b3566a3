package main

import (
	"context"
	"testing"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/demo"
	"github.com/ownerhub/ownerhub/models/testdb"
)

// demoInstances is two database handles (two server instances' pools) on
// one new PostgreSQL database with the demo data; nil on SQLite.
func demoInstances(t *testing.T) (a, b *models.DB) {
	t.Helper()
	dbs := testdb.Instances(t, 2, func(db *models.DB) error {
		_, err := demo.Seed(context.Background(), db, demo.DefaultPassword)
		return err
	})
	if dbs == nil {
		return nil, nil
	}
	return dbs[0], dbs[1]
}
