// Package recovery makes and reads recovery codes: the one-time codes a
// user prints or saves when enrolling a second factor, to get back in when
// the phone is lost. Codes are ten characters from Crockford's base32
// alphabet (no I, L, O or U, so nothing reads as something else) shown as
// XXXXX-XXXXX, 50 random bits each. People copy them by hand, so reading is
// forgiving: case, spaces, dashes and the look-alikes O/0 and I/L/1 do not
// matter. The codes are stored only as slow hashes, by the caller.
package recovery

import (
	"crypto/rand"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Alphabet is Crockford's base32: the digits and the upper-case letters
// without I, L, O and U.
const Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

const (
	half  = 5        // characters either side of the dash
	size  = 2 * half // characters in a code
	shown = size + 1 // with the dash
	// maxInput bounds what Normalize reads: a code with generous spacing
	// fits many times over, and nothing longer is worth scanning.
	maxInput = 64
	// maxCodes bounds one Generate call; a person keeps ten.
	maxCodes = 100
)

// Generate returns n distinct codes of the form XXXXX-XXXXX, each 50 bits
// from crypto/rand.
func Generate(n int) ([]string, error) {
	if n < 1 || n > maxCodes {
		return nil, fmt.Errorf("generating recovery codes: count %d is not between 1 and %d", n, maxCodes)
	}
	codes := make([]string, 0, n)
	seen := make(map[string]bool, n)
	buf := make([]byte, size)
	for len(codes) < n {
		if _, err := rand.Read(buf); err != nil {
			return nil, fmt.Errorf("generating recovery codes: %w", err)
		}
		var c [shown]byte
		for i, b := range buf {
			j := i
			if i >= half {
				j++
			}
			// 32 divides 256, so the low five bits are uniform.
			c[j] = Alphabet[b&31]
		}
		c[half] = '-'
		code := string(c[:])
		if seen[code] {
			continue
		}
		seen[code] = true
		codes = append(codes, code)
	}
	return codes, nil
}

// Normalize reads a code as a person typed it: it ignores case, spaces and
// dashes anywhere, and reads O as 0 and I or L as 1. It returns the code in
// its canonical XXXXX-XXXXX form, or false if s is not a code. Only ASCII is
// accepted: upper-casing other scripts can produce ASCII letters (ı → I).
func Normalize(s string) (string, bool) {
	if len(s) > maxInput {
		return "", false
	}
	var c [size]byte
	n := 0
	for _, r := range s {
		if r == '-' || unicode.IsSpace(r) {
			continue
		}
		if r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		switch r {
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		if n == size || r > unicode.MaxASCII || strings.IndexByte(Alphabet, byte(r)) < 0 {
			return "", false
		}
		c[n] = byte(r)
		n++
	}
	if n != size {
		return "", false
	}
	return string(c[:half]) + "-" + string(c[half:]), true
}

// Hint is the lookup hint stored beside a code's hash: its first two
// characters once normalised. Sign-in hashes only the stored codes with the
// same hint instead of all of them; two characters (1024 values) narrow ten
// codes to about one while giving away only 10 of the 50 bits. It returns ""
// when code is not a code.
func Hint(code string) string {
	c, ok := Normalize(code)
	if !ok {
		return ""
	}
	return c[:2]
}

// Looks reports whether s could be a recovery code, by the same rules as
// Normalize. The "password;code" splitter uses it to decide whether what
// follows the last ';' is a code.
func Looks(s string) bool {
	_, ok := Normalize(s)
	return ok
}

// Text is the recovery codes as a downloadable text file: a title, the
// account, the date, the codes one per line, and how to use them.
func Text(issuer, account string, codes []string, now time.Time) string {
	var b strings.Builder
	b.WriteString(printable(issuer) + " recovery codes\n\n")
	b.WriteString("Account: " + printable(account) + "\n")
	b.WriteString("Created: " + now.Format("2006-01-02") + "\n\n")
	for _, c := range codes {
		b.WriteString(c + "\n")
	}
	b.WriteString("\nEach code works once. Use one to sign in when you cannot use your\n" +
		"authenticator app, typed in the code field or after your password as\n" +
		"password;code. Keep this file somewhere safe and private.\n")
	return b.String()
}

// printable keeps names from breaking the file's layout: control
// characters (a newline in a name could forge a line) become spaces.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}
