package fake

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

// remoteEndPoint logs in with extra headers and returns the session's
// RemoteEndPoint.
func (e *env) remoteEndPoint(extra ...string) string {
	e.t.Helper()
	h := clientHeader("xff-dev", "")
	for _, l := range extra {
		k, v := splitHeaderLine(l)
		h.Add(k, v)
	}
	var res struct {
		SessionInfo struct{ RemoteEndPoint string }
	}
	r := e.do("POST", "/Users/AuthenticateByName", h, loginJSON("alice", "pw"))
	r.json(e.t, &res)
	return res.SessionInfo.RemoteEndPoint
}

// TestForwardedFor_Section8: X-Forwarded-For is honoured only with
// KnownProxies set, walked from the right while the sender is trusted.
func TestForwardedFor_Section8(t *testing.T) {
	cases := []struct {
		name    string
		proxies []string
		xff     []string
		want    string
	}{
		{"no known proxies: ignored", nil, []string{"X-Forwarded-For: 203.0.113.7"}, "127.0.0.1"},
		{"loopback trusted once proxies are set", []string{"10.9.9.9"}, []string{"X-Forwarded-For: 203.0.113.7"}, "203.0.113.7"},
		{"rightmost untrusted entry", []string{"127.0.0.1"}, []string{"X-Forwarded-For: 198.51.100.1, 203.0.113.7"}, "203.0.113.7"},
		{"walks through trusted hops", []string{"127.0.0.1", "10.0.0.0/8"}, []string{"X-Forwarded-For: 198.51.100.1, 203.0.113.7, 10.0.0.5"}, "203.0.113.7"},
		{"multiple header lines", []string{"127.0.0.1", "10.0.0.5"}, []string{"X-Forwarded-For: 198.51.100.1", "X-Forwarded-For: 10.0.0.5"}, "198.51.100.1"},
		{"port is dropped", []string{"127.0.0.1"}, []string{"X-Forwarded-For: 203.0.113.7:4444"}, "203.0.113.7"},
		{"ipv4-mapped becomes ipv4", []string{"127.0.0.1"}, []string{"X-Forwarded-For: ::ffff:203.0.113.7"}, "203.0.113.7"},
		{"unparsable stops the walk", []string{"127.0.0.1"}, []string{"X-Forwarded-For: 203.0.113.7, garbage"}, "127.0.0.1"},
		{"ipv6 proxies ignored while IPv6 is off", []string{"::1"}, []string{"X-Forwarded-For: 203.0.113.7"}, "203.0.113.7"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			e.s.AddUser("alice", "pw", false)
			e.s.UpdateNetwork(func(n *NetworkConfig) { n.KnownProxies = tc.proxies })
			if got := e.remoteEndPoint(tc.xff...); got != tc.want {
				t.Fatalf("RemoteEndPoint %q, want %q", got, tc.want)
			}
		})
	}
}

// TestForwardedWalkUnit_Section8 checks the trust rule on a peer that is
// not loopback.
func TestForwardedWalkUnit_Section8(t *testing.T) {
	cfg := defaultNetworkConfig()
	cfg.KnownProxies = []string{"192.0.2.10"}
	r, _ := http.NewRequest("GET", "http://x/", nil)
	r.RemoteAddr = "192.0.2.99:1234"
	r.Header.Set("X-Forwarded-For", "203.0.113.7")
	if p := forwardedPeer(r, &cfg); p.ip != netip.MustParseAddr("192.0.2.99") {
		t.Fatalf("untrusted peer's XFF used: %v", p.ip)
	}
	r.RemoteAddr = "192.0.2.10:1234"
	r.Header.Set("X-Forwarded-Proto", "https")
	p := forwardedPeer(r, &cfg)
	if p.ip != netip.MustParseAddr("203.0.113.7") || p.scheme != "https" {
		t.Fatalf("trusted peer: %+v", p)
	}
}

// TestLocalNetwork_Section7: the default LAN is RFC 1918 plus loopback;
// configured subnets replace it; "!" excludes.
func TestLocalNetwork_Section7(t *testing.T) {
	cfg := defaultNetworkConfig()
	for ip, want := range map[string]bool{"10.1.2.3": true, "172.20.0.1": true, "192.168.1.1": true,
		"127.0.0.5": true, "::1": true, "203.0.113.7": false, "172.32.0.1": false, "fd00::1": false} {
		if got := isInLocalNetwork(netip.MustParseAddr(ip), &cfg); got != want {
			t.Errorf("default LAN %s = %v", ip, got)
		}
	}
	cfg.EnableIPv6 = true
	if !isInLocalNetwork(netip.MustParseAddr("fd00::1"), &cfg) {
		t.Error("ULA is LAN when IPv6 is on")
	}
	cfg.LocalNetworkSubnets = []string{"203.0.113.0/24", "!203.0.113.9"}
	if !isInLocalNetwork(netip.MustParseAddr("203.0.113.7"), &cfg) || isInLocalNetwork(netip.MustParseAddr("203.0.113.9"), &cfg) ||
		isInLocalNetwork(netip.MustParseAddr("10.0.0.1"), &cfg) {
		t.Error("configured subnets and exclusions")
	}
}

// TestRemoteAccessAndFilter_Section7: EnableRemoteAccess=false and the IP
// filter give non-LAN clients 503 with an empty body, after authorization
// and not for /web files.
func TestRemoteAccessAndFilter_Section7(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.UpdateNetwork(func(n *NetworkConfig) { n.KnownProxies = []string{"127.0.0.1"} })
	remote := hdr("X-Forwarded-For: 203.0.113.7")
	e.s.UpdateNetwork(func(n *NetworkConfig) { n.EnableRemoteAccess = false })
	if r := e.do("GET", "/System/Info/Public", remote, ""); r.status != 503 || len(r.body) != 0 {
		t.Fatalf("remote access off: %d %q", r.status, r.body)
	}
	if r := e.do("GET", "/System/Info", remote, ""); r.status != 401 {
		t.Fatalf("authorization runs before the filter: %d", r.status)
	}
	if r := e.do("GET", "/web/index.html", remote, ""); r.status != 200 {
		t.Fatalf("static files run before the filter: %d", r.status)
	}
	if r := e.do("GET", "/System/Info/Public", nil, ""); r.status != 200 {
		t.Fatalf("LAN client: %d", r.status)
	}
	if !strings.Contains(e.log.String(), "[WRN]") || !strings.Contains(e.log.String(), "reason: RejectDueToRemoteAccessDisabled") {
		t.Fatalf("missing block line:\n%s", e.log.String())
	}
	e.s.UpdateNetwork(func(n *NetworkConfig) {
		n.EnableRemoteAccess = true
		n.RemoteIPFilter = []string{"203.0.113.0/24"}
		n.IsRemoteIPFilterBlacklist = true
	})
	if r := e.do("GET", "/System/Info/Public", remote, ""); r.status != 503 {
		t.Fatalf("blocklisted: %d", r.status)
	}
	e.s.UpdateNetwork(func(n *NetworkConfig) { n.IsRemoteIPFilterBlacklist = false })
	if r := e.do("GET", "/System/Info/Public", remote, ""); r.status != 200 {
		t.Fatalf("allowlisted: %d", r.status)
	}
	if r := e.do("GET", "/System/Info/Public", hdr("X-Forwarded-For: 198.51.100.1"), ""); r.status != 503 {
		t.Fatalf("not allowlisted: %d", r.status)
	}
}

// TestUserRemoteAccessOnAPI_Section2_6: a user without EnableRemoteAccess
// gets 403 on [Authorize] endpoints from outside the LAN.
func TestUserRemoteAccessOnAPI_Section2_6(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddUser("remy", "pw", false)
	tok := e.login("remy", "pw", "d")
	_ = e.s.UpdatePolicy("remy", func(p *Policy) { p.EnableRemoteAccess = false })
	e.s.UpdateNetwork(func(n *NetworkConfig) { n.KnownProxies = []string{"127.0.0.1"} })
	h := tokenHeader(tok)
	h.Set("X-Forwarded-For", "203.0.113.7")
	if r := e.do("GET", "/Users/Me", h, ""); r.status != 403 {
		t.Fatalf("remote: %d", r.status)
	}
	if r := e.do("GET", "/Users/Me", tokenHeader(tok), ""); r.status != 200 {
		t.Fatalf("LAN: %d", r.status)
	}
}

// TestRestartPolicy_Section2_6: POST /System/Restart is allowed from the
// LAN without a token, otherwise only to administrators.
func TestRestartPolicy_Section2_6(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddUser("alice", "pw", false)
	e.s.AddUser("admin", "pw", true)
	alice := e.login("alice", "pw", "a")
	admin := e.login("admin", "pw", "b")
	if r := e.do("POST", "/System/Restart", nil, ""); r.status != 204 {
		t.Fatalf("anonymous from LAN: %d", r.status)
	}
	e.s.UpdateNetwork(func(n *NetworkConfig) { n.KnownProxies = []string{"127.0.0.1"} })
	remote := func(tok string) http.Header {
		h := http.Header{"X-Forwarded-For": {"203.0.113.7"}}
		if tok != "" {
			h.Set("X-Emby-Token", tok)
		}
		return h
	}
	for tok, want := range map[string]int{"": 401, alice: 403, admin: 204} {
		if r := e.do("POST", "/System/Restart", remote(tok), ""); r.status != want {
			t.Errorf("remote restart with %q: %d, want %d", tok, r.status, want)
		}
	}
}
