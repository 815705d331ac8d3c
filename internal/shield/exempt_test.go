package shield

import (
	"net/netip"
	"testing"

	"github.com/jellyguard/jellyguard/internal/config"
)

// TestExemptByNamesTheRule: every exempt address is attributed to the key
// that exempts it, in the order the keys are documented, and the shield
// exempts exactly the addresses ExemptBy names a rule for.
func TestExemptByNamesTheRule(t *testing.T) {
	var cfg *config.Config
	s, _, _ := newShield(t, func(c *config.Config) {
		c.TrustedProxies = []string{"10.0.0.1"}
		c.Shield.LAN = []string{"192.168.1.0/24"}
		c.TwoFactor.LANBypass = []string{"lan", "172.16.0.0/12"}
		c.Shield.Exempt = []string{"198.51.100.0/24", "2001:db8:1::/48"}
		cfg = c
	})
	for addr, want := range map[string]ExemptRule{
		"10.0.0.1":             {Key: "trusted_proxies", Network: netip.MustParsePrefix("10.0.0.1/32")},
		"::ffff:10.0.0.1":      {Key: "trusted_proxies", Network: netip.MustParsePrefix("10.0.0.1/32")},
		"192.168.1.20":         {Key: "shield.lan", Network: netip.MustParsePrefix("192.168.1.0/24")},
		"172.20.3.4":           {Key: "two_factor.lan_bypass", Network: netip.MustParsePrefix("172.16.0.0/12")},
		"198.51.100.9":         {Key: "shield.exempt", Network: netip.MustParsePrefix("198.51.100.0/24")},
		"2001:db8:1:2::7":      {Key: "shield.exempt", Network: netip.MustParsePrefix("2001:db8:1::/48")},
		"203.0.113.7":          {},
		"2001:db8:2::1":        {},
		"10.0.0.2":             {},
		"192.168.2.1":          {},
		"::ffff:198.51.101.10": {},
	} {
		a := netip.MustParseAddr(addr)
		got, ok := ExemptBy(cfg, a)
		if got != want || ok != (want.Key != "") {
			t.Errorf("ExemptBy(%s) = %+v, %v; want %+v", addr, got, ok, want)
		}
		if s.Exempt(a) != ok {
			t.Errorf("%s: Shield.Exempt says %v, ExemptBy %v", addr, s.Exempt(a), ok)
		}
	}
}
