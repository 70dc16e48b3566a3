package privacy_test

import (
	"testing"

	"github.com/ownerhub/ownerhub/models/privacy"
)

func TestMaskPhone(t *testing.T) {
	for in, want := range map[string]string{
		"+8613800000001": "138****0001",
		"13912345678":    "139****5678",
		"+861380000000":  "****",
		"":               "****",
		"+86138000a0001": "****",
	} {
		if got := privacy.MaskPhone(in); got != want {
			t.Errorf("MaskPhone(%q) = %q; want %q", in, got, want)
		}
	}
	if got := privacy.MaskPlate("粤B6R8M2"); got == "粤B6R8M2" || got == "" {
		t.Errorf("MaskPlate kept the plate: %q", got)
	}
}
