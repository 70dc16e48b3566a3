package wechat

import (
	"context"
	"errors"
	"fmt"
)

// Errors of PhoneNumber.
var (
	// ErrPhoneCodeInvalid: the getPhoneNumber code is malformed, unknown,
	// expired or used.
	ErrPhoneCodeInvalid = errors.New("wechat: phone code invalid or already used")
	// ErrPhoneNotMainland: the verified number is not a mainland China one.
	ErrPhoneNotMainland = errors.New("wechat: the verified phone number is not a mainland China number")
)

// maxPhoneCodeLen bounds a getPhoneNumber code (32 characters today).
const maxPhoneCodeLen = 128

// phoneAnswer is getuserphonenumber's answer.
type phoneAnswer struct {
	apiError
	PhoneInfo struct {
		PurePhoneNumber string `json:"purePhoneNumber"`
		CountryCode     string `json:"countryCode"`
	} `json:"phone_info"`
}

// PhoneNumber is the phone number WeChat verified for the code of the
// mini-program's getPhoneNumber button (POST
// /wxa/business/getuserphonenumber), as +86 and the number. A refused
// access token is replaced once. Refusals: ErrPhoneCodeInvalid (also for
// a code that is not 1 to 128 printable ASCII characters, which is not
// sent), ErrPhoneNotMainland. Anything else (an outage, another errcode)
// is an error to log.
func (s *Service) PhoneNumber(ctx context.Context, code string) (string, error) {
	if !printable(code, maxPhoneCodeLen) {
		return "", ErrPhoneCodeInvalid
	}
	tok, err := s.AccessToken(ctx, "")
	if err != nil {
		return "", err
	}
	var a phoneAnswer
	if err := s.post(ctx, "/wxa/business/getuserphonenumber", tok, map[string]string{"code": code}, &a); err != nil {
		return "", err
	}
	if tokenRefused(a.Code) {
		if tok, err = s.AccessToken(ctx, tok); err != nil {
			return "", err
		}
		a = phoneAnswer{}
		if err := s.post(ctx, "/wxa/business/getuserphonenumber", tok, map[string]string{"code": code}, &a); err != nil {
			return "", err
		}
	}
	switch {
	case a.Code == errInvalidCode:
		return "", fmt.Errorf("%w (errcode %d)", ErrPhoneCodeInvalid, a.Code)
	case a.Code != 0:
		return "", fmt.Errorf("wechat getuserphonenumber: %w", &a.apiError)
	case a.PhoneInfo.CountryCode != "86":
		return "", ErrPhoneNotMainland
	case a.PhoneInfo.PurePhoneNumber == "":
		return "", errors.New("wechat getuserphonenumber: answer without a number")
	}
	return "+86" + a.PhoneInfo.PurePhoneNumber, nil
}

// printable reports whether c is 1 to n printable ASCII characters.
func printable(c string, n int) bool {
	if c == "" || len(c) > n {
		return false
	}
	for i := range len(c) {
		if c[i] <= ' ' || c[i] > '~' {
			return false
		}
	}
	return true
}
