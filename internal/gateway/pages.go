package gateway

import (
	"encoding/json"
	"net/http"

	"github.com/jellyguard/jellyguard/internal/device"
	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/signin"
	"github.com/jellyguard/jellyguard/internal/web"
)

// newPages returns the handler for the gateway's own routes under
// <base>/jellyguard/: a health check, and the sign-in, challenge and Setup
// pages with their API.
func (g *Gateway) newPages() http.Handler {
	site := web.Handler(g.signin, web.Options{
		BasePath: g.cfg.BaseURL, Issuer: g.cfg.TwoFactor.Issuer, ClientFrom: g.webClient,
		ChallengeCookie: signin.ChallengeCookie, Logger: g.log, TrustDays: g.cfg.TwoFactor.TrustDays,
	})
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

// webClient tells the pages who is asking, as the pipeline found out.
func (g *Gateway) webClient(r *http.Request) web.Client {
	sc := scopeFrom(r.Context())
	c := web.Client{IP: sc.client, HTTPS: sc.proto == "https", UserAgent: r.UserAgent()}
	if sc.hasToken {
		c.Session = sc.identity
		c.DeviceID = jellyfin.ParseRequest(r.Header, "", g.dialect).DeviceID
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
