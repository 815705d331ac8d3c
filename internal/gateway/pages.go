package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
)

// newPages returns the handler for the gateway's own routes under
// <base>/jellyguard/. Later issues add the sign-in pages and the admin API;
// for now it answers a health check and a landing page.
func (g *Gateway) newPages() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /jellyguard/health", g.health)
	mux.HandleFunc("GET /jellyguard/{$}", g.landing)
	limit := int64(g.cfg.Limits.GatewayBody)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setPageHeaders(w.Header())
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		sc := scopeFrom(r.Context())
		r2 := r.Clone(r.Context())
		r2.URL.Path = gatewayPath(sc.route.Path)
		r2.URL.RawPath = ""
		mux.ServeHTTP(w, r2)
	})
}

// gatewayPath turns the normalised route path (BaseUrl already cut) into the
// mux path: "/jellyguard" → "/jellyguard/".
func gatewayPath(p string) string {
	if !strings.HasSuffix(p, "/") && strings.Count(p, "/") == 1 {
		return p + "/"
	}
	return p
}

// setPageHeaders applies the rules every gateway page follows: strict CSP,
// no framing, no sniffing, no referrer leaks, no caching.
func setPageHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

func (g *Gateway) health(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"status": "ok", "version": Version})
}

func (g *Gateway) landing(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">` +
		`<meta name="viewport" content="width=device-width, initial-scale=1"><title>jellyguard</title></head>` +
		`<body><h1>jellyguard</h1><p>This Jellyfin server is protected by jellyguard ` + Version + `.</p>` +
		`<p><a href="../web/">Open Jellyfin</a></p></body></html>`))
}
