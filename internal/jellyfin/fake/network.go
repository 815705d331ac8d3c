package fake

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// peer is the client as seen after ForwardedHeadersMiddleware (§8).
type peer struct {
	ip     netip.Addr // normalised: IPv4-mapped IPv6 becomes IPv4
	scheme string
	host   string
}

// forwardedPeer applies UseForwardedHeaders as Jellyfin configures it (§8):
// nothing unless KnownProxies is non-empty; then X-Forwarded-For, -Proto and
// -Host are walked from the right while the sender is trusted (a configured
// proxy, or ASP.NET's defaults 127.0.0.0/8 and ::1), with no hop limit.
func forwardedPeer(r *http.Request, cfg *NetworkConfig) peer {
	p := peer{ip: remoteAddr(r), scheme: "http", host: r.Host}
	if r.TLS != nil {
		p.scheme = "https"
	}
	known := knownProxies(cfg)
	if len(known) == 0 {
		p.ip = p.ip.Unmap()
		return p
	}
	walkForwarded(r.Header, known, &p)
	p.ip = p.ip.Unmap()
	return p
}

// walkForwarded is ForwardedHeadersMiddleware.ApplyForwarders.
func walkForwarded(h http.Header, known []netip.Prefix, p *peer) {
	xff := headerList(h, "X-Forwarded-For")
	xfp := headerList(h, "X-Forwarded-Proto")
	xfh := headerList(h, "X-Forwarded-Host")
	n := max(len(xff), len(xfp), len(xfh))
	for i := 0; i < n; i++ {
		if p.ip.IsValid() && !isKnownProxy(p.ip, known) {
			return
		}
		if i < len(xff) {
			ip, ok := parseEndpointIP(xff[len(xff)-1-i])
			if !ok {
				return
			}
			p.ip = ip
		}
		if i < len(xfp) && validScheme(xfp[len(xfp)-1-i]) {
			p.scheme = xfp[len(xfp)-1-i]
		}
		if i < len(xfh) && xfh[len(xfh)-1-i] != "" {
			p.host = xfh[len(xfh)-1-i]
		}
	}
}

// remoteAddr is Connection.RemoteIpAddress.
func remoteAddr(r *http.Request) netip.Addr {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr()
	}
	ip, _ := netip.ParseAddr(r.RemoteAddr)
	return ip
}

// localAddr is Connection.LocalIpAddress, when the server knows it.
func localAddr(r *http.Request) (netip.Addr, bool) {
	a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return netip.Addr{}, false
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr(), true
}

// headerList splits comma-separated header values, dropping empty entries.
func headerList(h http.Header, name string) []string {
	var out []string
	for _, v := range h.Values(name) {
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// parseEndpointIP is IPEndPoint.TryParse: an address with an optional port,
// IPv6 optionally in brackets.
func parseEndpointIP(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr(), true
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	ip, err := netip.ParseAddr(s)
	return ip, err == nil
}

func validScheme(s string) bool {
	if s == "" || !isASCIILetter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isASCIILetter(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// knownProxies is AddProxyAddresses: IPs and CIDRs from KnownProxies (only
// of an enabled address family; "localhost" stands in for host names, which
// the emulator does not resolve), plus ASP.NET's loopback defaults. Empty
// when KnownProxies is empty, because forwarded headers are then off.
func knownProxies(cfg *NetworkConfig) []netip.Prefix {
	if len(cfg.KnownProxies) == 0 {
		return nil
	}
	out := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, entry := range cfg.KnownProxies {
		for _, pfx := range parseNetworkEntry(strings.TrimSpace(entry)) {
			if pfx.Addr().Is4() && cfg.EnableIPv4 || pfx.Addr().Is6() && cfg.EnableIPv6 {
				out = append(out, pfx)
			}
		}
	}
	return out
}

// parseNetworkEntry reads an IP, a CIDR or "localhost".
func parseNetworkEntry(s string) []netip.Prefix {
	if strings.EqualFold(s, "localhost") {
		return []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}
	}
	if ip, err := netip.ParseAddr(s); err == nil {
		ip = ip.Unmap()
		return []netip.Prefix{netip.PrefixFrom(ip, ip.BitLen())}
	}
	if pfx, err := netip.ParsePrefix(s); err == nil {
		if pfx.Addr().Is4In6() {
			pfx = netip.PrefixFrom(pfx.Addr().Unmap(), pfx.Bits()-96)
		}
		return []netip.Prefix{pfx.Masked()}
	}
	return nil
}

func isKnownProxy(ip netip.Addr, known []netip.Prefix) bool {
	if ip.Is4In6() && isKnownProxy(ip.Unmap(), known) {
		return true
	}
	for _, p := range known {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// fallbackLAN is the LAN when LocalNetworkSubnets lists none (§7).
var (
	fallbackLAN4 = []netip.Prefix{
		netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("192.168.0.0/16"),
	}
	fallbackLAN6 = []netip.Prefix{
		netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("fe80::/10"),
		netip.MustParsePrefix("fc00::/7"),
	}
)

// isInLocalNetwork is NetworkManager.IsInLocalNetwork: loopback always; then
// the configured subnets (or the fallback) minus "!" exclusions.
func isInLocalNetwork(ip netip.Addr, cfg *NetworkConfig) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() {
		return true
	}
	lan, excluded := lanSubnets(cfg)
	for _, p := range lan {
		if p.Contains(ip) {
			return !anyContains(excluded, ip)
		}
	}
	return false
}

// lanSubnets is NetworkManager.InitializeLan.
func lanSubnets(cfg *NetworkConfig) (lan, excluded []netip.Prefix) {
	for _, entry := range cfg.LocalNetworkSubnets {
		entry = strings.TrimSpace(entry)
		if rest, ok := strings.CutPrefix(entry, "!"); ok {
			excluded = append(excluded, parseNetworkEntry(rest)...)
			continue
		}
		lan = append(lan, parseNetworkEntry(entry)...)
	}
	if len(lan) > 0 {
		return lan, excluded
	}
	if cfg.EnableIPv6 {
		lan = append(lan, fallbackLAN6...)
	}
	if cfg.EnableIPv4 {
		lan = append(lan, fallbackLAN4...)
	}
	return lan, excluded
}

func anyContains(list []netip.Prefix, ip netip.Addr) bool {
	for _, p := range list {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// accessPolicy is NetworkManager.ShouldAllowServerAccess (§7): "" means
// allowed, otherwise the RemoteAccessPolicyResult name.
func accessPolicy(ip netip.Addr, cfg *NetworkConfig) string {
	if isInLocalNetwork(ip, cfg) {
		return ""
	}
	if !cfg.EnableRemoteAccess {
		return "RejectDueToRemoteAccessDisabled"
	}
	var filter []netip.Prefix
	for _, e := range cfg.RemoteIPFilter {
		filter = append(filter, parseNetworkEntry(strings.TrimSpace(e))...)
	}
	if len(filter) == 0 {
		return ""
	}
	match := anyContains(filter, ip.Unmap())
	switch {
	case cfg.IsRemoteIPFilterBlacklist && match:
		return "RejectDueToIPBlocklist"
	case !cfg.IsRemoteIPFilterBlacklist && !match:
		return "RejectDueToNotAllowlistedRemoteIP"
	}
	return ""
}

// ipText is the normalised client IP as Jellyfin prints it (no port).
func ipText(ip netip.Addr) string {
	if !ip.IsValid() {
		return "127.0.0.1"
	}
	return ip.Unmap().String()
}
