package wallet_test

import (
	"testing"

	"github.com/ownerhub/ownerhub/models/testdb"
	"github.com/ownerhub/ownerhub/models/wallet"
)

func TestSchemaMatchesModels(t *testing.T) {
	t.Parallel()
	testdb.CheckSchema(t, testdb.Open(t), &wallet.Account{}, &wallet.Entry{}, &wallet.PointsLot{})
}
