package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/jellyguard/jellyguard/internal/signin"
	"github.com/jellyguard/jellyguard/internal/web"
)

// maxIndex bounds the jellyfin-web index.html the gateway rewrites.
const maxIndex = 2 << 20

// setupHeader tells the injected script, on a released jellyfin-web
// sign-in, that the user must set up a second factor and where.
const setupHeader = "X-Jellyguard-Setup"

// pointToSetup sends jellyfin-web to the Setup page after a sign-in
// released on the grace period: the user must set up a second factor
// before it runs out, and without this nothing in Jellyfin would say so.
// Other clients get Jellyfin's answer untouched.
func (g *Gateway) pointToSetup(w http.ResponseWriter, a signin.Attempt, out signin.Outcome) {
	if a.Client.Web && slices.Contains(out.Factors, signin.FactorGrace) {
		w.Header().Set(setupHeader, web.SetupPath(g.cfg.BaseURL))
	}
}

// injectScript adds the gateway's script to jellyfin-web's index.html, so
// the web client can be sent to the challenge page. The page's own headers
// (its Content-Security-Policy included) are kept; only the validators that
// describe the unmodified file are dropped.
func (g *Gateway) injectScript(resp *http.Response) error {
	if !strings.HasPrefix(strings.ToLower(resp.Header.Get("Content-Type")), "text/html") ||
		resp.Header.Get("Content-Encoding") != "" || resp.Request.Method == http.MethodHead {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxIndex+1))
	_ = resp.Body.Close()
	if err != nil {
		return fmt.Errorf("reading index.html: %w", err)
	}
	if len(body) <= maxIndex {
		body = insertTag(body, g.inject)
	}
	resp.Header.Del("ETag")
	resp.Header.Del("Last-Modified")
	resp.Header.Set("Cache-Control", "no-cache")
	setBody(resp, body)
	return nil
}

// insertTag puts tag before </head>, or at the start when there is none.
func insertTag(page, tag []byte) []byte {
	i := bytes.Index(bytes.ToLower(page), []byte("</head>"))
	if i < 0 {
		i = 0
	}
	out := make([]byte, 0, len(page)+len(tag))
	out = append(out, page[:i]...)
	out = append(out, tag...)
	return append(out, page[i:]...)
}

// noteQuickConnect reads a Quick Connect request Jellyfin opened, linking
// its secret to its code.
func (g *Gateway) noteQuickConnect(resp *http.Response) error {
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if err != nil {
		return fmt.Errorf("reading Quick Connect answer: %w", err)
	}
	if bytes.Contains(body, tokenKey) {
		return &withheldError{status: http.StatusBadGateway, body: jellyfinError}
	}
	var qc struct{ Secret, Code string }
	if json.Unmarshal(body, &qc) == nil {
		g.signin.NoteQuickConnect(resp.Request.Context(), qc.Secret, qc.Code)
	}
	setBody(resp, body)
	return nil
}

// queryValue returns the first value of key (case-insensitive, as ASP.NET
// reads query keys).
func queryValue(rawQuery, key string) string {
	for _, pair := range strings.Split(rawQuery, "&") {
		k, v, _ := strings.Cut(pair, "=")
		if k, err := url.QueryUnescape(k); err == nil && strings.EqualFold(k, key) {
			v, _ = url.QueryUnescape(v)
			return v
		}
	}
	return ""
}

// setBody replaces resp's body with body, sized.
func setBody(resp *http.Response, body []byte) {
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	resp.TransferEncoding = nil
}
