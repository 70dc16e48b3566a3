// Package directory is who and what the dealer group knows: its stores,
// staff, owners and their vehicles. It reads them for every caller with the
// visibility rules of docs/authorization.md (who sees a customer, a car, a
// colleague), registers cars at delivery, lets owners edit their profile and
// staff correct a car's data, and gives the capabilities above it the reads
// of these tables they need, so that the SQL naming owners, vehicles, stores
// and staff lives here.
//
// The entities themselves (models.Owner, Vehicle, Store, Staff) stay in the
// kernel: every capability and the GraphQL schema refer to them (see
// docs/architecture.md).
package directory

import "github.com/ownerhub/ownerhub/models"

// Service runs the directory's operations on a database.
type Service struct {
	DB *models.DB
	// Clock is the service's clock (nil: the real time). Tests and the
	// demo data move it.
	Clock models.Clock
}

// Or is s, or, when s is nil, a Service on db with clock c: a capability
// whose Directory is not wired reads the directory through its own
// database and clock.
func (s *Service) Or(db *models.DB, c models.Clock) *Service {
	if s != nil {
		return s
	}
	return &Service{DB: db, Clock: c}
}

// db is the service's database with its clock.
func (s *Service) db() *models.DB { return s.DB.WithClock(s.Clock) }

// A row the caller may not see is NOT_FOUND, never FORBIDDEN, so that
// probing ids reveals nothing about which exist.
var (
	errOwnerNotFound   = models.E(models.CodeNotFound, "未找到该车主", "owner not found")
	errVehicleNotFound = models.E(models.CodeNotFound, "未找到该车辆", "vehicle not found")
	errStaffNotFound   = models.E(models.CodeNotFound, "未找到该员工", "staff member not found")
	errStoreNotFound   = models.E(models.CodeNotFound, "未找到该门店", "store not found")
)
