package gateway

import (
	"net"
	"net/http"
	"net/netip"
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
		if !l.g.gate.BannedOrListed(peer) {
			return c, nil
		}
		_ = c.Close()
	}
}

// refuseBanned answers a banned, blocked or (with allow_only) unlisted
// client with a fast 403 that never reaches Jellyfin.
func (g *Gateway) refuseBanned(w http.ResponseWriter, sc *scope) bool {
	if !g.gate.Refused(sc.client) {
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
	ok, why := g.gate.UserAllowed(sc.identity.UserID, sc.identity.IsAdmin, sc.client)
	if ok {
		return false
	}
	g.log.Info("refused a session outside its networks", "user", sc.identity.UserName, "ip", sc.client, "why", why)
	w.WriteHeader(http.StatusForbidden)
	return true
}
