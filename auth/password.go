package auth

import (
	"errors"

	"golang.org/x/crypto/bcrypt"
)

// PasswordCost is the bcrypt work factor for staff passwords: slow enough to
// make offline guessing expensive, fast enough (~50 ms) for sign-in.
const PasswordCost = 10

// MaxPasswordBytes is bcrypt's input limit; longer passwords are refused
// rather than silently truncated.
const MaxPasswordBytes = 72

// ErrPasswordTooLong refuses passwords bcrypt would truncate.
var ErrPasswordTooLong = errors.New("password longer than 72 bytes")

// HashPassword hashes a staff password for storage.
func HashPassword(password string) (string, error) {
	if len(password) > MaxPasswordBytes {
		return "", ErrPasswordTooLong
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), PasswordCost)
	return string(h), err
}

// CheckPassword reports whether password matches hash, in constant time.
func CheckPassword(hash, password string) bool {
	if len(password) > MaxPasswordBytes {
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

// dummyHash is compared against when a username does not exist, so that a
// wrong username costs as much time as a wrong password.
var dummyHash, _ = HashPassword("ownerhub-no-such-user")

// CheckNoPassword spends the time of one password check and fails; call it
// when there is no account, so that timing does not reveal usernames.
func CheckNoPassword(password string) bool {
	CheckPassword(dummyHash, password)
	return false
}
