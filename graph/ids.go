package graph

import (
	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/graph/globalid"
	"github.com/ownerhub/ownerhub/models"
)

// globalID is the global ID of an object (see package globalid).
func globalID(typ string, id uuid.UUID) string { return globalid.Encode(typ, id) }

// refID is the global ID of the object a domain reference names.
func refID(r models.Ref) string { return globalID(string(r.Type), r.ID) }

// LinkOut writes a domain link as clients read it: each reference in it
// becomes the global ID of the object it names.
func LinkOut(l models.Link) string { return l.Encode(refID) }

// parseGlobalID splits a global ID into its type and key; it accepts only
// the IDs globalID writes.
func parseGlobalID(gid string) (string, uuid.UUID, bool) { return globalid.Parse(gid) }

// idOf parses a global ID that must name an object of type typ; field is the
// input path reported when it does not.
func idOf(gid, typ, field string) (uuid.UUID, error) {
	t, id, ok := parseGlobalID(gid)
	if !ok || t != typ {
		return uuid.Nil, models.Ef(models.CodeInvalidArgument, "无效的 ID", "%s is not a valid %s ID", field, typ).On(field)
	}
	return id, nil
}

// optionalID is idOf for an optional input.
func optionalID(gid *string, typ, field string) (*uuid.UUID, error) {
	if gid == nil {
		return nil, nil
	}
	id, err := idOf(*gid, typ, field)
	if err != nil {
		return nil, err
	}
	return &id, nil
}
