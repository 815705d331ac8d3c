package jellyfin

import (
	"net/http"
	"strings"
)

// Carrier is one place in a request that holds a token.
type Carrier struct {
	Source Source
	// Name is the header or query key as sent (for a comma-joined repeat of
	// a query key, Jellyfin's spelling of the key).
	Name  string
	Token string
}

// Carriers lists every non-blank token in the request, wherever any Jellyfin
// reading could find one, so the gateway can check them all: a good token
// beside a revoked one must not carry the revoked one through. It ignores
// the dialect and precedence; it lists every value of a repeated header or
// query key and also their comma-joined form, tokens in either scheme and
// either authorization header (whether Jellyfin reads it or not), every
// Token key in a header rather than only the last, keys matched with wider
// case folding than .NET's, and the keys of percent-encoded queries. It
// never misses a token ParseRequest can return.
func Carriers(h http.Header, rawQuery string) []Carrier {
	var cs []Carrier
	t := scanHeaders(h)
	cs = authCarriers(cs, h, t.auth, SourceAuthorization)
	cs = authCarriers(cs, h, t.embyAuth, SourceEmbyAuthorization)
	cs = tokenHeaderCarriers(cs, h, t.embyToken, SourceEmbyToken)
	cs = tokenHeaderCarriers(cs, h, t.mbToken, SourceMediaBrowserToken)
	return queryCarriers(cs, rawQuery)
}

// authCarriers adds the tokens of every value of an authorization header.
func authCarriers(cs []Carrier, h http.Header, f headerField, src Source) []Carrier {
	for _, k := range f.keys() {
		for _, v := range trimValues(h[k]) {
			for _, tok := range headerTokens(v) {
				cs = append(cs, Carrier{Source: src, Name: k, Token: tok})
			}
		}
	}
	return cs
}

// tokenHeaderCarriers adds every value of a token header and, for a repeat,
// the joined value Jellyfin reads.
func tokenHeaderCarriers(cs []Carrier, h http.Header, f headerField, src Source) []Carrier {
	for _, k := range f.keys() {
		for _, v := range trimValues(h[k]) {
			if !isBlank(v) {
				cs = append(cs, Carrier{Source: src, Name: k, Token: v})
			}
		}
	}
	if joined := joinValues(f.values); len(f.values) > 1 && !isBlank(joined) {
		cs = append(cs, Carrier{Source: src, Name: f.key, Token: joined})
	}
	return cs
}

// queryCarriers adds every ApiKey/api_key value, those hidden in
// percent-encoded keys, and the joined values ParseRequest may return.
func queryCarriers(cs []Carrier, rawQuery string) []Carrier {
	for pos := 0; ; {
		p, ok := nextPair(rawQuery, &pos)
		if !ok {
			break
		}
		key := p.key()
		if src := querySource(key, matchLoose); src != SourceNone {
			if v := p.value(); !isBlank(v) {
				cs = append(cs, Carrier{Source: src, Name: key, Token: v})
			}
		}
		if strings.Contains(key, "=") {
			cs = innerCarriers(cs, key)
		}
	}
	inner, encoded := encodedQuery(rawQuery)
	for _, name := range []string{keyAPIKey, keyLegacyAPIKey} {
		cs = joinedCarrier(cs, name, queryValues(rawQuery, name, matchASCII))
		if encoded {
			cs = joinedCarrier(cs, name, innerValues(inner, name, matchExact))
		}
	}
	return cs
}

// innerCarriers adds the tokens of a decoded query key that holds `=`.
func innerCarriers(cs []Carrier, inner string) []Carrier {
	for part := range strings.SplitSeq(inner, "&") {
		k, v, ok := strings.Cut(part, "=")
		if src := querySource(k, matchLoose); ok && src != SourceNone && !isBlank(v) {
			cs = append(cs, Carrier{Source: src, Name: k, Token: v})
		}
	}
	return cs
}

// joinedCarrier adds the comma-joined form of a repeated query key.
func joinedCarrier(cs []Carrier, name string, vals []string) []Carrier {
	if joined := joinValues(vals); len(vals) > 1 && !isBlank(joined) {
		cs = append(cs, Carrier{Source: querySource(name, matchASCII), Name: exactName(name), Token: joined})
	}
	return cs
}

// querySource maps a decoded query key to the source it is under m.
func querySource(key string, m keyMatch) Source {
	switch {
	case keyIs(key, keyAPIKey, m):
		return SourceQueryAPIKey
	case keyIs(key, keyLegacyAPIKey, m):
		return SourceQueryLegacyAPIKey
	}
	return SourceNone
}
