package jellyfin

import (
	"net/http"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Headers Jellyfin reads credentials from, in Go's canonical form.
const (
	hdrAuthorization     = "Authorization"
	hdrEmbyAuthorization = "X-Emby-Authorization"
	hdrEmbyToken         = "X-Emby-Token"
	hdrMediaBrowserToken = "X-Mediabrowser-Token"
)

// headerField is one header as ASP.NET sees it: the values of every map key
// that names it, whatever their case. net/http canonicalises the keys of
// requests it reads, but a hand-built map may hold "x-emby-token" beside
// "X-Emby-Token", and both reach Jellyfin as the same header.
type headerField struct {
	key    string   // the map key naming this header; the first in byte order if several
	more   []string // further keys naming it, rare, in byte order
	values []string
}

// present reports whether the header is in the request at all.
func (f headerField) present() bool { return f.key != "" }

// keys returns every map key naming the header.
func (f headerField) keys() []string {
	if f.more == nil {
		return []string{f.key}
	}
	return append([]string{f.key}, f.more...)
}

// empty is string.IsNullOrEmpty on ASP.NET's StringValues: no value, or a
// single empty one ("" and "" join to ",", which is not empty).
func (f headerField) empty() bool {
	return len(f.values) == 0 || len(f.values) == 1 && f.values[0] == ""
}

// tokenHeaders holds the four credential headers of one request.
type tokenHeaders struct {
	auth, embyAuth, embyToken, mbToken headerField
}

// scanHeaders collects the credential headers of h in one pass over the
// map. When a header has several keys, their values are concatenated in key
// byte order, the order in which net/http writes them upstream.
func scanHeaders(h http.Header) tokenHeaders {
	var t tokenHeaders
	for k := range h {
		if f := t.field(k); f != nil {
			f.add(k)
		}
	}
	t.auth.collect(h)
	t.embyAuth.collect(h)
	t.embyToken.collect(h)
	t.mbToken.collect(h)
	return t
}

// field returns the credential header named by key, nil for any other.
func (t *tokenHeaders) field(key string) *headerField {
	switch {
	case asciiEqualFold(key, "authorization"):
		return &t.auth
	case asciiEqualFold(key, "x-emby-authorization"):
		return &t.embyAuth
	case asciiEqualFold(key, "x-emby-token"):
		return &t.embyToken
	case asciiEqualFold(key, "x-mediabrowser-token"):
		return &t.mbToken
	}
	return nil
}

// add records one more map key naming the header.
func (f *headerField) add(k string) {
	if f.key == "" {
		f.key = k
		return
	}
	f.more = append(f.more, k)
}

// collect gathers the values of f's keys, trimmed as Kestrel trims them.
func (f *headerField) collect(h http.Header) {
	if f.key == "" {
		return
	}
	if f.more == nil {
		f.values = trimValues(h[f.key])
		return
	}
	keys := f.keys()
	slices.Sort(keys)
	f.key, f.more = keys[0], keys[1:]
	for _, k := range keys {
		f.values = append(f.values, trimValues(h[k])...)
	}
}

// trimValues returns vals without leading and trailing spaces and tabs, the
// optional white space that Kestrel strips from every header value before
// Jellyfin reads it. net/http strips it too on requests it parses, so the
// copy is only made for hand-built headers.
func trimValues(vals []string) []string {
	for i, v := range vals {
		if trimOWS(v) != v {
			out := slices.Clone(vals)
			for j := i; j < len(out); j++ {
				out[j] = trimOWS(out[j])
			}
			return out
		}
	}
	return vals
}

func trimOWS(v string) string { return strings.Trim(v, " \t") }

// authFields are the fields Jellyfin looks up in an authorization header.
type authFields struct {
	client, device, deviceID, version, token string
}

// authParts reads the first value of an authorization header like
// AuthorizationContext.GetAuthorization: the scheme is the text before the
// first space and must be MediaBrowser (or Emby when emby is true), compared
// ignoring ASCII case. ok is false when Jellyfin ignores the header.
func authParts(value string, emby bool) (f authFields, ok bool) {
	scheme, rest, ok := strings.Cut(value, " ")
	if !ok || !(asciiEqualFold(scheme, "mediabrowser") || emby && asciiEqualFold(scheme, "emby")) {
		return authFields{}, false
	}
	scanParts(rest, func(key, val string) {
		switch key {
		case "Client":
			f.client = val
		case "Device":
			f.device = val
		case "DeviceId":
			f.deviceID = val
		case "Version":
			f.version = val
		case "Token":
			f.token = val
		}
	})
	return f, true
}

// headerTokens lists every token an authorization header value holds under
// any Jellyfin reading: the one Jellyfin 10.10/10.11 takes, and also either
// scheme in any case, white space around the scheme, and every Token key in
// any case rather than only the last.
func headerTokens(value string) []string {
	var toks []string
	add := func(tok string) {
		if !isBlank(tok) && !slices.Contains(toks, tok) {
			toks = append(toks, tok)
		}
	}
	value = strings.TrimLeftFunc(value, unicode.IsSpace)
	sp := strings.IndexFunc(value, unicode.IsSpace)
	if sp < 0 {
		return nil
	}
	_, size := utf8.DecodeRuneInString(value[sp:])
	scheme, rest := value[:sp], value[sp+size:]
	if !strings.EqualFold(scheme, "mediabrowser") && !strings.EqualFold(scheme, "emby") {
		return nil
	}
	scanParts(rest, func(key, val string) {
		if looseEqualFold(key, "token") {
			add(val)
		}
	})
	if f, ok := authParts(value, true); ok {
		add(f.token)
	}
	return toks
}
