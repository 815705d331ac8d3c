package device

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/secret"
	"github.com/jellyguard/jellyguard/internal/store"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testKeys(t testing.TB, fill byte) *secret.Keys {
	t.Helper()
	k, err := secret.FromBytes(bytes.Repeat([]byte{fill}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// webDeviceID is what jellyfin-web stores in _deviceId2: base64 of the
// user agent and a timestamp, '=' replaced by '1'.
func webDeviceID(ua string) string {
	return strings.ReplaceAll(base64.StdEncoding.EncodeToString([]byte(ua+"|1767225600000")), "=", "1")
}

var chromeID = webDeviceID("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")

func testClaims() Claims {
	return Claims{
		ID:       "0123456789abcdef0123456789abcdef",
		Nonce:    []byte("sixteen byte nnc"),
		UserID:   "f0e1d2c3b4a5968778695a4b3c2d1e0f",
		DeviceID: chromeID,
		Expires:  t0.Add(30 * 24 * time.Hour),
	}
}

func sameClaims(a, b Claims) bool {
	return a.ID == b.ID && bytes.Equal(a.Nonce, b.Nonce) && a.UserID == b.UserID &&
		a.DeviceID == b.DeviceID && a.Expires.Equal(b.Expires)
}

func TestRoundTrip(t *testing.T) {
	k := testKeys(t, 1)
	c := testClaims()
	v := Encode(k, c)
	if v == "" {
		t.Fatal("Encode returned an empty value")
	}
	if len(v) > MaxValueLen {
		t.Fatalf("value is %d bytes, over %d", len(v), MaxValueLen)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_-]+$`).MatchString(v) {
		t.Fatalf("value %q is not unpadded base64url", v)
	}
	got, err := Decode(k, v, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !sameClaims(got, c) {
		t.Fatalf("Decode = %+v, want %+v", got, c)
	}
	if Encode(k, got) != v {
		t.Fatal("re-encoding the decoded claims changed the value")
	}
	// The claims returned do not alias the decoder's buffer.
	got.Nonce[0] ^= 1
	again, _ := Decode(k, v, t0)
	if !bytes.Equal(again.Nonce, c.Nonce) {
		t.Fatal("decoded nonce aliases shared memory")
	}
}

func TestRoundTripSubsecondExpiry(t *testing.T) {
	k := testKeys(t, 1)
	c := testClaims()
	c.Expires = t0.Add(time.Hour + 900*time.Millisecond)
	got, err := Decode(k, Encode(k, c), t0)
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(time.Hour); !got.Expires.Equal(want) {
		t.Fatalf("Expires = %v, want %v (second precision)", got.Expires, want)
	}
}

func TestLongDeviceIDIsCarriedAsDigest(t *testing.T) {
	k := testKeys(t, 1)
	c := testClaims()
	// An in-app browser's user agent makes a device id far over the
	// clear-text bound.
	c.DeviceID = webDeviceID(strings.Repeat("Mozilla/5.0 (Linux; Android 14; Pixel 8) FBAV/450.0.0.0 ", 6))
	if len(c.DeviceID) <= maxDeviceIDLen {
		t.Fatalf("test device id is only %d bytes", len(c.DeviceID))
	}
	v := Encode(k, c)
	if v == "" || len(v) > MaxValueLen {
		t.Fatalf("value of %d bytes for a long device id", len(v))
	}
	got, err := Decode(k, v, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got.DeviceID, deviceDigestPrefix) || got.DeviceID != boundDeviceID(c.DeviceID) {
		t.Fatalf("DeviceID = %q, want the digest form", got.DeviceID)
	}
	if Encode(k, got) != v {
		t.Fatal("re-encoding a digest-form claim changed the value")
	}
	rec := recordFor(c)
	if ok, reason := Check(got, rec, c.UserID, c.DeviceID, t0); !ok {
		t.Fatalf("Check refused the long device id: %s", reason)
	}
	if ok, _ := Check(got, rec, c.UserID, c.DeviceID+"x", t0); ok {
		t.Fatal("Check accepted another long device id")
	}
	// Sending the digest form itself as the device id does not match the
	// record, which holds the real id.
	if ok, _ := Check(got, rec, c.UserID, got.DeviceID, t0); ok {
		t.Fatal("Check accepted the digest form as a device id")
	}
}

func TestEveryByteChangeFails(t *testing.T) {
	k := testKeys(t, 1)
	v := Encode(k, testClaims())
	for i := range len(v) {
		for b := range 256 {
			if byte(b) == v[i] {
				continue
			}
			m := v[:i] + string([]byte{byte(b)}) + v[i+1:]
			if c, err := Decode(k, m, t0); err == nil {
				t.Fatalf("changing byte %d to %#x decoded: %+v", i, b, c)
			} else if !errors.Is(err, ErrInvalid) {
				t.Fatalf("changing byte %d to %#x: %v, want ErrInvalid", i, b, err)
			}
		}
	}
}

func TestTruncationsAndExtensionsFail(t *testing.T) {
	k := testKeys(t, 1)
	v := Encode(k, testClaims())
	for n := range len(v) {
		if _, err := Decode(k, v[:n], t0); !errors.Is(err, ErrInvalid) {
			t.Fatalf("prefix of %d bytes: %v, want ErrInvalid", n, err)
		}
		if _, err := Decode(k, v[n+1:], t0); !errors.Is(err, ErrInvalid) {
			t.Fatalf("suffix from %d: %v, want ErrInvalid", n+1, err)
		}
	}
	for _, tail := range []string{"A", "AA", "AAA", "AAAA", "=", "==", "\n", " "} {
		if _, err := Decode(k, v+tail, t0); !errors.Is(err, ErrInvalid) {
			t.Fatalf("value+%q: %v, want ErrInvalid", tail, err)
		}
	}
}

func TestAnotherKeyFails(t *testing.T) {
	v := Encode(testKeys(t, 1), testClaims())
	if _, err := Decode(testKeys(t, 2), v, t0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Decode under another key: %v, want ErrInvalid", err)
	}
}

func TestMACIsPurposeBound(t *testing.T) {
	// A MAC made under another purpose over the same parts does not verify.
	k := testKeys(t, 1)
	c := testClaims()
	var exp [8]byte
	binary.BigEndian.PutUint64(exp[:], uint64(c.Expires.Unix()))
	fields := [][]byte{[]byte(c.ID), c.Nonce, []byte(c.UserID), []byte(c.DeviceID)}
	mac := k.MAC("some other purpose", macParts(version1, exp[:], c.ID, c.Nonce, c.UserID, c.DeviceID)...)
	v := assemble(version1, exp[:], fields, nil, mac)
	if _, err := Decode(k, v, t0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("MAC under another purpose: %v, want ErrInvalid", err)
	}
}

func TestExpired(t *testing.T) {
	k := testKeys(t, 1)
	c := testClaims()
	v := Encode(k, c)
	if _, err := Decode(k, v, c.Expires.Add(-time.Second)); err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
	for _, now := range []time.Time{c.Expires, c.Expires.Add(time.Second), c.Expires.Add(365 * 24 * time.Hour)} {
		if _, err := Decode(k, v, now); !errors.Is(err, ErrExpired) {
			t.Fatalf("at %v: %v, want ErrExpired", now, err)
		}
	}
	// A tampered, expired value is invalid, not expired: the expiry is only
	// trusted once the MAC holds.
	if _, err := Decode(k, v[:len(v)-2]+"AA", c.Expires.Add(time.Hour)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("tampered and expired: %v, want ErrInvalid", err)
	}
}

func TestOversized(t *testing.T) {
	k := testKeys(t, 1)
	if _, err := Decode(k, strings.Repeat("A", MaxValueLen+1), t0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("oversized: %v, want ErrInvalid", err)
	}
	if _, err := Decode(k, strings.Repeat("A", 1<<20), t0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("1 MiB: %v, want ErrInvalid", err)
	}
	// Claims at every bound still fit.
	c := Claims{
		ID:       strings.Repeat("i", maxIDLen),
		Nonce:    bytes.Repeat([]byte{0xff}, maxNonceLen),
		UserID:   strings.Repeat("u", maxUserIDLen),
		DeviceID: strings.Repeat("d", 1000),
		Expires:  t0.Add(time.Hour),
	}
	v := Encode(k, c)
	if v == "" || len(v) > MaxValueLen {
		t.Fatalf("claims at the bounds encode to %d bytes", len(v))
	}
	if _, err := Decode(k, v, t0); err != nil {
		t.Fatal(err)
	}
	c.DeviceID = strings.Repeat("d", maxDeviceIDLen)
	v = Encode(k, c)
	if v == "" || len(v) > MaxValueLen {
		t.Fatalf("claims at the bounds with the longest clear device id encode to %d bytes", len(v))
	}
	got, err := Decode(k, v, t0)
	if err != nil {
		t.Fatalf("device id at the clear-text bound: %v", err)
	}
	if got.DeviceID != c.DeviceID {
		t.Fatalf("device id at the clear-text bound came back as %q", got.DeviceID)
	}
}

func TestEncodeOutOfBounds(t *testing.T) {
	k := testKeys(t, 1)
	for name, mut := range map[string]func(*Claims){
		"empty id":        func(c *Claims) { c.ID = "" },
		"empty nonce":     func(c *Claims) { c.Nonce = nil },
		"empty user":      func(c *Claims) { c.UserID = "" },
		"empty device":    func(c *Claims) { c.DeviceID = "" },
		"long id":         func(c *Claims) { c.ID = strings.Repeat("i", maxIDLen+1) },
		"long nonce":      func(c *Claims) { c.Nonce = make([]byte, maxNonceLen+1) },
		"long user":       func(c *Claims) { c.UserID = strings.Repeat("u", maxUserIDLen+1) },
		"very long nonce": func(c *Claims) { c.Nonce = make([]byte, 300) },
	} {
		c := testClaims()
		mut(&c)
		if v := Encode(k, c); v != "" {
			t.Errorf("%s: Encode = %q, want \"\"", name, v)
		}
	}
	if _, err := Decode(k, "", t0); !errors.Is(err, ErrInvalid) {
		t.Fatalf(`Decode(""): %v, want ErrInvalid`, err)
	}
}

func TestGarbage(t *testing.T) {
	k := testKeys(t, 1)
	v := Encode(k, testClaims())
	std := base64.StdEncoding.EncodeToString(mustRaw(t, v))
	for name, s := range map[string]string{
		"punctuation":       "!!!!",
		"space":             "AAAA AAAA",
		"padding":           v + "==",
		"standard alphabet": std,
		"newline inside":    v[:20] + "\n" + v[20:],
		"cr inside":         v[:20] + "\r" + v[20:],
		"percent-encoded":   "%41%41%41%41",
		"non-ascii":         "ÄÖÜ" + v,
		"nul":               "\x00" + v,
		"one char":          "A",
		"short":             "AQ",
		"json":              `{"id":"x"}`,
		"non-canonical":     nonCanonical(t, v),
	} {
		if _, err := Decode(k, s, t0); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

// nonCanonical flips the unused low bits of the last character, which a
// lenient decoder would ignore.
func nonCanonical(t *testing.T, v string) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	unused := map[int]int{2: 4, 3: 2}[len(v)%4]
	if unused == 0 {
		// No spare bits in this length: any change is a real change.
		return v[:len(v)-1] + "!"
	}
	last := strings.IndexByte(alphabet, v[len(v)-1])
	return v[:len(v)-1] + string(alphabet[last^1])
}

func mustRaw(t *testing.T, v string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// assemble lays out a value by hand, with a MAC the caller chose.
func assemble(version byte, exp []byte, fields [][]byte, extra, mac []byte) string {
	b := []byte{version}
	b = append(b, exp...)
	for _, f := range fields {
		b = append(b, byte(len(f)))
		b = append(b, f...)
	}
	b = append(b, extra...)
	b = append(b, mac...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// TestWellSignedButMalformed signs layouts Encode never writes with the
// right key and purpose: the parser refuses them on structure alone.
func TestWellSignedButMalformed(t *testing.T) {
	k := testKeys(t, 1)
	c := testClaims()
	var exp [8]byte
	binary.BigEndian.PutUint64(exp[:], uint64(c.Expires.Unix()))
	id, user, dev := []byte(c.ID), []byte(c.UserID), []byte(c.DeviceID)
	sign := func(version byte, f [][]byte) []byte {
		return k.MAC(macPurpose, macParts(version, exp[:], string(f[0]), f[1], string(f[2]), string(f[3]))...)
	}
	good := [][]byte{id, c.Nonce, user, dev}
	cases := map[string]string{
		"version 0":     assemble(0, exp[:], good, nil, sign(0, good)),
		"version 2":     assemble(2, exp[:], good, nil, sign(2, good)),
		"trailing byte": assemble(version1, exp[:], good, []byte{0}, sign(version1, good)),
		"empty nonce": assemble(version1, exp[:], [][]byte{id, nil, user, dev}, nil,
			sign(version1, [][]byte{id, nil, user, dev})),
		"empty device": assemble(version1, exp[:], [][]byte{id, c.Nonce, user, nil}, nil,
			sign(version1, [][]byte{id, c.Nonce, user, nil})),
		"device over clear bound": assemble(version1, exp[:], [][]byte{id, c.Nonce, user, bytes.Repeat([]byte("d"), maxDeviceIDLen+1)}, nil,
			sign(version1, [][]byte{id, c.Nonce, user, bytes.Repeat([]byte("d"), maxDeviceIDLen+1)})),
		"nonce over bound": assemble(version1, exp[:], [][]byte{id, make([]byte, maxNonceLen+1), user, dev}, nil,
			sign(version1, [][]byte{id, make([]byte, maxNonceLen+1), user, dev})),
		"missing mac": assemble(version1, exp[:], good, nil, nil),
		"short mac":   assemble(version1, exp[:], good, nil, sign(version1, good)[:16]),
	}
	if _, err := Decode(k, assemble(version1, exp[:], good, nil, sign(version1, good)), t0); err != nil {
		t.Fatalf("the hand-assembled control value fails: %v", err)
	}
	for name, v := range cases {
		if _, err := Decode(k, v, t0); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

func recordFor(c Claims) store.TrustedBrowser {
	return store.TrustedBrowser{
		ID:        c.ID,
		UserID:    c.UserID,
		DeviceID:  c.DeviceID,
		Nonce:     append([]byte(nil), c.Nonce...),
		CreatedAt: t0.Add(-time.Hour),
		ExpiresAt: c.Expires,
	}
}

func TestCheck(t *testing.T) {
	c := testClaims()
	rotated := NewNonce()
	longID := webDeviceID("Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.2 Mobile/15E148 Safari/604.1 Jellyfin")
	if len(longID) <= maxDeviceIDLen {
		t.Fatalf("long test device id is only %d bytes", len(longID))
	}
	cases := []struct {
		name     string
		claims   func(*Claims)
		rec      func(*store.TrustedBrowser)
		user     string
		device   string
		now      time.Time
		ok       bool
		reasonIn string
	}{
		{name: "valid", ok: true},
		{name: "no record", rec: func(r *store.TrustedBrowser) { *r = store.TrustedBrowser{} }, reasonIn: "no trusted-browser record"},
		{name: "record of another id", rec: func(r *store.TrustedBrowser) { r.ID = NewID() }, reasonIn: "no trusted-browser record"},
		{name: "revoked", rec: func(r *store.TrustedBrowser) { r.RevokedAt = t0.Add(-time.Minute) }, reasonIn: "revoked"},
		{name: "record expired", rec: func(r *store.TrustedBrowser) { r.ExpiresAt = t0 }, reasonIn: "trusted browser has expired"},
		{name: "record without expiry", rec: func(r *store.TrustedBrowser) { r.ExpiresAt = time.Time{} }, reasonIn: "trusted browser has expired"},
		{name: "cookie expired", claims: func(c *Claims) { c.Expires = t0 }, reasonIn: "trust cookie has expired"},
		{name: "jellyfin answered another user", user: "00000000000000000000000000000001", reasonIn: "another user"},
		{name: "record of another user", rec: func(r *store.TrustedBrowser) { r.UserID = "other" }, reasonIn: "another user"},
		{name: "cookie of another user", claims: func(c *Claims) { c.UserID = "other" }, reasonIn: "another user"},
		{name: "empty user", user: "-", reasonIn: "another user"},
		{name: "stale nonce after rotation", rec: func(r *store.TrustedBrowser) { r.Nonce = rotated }, reasonIn: "nonce is stale"},
		{name: "nonce one byte off", claims: func(c *Claims) { c.Nonce = append([]byte{c.Nonce[0] ^ 1}, c.Nonce[1:]...) }, reasonIn: "nonce is stale"},
		{name: "nonce prefix", claims: func(c *Claims) { c.Nonce = c.Nonce[:8] }, reasonIn: "nonce is stale"},
		{name: "record without nonce", rec: func(r *store.TrustedBrowser) { r.Nonce = nil }, claims: func(c *Claims) { c.Nonce = nil }, reasonIn: "nonce is stale"},
		{name: "browser sent another device id", device: webDeviceID("Mozilla/5.0 Firefox/133.0"), reasonIn: "another device"},
		{name: "record of another device", rec: func(r *store.TrustedBrowser) { r.DeviceID = "other" }, reasonIn: "another device"},
		{name: "cookie of another device", claims: func(c *Claims) { c.DeviceID = "other" }, reasonIn: "another device"},
		{name: "long device id", claims: func(c *Claims) { c.DeviceID = boundDeviceID(longID) }, rec: func(r *store.TrustedBrowser) { r.DeviceID = longID }, device: longID, ok: true},
		{name: "long device id, another sent", claims: func(c *Claims) { c.DeviceID = boundDeviceID(longID) }, rec: func(r *store.TrustedBrowser) { r.DeviceID = longID }, device: longID + "1", reasonIn: "another device"},
		{name: "long device id, record differs", claims: func(c *Claims) { c.DeviceID = boundDeviceID(longID) }, device: longID, reasonIn: "another device"},
		{name: "no device id sent", device: "-", rec: func(r *store.TrustedBrowser) { r.DeviceID = "" }, claims: func(c *Claims) { c.DeviceID = "" }, reasonIn: "another device"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cl := c
			cl.Nonce = append([]byte(nil), c.Nonce...)
			rec := recordFor(c)
			if tc.claims != nil {
				tc.claims(&cl)
			}
			if tc.rec != nil {
				tc.rec(&rec)
			}
			user, device, now := c.UserID, c.DeviceID, t0
			switch tc.user {
			case "":
			case "-":
				user = ""
			default:
				user = tc.user
			}
			switch tc.device {
			case "":
			case "-":
				device = ""
			default:
				device = tc.device
			}
			if !tc.now.IsZero() {
				now = tc.now
			}
			ok, reason := Check(cl, rec, user, device, now)
			if ok != tc.ok {
				t.Fatalf("Check = %v (%q), want %v", ok, reason, tc.ok)
			}
			if ok && reason != "" {
				t.Fatalf("reason %q on success", reason)
			}
			if !ok && !strings.Contains(reason, tc.reasonIn) {
				t.Fatalf("reason %q, want it to mention %q", reason, tc.reasonIn)
			}
		})
	}
}

// TestRotation walks the life of a cookie: use, rotate, and the old cookie
// no longer vouches.
func TestRotation(t *testing.T) {
	k := testKeys(t, 1)
	c := testClaims()
	rec := recordFor(c)
	old := Encode(k, c)

	dc, err := Decode(k, old, t0)
	if err != nil {
		t.Fatal(err)
	}
	if ok, reason := Check(dc, rec, c.UserID, c.DeviceID, t0); !ok {
		t.Fatalf("first use refused: %s", reason)
	}
	// The caller rotates the record and sets a new cookie.
	rec.Nonce = NewNonce()
	c.Nonce = rec.Nonce
	fresh := Encode(k, c)

	if ok, _ := Check(dc, rec, c.UserID, c.DeviceID, t0); ok {
		t.Fatal("the cookie from before the rotation still vouches")
	}
	dc, err = Decode(k, fresh, t0)
	if err != nil {
		t.Fatal(err)
	}
	if ok, reason := Check(dc, rec, c.UserID, c.DeviceID, t0); !ok {
		t.Fatalf("the rotated cookie is refused: %s", reason)
	}
}

func TestCookie(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	for _, tc := range []struct {
		https    bool
		path     string
		wantPath string
	}{
		{true, "", "/"},
		{false, "/", "/"},
		{true, "/jellyfin", "/jellyfin"},
		{true, "/jellyfin/", "/jellyfin"},
		{false, "jellyfin", "/jellyfin"},
		{true, "/a;b", "/"},
		{true, "/a\nb", "/"},
		{true, "/jéllyfin", "/"},
	} {
		c := Cookie("value", exp, tc.https, tc.path)
		if c.Name != CookieName || c.Value != "value" {
			t.Errorf("%q: name/value %q=%q", tc.path, c.Name, c.Value)
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure != tc.https {
			t.Errorf("%q: HttpOnly=%v SameSite=%v Secure=%v", tc.path, c.HttpOnly, c.SameSite, c.Secure)
		}
		if c.Path != tc.wantPath {
			t.Errorf("%q: Path %q, want %q", tc.path, c.Path, tc.wantPath)
		}
		if c.MaxAge < 3590 || c.MaxAge > 3600 {
			t.Errorf("%q: MaxAge %d, want about 3600", tc.path, c.MaxAge)
		}
		if err := c.Valid(); err != nil {
			t.Errorf("%q: %v", tc.path, err)
		}
		s := c.String()
		for _, want := range []string{"HttpOnly", "SameSite=Strict", "Max-Age=", "Path=" + tc.wantPath} {
			if !strings.Contains(s, want) {
				t.Errorf("%q: %q lacks %q", tc.path, s, want)
			}
		}
		if strings.Contains(s, "Secure") != tc.https {
			t.Errorf("%q: %q, Secure want %v", tc.path, s, tc.https)
		}
	}
	if c := Cookie("v", time.Now().Add(-time.Minute), true, "/"); c.MaxAge >= 0 {
		t.Errorf("an expired cookie has MaxAge %d, want < 0", c.MaxAge)
	}
}

func TestClear(t *testing.T) {
	c := Clear(true, "/jellyfin/")
	if c.Name != CookieName || c.Value != "" || c.MaxAge >= 0 || c.Path != "/jellyfin" ||
		!c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Fatalf("Clear = %+v", c)
	}
	if s := c.String(); !strings.Contains(s, "Max-Age=0") {
		t.Fatalf("Clear serialises as %q, want Max-Age=0", s)
	}
	if c := Clear(false, ""); c.Secure || c.Path != "/" {
		t.Fatalf("Clear(false, \"\") = %+v", c)
	}
}

func TestNewIDAndNonce(t *testing.T) {
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := NewID()
		if !hex32.MatchString(id) {
			t.Fatalf("NewID = %q", id)
		}
		if seen[id] {
			t.Fatalf("NewID repeated %q", id)
		}
		seen[id] = true
	}
	a, b := NewNonce(), NewNonce()
	if len(a) != 16 || len(b) != 16 || bytes.Equal(a, b) {
		t.Fatalf("NewNonce = %x, %x", a, b)
	}
}

func FuzzDecode(f *testing.F) {
	k := testKeys(f, 1)
	v := Encode(k, testClaims())
	f.Add(v)
	f.Add(v[:len(v)-1])
	f.Add(v + "A")
	f.Add("")
	f.Add("AQ")
	f.Add(strings.Repeat("_", MaxValueLen))
	long := testClaims()
	long.DeviceID = strings.Repeat("x", 400)
	f.Add(Encode(k, long))
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Decode(k, s, t0)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrExpired) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		re := Encode(k, c)
		if re != s {
			t.Fatalf("re-encoding changed the value:\n%q\n%q", s, re)
		}
		c2, err := Decode(k, re, t0)
		if err != nil || !sameClaims(c, c2) {
			t.Fatalf("re-encoded claims differ: %+v vs %+v (%v)", c, c2, err)
		}
	})
}
