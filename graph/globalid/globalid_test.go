package globalid

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestParseCanonicalOnly(t *testing.T) {
	id := uuid.MustParse("01a2471f-181a-78f0-bf02-ca966ef7bf15")
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	gid := Encode("Vehicle", id)
	typ, got, ok := Parse(gid)
	if !ok || typ != "Vehicle" || got != id {
		t.Fatalf("canonical %q: %q %v %v", gid, typ, got, ok)
	}
	key := id.String()
	for name, v := range map[string]string{
		"upper case":        enc("Vehicle:" + strings.ToUpper(key)),
		"braces":            enc("Vehicle:{" + key + "}"),
		"urn":               enc("Vehicle:urn:uuid:" + key),
		"no dashes":         enc("Vehicle:" + strings.ReplaceAll(key, "-", "")),
		"padded":            base64.URLEncoding.EncodeToString([]byte("Vehicle:" + key)),
		"extra bits":        withExtraBits(gid),
		"standard alphabet": base64.RawStdEncoding.EncodeToString([]byte("Vehicle:" + key + "?>")),
		"no type":           enc(key),
		"empty":             "",
	} {
		if typ, got, ok := Parse(v); ok {
			t.Errorf("%s %q accepted as %s %s", name, v, typ, got)
		}
	}
}

// withExtraBits sets the bits of gid's last character that carry no data
// ("Vehicle:<uuid>" is 44 bytes: its last character carries 4 bits of data
// and 2 unused ones).
func withExtraBits(gid string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, gid[len(gid)-1])
	return gid[:len(gid)-1] + string(alphabet[last|3])
}

// FuzzParseGlobalID: the parser never panics, accepts only what
// Encode writes (so it reads back to exactly its input), and reads back
// every ID Encode writes. Seeds in testdata/fuzz/FuzzParseGlobalID hold
// the spellings that were once accepted.
func FuzzParseGlobalID(f *testing.F) {
	f.Add(Encode("Store", uuid.MustParse("01a2471f-181a-78f0-bf02-ca966ef7bf15")), "Owner", []byte("0123456789abcdef"))
	f.Fuzz(func(t *testing.T, gid, typ string, key []byte) {
		// gid as sent, and gid as the text inside the base64, which lets
		// the fuzzer reach spellings of "<Type>:<uuid>" directly.
		for _, in := range []string{gid, base64.RawURLEncoding.EncodeToString([]byte(gid))} {
			if typ, id, ok := Parse(in); ok && Encode(typ, id) != in {
				t.Fatalf("accepted %q, which is written %q", in, Encode(typ, id))
			}
		}
		id, err := uuid.FromBytes(key)
		if err != nil || strings.Contains(typ, ":") {
			return // not an ID the server writes
		}
		back, got, ok := Parse(Encode(typ, id))
		if !ok || back != typ || got != id {
			t.Fatalf("Encode(%q, %s) reads back as %q %s %v", typ, id, back, got, ok)
		}
	})
}
