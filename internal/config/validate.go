package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Validate checks that every value is well formed and fills the derived
// fields (UpstreamURL, TrustedPrefixes, and APIKey from APIKeyFile). It only
// checks form: whether a command needs an upstream or an API key is for the
// command to decide. Every problem is returned (joined), each naming its key
// and, when known, the file position, variable or flag that set it.
// Non-fatal findings are left in Warnings. Validate may be called again
// after a change; derived fields and Warnings are recomputed.
func (c *Config) Validate() error {
	return errors.Join(c.validate()...)
}

// validator collects the problems of one Validate run.
type validator struct {
	c    *Config
	errs []error
}

func (c *Config) validate() []error {
	c.Warnings = nil
	v := &validator{c: c}
	v.checkUpstream()
	v.checkListen()
	v.checkData()
	v.checkBaseURL()
	v.checkPublicURL()
	v.checkTrustedProxies()
	v.checkJellyfin()
	v.checkTokens()
	v.checkTwoFactor()
	v.checkShield()
	v.checkLimits()
	v.checkLog()
	v.checkAPIKey()
	return v.errs
}

// fail records a problem with key, placed where the key's value was set.
func (v *validator) fail(key string, err error) {
	v.errs = append(v.errs, &problem{where: v.c.origins.lookup(key).where, key: key, err: err})
}

func (v *validator) failf(key, format string, args ...any) {
	v.fail(key, fmt.Errorf(format, args...))
}

func (v *validator) warnf(format string, args ...any) {
	v.c.Warnings = append(v.c.Warnings, fmt.Sprintf(format, args...))
}

func (v *validator) checkUpstream() {
	v.c.UpstreamURL = nil
	if v.c.Upstream == "" {
		return
	}
	u, err := parseHTTPURL(v.c.Upstream)
	if err != nil {
		v.fail("upstream", err)
		return
	}
	v.c.UpstreamURL = u
}

func (v *validator) checkPublicURL() {
	if v.c.PublicURL == "" {
		return
	}
	if _, err := parseHTTPURL(v.c.PublicURL); err != nil {
		v.fail("public_url", err)
	}
}

// parseHTTPURL accepts an absolute http or https URL with a host, and no
// credentials, query or fragment (none of which make sense for a server
// address, and credentials would end up in logs).
func parseHTTPURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a valid URL", s)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%q must start with http:// or https://", u.Redacted())
	case u.Host == "":
		return nil, fmt.Errorf("%q has no host", u.Redacted())
	case u.User != nil:
		return nil, fmt.Errorf("%q must not contain a user name or password", u.Redacted())
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.HasSuffix(s, "#"):
		return nil, fmt.Errorf("%q must not have a query or fragment", u.Redacted())
	}
	return u, nil
}

func (v *validator) checkListen() {
	host, port, err := net.SplitHostPort(v.c.Listen)
	if err != nil || strings.ContainsAny(host, " \t") {
		v.failf("listen", "%q is not host:port (e.g. \":8097\" or \"127.0.0.1:8097\")", v.c.Listen)
		return
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		v.failf("listen", "port %q is not a number from 0 to 65535", port)
	}
}

func (v *validator) checkData() {
	if strings.TrimSpace(v.c.Data) == "" {
		v.failf("data", "must name a directory")
	}
}

// checkBaseURL accepts "" or a path like "/jellyfin" and trims trailing
// slashes, the form the route classifier compares against.
func (v *validator) checkBaseURL() {
	b := v.c.BaseURL
	switch {
	case b == "":
		return
	case !strings.HasPrefix(b, "/"):
		v.failf("base_url", "%q must start with \"/\" (e.g. \"/jellyfin\")", b)
	case strings.ContainsAny(b, "?#"):
		v.failf("base_url", "%q must be a path without \"?\" or \"#\"", b)
	case strings.Contains(b, ".."):
		v.failf("base_url", "%q must not contain \"..\"", b)
	default:
		v.c.BaseURL = strings.TrimRight(b, "/")
	}
}

func (v *validator) checkTrustedProxies() {
	v.c.TrustedPrefixes = nil
	for i, entry := range v.c.TrustedProxies {
		prefixes, err := parseTrustedProxy(entry)
		if err != nil {
			v.fail(fmt.Sprintf("trusted_proxies[%d]", i), err)
			continue
		}
		v.c.TrustedPrefixes = appendNew(v.c.TrustedPrefixes, prefixes...)
	}
}

func (v *validator) checkJellyfin() {
	if p := v.c.Jellyfin.HeaderPrecedence; p != "10.10" && p != "10.11" {
		v.failf("jellyfin.header_precedence", "%q must be \"10.10\" or \"10.11\"", p)
	}
}

func (v *validator) checkTokens() {
	t := v.c.Tokens
	v.positiveDuration("tokens.cache_ttl", t.CacheTTL)
	v.positiveDuration("tokens.negative_cache_ttl", t.NegativeCacheTTL)
	if t.ResolvePerMinute < 1 {
		v.failf("tokens.resolve_per_minute", "must be at least 1 (got %d)", t.ResolvePerMinute)
	}
}

func (v *validator) checkTwoFactor() {
	t := &v.c.TwoFactor
	if t.Issuer != "" && (strings.TrimSpace(t.Issuer) == "" || strings.ContainsAny(t.Issuer, ":")) {
		v.failf("two_factor.issuer", "%q must be a name without ':', or empty for Jellyfin's server name", t.Issuer)
	}
	switch t.Require = strings.ToLower(t.Require); t.Require {
	case "none", "admins", "all":
	default:
		v.failf("two_factor.require", "%q must be none, admins or all", t.Require)
	}
	if t.GracePeriod < 0 {
		v.failf("two_factor.grace_period", "must not be negative (got %s)", t.GracePeriod)
	}
	v.positiveDuration("two_factor.challenge_ttl", t.ChallengeTTL)
	v.positiveDuration("two_factor.device_approval", t.DeviceApproval)
	if t.ChallengeAttempts < 1 || t.ChallengeAttempts > 20 {
		v.failf("two_factor.challenge_attempts", "must be 1 to 20 (got %d)", t.ChallengeAttempts)
	}
	if t.MaxOpenChallenges < 1 || t.MaxOpenChallenges > 20 {
		v.failf("two_factor.max_open_challenges", "must be 1 to 20 (got %d)", t.MaxOpenChallenges)
	}
	if t.TrustDays < 1 || t.TrustDays > 90 {
		v.failf("two_factor.trust_days", "must be 1 to 90 (got %d)", t.TrustDays)
	}
	var cidrs []string
	for _, e := range t.LANBypass {
		if !strings.EqualFold(strings.TrimSpace(e), lanWord) {
			cidrs = append(cidrs, e)
		}
	}
	v.c.BypassNetworks = v.networks("two_factor.lan_bypass", cidrs)
}

func (v *validator) checkShield() {
	s := v.c.Shield
	for key, n := range map[string]int{"shield.logins_per_minute": s.LoginsPerMinute, "shield.user_failures": s.UserFailures,
		"shield.ban_failures": s.BanFailures, "shield.known_address_days": s.KnownAddressDays} {
		if n < 1 {
			v.failf(key, "must be at least 1 (got %d)", n)
		}
	}
	v.positiveDuration("shield.user_window", s.UserWindow)
	v.positiveDuration("shield.ban_window", s.BanWindow)
	v.positiveDuration("shield.ban_time", s.BanTime)
	if s.BanTimeMax < s.BanTime {
		v.failf("shield.ban_time_max", "must be at least ban_time (%s), got %s", s.BanTime, s.BanTimeMax)
	}
	v.positiveDuration("shield.media_window", s.MediaWindow)
	if s.MaxSessionsPerUser < 0 {
		v.failf("shield.max_sessions_per_user", "must not be negative (got %d)", s.MaxSessionsPerUser)
	}
	if s.SessionIdle < 0 || (s.SessionIdle > 0 && s.SessionIdle < 2*time.Minute) {
		v.failf("shield.session_idle", "must be 0 (never) or at least 2m (got %s)", s.SessionIdle)
	}
	if s.SessionLifetime < 0 {
		v.failf("shield.session_lifetime", "must not be negative (got %s)", s.SessionLifetime)
	}
	v.c.Exempt = v.networks("shield.exempt", s.Exempt)
	v.c.LAN = v.networks("shield.lan", s.LAN)
	if slices.ContainsFunc(v.c.TwoFactor.LANBypass, func(e string) bool { return strings.EqualFold(strings.TrimSpace(e), lanWord) }) {
		v.c.BypassNetworks = appendNew(v.c.BypassNetworks, v.c.LAN...)
	}
	v.c.BlockPrefixes = v.networks("shield.block", s.Block)
	v.positiveDuration("shield.block_refresh", s.BlockRefresh)
	v.positiveDuration("shield.resolve_every", s.ResolveEvery)
	if s.TravelSpeedKmh <= 0 {
		v.failf("shield.travel_speed_kmh", "must be greater than 0 (got %d)", s.TravelSpeedKmh)
	}
	switch v.c.Shield.TravelAction = strings.ToLower(s.TravelAction); v.c.Shield.TravelAction {
	case "alert", "block":
	default:
		v.failf("shield.travel_action", "%q must be alert or block", s.TravelAction)
	}
	for key, list := range map[string][]string{"shield.allow_countries": s.AllowCountries, "shield.deny_countries": s.DenyCountries} {
		for i, c := range list {
			if len(c) != 2 || strings.ToUpper(c) != c || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
				v.failf(fmt.Sprintf("%s[%d]", key, i), "%q is not a two-letter ISO country code in capitals (e.g. DE)", c)
			}
		}
	}
	if (len(s.AllowCountries) > 0 || len(s.DenyCountries) > 0) && s.GeoIPCity == "" {
		v.failf("shield.geoip_city", "country lists need a GeoIP database (shield.geoip_city)")
	}
	for key, list := range map[string][]string{"shield.allow_only": s.AllowOnly, "shield.admin_networks": s.AdminNetworks} {
		for i, entry := range list {
			if err := CheckNetworkOrHost(entry); err != nil {
				v.fail(fmt.Sprintf("%s[%d]", key, i), err)
			}
		}
	}
	for i, entry := range s.BlockLists {
		if _, err := ParseBlockList(entry); err != nil {
			v.fail(fmt.Sprintf("shield.block_lists[%d]", i), err)
		}
	}
}

// CheckNetworkOrHost accepts an IP address, a CIDR or a DNS host name.
func CheckNetworkOrHost(entry string) error {
	s := strings.TrimSpace(entry)
	if _, err := netip.ParseAddr(s); err == nil {
		return nil
	}
	if _, err := netip.ParsePrefix(s); err == nil {
		return nil
	}
	if !validHostName(s) {
		return fmt.Errorf("%q is not an IP address, CIDR or host name", entry)
	}
	return nil
}

// validHostName accepts DNS names of letters, digits, '-' and '.'.
func validHostName(s string) bool {
	if s == "" || len(s) > 253 || strings.HasPrefix(s, ".") || strings.Contains(s, "..") {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if c != '-' && (c < '0' || c > '9') && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
				return false
			}
		}
	}
	return true
}

// BlockList is one parsed shield.block_lists entry.
type BlockList struct{ Name, URL, Path string }

// ParseBlockList reads "name=URL", "name=path", a bare URL or a bare path.
func ParseBlockList(entry string) (BlockList, error) {
	s := strings.TrimSpace(entry)
	var b BlockList
	if name, rest, ok := strings.Cut(s, "="); ok && !strings.Contains(name, "/") && !strings.Contains(name, ":") {
		b.Name, s = strings.TrimSpace(name), strings.TrimSpace(rest)
	}
	if s == "" {
		return b, fmt.Errorf("%q names no URL or file", entry)
	}
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return b, fmt.Errorf("%q is not an http(s) URL without credentials", s)
		}
		b.URL = s
	} else {
		b.Path = s
	}
	if b.Name == "" {
		b.Name = path.Base(strings.TrimSuffix(strings.SplitN(s, "?", 2)[0], "/"))
	}
	return b, nil
}

// networks parses a list of IPs and CIDRs, naming each bad entry.
func (v *validator) networks(key string, entries []string) []netip.Prefix {
	var out []netip.Prefix
	for i, entry := range entries {
		p, err := parseNetwork(entry)
		if err != nil {
			v.fail(fmt.Sprintf("%s[%d]", key, i), err)
			continue
		}
		out = appendNew(out, p...)
	}
	return out
}

// parseNetwork reads an IP or CIDR (no presets).
func parseNetwork(entry string) ([]netip.Prefix, error) {
	if strings.EqualFold(strings.TrimSpace(entry), presetCloudflare) {
		return nil, notAddress(entry)
	}
	return parseTrustedProxy(entry)
}

func (v *validator) checkLimits() {
	l := v.c.Limits
	v.positiveSize("limits.login_body", l.LoginBody)
	v.positiveSize("limits.gateway_body", l.GatewayBody)
	v.positiveSize("limits.header_bytes", l.HeaderBytes)
	v.positiveDuration("limits.read_header_timeout", l.ReadHeaderTimeout)
	v.positiveDuration("limits.idle_timeout", l.IdleTimeout)
	v.positiveDuration("limits.upstream_header_timeout", l.UpstreamHeaderTimeout)
}

func (v *validator) positiveDuration(key string, d time.Duration) {
	if d <= 0 {
		v.failf(key, "must be greater than 0 (got %s)", d)
	}
}

func (v *validator) positiveSize(key string, b ByteSize) {
	if b <= 0 {
		v.failf(key, "must be greater than 0 (got %s)", b)
	}
}

// checkLog accepts level and format in any case and stores them in lower
// case, the form the logger setup switches on.
func (v *validator) checkLog() {
	lg := &v.c.Log
	if level := strings.ToLower(lg.Level); oneOf(level, "debug", "info", "warn", "error") {
		lg.Level = level
	} else {
		v.failf("log.level", "%q must be debug, info, warn or error", lg.Level)
	}
	if format := strings.ToLower(lg.Format); oneOf(format, "text", "json") {
		lg.Format = format
	} else {
		v.failf("log.format", "%q must be text or json", lg.Format)
	}
}

func oneOf(s string, allowed ...string) bool {
	return slices.Contains(allowed, s)
}
