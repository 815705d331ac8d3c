package config

import "net/netip"

// Networks is a list of networks an address is checked against: the LAN,
// the networks that skip the second factor, the exempt networks. One type,
// so "is this address in it" is answered one way everywhere.
type Networks []netip.Prefix

// Contains reports whether a (IPv4-mapped IPv6 counting as IPv4) is in one
// of the networks.
func (n Networks) Contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range n {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// lanWord in two_factor.lan_bypass stands for shield.lan: the LAN is
// named once, and the bypass can say "the LAN" instead of repeating it.
const lanWord = "lan"
