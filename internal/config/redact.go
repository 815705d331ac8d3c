package config

import (
	"slices"
)

// redactedMark replaces secrets in output meant for people and logs.
const redactedMark = "********"

// Redacted returns a copy of c that is safe to print (`jellyguard config
// show`) or log: the API key is replaced by "********". The copy shares
// nothing mutable with c.
func (c *Config) Redacted() Config {
	r := *c
	if r.APIKey != "" {
		r.APIKey = redactedMark
	}
	r.TrustedProxies = slices.Clone(c.TrustedProxies)
	r.TrustedPrefixes = slices.Clone(c.TrustedPrefixes)
	r.Warnings = slices.Clone(c.Warnings)
	if c.UpstreamURL != nil {
		u := *c.UpstreamURL
		r.UpstreamURL = &u
	}
	return r
}
