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

// stripTokenHeader keeps a chosen token header and drops another one that
// holds a token other than keep.
func stripTokenHeader(h http.Header, f headerField, canonical string, chosen bool, keep string) {
	if !f.present() {
		return
	}
	if chosen {
		mergeKeys(h, f, canonical)
		return
	}
	for _, v := range f.values {
		if !isBlank(v) && v != keep {
			deleteKeys(h, f)
			return
		}
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
	if !queryNeedsStrip(rawQuery, dec, keep) {
		return rawQuery
	}
	var sb strings.Builder
	sb.Grow(len(rawQuery))
	for pos := 0; ; {
		p, ok := nextPair(rawQuery, &pos)
		if !ok {
			return sb.String()
		}
		if dropPair(p, dec, keep) {
			continue
		}
		if sb.Len() > 0 {
			sb.WriteByte('&')
		}
		sb.WriteString(rawQuery[p.start:p.end])
	}
}

// queryNeedsStrip reports whether any pair must go.
func queryNeedsStrip(rawQuery string, dec decision, keep string) bool {
	for pos := 0; ; {
		p, ok := nextPair(rawQuery, &pos)
		if !ok {
			return false
		}
		if dropPair(p, dec, keep) {
			return true
		}
	}
}

// dropPair decides one query pair: it goes when it carries a token that is
// neither the chosen source nor equal to the chosen token.
func dropPair(p queryPair, dec decision, keep string) bool {
	key := p.key()
	if src := querySource(key, matchLoose); src != SourceNone {
		if src == dec.source && !dec.encoded && querySource(key, matchASCII) == src {
			return false
		}
		if v := p.value(); !isBlank(v) && v != keep {
			return true
		}
	}
	if dec.encoded || !strings.Contains(key, "=") {
		return false
	}
	for part := range strings.SplitSeq(key, "&") {
		k, v, ok := strings.Cut(part, "=")
		if ok && querySource(k, matchLoose) != SourceNone && !isBlank(v) && v != keep {
			return true
		}
	}
	return false
}
