package fake

import (
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"
)

// creds are the client fields and token one request carries (§2.2), before
// the token is looked up.
type creds struct {
	client, device, deviceID, version string
	token                             string
}

// credentialRules select the credential handling of a Jellyfin version.
type credentialRules struct {
	legacy   bool // EnableLegacyAuthorization (10.11)
	prec1010 bool // 10.10.x: X-Emby-Authorization first, every source on
}

// readCreds is AuthorizationContext.GetAuthorizationInfoFromDictionary (§2.2):
// the header fields, then the first non-empty token of Token → X-Emby-Token
// → X-MediaBrowser-Token → ?ApiKey → ?api_key. Repeated headers and query
// keys are joined with "," as ASP.NET's StringValues are.
func readCreds(h http.Header, q query, rules credentialRules) creds {
	legacy := rules.legacy || rules.prec1010
	var c creds
	if parts := authHeaderParts(h, rules); parts != nil {
		c.deviceID, c.device = parts["DeviceId"], parts["Device"]
		c.client, c.version = parts["Client"], parts["Version"]
		c.token = parts["Token"]
	}
	if legacy && c.token == "" {
		c.token = strings.Join(h.Values("X-Emby-Token"), ",")
	}
	if legacy && c.token == "" {
		c.token = strings.Join(h.Values("X-MediaBrowser-Token"), ",")
	}
	if c.token == "" {
		c.token, _ = q.get("ApiKey")
	}
	if legacy && c.token == "" {
		c.token, _ = q.get("api_key")
	}
	return c
}

// hasToken is AuthorizationInfo.HasToken: a whitespace-only token stops the
// fallback chain above but still counts as no token.
func (c creds) hasToken() bool {
	return strings.TrimFunc(c.token, unicode.IsSpace) != ""
}

// authHeaderParts is GetAuthorizationDictionary (§2.2). In 10.11 the
// Authorization header wins whenever it is non-empty, whatever its scheme;
// only when it is absent or empty, and legacy is on, is X-Emby-Authorization
// read. 10.10 reads them the other way round. Only the first value of the
// chosen header is parsed.
func authHeaderParts(h http.Header, rules credentialRules) map[string]string {
	first, second := "Authorization", "X-Emby-Authorization"
	useSecond := rules.legacy
	if rules.prec1010 {
		first, second = second, first
		useSecond = true
	}
	vals := h.Values(first)
	if useSecond && strings.Join(vals, ",") == "" {
		vals = h.Values(second)
	}
	if len(vals) == 0 {
		return nil
	}
	return parseAuthorization(vals[0], rules.legacy || rules.prec1010)
}

// parseAuthorization is GetAuthorization: the scheme is everything before
// the first space and must be MediaBrowser, or Emby when legacy is allowed.
func parseAuthorization(v string, allowEmby bool) map[string]string {
	i := strings.IndexByte(v, ' ')
	if i < 0 {
		return nil
	}
	scheme := v[:i]
	if !strings.EqualFold(scheme, "MediaBrowser") && !(allowEmby && strings.EqualFold(scheme, "Emby")) {
		return nil
	}
	return GetParts(v[i+1:])
}

// GetParts is Jellyfin's AuthorizationContext.GetParts tokeniser (§2.3),
// exported so gateway tests can compare their own parser with it. '"'
// toggles quoting; outside quotes '=' ends a key (whitespace-trimmed) and
// ',' ends a value; values lose leading and trailing '"' only and are then
// WebUtility.UrlDecode'd. Keys are case-sensitive and the last duplicate wins.
func GetParts(header string) map[string]string {
	result := map[string]string{}
	escaped := false
	start := 0
	key := ""
	i := 0
	for ; i < len(header); i++ {
		switch ch := header[i]; {
		case ch == '"':
			escaped = !escaped
		case ch == ',' && !escaped:
			if start < i {
				result[key] = webURLDecode(strings.Trim(header[start:i], `"`))
				key = ""
			}
			start = i + 1
		case ch == '=' && !escaped:
			key = strings.TrimFunc(header[start:i], unicode.IsSpace)
			start = i + 1
		}
	}
	if start < i {
		result[key] = webURLDecode(strings.Trim(header[start:i], `"`))
	}
	return result
}

// webURLDecode is System.Net.WebUtility.UrlDecode: '+' becomes a space,
// %XX becomes a byte, and the bytes are read as UTF-8 (invalid bytes become
// U+FFFD). %uXXXX is not supported.
func webURLDecode(s string) string {
	if !strings.ContainsAny(s, "+%") {
		return s
	}
	buf := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '+':
			buf = append(buf, ' ')
		case s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			hi, _ := unhex(s[i+1])
			lo, _ := unhex(s[i+2])
			buf = append(buf, hi<<4|lo)
			i += 2
		default:
			buf = append(buf, s[i])
		}
	}
	return replaceInvalidUTF8(buf)
}

func isHex(c byte) bool {
	_, ok := unhex(c)
	return ok
}

// replaceInvalidUTF8 decodes b, turning each invalid byte into U+FFFD.
func replaceInvalidUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		sb.WriteRune(r)
		b = b[size:]
	}
	return sb.String()
}

// query is an ASP.NET IQueryCollection: keys compare case-insensitively and
// repeated keys keep every value.
type query struct {
	vals  map[string][]string // by upper-cased name
	names map[string]string   // the name as first written
}

// parseQuery is QueryHelpers.ParseNullableQuery: split on '&', then on the
// first '='; names and values are unescaped with '+' as space.
func parseQuery(raw string) query {
	q := query{vals: map[string][]string{}, names: map[string]string{}}
	raw = strings.TrimPrefix(raw, "?")
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		name = unescapeData(strings.ReplaceAll(name, "+", " "))
		value = unescapeData(strings.ReplaceAll(value, "+", " "))
		if name == "" && value == "" {
			continue
		}
		k := strings.Map(ordinalUpper, name)
		if _, seen := q.names[k]; !seen {
			q.names[k] = name
		}
		q.vals[k] = append(q.vals[k], value)
	}
	return q
}

// get returns the values of name joined with "," (StringValues.ToString).
func (q query) get(name string) (string, bool) {
	v, ok := q.vals[strings.Map(ordinalUpper, name)]
	return strings.Join(v, ","), ok
}

// count returns how many distinct keys the query has.
func (q query) count() int { return len(q.vals) }

// unescapeData is Uri.UnescapeDataString: valid UTF-8 escapes (including
// %2F) are decoded, anything else is kept as written.
func unescapeData(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		n, out := decodeDataEscape(s[i:])
		if n == 0 {
			b.WriteByte(s[i])
			i++
			continue
		}
		b.Write(out)
		i += n
	}
	return b.String()
}

// decodeDataEscape decodes one %-escaped UTF-8 character at the start of s.
func decodeDataEscape(s string) (int, []byte) {
	first, ok := dataHexByte(s)
	if !ok {
		return 0, nil
	}
	need := utf8SeqLen(first)
	if need == 0 {
		return 0, nil
	}
	out := []byte{first}
	for k := 1; k < need; k++ {
		c, ok := dataHexByte(s[3*k:])
		if !ok || c&0xC0 != 0x80 {
			return 0, nil
		}
		out = append(out, c)
	}
	if r, size := utf8.DecodeRune(out); r == utf8.RuneError && size <= 1 {
		return 0, nil
	}
	return 3 * need, out
}

func dataHexByte(s string) (byte, bool) {
	if len(s) < 3 || s[0] != '%' || !isHex(s[1]) || !isHex(s[2]) {
		return 0, false
	}
	hi, _ := unhex(s[1])
	lo, _ := unhex(s[2])
	return hi<<4 | lo, true
}
