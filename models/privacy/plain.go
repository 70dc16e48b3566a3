package privacy

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

var (
	dateType = reflect.TypeOf(models.Date{})
	timeType = reflect.TypeOf(time.Time{})
	uuidType = reflect.TypeOf(uuid.UUID{})
)

// plain turns a section's value into what reads well as JSON: structs
// become objects of their fields (embedded structs flattened), dates
// "YYYY-MM-DD", times RFC 3339 in UTC, ids their text.
func plain(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Invalid:
		return nil
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return plain(v.Elem())
	}
	if v.CanInterface() {
		if m, ok := v.Interface().(json.Marshaler); ok && v.Type() != timeType && v.Type() != uuidType {
			return m // a type that knows its JSON (a section's own)
		}
	}
	switch v.Type() {
	case dateType:
		return v.Interface().(models.Date).String()
	case timeType:
		return v.Interface().(time.Time).UTC().Format(time.RFC3339Nano)
	case uuidType:
		return v.Interface().(uuid.UUID).String()
	}
	switch v.Kind() {
	case reflect.Struct:
		out := map[string]any{}
		addFields(out, v)
		return out
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return []any{}
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = plain(v.Index(i))
		}
		return out
	case reflect.Map:
		out := map[string]any{}
		for _, k := range v.MapKeys() {
			out[k.String()] = plain(v.MapIndex(k))
		}
		return out
	}
	return v.Interface()
}

func addFields(out map[string]any, v reflect.Value) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		fv := v.Field(i)
		if f.Anonymous {
			for fv.Kind() == reflect.Pointer {
				if fv.IsNil() {
					break
				}
				fv = fv.Elem()
			}
			if fv.Kind() == reflect.Struct {
				addFields(out, fv)
				continue
			}
		}
		out[exportKey(f)] = plain(fv)
	}
}

// exportKey is a field's key in the export: its JSON name where the type
// gives one, else its Go name in lowerCamelCase as the API writes names
// (BookedBy: bookedBy, OwnerID: ownerId, VIN: vin, HTTPStatus:
// httpStatus), so that the export reads like the GraphQL answers.
func exportKey(f reflect.StructField) string {
	if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
		return name
	}
	return lowerCamel(f.Name)
}

// lowerCamel writes a Go name in lowerCamelCase: its first word lower
// case, initialisms included, and each later word, initialisms too, with
// one capital (OwnerID: ownerId, VIN: vin, WeChatOpenID: weChatOpenId,
// HTTPStatus: httpStatus, IDs: ids).
func lowerCamel(name string) string {
	r := []rune(name)
	var words []string
	start := 0
	for i := 1; i < len(r); i++ {
		if !unicode.IsUpper(r[i]) {
			continue
		}
		prev := r[i-1]
		nextLower := i+1 < len(r) && unicode.IsLower(r[i+1])
		// An initialism's plural (IDs) keeps its s.
		plural := i+1 < len(r) && r[i+1] == 's' && (i+2 == len(r) || unicode.IsUpper(r[i+2]))
		if !unicode.IsUpper(prev) || (nextLower && !plural) {
			words = append(words, string(r[start:i]))
			start = i
		}
	}
	words = append(words, string(r[start:]))
	for i, w := range words {
		w = strings.ToLower(w)
		if i > 0 {
			w = strings.ToUpper(w[:1]) + w[1:]
		}
		words[i] = w
	}
	return strings.Join(words, "")
}
