package fake

import (
	"errors"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"
)

// errNullInPath is UrlDecoder's "The path contains null characters."
var errNullInPath = errors.New("the path contains null characters")

// rawTarget returns the escaped path of the request target as Kestrel sees
// it: the origin-form path up to '?', or the path of an absolute-form target.
func rawTarget(r *http.Request) string {
	t := r.RequestURI
	if t == "" {
		return r.URL.EscapedPath()
	}
	if t == "*" {
		return ""
	}
	if i := strings.Index(t, "://"); i >= 0 && !strings.HasPrefix(t, "/") {
		rest := t[i+3:]
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			return "/"
		}
		t = rest[j:]
	}
	if i := strings.IndexAny(t, "?#"); i >= 0 {
		t = t[:i]
	}
	return t
}

// kestrelPath turns a raw target into HttpRequest.Path: percent-decoded once
// (except %2F, which stays as the three characters "%2F" inside its segment)
// and with dot segments removed afterwards, so "%2e%2e" counts as "..". Empty
// segments ("//") are kept. A decoded NUL or invalid UTF-8 is a 400 from
// Kestrel itself (§1, ASP.NET Core UrlDecoder and PathNormalizer).
func kestrelPath(raw string) (string, error) {
	dec, err := decodePath(raw)
	if err != nil {
		return "", err
	}
	if !utf8.ValidString(dec) {
		return "", errors.New("invalid UTF-8 in path")
	}
	return removeDotSegments(dec), nil
}

// decodePath is ASP.NET Core's UrlDecoder.DecodeInPlace(isFormEncoding:false):
// each %XX run that forms valid UTF-8 is decoded; %2F and malformed escapes
// are copied unchanged; a decoded NUL is an error.
func decodePath(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '%' {
			b.WriteByte(s[i])
			i++
			continue
		}
		n, out, err := decodeEscape(s[i:])
		if err != nil {
			return "", err
		}
		if n == 0 {
			b.WriteByte('%')
			i++
			continue
		}
		b.Write(out)
		i += n
	}
	return b.String(), nil
}

// decodeEscape decodes one UTF-8 character written as %XX escapes at the
// start of s. It returns how many bytes of s it consumed (0 if the escape is
// not decodable and must be copied as-is).
func decodeEscape(s string) (int, []byte, error) {
	first, ok := hexByte(s)
	if !ok {
		return 0, nil, nil
	}
	if first == 0 {
		return 0, nil, errNullInPath
	}
	need := utf8SeqLen(first)
	if need == 0 {
		return 0, nil, nil
	}
	out := []byte{first}
	for k := 1; k < need; k++ {
		c, ok := hexByte(s[3*k:])
		if !ok || c&0xC0 != 0x80 {
			return 0, nil, nil
		}
		out = append(out, c)
	}
	if r, size := utf8.DecodeRune(out); r == utf8.RuneError && size <= 1 {
		return 0, nil, nil
	}
	return 3 * need, out, nil
}

// hexByte reads "%XX" at the start of s; %2F is reported as undecodable.
func hexByte(s string) (byte, bool) {
	if len(s) < 3 || s[0] != '%' {
		return 0, false
	}
	hi, ok1 := unhex(s[1])
	lo, ok2 := unhex(s[2])
	if !ok1 || !ok2 {
		return 0, false
	}
	v := hi<<4 | lo
	if v == '/' {
		return 0, false
	}
	return v, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func utf8SeqLen(b byte) int {
	switch {
	case b < 0x80:
		return 1
	case b&0xE0 == 0xC0:
		return 2
	case b&0xF0 == 0xE0:
		return 3
	case b&0xF8 == 0xF0:
		return 4
	}
	return 0
}

// removeDotSegments is RFC 3986 §5.2.4 as Kestrel's PathNormalizer applies it
// to absolute paths: "." and ".." segments go, empty segments stay.
func removeDotSegments(p string) string {
	if !strings.Contains(p, ".") {
		return p
	}
	var out []string
	segs := strings.Split(p, "/")[1:]
	for i, seg := range segs {
		last := i == len(segs)-1
		switch seg {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, seg)
		}
	}
	return "/" + strings.Join(out, "/")
}

// baseRedirect is BaseUrlRedirectionMiddleware (§1): with no BaseUrl only "/"
// (or "") is redirected to "web/"; with one, the bare base, base+"/" and any
// path not starting with the base go to base+"/web/", except /health which
// goes to base+"/health". The Location is relative, as Uri.MakeRelativeUri
// computes it.
func baseRedirect(path, base string) (string, bool) {
	if path == "" || ordinalEqualFold(path, base) || ordinalEqualFold(path, base+"/") ||
		!ordinalHasPrefixFold(path, base) {
		if base != "" && (ordinalEqualFold(path, "/health") || ordinalEqualFold(path, "/health/")) {
			return base + "/health", true
		}
		return relativeURI(orSlash(path), base+"/web/"), true
	}
	return "", false
}

func orSlash(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// relativeURI is .NET's Uri.PathDifference, used by MakeRelativeUri.
func relativeURI(from, to string) string {
	i, si := 0, -1
	for ; i < len(from) && i < len(to); i++ {
		if from[i] != to[i] {
			break
		}
		if from[i] == '/' {
			si = i
		}
	}
	if i == 0 {
		return to
	}
	if i == len(from) && i == len(to) {
		return ""
	}
	rel := strings.Repeat("../", strings.Count(from[i:], "/"))
	if rel == "" && len(to)-1 == si {
		return "./"
	}
	return rel + to[si+1:]
}

// mapBase is app.Map(BaseUrl): the path must start with the base on a segment
// boundary (case-insensitively); the rest becomes the routed path.
func mapBase(path, base string) (string, bool) {
	if base == "" {
		return path, true
	}
	n, ok := prefixLenFold(path, base)
	if !ok {
		return "", false
	}
	rest := path[n:]
	if rest != "" && rest[0] != '/' {
		return "", false
	}
	return rest, true
}

// legacyTrim is LegacyEmbyRouteRewriteMiddleware (§1). It cuts a leading
// "/emby" or "/mediabrowser" as a plain string prefix (not a segment), and
// assigns the rest through PathString's implicit conversion, which decodes
// it a second time (again except %2F). A rest that does not start with '/'
// makes PathString throw ArgumentException (400); a decoded NUL throws
// InvalidOperationException (500).
func legacyTrim(path string) (string, error) {
	n, ok := prefixLenFold(path, "/emby")
	if !ok {
		n, ok = prefixLenFold(path, "/mediabrowser")
	}
	if !ok {
		return path, nil
	}
	rest := path[n:]
	if rest == "" {
		return "", nil
	}
	dec, err := decodePath(rest)
	if err != nil {
		return "", invalidOpError("The path contains null characters.")
	}
	if dec[0] != '/' {
		return "", argumentError("The path in 'value' must start with '/'. (Parameter 'value')")
	}
	return dec, nil
}

// ordinalEqualFold is .NET's StringComparison.OrdinalIgnoreCase: characters
// are compared after simple upper-casing, except that ı and ſ keep their
// own identity (ICU ordinal casing), so no non-ASCII letter ever equals an
// ASCII one.
func ordinalEqualFold(a, b string) bool {
	ra, rb := []rune(a), []rune(b)
	if len(ra) != len(rb) {
		return false
	}
	for i := range ra {
		if ordinalUpper(ra[i]) != ordinalUpper(rb[i]) {
			return false
		}
	}
	return true
}

func ordinalHasPrefixFold(s, prefix string) bool {
	_, ok := prefixLenFold(s, prefix)
	return ok
}

// prefixLenFold reports whether s starts with prefix under ordinalEqualFold
// and how many bytes of s the match covers.
func prefixLenFold(s, prefix string) (int, bool) {
	n := 0
	for _, p := range prefix {
		if n >= len(s) {
			return 0, false
		}
		r, size := utf8.DecodeRuneInString(s[n:])
		if ordinalUpper(r) != ordinalUpper(p) {
			return 0, false
		}
		n += size
	}
	return n, true
}

func ordinalUpper(r rune) rune {
	if r == 'ı' || r == 'ſ' {
		return r
	}
	return unicode.ToUpper(r)
}
