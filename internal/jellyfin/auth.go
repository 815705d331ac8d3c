package jellyfin

import (
	"net/http"
	"net/url"
	"strings"
)

// What Jellyfin's source says (AuthorizationContext.cs at v10.11.11 and
// v10.10.7, with ASP.NET Core's header and query types), and what this file
// reproduces:
//
//   - The authorization header is chosen by `Headers[name]`, a StringValues
//     whose string form joins repeated headers with ","; the choice moves on
//     only when that joined form is empty, and then only `auth[0]`, the first
//     value, is parsed.
//   - `token = headers["X-Emby-Token"]`, `headers["X-MediaBrowser-Token"]`,
//     `queryString["ApiKey"]` and `queryString["api_key"]` each assign a
//     StringValues to a string, so a repeated header or query key yields all
//     its values joined with "," (`?ApiKey=a&ApiKey=b` is the token "a,b").
//     Each source is tried while the token is null or empty; a token of only
//     white space stops the search but counts as no token (HasToken is
//     !IsNullOrWhiteSpace).
//   - Header names and query keys compare ignoring case; header values
//     arrive trimmed of spaces and tabs (Kestrel). The query is split on `&`
//     only, at the first `=`, with `+` as a space and then
//     Uri.UnescapeDataString.
//   - Jellyfin's UrlDecodeQueryFeature re-parses a query that arrives
//     percent-encoded as a whole (one key, no value, the key holding `=`),
//     with case-sensitive keys. The middleware runs after authentication,
//     so ordinary endpoints authenticate with the original query, but the
//     WebSocket handler authenticates again later and sees the re-parsed
//     one: `/socket?api_key%3D<token>` opens an authenticated socket.
//     ParseRequest therefore reads such a query as the WebSocket handler
//     would (on other endpoints the gateway then checks a token Jellyfin
//     ignores, which fails closed), and Carriers and StripOtherCarriers
//     treat every percent-encoded key as a possible one.

// Dialect says how the Jellyfin behind the gateway reads credentials; the
// precedence differs between versions and settings, and a gateway that
// assumes the wrong one checks one token while Jellyfin uses another.
type Dialect struct {
	// Legacy is EnableLegacyAuthorization (10.11 default true): it allows
	// X-Emby-Authorization, the Emby scheme, X-Emby-Token,
	// X-MediaBrowser-Token and api_key.
	Legacy bool
	// V1010 is the 10.10 precedence: X-Emby-Authorization is read before
	// Authorization, and every legacy source is always active.
	V1010 bool
}

// DefaultDialect is Jellyfin 10.11 as installed: legacy authorization on.
func DefaultDialect() Dialect { return Dialect{Legacy: true} }

// legacy reports whether the legacy sources are read.
func (d Dialect) legacy() bool { return d.Legacy || d.V1010 }

// Source names the place a token came from, so logs and rules can tell a
// header token from one in a URL, which leaks into access logs and caches.
type Source uint8

// Token sources, in 10.11's order of precedence.
const (
	SourceNone              Source = iota
	SourceAuthorization            // Token= in the Authorization header
	SourceEmbyAuthorization        // Token= in X-Emby-Authorization
	SourceEmbyToken                // X-Emby-Token header
	SourceMediaBrowserToken        // X-MediaBrowser-Token header
	SourceQueryAPIKey              // ApiKey query key (any case)
	SourceQueryLegacyAPIKey        // api_key query key (any case)
)

// String returns the header or query key the source stands for, the form
// logs show.
func (s Source) String() string {
	switch s {
	case SourceNone:
		return "none"
	case SourceAuthorization:
		return "Authorization"
	case SourceEmbyAuthorization:
		return "X-Emby-Authorization"
	case SourceEmbyToken:
		return "X-Emby-Token"
	case SourceMediaBrowserToken:
		return "X-MediaBrowser-Token"
	case SourceQueryAPIKey:
		return "ApiKey"
	case SourceQueryLegacyAPIKey:
		return "api_key"
	}
	return "unknown"
}

// AuthInfo is what Jellyfin would take from one request: the device fields
// of the authorization header it reads and the token it would look up.
type AuthInfo struct {
	Client, Device, DeviceID, Version string
	// Token is the token Jellyfin would look up, "" when it would treat the
	// request as anonymous (no token, or only white space).
	Token string
	// Source is where Token came from; SourceNone when Token is empty.
	Source Source
	// Header is the header whose fields were used: "Authorization",
	// "X-Emby-Authorization" or "" when Jellyfin reads none.
	Header string
}

// decision is Jellyfin's reading of a request, with what StripOtherCarriers
// needs beyond AuthInfo.
type decision struct {
	selected  string     // the authorization header Jellyfin selected, "" for none
	fields    authFields // its fields
	hasFields bool       // false when Jellyfin ignores the selected header
	token     string     // may be blank: it still ends the search
	source    Source
	encoded   bool // the token came from a re-parsed percent-encoded query
}

// ParseRequest returns what Jellyfin would use from a request's headers and
// raw query under dialect d: the gateway must check exactly the token
// Jellyfin will act on, and read the device fields Jellyfin will record.
func ParseRequest(h http.Header, rawQuery string, d Dialect) AuthInfo {
	dec := decide(scanHeaders(h), rawQuery, d)
	var info AuthInfo
	if dec.hasFields {
		f := dec.fields
		info.Client, info.Device, info.DeviceID, info.Version = f.client, f.device, f.deviceID, f.version
		info.Header = dec.selected
	}
	if !isBlank(dec.token) {
		info.Token, info.Source = dec.token, dec.source
	}
	return info
}

// decide applies Jellyfin's precedence.
func decide(t tokenHeaders, rawQuery string, d Dialect) decision {
	dec := selectAuthHeader(t, d)
	if tok := dec.fields.token; tok != "" {
		dec.token = tok
		dec.source = SourceAuthorization
		if dec.selected == hdrEmbyAuthorization {
			dec.source = SourceEmbyAuthorization
		}
		return dec
	}
	if d.legacy() {
		for _, c := range []struct {
			f   headerField
			src Source
		}{{t.embyToken, SourceEmbyToken}, {t.mbToken, SourceMediaBrowserToken}} {
			if !c.f.empty() {
				dec.token, dec.source = joinValues(c.f.values), c.src
				return dec
			}
		}
	}
	dec.queryToken(rawQuery, d)
	return dec
}

// selectAuthHeader picks the authorization header Jellyfin reads (10.11:
// Authorization, then X-Emby-Authorization if legacy is on; 10.10: the other
// way round) and parses its first value.
func selectAuthHeader(t tokenHeaders, d Dialect) decision {
	f, name := t.auth, hdrAuthorization
	other, otherName := t.embyAuth, hdrEmbyAuthorization
	if d.V1010 {
		f, name, other, otherName = other, otherName, f, name
	}
	if f.empty() && d.legacy() {
		f, name = other, otherName
	}
	if len(f.values) == 0 {
		return decision{}
	}
	fields, ok := authParts(f.values[0], d.legacy())
	return decision{selected: name, fields: fields, hasFields: ok}
}

// queryToken looks for ApiKey, then api_key (legacy only), in the query as
// Jellyfin would see it.
func (dec *decision) queryToken(rawQuery string, d Dialect) {
	inner, encoded := encodedQuery(rawQuery)
	lookup := func(name string) string {
		if encoded {
			return joinValues(innerValues(inner, name, matchExact))
		}
		return joinValues(queryValues(rawQuery, name, matchASCII))
	}
	if tok := lookup(keyAPIKey); tok != "" {
		dec.token, dec.source, dec.encoded = tok, SourceQueryAPIKey, encoded
		return
	}
	if !d.legacy() {
		return
	}
	if tok := lookup(keyLegacyAPIKey); tok != "" {
		dec.token, dec.source, dec.encoded = tok, SourceQueryLegacyAPIKey, encoded
	}
}

// AuthHeader formats an Authorization header value in the MediaBrowser
// scheme. Values are percent-encoded (a space as %20, like @jellyfin/sdk),
// so quotes, commas and `=` in a device name cannot break the header and
// ParseParts reads back exactly what was given. Token is left out when empty.
func AuthHeader(client, device, deviceID, version, token string) string {
	var sb strings.Builder
	sb.WriteString("MediaBrowser ")
	writeField(&sb, "Client", client)
	sb.WriteString(", ")
	writeField(&sb, "Device", device)
	sb.WriteString(", ")
	writeField(&sb, "DeviceId", deviceID)
	sb.WriteString(", ")
	writeField(&sb, "Version", version)
	if token != "" {
		sb.WriteString(", ")
		writeField(&sb, "Token", token)
	}
	return sb.String()
}

// writeField writes key="encoded value".
func writeField(sb *strings.Builder, key, value string) {
	sb.WriteString(key)
	sb.WriteString(`="`)
	sb.WriteString(strings.ReplaceAll(url.QueryEscape(value), "+", "%20"))
	sb.WriteByte('"')
}
