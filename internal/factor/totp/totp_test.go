package totp

import (
	"encoding/base32"
	"net/url"
	"strings"
	"testing"
	"time"
)

// rfcSecret is the SHA-1 seed of RFC 6238 Appendix B, "12345678901234567890"
// in ASCII, in base32.
var rfcSecret = base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte("12345678901234567890"))

// rfcVectors are the SHA-1 rows of RFC 6238 Appendix B. The RFC prints
// eight digits; a six-digit code is the same HOTP value modulo 10^6, i.e.
// the last six digits.
var rfcVectors = []struct {
	unix  int64
	step  int64
	eight string
}{
	{59, 0x1, "94287082"},
	{1111111109, 0x23523EC, "07081804"},
	{1111111111, 0x23523ED, "14050471"},
	{1234567890, 0x273EF07, "89005924"},
	{2000000000, 0x3F940AA, "69279037"},
	{20000000000, 0x27BC86AA, "65353130"},
}

func TestCodeRFC6238(t *testing.T) {
	for _, v := range rfcVectors {
		at := time.Unix(v.unix, 0).UTC()
		want := v.eight[2:]
		got, err := Code(rfcSecret, at)
		if err != nil {
			t.Fatalf("Code at %d: %v", v.unix, err)
		}
		if got != want {
			t.Errorf("Code at %d = %s, want %s", v.unix, got, want)
		}
		if s := Step(at); s != v.step {
			t.Errorf("Step(%d) = %#x, want %#x", v.unix, s, v.step)
		}
		step, ok := Verify(rfcSecret, want, at)
		if !ok || step != v.step {
			t.Errorf("Verify(%s) at %d = (%#x, %v), want (%#x, true)", want, v.unix, step, ok, v.step)
		}
	}
}

func TestVerifySkew(t *testing.T) {
	// A fixed secret and time keep the test deterministic: for a random
	// secret a code from outside the window equals one inside it about
	// three times in a million.
	secret := rfcSecret
	// The middle of a step, so ±n steps are unambiguous.
	now := time.Unix(1_700_000_015, 0)
	cur := Step(now)
	for _, tc := range []struct {
		name  string
		shift int64
		ok    bool
	}{
		{"current", 0, true},
		{"one behind", -1, true},
		{"one ahead", 1, true},
		{"two behind", -2, false},
		{"two ahead", 2, false},
		{"ten behind", -10, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at := now.Add(time.Duration(tc.shift) * Period)
			code, err := Code(secret, at)
			if err != nil {
				t.Fatal(err)
			}
			step, ok := Verify(secret, code, now)
			if ok != tc.ok {
				t.Fatalf("Verify(code from step %+d) ok = %v, want %v", tc.shift, ok, tc.ok)
			}
			if ok && step != cur+tc.shift {
				t.Errorf("step = %d, want %d", step, cur+tc.shift)
			}
		})
	}
}

func TestVerifyStepBoundaries(t *testing.T) {
	// The first and last second of a step give the same code and step.
	start := time.Unix(1111111110, 0) // 0x23523ED * 30
	code, err := Code(rfcSecret, start)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := Code(rfcSecret, start.Add(Period-time.Nanosecond)); c != code {
		t.Errorf("code changed within a step: %s then %s", code, c)
	}
	step, ok := Verify(rfcSecret, code, start.Add(Period-time.Nanosecond))
	if !ok || step != 0x23523ED {
		t.Errorf("Verify = (%#x, %v), want (0x23523ED, true)", step, ok)
	}
}

func TestVerifyRejectsMalformedCodes(t *testing.T) {
	at := time.Unix(59, 0)
	valid := "287082"
	if _, ok := Verify(rfcSecret, valid, at); !ok {
		t.Fatal("valid code refused")
	}
	for _, code := range []string{
		"",
		"28708",      // short
		"2870820",    // long
		"94287082",   // the eight-digit form
		" 287082",    // leading space
		"287082 ",    // trailing space
		"287 082",    // inner space
		"28708a",     // letter
		"+28708",     // sign
		"-28708",     // sign
		"２８７０８２",     // full-width digits
		"٢٨٧٠٨٢",     // Arabic-Indic digits
		"287082\x00", // trailing NUL
	} {
		if _, ok := Verify(rfcSecret, code, at); ok {
			t.Errorf("Verify(%q) accepted", code)
		}
	}
}

func TestVerifyRejectsBadSecrets(t *testing.T) {
	at := time.Unix(59, 0)
	for _, secret := range []string{
		"",
		"not base32!",
		"GEZDGNBV", // 5 bytes: decodes, but far too short
		rfcSecret[:24],
	} {
		if _, ok := Verify(secret, "287082", at); ok {
			t.Errorf("Verify with secret %q accepted", secret)
		}
		if _, err := Code(secret, at); err == nil {
			t.Errorf("Code with secret %q: no error", secret)
		}
	}
	// An empty key is a valid HMAC key: a missing secret must not turn
	// into one anybody can compute codes for.
	if _, err := Code("====", at); err == nil {
		t.Error(`Code("====") gave a code`)
	}
}

func TestSecretTolerance(t *testing.T) {
	// Lower case and padding are what people paste from other tools.
	at := time.Unix(59, 0)
	for _, s := range []string{strings.ToLower(rfcSecret), rfcSecret + "====", " " + rfcSecret + " "} {
		if _, ok := Verify(s, "287082", at); !ok {
			t.Errorf("Verify with secret %q refused", s)
		}
	}
}

func TestGenerate(t *testing.T) {
	seen := map[string]bool{}
	for range 20 {
		key, err := Generate("jellyguard", "alice")
		if err != nil {
			t.Fatal(err)
		}
		raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(key.Secret)
		if err != nil {
			t.Fatalf("secret %q is not unpadded base32: %v", key.Secret, err)
		}
		if len(raw) != 20 {
			t.Errorf("secret is %d bytes, want 20", len(raw))
		}
		if strings.Contains(key.Secret, "=") {
			t.Errorf("secret %q is padded", key.Secret)
		}
		if seen[key.Secret] {
			t.Fatalf("secret %q generated twice", key.Secret)
		}
		seen[key.Secret] = true
		if key.URI != URI("jellyguard", "alice", key.Secret) {
			t.Errorf("Generate URI %q differs from URI()", key.URI)
		}
	}
	if _, err := Generate("", "alice"); err == nil {
		t.Error("Generate with empty issuer: no error")
	}
	if _, err := Generate("jellyguard", ""); err == nil {
		t.Error("Generate with empty account: no error")
	}
}

func TestURI(t *testing.T) {
	for _, tc := range []struct {
		issuer, account string
		wantLabel       string
	}{
		{"jellyguard", "alice", "/jellyguard:alice"},
		{"My Server", "bob smith", "/My%20Server:bob%20smith"},
		{"a:b", "c:d", "/a%3Ab:c%3Ad"},
		{"x&y", "é/ü", "/x&y:%C3%A9%2F%C3%BC"},
	} {
		t.Run(tc.issuer, func(t *testing.T) {
			s := URI(tc.issuer, tc.account, "JBSWY3DPEHPK3PXP")
			if strings.Contains(s, "+") {
				t.Errorf("URI %q contains '+'", s)
			}
			u, err := url.Parse(s)
			if err != nil {
				t.Fatal(err)
			}
			if u.Scheme != "otpauth" || u.Host != "totp" {
				t.Errorf("URI %q: scheme/host %q/%q", s, u.Scheme, u.Host)
			}
			if u.EscapedPath() != tc.wantLabel {
				t.Errorf("label %q, want %q", u.EscapedPath(), tc.wantLabel)
			}
			// The first colon of the decoded label separates issuer and
			// account only when neither contains an escaped one.
			label := strings.TrimPrefix(u.RawPath, "/")
			if label == "" {
				label = strings.TrimPrefix(u.Path, "/")
			}
			iss, acc, _ := strings.Cut(label, ":")
			if gi, _ := url.PathUnescape(iss); gi != tc.issuer {
				t.Errorf("label issuer %q, want %q", gi, tc.issuer)
			}
			if ga, _ := url.PathUnescape(acc); ga != tc.account {
				t.Errorf("label account %q, want %q", ga, tc.account)
			}
			q := u.Query()
			want := map[string]string{
				"secret": "JBSWY3DPEHPK3PXP", "issuer": tc.issuer,
				"algorithm": "SHA1", "digits": "6", "period": "30",
			}
			for k, v := range want {
				if q.Get(k) != v {
					t.Errorf("query %s = %q, want %q", k, q.Get(k), v)
				}
			}
			if len(q) != len(want) {
				t.Errorf("query has %d keys, want %d: %q", len(q), len(want), u.RawQuery)
			}
		})
	}
}

func TestLooks(t *testing.T) {
	for s, want := range map[string]bool{
		"123456": true, "000000": true,
		"12345": false, "1234567": false, "12345a": false, "": false,
		"١٢٣٤٥٦": false, "12 456": false,
	} {
		if got := Looks(s); got != want {
			t.Errorf("Looks(%q) = %v, want %v", s, got, want)
		}
	}
}
