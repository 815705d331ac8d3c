package jellyfin

import (
	"strings"
	"unicode/utf8"
)

// Query keys Jellyfin reads a token from, lower-case.
const (
	keyAPIKey       = "apikey"
	keyLegacyAPIKey = "api_key"
)

// queryPair is one `&`-separated segment of a raw query, as ASP.NET Core's
// QueryStringEnumerable yields it: split at the first `=` (no `=`: all key,
// empty value), empty segments skipped. key and value are still encoded.
type queryPair struct {
	start, end int // the segment's bounds in the raw query
	rawKey     string
	rawValue   string
}

// nextPair returns the pair of the first non-empty segment at or after
// *pos and advances *pos past it; ok is false at the end.
func nextPair(raw string, pos *int) (p queryPair, ok bool) {
	for *pos <= len(raw) {
		start := *pos
		end := strings.IndexByte(raw[start:], '&')
		if end < 0 {
			end = len(raw)
		} else {
			end += start
		}
		*pos = end + 1
		if start == end {
			continue
		}
		seg := raw[start:end]
		p = queryPair{start: start, end: end, rawKey: seg}
		if eq := strings.IndexByte(seg, '='); eq >= 0 {
			p.rawKey, p.rawValue = seg[:eq], seg[eq+1:]
		}
		return p, true
	}
	return queryPair{}, false
}

// key and value decode like ASP.NET Core: `+` is a space, then
// Uri.UnescapeDataString.
func (p queryPair) key() string   { return aspUnescape(p.rawKey) }
func (p queryPair) value() string { return aspUnescape(p.rawValue) }

// aspUnescape replaces `+` by a space and then decodes like .NET
// Uri.UnescapeDataString: a run of %XX escapes is decoded as UTF-8, and an
// escape that does not belong to a well-formed character stays as written.
func aspUnescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	s = strings.ReplaceAll(s, "+", " ")
	var sb strings.Builder
	sb.Grow(len(s))
	for i := 0; i < len(s); {
		if !isEscape(s, i) {
			sb.WriteByte(s[i])
			i++
			continue
		}
		j := i
		for j < len(s) && isEscape(s, j) {
			j += 3
		}
		writeEscapeRun(&sb, s[i:j])
		i = j
	}
	return sb.String()
}

// isEscape reports whether s holds a %XX escape at i.
func isEscape(s string, i int) bool {
	return s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2])
}

// writeEscapeRun decodes a run of consecutive %XX escapes: ASCII bytes and
// well-formed UTF-8 characters are written decoded, any other byte as its
// original three characters.
func writeEscapeRun(sb *strings.Builder, run string) {
	b := make([]byte, len(run)/3)
	for k := range b {
		b[k] = unhex(run[3*k+1])<<4 | unhex(run[3*k+2])
	}
	for k := 0; k < len(b); {
		r, n := utf8.DecodeRune(b[k:])
		if r == utf8.RuneError && n <= 1 {
			sb.WriteString(run[3*k : 3*k+3])
			k++
			continue
		}
		sb.Write(b[k : k+n])
		k += n
	}
}

// keyMatch says how a decoded query key is compared with a name Jellyfin
// reads.
type keyMatch uint8

const (
	// matchASCII is ASP.NET's OrdinalIgnoreCase for an ASCII name: .NET's
	// invariant upper-casing keeps U+0131 (dotless i) as it is, so no
	// non-ASCII letter folds onto these names.
	matchASCII keyMatch = iota
	// matchExact is the ordinal comparison of the Dictionary Jellyfin's
	// UrlDecodeQueryFeature builds for an encoded query.
	matchExact
	// matchLoose folds more than any .NET runtime does (Unicode simple
	// folding plus dotless i, dotted I, long s and the Kelvin sign), for
	// finding carriers: seeing too much is safe, too little is not.
	matchLoose
)

// keyIs reports whether key equals the lower-case ASCII name under m.
func keyIs(key, name string, m keyMatch) bool {
	switch m {
	case matchExact:
		return key == exactName(name)
	case matchASCII:
		return len(key) == len(name) && asciiEqualFold(key, name)
	}
	return looseEqualFold(key, name)
}

// exactName is the spelling Jellyfin's code uses for a query key.
func exactName(name string) string {
	if name == keyAPIKey {
		return "ApiKey"
	}
	return name
}

// asciiEqualFold compares s with a lower-case ASCII name, folding only ASCII
// letters.
func asciiEqualFold(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if asciiLower(s[i]) != lower[i] {
			return false
		}
	}
	return true
}

// looseEqualFold compares s with a lower-case ASCII name rune by rune,
// accepting any rune that folds onto the name's letter.
func looseEqualFold(s, lower string) bool {
	i := 0
	for _, r := range s {
		if i >= len(lower) || foldRune(r) != rune(lower[i]) {
			return false
		}
		i++
	}
	return i == len(lower)
}

// foldRune maps ASCII capitals and the non-ASCII letters that some
// case-insensitive comparison treats as an ASCII letter to that letter.
func foldRune(r rune) rune {
	switch {
	case 'A' <= r && r <= 'Z':
		return r + 'a' - 'A'
	case r == '\u0131' || r == '\u0130': // dotless i, capital I with dot
		return 'i'
	case r == '\u017F': // long s
		return 's'
	case r == '\u212A': // Kelvin sign
		return 'k'
	}
	return r
}

func asciiLower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// queryValues is StringValues for one name in a raw query under m: every
// value whose key matches, in order.
func queryValues(raw, name string, m keyMatch) []string {
	var vals []string
	for pos := 0; ; {
		p, ok := nextPair(raw, &pos)
		if !ok {
			return vals
		}
		if keyIs(p.key(), name, m) {
			vals = append(vals, p.value())
		}
	}
}

// encodedQuery returns the decoded key of a query that Jellyfin's
// UrlDecodeQueryFeature re-parses: exactly one pair, with no value and a
// decoded key holding `=` (a query string sent percent-encoded as a whole,
// `?api_key%3Dabc`). Jellyfin installs that feature after authentication, so
// ordinary endpoints still see the original query, but everything that reads
// credentials later, the WebSocket handler above all, sees the re-parsed one.
func encodedQuery(raw string) (inner string, ok bool) {
	pos := 0
	p, ok := nextPair(raw, &pos)
	if !ok {
		return "", false
	}
	if _, more := nextPair(raw, &pos); more || p.value() != "" {
		return "", false
	}
	inner = p.key()
	return inner, strings.Contains(inner, "=")
}

// innerValues looks name up in the re-parsed form of an encoded query:
// split on `&`, each part at its first `=`, values not decoded again, keys
// compared under m. A part with no `=` adds no value.
func innerValues(inner, name string, m keyMatch) []string {
	var vals []string
	for part := range strings.SplitSeq(inner, "&") {
		k, v, ok := strings.Cut(part, "=")
		if ok && keyIs(k, name, m) {
			vals = append(vals, v)
		}
	}
	return vals
}

// joinValues is the string form of ASP.NET's StringValues: the values
// joined with ",", "" for none.
func joinValues(vals []string) string {
	switch len(vals) {
	case 0:
		return ""
	case 1:
		return vals[0]
	}
	return strings.Join(vals, ",")
}
