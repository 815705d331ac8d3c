package gateway

import (
	"encoding/json"
	"net/http"

	"github.com/jellyguard/jellyguard/internal/device"
	"github.com/jellyguard/jellyguard/internal/web"
)

// newPages returns the handler for the gateway's own routes under
// <base>/jellyguard/: a health check, and the pages with their API.
func (g *Gateway) newPages(site http.Handler) http.Handler {
	limit := int64(g.cfg.Limits.GatewayBody)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if sc := scopeFrom(r.Context()); sc.route.Path == "/jellyguard/health" && r.Method == http.MethodGet {
			g.health(w, r)
			return
		}
		site.ServeHTTP(w, r)
	})
}

// WebClient tells the pages who is asking, as the pipeline found out: the
// client address, the scheme, and the session it checked.
func WebClient(r *http.Request) web.Client {
	sc := scopeFrom(r.Context())
	if sc == nil {
		return web.Client{UserAgent: r.UserAgent()}
	}
	c := web.Client{IP: sc.client, HTTPS: sc.proto == "https", UserAgent: r.UserAgent(), DeviceID: sc.deviceID}
	if sc.hasToken {
		c.Session = sc.identity
	}
	if ck, err := r.Cookie(device.CookieName); err == nil {
		c.TrustCookie = ck.Value
	}
	return c
}

func (g *Gateway) health(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]string{"status": "ok", "version": Version})
}
