package config

import (
	"strings"
	"testing"
)

func TestTwoFactorValidation(t *testing.T) {
	cases := map[string]struct {
		mod  func(*TwoFactorConfig)
		want string
	}{
		"require":  {func(t *TwoFactorConfig) { t.Require = "some" }, `two_factor.require: "some" must be none, admins or all`},
		"trust":    {func(t *TwoFactorConfig) { t.TrustDays = 91 }, "two_factor.trust_days: must be 1 to 90 (got 91)"},
		"attempts": {func(t *TwoFactorConfig) { t.ChallengeAttempts = 0 }, "two_factor.challenge_attempts: must be 1 to 20"},
		"lan":      {func(t *TwoFactorConfig) { t.LANBypass = []string{"10.0.0.0/8", "cloudflare"} }, `two_factor.lan_bypass[1]: "cloudflare" is not an IP address or CIDR`},
		"issuer":   {func(t *TwoFactorConfig) { t.Issuer = "a:b" }, "two_factor.issuer"},
		"ttl":      {func(t *TwoFactorConfig) { t.ChallengeTTL = 0 }, "two_factor.challenge_ttl: must be greater than 0"},
		"open":     {func(t *TwoFactorConfig) { t.MaxOpenChallenges = 21 }, "two_factor.max_open_challenges: must be 1 to 20"},
		"negative": {func(t *TwoFactorConfig) { t.GracePeriod = -1 }, "two_factor.grace_period: must not be negative"},
	}
	for name, c := range cases {
		cfg := Default()
		c.mod(&cfg.TwoFactor)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", name, err, c.want)
		}
	}
	cfg := Default()
	cfg.TwoFactor.Require = "ALL"
	cfg.TwoFactor.LANBypass = []string{"192.168.0.0/16", "::ffff:10.1.2.3"}
	if err := cfg.Validate(); err != nil || cfg.TwoFactor.Require != "all" || len(cfg.BypassNetworks) != 2 || !cfg.BypassNetworks[1].Addr().Is4() {
		t.Fatalf("valid: %v %+v %v", err, cfg.TwoFactor, cfg.BypassNetworks)
	}
}
