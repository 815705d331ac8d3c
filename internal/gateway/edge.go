package gateway

import (
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/shield"
	"github.com/jellyguard/jellyguard/internal/tokens"
)

// recentSessions remembers the addresses (IPv6 per /64) where a signed-in
// session was active, so that the apps that fetch images and streams
// without a token (Swiftfin, Findroid, Android TV, every <img>) keep
// working when media is protected.
type recentSessions struct {
	shards [16]struct {
		mu sync.Mutex
		m  map[netip.Prefix]time.Time
	}
}

func newRecentSessions() *recentSessions {
	r := &recentSessions{}
	for i := range r.shards {
		r.shards[i].m = map[netip.Prefix]time.Time{}
	}
	return r
}

func (r *recentSessions) shard(k netip.Prefix) int {
	b := k.Addr().As16()
	return int(b[15]^b[7]) & 15
}

// touch notes activity at a, writing at most once a minute per address.
func (r *recentSessions) touch(a netip.Addr, now time.Time) {
	k := shield.Key(a)
	s := &r.shards[r.shard(k)]
	s.mu.Lock()
	if now.Sub(s.m[k]) > time.Minute {
		s.m[k] = now
		if len(s.m) > 50000 {
			for key, at := range s.m {
				if now.Sub(at) > 24*time.Hour {
					delete(s.m, key)
				}
			}
		}
	}
	s.mu.Unlock()
}

func (r *recentSessions) active(a netip.Addr, now time.Time, window time.Duration) bool {
	k := shield.Key(a)
	s := &r.shards[r.shard(k)]
	s.mu.Lock()
	at, ok := s.m[k]
	s.mu.Unlock()
	return ok && now.Sub(at) < window
}

// onLAN reports whether the client is in shield.lan.
func (g *Gateway) onLAN(a netip.Addr) bool { return g.gate.OnLAN(a) }

// signedIn reports whether the request carries a session or key the
// gateway accepts (not merely a token Jellyfin will reject).
func signedIn(sc *scope) bool {
	return sc.hasToken && (sc.identity.Status == tokens.Active || sc.identity.Status == tokens.APIKey)
}

// edge applies the policy for Jellyfin's anonymous routes. It answers the
// client itself and returns true when the request must not go on.
func (g *Gateway) edge(w http.ResponseWriter, sc *scope) bool {
	now := time.Now()
	if sc.hasToken && sc.identity.Status == tokens.Active {
		g.recent.touch(sc.client, now)
	}
	switch {
	case sc.route.Class == jellyfin.ClassLocalOnly && !signedIn(sc) && !g.onLAN(sc.client):
		// Jellyfin lets LAN callers restart it with no token; if its Known
		// proxies are wrong everyone looks local, so refuse it from outside.
		g.log.Warn("refused a LAN-only route from outside", "path", sc.route.Path, "ip", sc.client)
		w.WriteHeader(http.StatusForbidden)
		return true
	case sc.route.Class == jellyfin.ClassMedia && g.cfg.Shield.ProtectMedia && !signedIn(sc) &&
		!g.recent.active(sc.client, now, g.cfg.Shield.MediaWindow) && !g.onLAN(sc.client):
		w.WriteHeader(http.StatusForbidden)
		return true
	case sc.route.Class == jellyfin.ClassAnonymous && sc.route.Path == "/users/public" &&
		g.cfg.Shield.HidePublicUsers && !g.onLAN(sc.client):
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write([]byte("[]"))
		return true
	}
	return false
}
