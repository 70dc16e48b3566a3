// Package globalid writes and reads the IDs the GraphQL schema gives its
// objects: base64url("<Type>:<uuid>"), opaque to clients, and saying which
// table to look in without asking the database. It imports nothing of ours,
// so its fuzz target builds in seconds.
package globalid

import (
	"encoding/base64"
	"strings"

	"github.com/google/uuid"
)

// Encode is the global ID of the object of type typ with key id.
func Encode(typ string, id uuid.UUID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(typ + ":" + id.String()))
}

// Parse splits a global ID into its type and key. It accepts only the IDs
// Encode writes: uuid.Parse also reads upper case, braces, "urn:uuid:" and
// undashed keys, and base64 has spare bits at its end, and one object must
// have one ID (clients compare them, caches key on them).
func Parse(gid string) (typ string, id uuid.UUID, ok bool) {
	raw, err := base64.RawURLEncoding.DecodeString(gid)
	if err != nil {
		return "", uuid.Nil, false
	}
	typ, key, found := strings.Cut(string(raw), ":")
	if !found {
		return "", uuid.Nil, false
	}
	id, err = uuid.Parse(key)
	if err != nil || Encode(typ, id) != gid {
		return "", uuid.Nil, false
	}
	return typ, id, true
}
