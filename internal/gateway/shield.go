package gateway

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"

	"github.com/jellyguard/jellyguard/internal/audit"
	"github.com/jellyguard/jellyguard/internal/shield"
	"github.com/jellyguard/jellyguard/internal/store"
)

// banListener drops connections from banned addresses at accept, before any
// HTTP is read — when the TCP peer is the client itself. Behind a trusted
// proxy the client is only known from X-Forwarded-For, so the pipeline
// refuses those requests instead.
type banListener struct {
	net.Listener
	g *Gateway
}

func (l *banListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return c, err
		}
		ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
		if err != nil {
			return c, nil
		}
		peer := ap.Addr().Unmap()
		if l.g.trusted.contains(peer) {
			return c, nil
		}
		if !l.g.refused(peer) {
			return c, nil
		}
		_ = c.Close()
	}
}

// refused reports whether a is banned or on a block list (exempt networks
// never are).
func (g *Gateway) refused(a netip.Addr) bool {
	_, banned := g.shield.Banned(a)
	if !banned {
		_, banned = g.blocks.Lookup(a)
	}
	return banned && !g.shield.Exempt(a)
}

// addressRefused reports whether a may not reach Jellyfin at all: banned,
// block-listed, outside allow_only, or in a refused country.
func (g *Gateway) addressRefused(a netip.Addr) bool {
	return g.refused(a) || !g.shield.Reachable(a) ||
		(g.geo.countryRefused(a, shield.Key(a)) && !g.shield.Exempt(a) && !g.onLAN(a))
}

// refuseBanned answers a banned, blocked or (with allow_only) unlisted
// client with a fast 403 that never reaches Jellyfin.
func (g *Gateway) refuseBanned(w http.ResponseWriter, sc *scope) bool {
	if !g.addressRefused(sc.client) {
		return false
	}
	w.Header().Set("Content-Type", "text/plain")
	if !sc.viaProxy {
		// The peer itself is refused: end the connection. Behind a proxy
		// the connection carries other clients too, so it stays open (and
		// the flood costs no new connections).
		w.Header().Set("Connection", "close")
	}
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write([]byte("Forbidden.\n"))
	return true
}

// refuseUserNetwork refuses a request whose session belongs to a user (or
// an administrator) who may not use it from this address.
func (g *Gateway) refuseUserNetwork(w http.ResponseWriter, sc *scope) bool {
	if !sc.hasToken || sc.identity.UserID == "" {
		return false
	}
	ok, why := g.shield.UserAllowed(sc.identity.UserID, sc.identity.IsAdmin, sc.client)
	if ok {
		return false
	}
	g.log.Info("refused a session outside its networks", "user", sc.identity.UserName, "ip", sc.client, "why", why)
	w.WriteHeader(http.StatusForbidden)
	return true
}

func (g *Gateway) auditBan(b store.Ban) {
	g.recordStored(context.Background(), store.AuditEvent{Kind: audit.BanAdded, IP: b.Prefix,
		Detail: fmt.Sprintf("%s ban (level %d) until %s: %s", b.Source, b.Level, formatUntil(b), b.Reason)})
}

// auditWithheldBan records the ban a shared address would have earned, so
// an administrator sees it and can ban it by hand.
func (g *Gateway) auditWithheldBan(p netip.Prefix, reason string) {
	g.recordStored(context.Background(), store.AuditEvent{Kind: audit.BanWithheld, IP: p.String(),
		Detail: "not banned: a shared address where users signed in (" + reason + ")"})
}

func formatUntil(b store.Ban) string {
	if b.ExpiresAt.IsZero() {
		return "lifted"
	}
	return b.ExpiresAt.UTC().Format("2006-01-02 15:04 MST")
}
