package config

import (
	"net/netip"
	"testing"
)

func TestNetworksContains(t *testing.T) {
	n := Networks{netip.MustParsePrefix("192.168.1.0/24"), netip.MustParsePrefix("2001:db8::/32")}
	for addr, want := range map[string]bool{
		"192.168.1.7": true, "::ffff:192.168.1.7": true, "192.168.2.1": false, "2001:db8::1": true, "2001:db9::1": false,
	} {
		if got := n.Contains(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Contains(%s) = %v, want %v", addr, got, want)
		}
	}
	if (Networks(nil)).Contains(netip.MustParseAddr("127.0.0.1")) {
		t.Error("an empty list contains nothing")
	}
}

func TestLANBypassMayNameTheLAN(t *testing.T) {
	cfg := Default()
	cfg.Upstream, cfg.Data = "http://127.0.0.1:8096", t.TempDir()
	cfg.Shield.LAN = []string{"192.168.1.0/24"}
	cfg.TwoFactor.LANBypass = []string{"LAN", "10.8.0.0/24"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{"192.168.1.9": true, "10.8.0.3": true, "172.16.0.1": false} {
		if got := cfg.BypassNetworks.Contains(netip.MustParseAddr(addr)); got != want {
			t.Errorf("bypass contains %s = %v, want %v", addr, got, want)
		}
	}
	if cfg.LAN.Contains(netip.MustParseAddr("10.8.0.3")) {
		t.Error("the bypass list grew the LAN")
	}
}
