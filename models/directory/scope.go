package directory

import (
	"gorm.io/gorm"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
)

// ScopeByCar restricts q to the records about cars (rows naming owner_id,
// vehicle_id and store_id) the actor may see. It is models.Scope with one
// difference for owners: an owner sees the records they made (owner_id)
// and also those of the cars they own now, whoever owned the car then, as
// a car's service history passes with the car to its next owner (see
// docs/authorization.md). models.Scope cannot say this: the car's current
// owner is the directory's to know. Staff and GROUP_ADMIN see as in
// models.Scope. table qualifies the columns when q joins other tables ("":
// it does not).
func ScopeByCar(q *gorm.DB, actor *auth.Principal, roles []auth.Role, table string) *gorm.DB {
	if actor == nil || !actor.IsOwner() {
		return models.Scope(q, actor, roles, table)
	}
	prefix := ""
	if table != "" {
		prefix = table + "."
	}
	return q.Where("("+prefix+"owner_id = ? OR "+prefix+"vehicle_id IN (SELECT cv.id FROM vehicles cv WHERE cv.owner_id = ?))",
		actor.ID, actor.ID)
}
