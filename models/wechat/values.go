package wechat

import (
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/outbox"
)

// limit is what WeChat accepts in a value of one field type: at most runes
// characters, each passing keep (nil: any), and what stands for an empty
// value (WeChat refuses empty values).
type limit struct {
	runes int
	keep  func(rune) bool
	empty string
}

func ascii(r rune) bool { return r > ' ' && r <= '~' }

// limits are WeChat's rules for subscription message values, by field type
// (the key without its number).
var limits = map[string]limit{
	"thing":            {runes: 20, empty: "-"},
	"name":             {runes: 10, empty: "-"},
	"phrase":           {runes: 5, empty: "无"},
	"car_number":       {runes: 8, empty: "-"},
	"character_string": {runes: 32, keep: ascii, empty: "-"},
	"number":           {runes: 32, keep: func(r rune) bool { return unicode.IsDigit(r) || r == '.' }, empty: "0"},
	"letter":           {runes: 32, keep: func(r rune) bool { return r < unicode.MaxASCII && unicode.IsLetter(r) }, empty: "N"},
	"symbol":           {runes: 5, empty: "-"},
	"amount":           {runes: 12, empty: "0元"},
	"phone_number":     {runes: 17, keep: func(r rune) bool { return unicode.IsDigit(r) || r == '+' || r == '-' }, empty: "-"},
	"time":             {runes: 32, empty: "-"},
	"date":             {runes: 32, empty: "-"},
}

// FieldTypes lists the field types a template may have.
func FieldTypes() []string {
	out := make([]string, 0, len(limits))
	for t := range limits {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// MaxRunes is how many characters WeChat takes in a value of field type
// typ (0 for an unknown type).
func MaxRunes(typ string) int { return limits[typ].runes }

// Value is v as WeChat accepts it in a field of type typ: characters the
// type does not take dropped, cut to its length (with "…" when cut), a
// time (RFC 3339) shown in China time as WeChat's time and date types want
// it, and never empty.
func Value(typ, v string) string {
	l, ok := limits[typ]
	if !ok {
		return outbox.Cut(v, 20)
	}
	v = strings.TrimSpace(v)
	if typ == "time" || typ == "date" {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			layout := "2006-01-02 15:04"
			if typ == "date" {
				layout = "2006-01-02"
			}
			v = t.In(models.ChinaTime).Format(layout)
		}
	}
	if l.keep != nil {
		v = strings.Map(func(r rune) rune {
			if l.keep(r) {
				return r
			}
			return -1
		}, v)
	}
	if l.keep != nil || typ == "time" || typ == "date" {
		// Values of these types mean nothing cut with an ellipsis.
		if r := []rune(v); len(r) > l.runes {
			v = string(r[:l.runes])
		}
	} else {
		v = outbox.Cut(v, l.runes)
	}
	if v == "" {
		return l.empty
	}
	return v
}
