// Package totp implements time-based one-time passwords (RFC 6238) the way
// authenticator apps expect them: HMAC-SHA-1, six digits, a 30-second step.
// It generates secrets and otpauth URIs for enrolment, verifies codes with
// one step of clock skew either side, and reports the matched step so the
// caller can refuse a code that was already used (replay). Storage, sealing
// and the replay history belong to the caller.
package totp

import (
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// Period is the length of one time step. Authenticator apps assume 30 s and
// many ignore the period parameter, so it is fixed.
const Period = 30 * time.Second

// Digits is the length of a code. Six is what every authenticator app shows
// by default and what the "password;123456" form expects.
const Digits = 6

// skew is how many steps either side of now are accepted: enough for a
// phone clock a little off and a code typed just as it rolled over.
const skew = 1

// secretSize is the length in bytes of a generated secret: 160 bits, the
// HMAC-SHA-1 block output size RFC 4226 recommends.
const secretSize = 20

// minSecretSize is the shortest secret accepted (RFC 4226 §4: at least 128
// bits). It stops an empty or truncated secret, for example a missing
// record, from turning into a key anyone can compute codes for.
const minSecretSize = 16

var (
	// ErrSecret is returned for a secret that is not base32 or is too short.
	ErrSecret = errors.New("totp secret is not valid base32 of at least 128 bits")

	b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

	hotpOpts = hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
)

// Key is a newly generated TOTP secret together with the otpauth URI an
// authenticator app scans to enrol it.
type Key struct {
	// Secret is the shared secret in base32 without padding, as shown to a
	// person who types it instead of scanning the QR code.
	Secret string
	// URI is otpauth://totp/Issuer:account?... for the QR code.
	URI string
}

// Generate makes a new 160-bit secret for account (the Jellyfin user name)
// under issuer (the name the authenticator app lists it under, such as
// "jellyguard" or the server's name).
func Generate(issuer, account string) (Key, error) {
	if issuer == "" || account == "" {
		return Key{}, errors.New("generating totp secret: issuer and account must not be empty")
	}
	k, err := totp.Generate(totp.GenerateOpts{
		Issuer:      issuer,
		AccountName: account,
		Period:      uint(Period / time.Second),
		SecretSize:  secretSize,
		Digits:      otp.DigitsSix,
		Algorithm:   otp.AlgorithmSHA1,
	})
	if err != nil {
		return Key{}, fmt.Errorf("generating totp secret: %w", err)
	}
	secret := k.Secret()
	return Key{Secret: secret, URI: URI(issuer, account, secret)}, nil
}

// URI rebuilds the otpauth URI for an existing secret, so an enrolment page
// can show the QR code again without keeping the URI anywhere. The label is
// "Issuer:account" with any colon inside either part escaped, because the
// Key URI format gives the first colon its meaning; spaces are %20, not "+",
// which some apps would show literally.
func URI(issuer, account, secret string) string {
	label := labelEscape(issuer) + ":" + labelEscape(account)
	q := "secret=" + queryEscape(secret) +
		"&issuer=" + queryEscape(issuer) +
		"&algorithm=SHA1" +
		fmt.Sprintf("&digits=%d&period=%d", Digits, Period/time.Second)
	return "otpauth://totp/" + label + "?" + q
}

func labelEscape(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), ":", "%3A")
}

func queryEscape(s string) string {
	// QueryEscape turns a literal "+" into %2B first, so every "+" left
	// stands for a space.
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// Looks reports whether s has the shape of a code: exactly six ASCII digits.
// Anything else (other lengths, spaces, digits from other scripts) is not a
// code, so it can never be mistaken for one when splitting "password;code".
func Looks(s string) bool {
	if len(s) != Digits {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Verify checks code against secret at now, accepting one step of skew
// either side, and returns the time step (Unix seconds / 30) the code
// belongs to. A code is valid only once: the caller must refuse a step at or
// before the last one it accepted for the user. Codes must be exactly six
// ASCII digits; they are compared in constant time, and every step in the
// window is computed whether or not an earlier one matched.
func Verify(secret, code string, now time.Time) (step int64, ok bool) {
	if !Looks(code) {
		return 0, false
	}
	canon, err := canonical(secret)
	if err != nil {
		return 0, false
	}
	cur := stepAt(now)
	matched := false
	// The current step first, so a code valid for two steps in the window
	// (a one-in-a-million coincidence) counts for the one the app shows now.
	for _, d := range [...]int64{0, -skew, skew} {
		s := cur + d
		if s < 0 {
			continue
		}
		want, err := hotp.GenerateCodeCustom(canon, uint64(s), hotpOpts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && !matched {
			step, matched = s, true
		}
	}
	if !matched {
		return 0, false
	}
	return step, true
}

// Code returns the code for secret at t. Tests and the command line use it;
// sign-in uses Verify.
func Code(secret string, t time.Time) (string, error) {
	canon, err := canonical(secret)
	if err != nil {
		return "", err
	}
	s := stepAt(t)
	if s < 0 {
		return "", fmt.Errorf("computing totp code: time %s is before 1970", t.UTC().Format(time.RFC3339))
	}
	code, err := hotp.GenerateCodeCustom(canon, uint64(s), hotpOpts)
	if err != nil {
		return "", fmt.Errorf("computing totp code: %w", err)
	}
	return code, nil
}

// Step returns the time step t falls in: Unix seconds divided by 30,
// rounded down. It is the value Verify returns for a code shown at t.
func Step(t time.Time) int64 { return stepAt(t) }

func stepAt(t time.Time) int64 {
	sec := t.Unix()
	p := int64(Period / time.Second)
	s := sec / p
	if sec%p < 0 {
		s--
	}
	return s
}

// canonical checks secret and returns it upper-cased without padding or
// surrounding space, the form the HOTP computation expects.
func canonical(secret string) (string, error) {
	s := strings.ToUpper(strings.TrimRight(strings.TrimSpace(secret), "="))
	key, err := b32.DecodeString(s)
	if err != nil || len(key) < minSecretSize {
		return "", ErrSecret
	}
	return s, nil
}
