package shield

import (
	"net/netip"

	"github.com/jellyguard/jellyguard/internal/config"
)

// ExemptRule names the setting that keeps an address from being banned or
// throttled, so that an administrator whose ban is refused learns which key
// to change rather than only that the address is special.
type ExemptRule struct {
	// Key is the configuration key: "trusted_proxies", "shield.lan",
	// "two_factor.lan_bypass" or "shield.exempt".
	Key string
	// Network is the entry of that key that covers the address.
	Network netip.Prefix
}

// ExemptBy returns the rule under which the shield built from cfg never
// bans nor throttles a: the first of trusted_proxies, shield.lan,
// two_factor.lan_bypass and shield.exempt that covers it. These are the
// networks New exempts, so ok is what Shield.Exempt answers.
func ExemptBy(cfg *config.Config, a netip.Addr) (_ ExemptRule, ok bool) {
	a = a.Unmap()
	for _, r := range []struct {
		key  string
		nets []netip.Prefix
	}{
		{"trusted_proxies", cfg.TrustedPrefixes},
		{"shield.lan", cfg.LAN},
		{"two_factor.lan_bypass", cfg.BypassNetworks},
		{"shield.exempt", cfg.Exempt},
	} {
		for _, p := range r.nets {
			if p.Contains(a) {
				return ExemptRule{Key: r.key, Network: p}, true
			}
		}
	}
	return ExemptRule{}, false
}
