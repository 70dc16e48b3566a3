package signin

import (
	"fmt"
	"strings"

	"github.com/ownerhub/ownerhub/models/validate"
)

// ParseTestCodes parses OTP_TEST_NUMBERS, comma-separated phone=code pairs
// such as "+8613800000001=246810,13800000002=135790", into a map from E.164
// phone to code for Config.TestCodes. Phones take any form NormalizePhone
// accepts; codes are 6 digits; blanks around entries are ignored, as is an
// empty string. An error names the entry that is wrong.
func ParseTestCodes(s string) (map[string]string, error) {
	codes := make(map[string]string)
	for i, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		wrong := func(format string, args ...any) error {
			return fmt.Errorf("OTP_TEST_NUMBERS entry %d (%q): %s", i+1, entry, fmt.Sprintf(format, args...))
		}
		phone, code, ok := strings.Cut(entry, "=")
		if !ok {
			return nil, wrong("want phone=code")
		}
		e164, err := validate.NormalizePhone(strings.TrimSpace(phone))
		if err != nil {
			return nil, wrong("%v", err)
		}
		code = strings.TrimSpace(code)
		if !isCode(code) {
			return nil, wrong("the code must be %d digits", codeDigits)
		}
		if prev, dup := codes[e164]; dup && prev != code {
			return nil, wrong("%s is listed twice with different codes", e164)
		}
		codes[e164] = code
	}
	return codes, nil
}
