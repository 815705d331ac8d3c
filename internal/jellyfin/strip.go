package jellyfin

import (
	"net/http"
	"strings"
)

// StripOtherCarriers removes from h, and returns a raw query without, every
// token carrier except the one ParseRequest(h, rawQuery, d) chose, so that
// what reaches Jellyfin holds only the token the gateway checked as the one
// Jellyfin will use.
//
// The selected authorization header is kept intact; the other one is
// dropped when it carries a token. Token headers and ApiKey/api_key query
// pairs (also inside percent-encoded keys) that were not chosen are dropped.
// A carrier that holds the very token chosen is kept: it smuggles nothing,
// and Jellyfin copies the query of an HLS playlist request, ApiKey included,
// into the URLs of the segments the player fetches next.
//
// When nothing needs removing the query is returned unchanged, without
// allocating: this runs on every proxied request.
func StripOtherCarriers(h http.Header, rawQuery string, d Dialect) (newRawQuery string) {
	t := scanHeaders(h)
	dec := decide(t, rawQuery, d)
	keep := dec.token
	if isBlank(keep) {
		keep = ""
	}
	stripAuthHeader(h, t.auth, hdrAuthorization, dec.selected, keep)
	stripAuthHeader(h, t.embyAuth, hdrEmbyAuthorization, dec.selected, keep)
	stripTokenHeader(h, t.embyToken, hdrEmbyToken, dec.source == SourceEmbyToken, keep)
	stripTokenHeader(h, t.mbToken, hdrMediaBrowserToken, dec.source == SourceMediaBrowserToken, keep)
	return stripQuery(rawQuery, dec, keep)
}

// stripAuthHeader keeps the selected authorization header and drops the
// other when any of its values carries a token other than keep.
func stripAuthHeader(h http.Header, f headerField, canonical, selected, keep string) {
	if !f.present() {
		return
	}
	if canonical == selected {
		mergeKeys(h, f, canonical)
		return
	}
	for _, v := range f.values {
		for _, tok := range headerTokens(v) {
			if tok != keep {
				deleteKeys(h, f)
				return
			}
		}
	}
}

// stripTokenHeader keeps a chosen token header, and another one only when
// Jellyfin would read exactly the chosen token from it.
func stripTokenHeader(h http.Header, f headerField, canonical string, chosen bool, keep string) {
	switch {
	case !f.present():
	case chosen:
		mergeKeys(h, f, canonical)
	case keep == "" || len(f.values) != 1 || f.values[0] != keep:
		deleteKeys(h, f)
	}
}

// mergeKeys moves a header spread over several map keys into its canonical
// key, values in the order Jellyfin was assumed to see them, so that the
// forwarded request cannot be read in another order.
func mergeKeys(h http.Header, f headerField, canonical string) {
	if f.more == nil {
		return
	}
	vals := f.values
	deleteKeys(h, f)
	h[canonical] = vals
}

func deleteKeys(h http.Header, f headerField) {
	for _, k := range f.keys() {
		delete(h, k)
	}
}

// stripQuery drops the query pairs that carry a token other than the chosen
// one; it returns rawQuery itself when there is none.
func stripQuery(rawQuery string, dec decision, keep string) string {
	qs := queryStripper{raw: rawQuery, dec: dec, keep: keep}
	if !qs.needed() {
		return rawQuery
	}
	var sb strings.Builder
	sb.Grow(len(rawQuery))
	for pos := 0; ; {
		p, ok := nextPair(rawQuery, &pos)
		if !ok {
			return sb.String()
		}
		if qs.drop(p) {
			continue
		}
		if sb.Len() > 0 {
			sb.WriteByte('&')
		}
		sb.WriteString(rawQuery[p.start:p.end])
	}
}

// queryStripper decides which pairs of one query go.
type queryStripper struct {
	raw    string
	dec    decision
	keep   string
	joined [2]string // the joined value of the ApiKey and api_key keys, once computed
	have   [2]bool
}

// needed reports whether any pair must go.
func (qs *queryStripper) needed() bool {
	for pos := 0; ; {
		p, ok := nextPair(qs.raw, &pos)
		if !ok {
			return false
		}
		if qs.drop(p) {
			return true
		}
	}
}

// drop decides one pair. A token key stays when it belongs to the chosen
// source or when Jellyfin would read exactly the chosen token from it; a
// percent-encoded key stays when it holds no token but the chosen one.
func (qs *queryStripper) drop(p queryPair) bool {
	key := p.key()
	if src := querySource(key, matchLoose); src != SourceNone {
		strict := querySource(key, matchASCII) == src
		switch {
		case strict && src == qs.dec.source && !qs.dec.encoded:
			return false
		case qs.keep == "":
			return true
		case strict:
			return qs.groupValue(src) != qs.keep
		}
		return p.value() != qs.keep
	}
	if qs.dec.encoded || !strings.Contains(key, "=") {
		return false
	}
	return !innerHoldsOnly(key, qs.keep)
}

// groupValue is what Jellyfin reads from the ApiKey or api_key key.
func (qs *queryStripper) groupValue(src Source) string {
	i, name := 0, keyAPIKey
	if src == SourceQueryLegacyAPIKey {
		i, name = 1, keyLegacyAPIKey
	}
	if !qs.have[i] {
		qs.joined[i], qs.have[i] = joinValues(queryValues(qs.raw, name, matchASCII)), true
	}
	return qs.joined[i]
}

// innerHoldsOnly reports whether a decoded key holding `=` carries no token,
// or exactly one, equal to keep.
func innerHoldsOnly(inner, keep string) bool {
	n := 0
	for part := range strings.SplitSeq(inner, "&") {
		k, v, ok := strings.Cut(part, "=")
		if !ok || querySource(k, matchLoose) == SourceNone {
			continue
		}
		if n++; n > 1 || keep == "" || v != keep {
			return false
		}
	}
	return true
}
