package jellyfin

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// ParseParts tokenises the text after the scheme word of an authorization
// header the way Jellyfin's AuthorizationContext.GetParts does (10.10 and
// 10.11 share it), so the gateway reads Client, DeviceId and Token exactly as
// Jellyfin will, including the malformed forms real clients send.
//
// The rules, from the source:
//   - `"` toggles an inside-quotes flag; inside quotes `,` and `=` are literal;
//   - outside quotes `=` ends a key: the key is the text since the last
//     boundary, whitespace-trimmed; every `=` does this, so an unquoted value
//     holding `=` turns part of itself into a key;
//   - outside quotes `,` ends a value; an empty value stores nothing and,
//     unlike a stored one, leaves the current key in place, so `Token=,abc`
//     gives Token "abc";
//   - a value loses leading and trailing `"` only (never whitespace) and is
//     then decoded like .NET WebUtility.UrlDecode;
//   - keys are case-sensitive and a repeated key keeps the last value.
func ParseParts(s string) map[string]string {
	parts := make(map[string]string)
	scanParts(s, func(key, value string) { parts[key] = value })
	return parts
}

// scanParts walks s like GetParts and reports every (key, value) that
// GetParts stores, in order. ParseParts keeps the last value per key; the
// carrier scan keeps them all.
func scanParts(s string, emit func(key, value string)) {
	quoted := false
	start := 0
	key := ""
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			if start < i {
				emit(key, partValue(s[start:i]))
				key = ""
			}
			start = i + 1
		case c == '=' && !quoted:
			key = strings.TrimFunc(s[start:i], unicode.IsSpace)
			start = i + 1
		}
	}
	if start < len(s) {
		emit(key, partValue(s[start:]))
	}
}

// partValue strips the surrounding quotes of one raw value and decodes it.
func partValue(raw string) string {
	return netURLDecode(strings.Trim(raw, `"`))
}

// netURLDecode decodes like .NET WebUtility.UrlDecode: `+` is a space, %XX
// is a byte (both hex digits required, otherwise the `%` stays literal), and
// the bytes are read as UTF-8 with U+FFFD for each ill-formed subsequence.
func netURLDecode(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return validUTF8(b)
}

// validUTF8 returns b as a string with every maximal ill-formed subsequence
// replaced by one U+FFFD, which is how .NET's UTF-8 decoder repairs bytes
// (Go's strings.ToValidUTF8 replaces whole runs instead).
func validUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) + 8)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			sb.WriteRune(utf8.RuneError)
			b = b[illFormedLen(b):]
			continue
		}
		sb.Write(b[:n])
		b = b[n:]
	}
	return sb.String()
}

// illFormedLen is the length of the maximal ill-formed subsequence at the
// start of b (Unicode 15, table 3-7): a valid lead byte plus the continuation
// bytes that still fit before the sequence breaks, or one byte.
func illFormedLen(b []byte) int {
	lo, hi, need := continuationRange(b[0])
	n := 1
	for ; n <= need && n < len(b); n++ {
		if b[n] < lo || b[n] > hi {
			break
		}
		lo, hi = 0x80, 0xBF
	}
	return n
}

// continuationRange returns the allowed range of the first continuation
// byte after lead and how many continuation bytes lead announces (0 when
// lead cannot start a sequence).
func continuationRange(lead byte) (lo, hi byte, need int) {
	switch {
	case lead >= 0xC2 && lead <= 0xDF:
		return 0x80, 0xBF, 1
	case lead == 0xE0:
		return 0xA0, 0xBF, 2
	case lead == 0xED:
		return 0x80, 0x9F, 2
	case lead >= 0xE1 && lead <= 0xEF:
		return 0x80, 0xBF, 2
	case lead == 0xF0:
		return 0x90, 0xBF, 3
	case lead >= 0xF1 && lead <= 0xF3:
		return 0x80, 0xBF, 3
	case lead == 0xF4:
		return 0x80, 0x8F, 3
	}
	return 0, 0, 0
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// isBlank reports whether Jellyfin would see no token in s: its HasToken is
// !string.IsNullOrWhiteSpace, and .NET's white space is Unicode White_Space,
// the same set as unicode.IsSpace.
func isBlank(s string) bool {
	for _, r := range s {
		if !unicode.IsSpace(r) {
			return false
		}
	}
	return true
}
