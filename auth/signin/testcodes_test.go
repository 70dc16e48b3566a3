package signin_test

import (
	"maps"
	"strings"
	"testing"

	"github.com/ownerhub/ownerhub/auth/signin"
)

func TestParseTestCodes(t *testing.T) {
	good := []struct {
		in   string
		want map[string]string
	}{
		{"", map[string]string{}},
		{"+8613800000001=246810", map[string]string{"+8613800000001": "246810"}},
		{"+8613800000001=246810,13800000002=135790", map[string]string{
			"+8613800000001": "246810", "+8613800000002": "135790"}},
		{" +86 138 0000 0001 = 246810 , ", map[string]string{"+8613800000001": "246810"}},
		{"13800000001=246810,+8613800000001=246810", map[string]string{"+8613800000001": "246810"}},
	}
	for _, c := range good {
		got, err := signin.ParseTestCodes(c.in)
		if err != nil || !maps.Equal(got, c.want) {
			t.Errorf("ParseTestCodes(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}

	bad := []struct{ in, mention string }{
		{"+8613800000001", "entry 1"},
		{"+8613800000001=246810,12345=135790", "entry 2"},
		{"+8613800000001=24681", `"+8613800000001=24681"`},
		{"+8613800000001=2468100", "6 digits"},
		{"+8613800000001=24681a", "entry 1"},
		{"+8613800000001=", "entry 1"},
		{"=246810", "entry 1"},
		{"13800000001=246810,+8613800000001=135790", "twice"},
	}
	for _, c := range bad {
		_, err := signin.ParseTestCodes(c.in)
		if err == nil || !strings.Contains(err.Error(), c.mention) {
			t.Errorf("ParseTestCodes(%q): %v; want an error mentioning %s", c.in, err, c.mention)
		}
	}
}
