package model

import (
	"context"
	"encoding/json"
	"math"
	"strconv"

	"github.com/99designs/gqlgen/graphql"

	"github.com/ownerhub/ownerhub/models"
)

// GraphQL's built-in scalars, read strictly (docs/api-limits.md). gqlgen's
// own readers take "5" for an Int or a Float and 5 for a String, and
// gqlparser's check of variables lets such values through, so a client's
// mistake would pass unnoticed. Here an Int is a JSON number that is an
// integer in GraphQL's 32-bit range, a Float a JSON number, a String a JSON
// string, an ID a string or an integer, and no String or ID carries a
// models.HiddenControl character. A refusal is INVALID_ARGUMENT; the error
// presenter names the argument or input field from the error's path.

var (
	badInt = models.E(models.CodeInvalidArgument, "该值须为 -2147483648 至 2147483647 之间的整数",
		"the value must be an integer from -2147483648 to 2147483647, written as a number")
	badFloat  = models.E(models.CodeInvalidArgument, "该值须为数字", "the value must be a number, written as a number")
	badString = models.E(models.CodeInvalidArgument, "该值须为字符串", "the value must be a string")
	badText   = models.E(models.CodeInvalidArgument, "该值包含不允许的字符",
		"the value contains a character that is not allowed (NUL or a bidirectional control)")
)

// MarshalInt writes an Int.
func MarshalInt(i int) graphql.Marshaler { return graphql.MarshalInt(i) }

// UnmarshalInt reads an Int.
func UnmarshalInt(v any) (int, error) {
	n, err := strictInt(v)
	return int(n), err
}

// MarshalInt64 writes an Int held in an int64.
func MarshalInt64(i int64) graphql.Marshaler { return graphql.MarshalInt64(i) }

// UnmarshalInt64 reads an Int into an int64.
func UnmarshalInt64(v any) (int64, error) { return strictInt(v) }

func strictInt(v any) (int64, error) {
	var n int64
	switch v := v.(type) {
	case int:
		n = int64(v)
	case int32:
		n = int64(v)
	case int64:
		n = v
	case json.Number:
		var err error
		if n, err = strconv.ParseInt(string(v), 10, 64); err != nil {
			return 0, badInt
		}
	case float64:
		// Only from a decoder without json.Number; an integral value is an
		// integer.
		if v != math.Trunc(v) || math.Abs(v) > math.MaxInt32+1 {
			return 0, badInt
		}
		n = int64(v)
	default:
		return 0, badInt
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		return 0, badInt
	}
	return n, nil
}

// MarshalFloatContext writes a Float (refusing infinities and NaN, which
// JSON cannot carry).
func MarshalFloatContext(f float64) graphql.ContextMarshaler { return graphql.MarshalFloatContext(f) }

// UnmarshalFloatContext reads a Float.
func UnmarshalFloatContext(_ context.Context, v any) (float64, error) {
	var f float64
	switch v := v.(type) {
	case int:
		f = float64(v)
	case int64:
		f = float64(v)
	case float64:
		f = v
	case json.Number:
		var err error
		if f, err = strconv.ParseFloat(string(v), 64); err != nil {
			return 0, badFloat
		}
	default:
		return 0, badFloat
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, badFloat
	}
	return f, nil
}

// MarshalString writes a String.
func MarshalString(s string) graphql.Marshaler { return graphql.MarshalString(s) }

// UnmarshalString reads a String.
func UnmarshalString(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", badString
	}
	return s, visibleText(s)
}

// MarshalID writes an ID.
func MarshalID(s string) graphql.Marshaler { return graphql.MarshalID(s) }

// UnmarshalID reads an ID: a string, or an integer written as a number
// (which the spec allows, though no ID of ours is one).
func UnmarshalID(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, visibleText(v)
	case int64:
		return strconv.FormatInt(v, 10), nil
	case int:
		return strconv.Itoa(v), nil
	case json.Number:
		if _, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return string(v), nil
		}
	}
	return "", badString
}

// visibleText refuses a string holding a models.HiddenControl character.
func visibleText(s string) error {
	if models.HasHiddenControl(s) {
		return badText
	}
	return nil
}
