package gateway

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// prefixSet is a small set of trusted proxy prefixes. Deployments list a
// handful (or Cloudflare's ~20), so a linear scan beats a trie here.
type prefixSet []netip.Prefix

func newPrefixSet(ps []netip.Prefix) prefixSet { return prefixSet(ps) }

func (s prefixSet) contains(a netip.Addr) bool {
	for _, p := range s {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peerAddr is the TCP peer of r, IPv4-mapped addresses unmapped.
func peerAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err == nil {
		return ap.Addr().Unmap()
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

// clientAddr finds the real client: the TCP peer, unless the peer is a
// trusted proxy, in which case X-Forwarded-For is walked from the right
// through trusted hops and the first untrusted address is the client. An
// attacker can prepend anything to X-Forwarded-For, so nothing left of the
// first untrusted hop is believed. trusted reports whether the peer was a
// trusted proxy (then its X-Forwarded-Proto and -Host are believed too).
func clientAddr(r *http.Request, trusted prefixSet) (client netip.Addr, viaProxy bool) {
	peer := peerAddr(r)
	if len(trusted) == 0 || !trusted.contains(peer) {
		return peer, false
	}
	client = peer
	values := r.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		hops := strings.Split(values[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			a, ok := parseHop(hops[j])
			if !ok {
				return client, true
			}
			client = a
			if !trusted.contains(a) {
				return client, true
			}
		}
	}
	return client, true
}

// parseHop reads one X-Forwarded-For entry: an address, possibly with a
// port or in brackets, as proxies write them.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return a.Unmap(), true
		}
	}
	return netip.Addr{}, false
}

// CountKey is the key under which an address is counted for limits: the
// address itself for IPv4, its /64 for IPv6 (one subscriber usually holds a
// whole /64, so counting single IPv6 addresses counts nothing).
func CountKey(a netip.Addr) string {
	if a.Is4() || !a.IsValid() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// forwardedProto is the scheme the client used.
func forwardedProto(r *http.Request, viaProxy bool) string {
	if viaProxy {
		if p := lastValue(r.Header.Values("X-Forwarded-Proto")); p == "http" || p == "https" {
			return p
		}
	}
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// forwardedHost is the host the client asked for.
func forwardedHost(r *http.Request, viaProxy bool) string {
	if viaProxy {
		if h := lastValue(r.Header.Values("X-Forwarded-Host")); h != "" {
			return h
		}
	}
	return r.Host
}

// lastValue is the right-most comma-separated entry of a header (the one the
// nearest, trusted proxy wrote).
func lastValue(values []string) string {
	if len(values) == 0 {
		return ""
	}
	v := values[len(values)-1]
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return strings.ToLower(strings.TrimSpace(v))
}
