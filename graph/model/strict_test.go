package model

import (
	"encoding/json"
	"math"
	"testing"
)

func TestUnmarshalIntStrict(t *testing.T) {
	for _, v := range []any{int64(5), 5, json.Number("5"), json.Number("-2147483648"), 5.0, int64(math.MaxInt32)} {
		if n, err := UnmarshalInt(v); err != nil || (n != 5 && n != math.MinInt32 && n != math.MaxInt32) {
			t.Errorf("UnmarshalInt(%#v) = %d, %v", v, n, err)
		}
	}
	for _, v := range []any{"5", json.Number("5.0"), json.Number("1e2"), json.Number("2147483648"), int64(-2147483649),
		5.5, 1e300, math.NaN(), true, nil, []any{5}} {
		if n, err := UnmarshalInt(v); err == nil {
			t.Errorf("UnmarshalInt(%#v) = %d, want a refusal", v, n)
		}
	}
}

func TestUnmarshalFloatStrict(t *testing.T) {
	for _, v := range []any{json.Number("1.5"), json.Number("1e2"), 1.5, int64(2), 2} {
		if _, err := UnmarshalFloatContext(t.Context(), v); err != nil {
			t.Errorf("UnmarshalFloat(%#v): %v", v, err)
		}
	}
	for _, v := range []any{"1.5", json.Number("1e400"), math.Inf(1), true, nil} {
		if f, err := UnmarshalFloatContext(t.Context(), v); err == nil {
			t.Errorf("UnmarshalFloat(%#v) = %v, want a refusal", v, f)
		}
	}
}

func TestUnmarshalStringAndIDStrict(t *testing.T) {
	for _, s := range []string{"", "张三", "line\nbreak\ttab", "שלום", "emoji 🚗"} {
		if got, err := UnmarshalString(s); err != nil || got != s {
			t.Errorf("UnmarshalString(%q) = %q, %v", s, got, err)
		}
		if got, err := UnmarshalID(s); err != nil || got != s {
			t.Errorf("UnmarshalID(%q) = %q, %v", s, got, err)
		}
	}
	for _, s := range []string{"a\x00b", "\u202a", "x\u202ey", "\u2066", "\u2069z", "\u200f", "a\u061cb"} {
		if _, err := UnmarshalString(s); err == nil {
			t.Errorf("UnmarshalString(%q) accepted", s)
		}
		if _, err := UnmarshalID(s); err == nil {
			t.Errorf("UnmarshalID(%q) accepted", s)
		}
	}
	for _, v := range []any{5, json.Number("5"), true, nil} {
		if s, err := UnmarshalString(v); err == nil {
			t.Errorf("UnmarshalString(%#v) = %q, want a refusal", v, s)
		}
	}
	for v, want := range map[any]string{int64(12): "12", 12: "12", json.Number("12"): "12"} {
		if got, err := UnmarshalID(v); err != nil || got != want {
			t.Errorf("UnmarshalID(%#v) = %q, %v", v, got, err)
		}
	}
	for _, v := range []any{json.Number("1.5"), 1.5, true, nil} {
		if s, err := UnmarshalID(v); err == nil {
			t.Errorf("UnmarshalID(%#v) = %q, want a refusal", v, s)
		}
	}
}
