package graph

import (
	"encoding/base64"
	"strings"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

// Global IDs are base64url("<Type>:<uuid>"): opaque to clients, and they say
// which table to look in without asking the database.
func globalID(typ string, id uuid.UUID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(typ + ":" + id.String()))
}

// refID is the global ID of the object a domain reference names.
func refID(r models.Ref) string { return globalID(string(r.Type), r.ID) }

// LinkOut writes a domain link as clients read it: each reference in it
// becomes the global ID of the object it names.
func LinkOut(l models.Link) string { return l.Encode(refID) }

// parseGlobalID splits a global ID into its type and key. It accepts only
// the IDs globalID writes: uuid.Parse also reads upper case, braces,
// "urn:uuid:" and undashed keys, and base64 has spare bits at its end, and
// one object must have one ID (clients compare them, caches key on them).
func parseGlobalID(gid string) (typ string, id uuid.UUID, ok bool) {
	raw, err := base64.RawURLEncoding.DecodeString(gid)
	if err != nil {
		return "", uuid.Nil, false
	}
	typ, key, found := strings.Cut(string(raw), ":")
	if !found {
		return "", uuid.Nil, false
	}
	id, err = uuid.Parse(key)
	if err != nil || globalID(typ, id) != gid {
		return "", uuid.Nil, false
	}
	return typ, id, true
}

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
