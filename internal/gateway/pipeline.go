package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/netip"

	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/tokens"
)

// scope is the per-request state the pipeline steps share.
type scope struct {
	client   netip.Addr
	clientIP string // client.String(), formatted once
	viaProxy bool
	proto    string
	host     string
	route    jellyfin.Route
	rawQuery string // the query forwarded (token carriers Jellyfin would not use removed)
	// identity is the verdict for the token Jellyfin will use; zero Hash
	// when the request carries none.
	identity tokens.Verdict
	hasToken bool
	deviceID string // the Jellyfin device id the request names (gateway pages)
}

type scopeKey struct{}

func scopeFrom(ctx context.Context) *scope {
	sc, _ := ctx.Value(scopeKey{}).(*scope)
	return sc
}

// ServeHTTP runs the pipeline: client address, route class, token check,
// class handler, proxy.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sc := &scope{rawQuery: r.URL.RawQuery}
	sc.client, sc.viaProxy = clientAddr(r, g.trusted)
	sc.clientIP = sc.client.String()
	g.traffic.observe(sc.client)
	sc.proto = forwardedProto(r, sc.viaProxy)
	sc.host = forwardedHost(r, sc.viaProxy)
	if g.refuseBanned(w, sc) {
		return
	}
	sc.route = jellyfin.Classify(r.Method, r.URL.EscapedPath(), g.cfg.BaseURL)
	if sc.route.Class == jellyfin.ClassGateway {
		// The gateway's pages act for the session the pipeline checked,
		// under the same rules as Jellyfin's routes (tokens in headers
		// only: a page address must not carry one).
		if !g.checkTokens(w, r, sc, "") || g.refuseUserNetwork(w, sc) {
			return
		}
		g.pages.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), scopeKey{}, sc)))
		return
	}
	if !g.checkTokens(w, r, sc, r.URL.RawQuery) {
		return
	}
	if sc.route.Class == jellyfin.ClassQuickConnectAuthorize && !g.mayAuthorizeQuickConnect(w, sc) {
		return
	}
	if g.refuseUserNetwork(w, sc) || g.edge(w, sc) {
		return
	}
	ctx := context.WithValue(r.Context(), scopeKey{}, sc)
	if sc.hasToken {
		var release func()
		ctx, release = g.conns.track(sc.identity.Hash, ctx)
		defer release()
	}
	r = r.WithContext(ctx)
	if sc.route.Class.IsLogin() {
		g.serveLogin(w, r, sc)
		return
	}
	g.proxy.ServeHTTP(w, r)
}

// checkTokens checks every token the request carries (in its headers and
// rawQuery) — a good token beside a revoked one must not smuggle the
// revoked one through — and keeps only the carrier Jellyfin would use. It
// writes the refusal itself and returns false when the request must stop
// here.
func (g *Gateway) checkTokens(w http.ResponseWriter, r *http.Request, sc *scope, rawQuery string) bool {
	carriers := jellyfin.Carriers(r.Header, rawQuery)
	if len(carriers) == 0 {
		return true
	}
	info := jellyfin.ParseRequest(r.Header, rawQuery, g.dialect)
	limitKey := sc.clientIP
	if sc.client.Is6() {
		limitKey = CountKey(sc.client)
	}
	seen := make(map[string]struct{}, len(carriers))
	for _, c := range carriers {
		if _, dup := seen[c.Token]; dup {
			continue
		}
		seen[c.Token] = struct{}{}
		v, err := g.tokens.Check(r.Context(), c.Token, limitKey, sc.clientIP)
		if err != nil {
			g.refuseUnresolved(w, r, sc, v, err)
			return false
		}
		if !v.Status.Passes() {
			g.log.Info("refused a token", "token", v.Hash.Short(), "status", v.Status, "user", v.UserName,
				"ip", sc.client, "carrier", c.Source)
			w.WriteHeader(http.StatusUnauthorized)
			return false
		}
		if c.Token == info.Token {
			sc.identity, sc.hasToken = v, true
		}
	}
	if info.Token != "" && !sc.hasToken {
		// Jellyfin would use a token no carrier listed on its own (a
		// comma-joined repeat): check it too.
		v, err := g.tokens.Check(r.Context(), info.Token, limitKey, sc.clientIP)
		if err != nil || !v.Status.Passes() {
			g.refuseUnresolved(w, r, sc, v, err)
			return false
		}
		sc.identity, sc.hasToken = v, true
	}
	if rawQuery != "" {
		sc.rawQuery = jellyfin.StripOtherCarriers(r.Header, rawQuery, g.dialect)
	}
	sc.deviceID = info.DeviceID
	return true
}

func (g *Gateway) refuseUnresolved(w http.ResponseWriter, r *http.Request, sc *scope, v tokens.Verdict, err error) {
	switch {
	case errors.Is(err, tokens.ErrResolveLimit):
		g.log.Warn("too many unknown tokens", "ip", sc.client)
		w.WriteHeader(http.StatusUnauthorized)
	case err != nil:
		writeUnreachable(w, r, http.StatusServiceUnavailable)
	default:
		g.log.Info("refused a token", "token", v.Hash.Short(), "status", v.Status, "ip", sc.client)
		w.WriteHeader(http.StatusUnauthorized)
	}
}

// mayAuthorizeQuickConnect refuses API keys on /QuickConnect/Authorize:
// Jellyfin lets a key authorise a code for any user, so a leaked Sonarr key
// would mint an administrator session.
func (g *Gateway) mayAuthorizeQuickConnect(w http.ResponseWriter, sc *scope) bool {
	if sc.hasToken && sc.identity.Status == tokens.APIKey {
		g.log.Warn("refused Quick Connect authorisation with an API key", "token", sc.identity.Hash.Short(), "ip", sc.client)
		w.WriteHeader(http.StatusForbidden)
		return false
	}
	return true
}
