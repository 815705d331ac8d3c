// Package device decides about trusted browsers and native devices: the
// signed trust cookie a browser gets after it answered a challenge, the
// check of that cookie against its server-side record, and the rules under
// which an approved native device may sign in without a second factor.
//
// It is pure logic: nothing here reads or writes the store. Callers load
// the records, ask this package, and persist what changed.
package device

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/jellyguard/jellyguard/internal/secret"
	"github.com/jellyguard/jellyguard/internal/store"
)

// CookieName is the name of the trust cookie.
const CookieName = "jg_trust"

// MaxValueLen bounds the length of a cookie value Decode looks at; longer
// values are refused before any work is done.
const MaxValueLen = 512

// Bounds of the fields a cookie carries. NewID, NewNonce and Jellyfin's
// user ids are well inside them.
const (
	maxIDLen     = 64
	maxNonceLen  = 32
	maxUserIDLen = 64
	// maxDeviceIDLen is the longest device id carried in clear: what is
	// left of MaxValueLen when every other field is at its bound.
	// jellyfin-web makes its device id from base64 of the user agent and a
	// timestamp (about 170 bytes for a desktop Chrome, several hundred for
	// some in-app browsers); longer ids are carried as a digest (see
	// boundDeviceID), so every browser's cookie fits.
	maxDeviceIDLen = 176
)

const (
	version1   = 1
	macPurpose = "trust cookie v1"
	macLen     = sha256.Size
	// headerLen is the version byte and the expiry (Unix seconds).
	headerLen = 1 + 8
	// deviceDigestPrefix marks a device id carried as its digest.
	deviceDigestPrefix = "sha256:"
)

// Errors returned by Decode. Callers treat both as "no trust": the reason
// only tells the audit log which it was.
var (
	ErrInvalid = errors.New("trust cookie is invalid")
	ErrExpired = errors.New("trust cookie has expired")
)

// Claims are what a trust cookie binds: a server-side record (ID, and its
// current Nonce, rotated on every use), the user, the jellyfin-web device
// id, and an expiry.
//
// Expires has a precision of one second. A device id longer than 176 bytes
// is carried as a digest: the Claims that Decode returns then hold
// "sha256:" and the unpadded base64url SHA-256 of the id instead of the id
// itself; Check accounts for that.
type Claims struct {
	ID       string
	Nonce    []byte
	UserID   string
	DeviceID string
	Expires  time.Time
}

// Encode returns the cookie value: a versioned, base64url (no padding)
// encoding of the claims followed by an HMAC-SHA256 (keys.MAC with purpose
// "trust cookie v1") over every field, length-prefixed. The value holds no
// secret in clear, and a client cannot alter it without Decode noticing.
//
// Encode returns "" when the claims are out of bounds: an empty ID, nonce,
// user id or device id, an ID or user id longer than 64 bytes, or a nonce
// longer than 32 bytes. Decode refuses "", so such claims never vouch for
// anything.
func Encode(k *secret.Keys, c Claims) string {
	dev := boundDeviceID(c.DeviceID)
	if !inBounds(c.ID, maxIDLen) || !inBounds(string(c.Nonce), maxNonceLen) ||
		!inBounds(c.UserID, maxUserIDLen) || !inBounds(dev, maxDeviceIDLen) {
		return ""
	}
	var exp [8]byte
	binary.BigEndian.PutUint64(exp[:], uint64(c.Expires.Unix())) // #nosec G115 -- two's complement round trip, read back as int64
	b := make([]byte, 0, headerLen+4+len(c.ID)+len(c.Nonce)+len(c.UserID)+len(dev)+macLen)
	b = append(b, version1)
	b = append(b, exp[:]...)
	for _, f := range [][]byte{[]byte(c.ID), c.Nonce, []byte(c.UserID), []byte(dev)} {
		b = append(b, byte(len(f))) // #nosec G115 -- every field is at most 176 bytes (inBounds above)
		b = append(b, f...)
	}
	b = append(b, k.MAC(macPurpose, macParts(version1, exp[:], c.ID, c.Nonce, c.UserID, dev)...)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode verifies the MAC (in constant time) and the expiry against now,
// and returns the claims. A malformed, oversized (longer than MaxValueLen),
// altered, wrong-version or foreign-key value yields ErrInvalid, an expired
// one ErrExpired. It never panics.
func Decode(k *secret.Keys, value string, now time.Time) (Claims, error) {
	if value == "" || len(value) > MaxValueLen || !isBase64URL(value) {
		return Claims{}, ErrInvalid
	}
	// Strict refuses non-zero padding bits, so exactly one value decodes to
	// a given byte string.
	b, err := base64.RawURLEncoding.Strict().DecodeString(value)
	if err != nil || len(b) < headerLen+4+macLen || b[0] != version1 {
		return Claims{}, ErrInvalid
	}
	exp := b[1:headerLen]
	rest := b[headerLen : len(b)-macLen]
	mac := b[len(b)-macLen:]

	var fields [4][]byte
	limits := [4]int{maxIDLen, maxNonceLen, maxUserIDLen, maxDeviceIDLen}
	for i := range fields {
		if len(rest) < 1 {
			return Claims{}, ErrInvalid
		}
		n := int(rest[0])
		if n == 0 || n > limits[i] || len(rest)-1 < n {
			return Claims{}, ErrInvalid
		}
		fields[i], rest = rest[1:1+n], rest[1+n:]
	}
	if len(rest) != 0 {
		return Claims{}, ErrInvalid
	}
	id, nonce, user, dev := string(fields[0]), fields[1], string(fields[2]), string(fields[3])
	if !k.VerifyMAC(macPurpose, mac, macParts(version1, exp, id, nonce, user, dev)...) {
		return Claims{}, ErrInvalid
	}
	c := Claims{
		ID:       id,
		Nonce:    append([]byte(nil), nonce...),
		UserID:   user,
		DeviceID: dev,
		Expires:  time.Unix(int64(binary.BigEndian.Uint64(exp)), 0).UTC(), // #nosec G115 -- written from an int64 by Encode
	}
	if !now.Before(c.Expires) {
		return Claims{}, ErrExpired
	}
	return c, nil
}

// Check decides whether a decoded cookie vouches for a sign-in: the record
// exists, is not revoked or expired, belongs to the same user as Jellyfin
// answered (userID), its nonce equals the cookie's (constant time), and the
// device id matches the one the browser sent (deviceID). It returns a
// reason for the audit log when it does not.
//
// rec is the record the caller loaded by c.ID; pass the zero record when
// there is none.
func Check(c Claims, rec store.TrustedBrowser, userID, deviceID string, now time.Time) (ok bool, reason string) {
	switch {
	case rec.ID == "" || rec.ID != c.ID:
		return false, "no trusted-browser record for the cookie"
	case !rec.RevokedAt.IsZero():
		return false, "trusted browser was revoked"
	case !now.Before(rec.ExpiresAt):
		return false, "trusted browser has expired"
	case !now.Before(c.Expires):
		return false, "trust cookie has expired"
	case userID == "" || rec.UserID != userID || c.UserID != userID:
		return false, "trust cookie belongs to another user"
	case len(rec.Nonce) == 0 || subtle.ConstantTimeCompare(rec.Nonce, c.Nonce) != 1:
		return false, "trust cookie nonce is stale (replayed or superseded cookie)"
	case deviceID == "" || rec.DeviceID != deviceID || c.DeviceID != boundDeviceID(deviceID):
		return false, "trust cookie is bound to another device"
	}
	return true, ""
}

// Cookie builds the trust cookie: HttpOnly, SameSite=Strict, Secure when
// the client reached the gateway over HTTPS, and MaxAge from the expiry.
// path is the Jellyfin base path ("" or "/" when Jellyfin is served at the
// root): the browser must send the cookie to the login route
// (/Users/AuthenticateByName) and to the gateway pages, which both live
// under it.
func Cookie(value string, expires time.Time, https bool, path string) *http.Cookie {
	maxAge := int(time.Until(expires) / time.Second)
	if maxAge <= 0 {
		// Already expired: tell the browser to drop it rather than keep
		// it for the session (MaxAge 0 would mean "no Max-Age").
		maxAge = -1
	}
	// Secure follows the client's scheme (DESIGN §6): a browser that
	// reached a plain-HTTP gateway would drop a Secure cookie.
	return &http.Cookie{ // #nosec G124 -- Secure whenever the client used HTTPS; HttpOnly and SameSite=Strict always
		Name:     CookieName,
		Value:    value,
		Path:     cookiePath(path),
		Expires:  expires.UTC(),
		MaxAge:   maxAge,
		Secure:   https,
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
	}
}

// Clear returns the cookie that deletes the trust cookie (same name, path
// and attributes, MaxAge < 0).
func Clear(https bool, path string) *http.Cookie {
	return &http.Cookie{ // #nosec G124 -- as in Cookie: Secure follows the client's scheme
		Name:     CookieName,
		Path:     cookiePath(path),
		Expires:  time.Unix(0, 0).UTC(),
		MaxAge:   -1,
		Secure:   https,
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
	}
}

// NewID returns a random record id: 16 random bytes as 32 hex digits.
func NewID() string {
	var b [16]byte
	// crypto/rand.Read never returns an error (it crashes the program
	// instead when the system's generator fails).
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// NewNonce returns a random 16-byte nonce.
func NewNonce() []byte {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return b
}

// macParts lists what the MAC covers, in a fixed order; secret.Keys.MAC
// length-prefixes each part.
func macParts(version byte, exp []byte, id string, nonce []byte, user, dev string) [][]byte {
	return [][]byte{{version}, exp, []byte(id), nonce, []byte(user), []byte(dev)}
}

// boundDeviceID returns the form in which a device id is carried in a
// cookie: the id itself, or "sha256:" and its unpadded base64url digest
// when it is longer than maxDeviceIDLen. A device id is not a secret; the
// digest only keeps the cookie small, and Check still compares the full id
// with the server-side record.
func boundDeviceID(id string) string {
	if len(id) <= maxDeviceIDLen {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return deviceDigestPrefix + base64.RawURLEncoding.EncodeToString(sum[:])
}

func inBounds(s string, limit int) bool { return s != "" && len(s) <= limit }

// isBase64URL reports whether s holds only the base64url alphabet. The
// decoder would also skip CR and LF; refusing them keeps the encoding
// canonical.
func isBase64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// cookiePath normalises the Jellyfin base path into a cookie path: a
// leading slash, no trailing slash, "/" when empty. A path that a cookie
// cannot carry (control characters, non-ASCII bytes, ';') falls back to "/", which the
// browser sends everywhere on the host.
func cookiePath(p string) string {
	p = strings.TrimRight(p, "/")
	if p == "" {
		return "/"
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c >= 0x7f || c == ';' {
			return "/"
		}
	}
	return p
}
