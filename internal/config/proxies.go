package config

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// presetCloudflare is the trusted_proxies entry that stands for every
// address Cloudflare forwards from, so tunnel and proxy users need not copy
// the list by hand.
const presetCloudflare = "cloudflare"

// cloudflareRanges are Cloudflare's published ranges
// (https://www.cloudflare.com/ips-v4 and /ips-v6).
var cloudflareRanges = mustPrefixes(
	"173.245.48.0/20", "103.21.244.0/22", "103.22.200.0/22", "103.31.4.0/22",
	"141.101.64.0/18", "108.162.192.0/18", "190.93.240.0/20", "188.114.96.0/20",
	"197.234.240.0/22", "198.41.128.0/17", "162.158.0.0/15", "104.16.0.0/13",
	"104.24.0.0/14", "172.64.0.0/13", "131.0.72.0/22",
	"2400:cb00::/32", "2606:4700::/32", "2803:f800::/32", "2405:b500::/32",
	"2405:8100::/32", "2a06:98c0::/29", "2c0f:f248::/32",
)

func mustPrefixes(cidrs ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(cidrs))
	for i, c := range cidrs {
		out[i] = netip.MustParsePrefix(c)
	}
	return out
}

// parseTrustedProxy reads one trusted_proxies entry: an IP address (a
// single-address prefix), a CIDR (masked to its network, so "10.1.2.3/8"
// means 10.0.0.0/8), or the preset "cloudflare" in any case. IPv4-mapped
// IPv6 forms are unmapped so they match the IPv4 peers the server sees.
func parseTrustedProxy(entry string) ([]netip.Prefix, error) {
	s := strings.TrimSpace(entry)
	if strings.EqualFold(s, presetCloudflare) {
		return slices.Clone(cloudflareRanges), nil
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, notAddress(entry)
		}
		return []netip.Prefix{unmapPrefix(p.Masked())}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return nil, notAddress(entry)
	}
	a = a.Unmap().WithZone("")
	return []netip.Prefix{netip.PrefixFrom(a, a.BitLen())}, nil
}

func notAddress(entry string) error {
	return fmt.Errorf("%q is not an IP address or CIDR", entry)
}

// unmapPrefix turns ::ffff:10.0.0.0/104 into 10.0.0.0/8.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if !p.Addr().Is4In6() || p.Bits() < 96 {
		return p
	}
	return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
}

// appendNew appends the prefixes not already in list, so listing an address
// twice (or the preset and one of its ranges) does no harm.
func appendNew(list []netip.Prefix, prefixes ...netip.Prefix) []netip.Prefix {
	for _, p := range prefixes {
		if !slices.Contains(list, p) {
			list = append(list, p)
		}
	}
	return list
}
