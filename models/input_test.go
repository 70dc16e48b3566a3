package models

import "testing"

func TestTextRefusesControlAndBidiCharacters(t *testing.T) {
	cases := []struct {
		in        string
		multiline bool
		ok        bool
	}{
		{"张三", false, true},
		{"  王芳 ", false, true},
		{"保养后\n异响", true, true},
		{"保养后\n异响", false, false},
		{"a\x00b", true, false},
		{"a\x7fb", false, false},
		{"a\u0085b", true, false}, // C1 next line
		{"\u202eevil", false, false},
		{"a\u202ab", false, false},
		{"a\u2066b\u2069", false, false},
		{"a\u200fb", false, false},
		{"a\u061cb", false, false},
		{"bad \xff utf8", false, false},
		{"emoji 🚗 ok", false, true},
	}
	for _, c := range cases {
		_, err := Text("name", "姓名", c.in, 0, 100, c.multiline)
		if (err == nil) != c.ok {
			t.Errorf("Text(%q, multiline=%v) error = %v, want ok=%v", c.in, c.multiline, err, c.ok)
		}
		if err != nil {
			if e, _ := AsError(err); e == nil || e.Code != CodeInvalidArgument || e.Field != "name" {
				t.Errorf("Text(%q) error = %#v, want INVALID_ARGUMENT on name", c.in, err)
			}
		}
	}
}
