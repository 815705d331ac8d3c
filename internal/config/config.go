// Package config holds jellyguard's configuration: the YAML file, the
// JELLYGUARD_* environment variables and command-line flags that override it,
// the defaults, and validation that names the offending key and line.
package config

import (
	"net/netip"
	"net/url"
	"time"
)

// Config is the whole configuration. Field comments are the user-facing
// documentation of each key; defaults are set by Default.
type Config struct {
	// Listen is the address the gateway accepts clients on. Default ":8097".
	Listen string `yaml:"listen"`
	// Upstream is the URL of the Jellyfin server, e.g. "http://127.0.0.1:8096".
	Upstream string `yaml:"upstream"`
	// Data is the data directory: the SQLite database and the key file live
	// there. Default "./jellyguard-data".
	Data string `yaml:"data"`
	// APIKey is a Jellyfin API key (Dashboard → API Keys). The gateway uses it
	// to resolve unknown tokens, read Jellyfin's network configuration and,
	// later, to mint sessions. Prefer APIKeyFile or JELLYGUARD_API_KEY so the
	// key stays out of the process list.
	APIKey string `yaml:"api_key"`
	// APIKeyFile is a file whose first line is the API key.
	APIKeyFile string `yaml:"api_key_file"`
	// BaseURL is Jellyfin's own BaseUrl setting (Dashboard → Networking), a
	// path such as "/jellyfin". Empty when Jellyfin serves from the root.
	BaseURL string `yaml:"base_url"`
	// PublicURL is the address people use to reach the gateway, e.g.
	// "https://media.example.com". Optional; used in printed links and pages.
	PublicURL string `yaml:"public_url"`
	// TrustedProxies are the reverse proxies in front of the gateway whose
	// X-Forwarded-For is believed: IP addresses, CIDRs, or the preset
	// "cloudflare". Empty: the TCP peer is the client.
	TrustedProxies []string `yaml:"trusted_proxies"`

	Jellyfin  JellyfinConfig  `yaml:"jellyfin"`
	Tokens    TokensConfig    `yaml:"tokens"`
	TwoFactor TwoFactorConfig `yaml:"two_factor"`
	Shield    ShieldConfig    `yaml:"shield"`
	Limits    LimitsConfig    `yaml:"limits"`
	Log       LogConfig       `yaml:"log"`

	// Derived by Validate; not part of the file.
	UpstreamURL     *url.URL       `yaml:"-"`
	TrustedPrefixes []netip.Prefix `yaml:"-"`
	// LAN is shield.lan, parsed: the one notion of "LAN" (never inferred
	// through an untrusted hop).
	LAN Networks `yaml:"-"`
	// BypassNetworks are two_factor.lan_bypass, parsed, with the word "lan"
	// standing for LAN: sign-ins from them skip the second factor.
	BypassNetworks Networks `yaml:"-"`
	// Exempt are shield.exempt, parsed.
	Exempt Networks `yaml:"-"`
	// BlockPrefixes are shield.block, parsed.
	BlockPrefixes []netip.Prefix `yaml:"-"`

	// Warnings are problems Validate found that do not stop the gateway,
	// such as a key file other users can read. Callers log or print them.
	Warnings []string `yaml:"-"`

	// origins records where each key's value came from (file position,
	// environment variable or flag) so errors can point at it.
	origins origins
	// apiKeyFromFile is true when Validate filled APIKey from APIKeyFile, so
	// a second Validate does not mistake it for a conflicting api_key.
	apiKeyFromFile bool
}

// JellyfinConfig describes how the Jellyfin server behind the gateway reads
// credentials, so the gateway reads them exactly the same way.
type JellyfinConfig struct {
	// LegacyAuthorization mirrors Jellyfin's EnableLegacyAuthorization
	// (default true in 10.11, false in 12.0): whether X-Emby-Authorization,
	// X-Emby-Token, X-MediaBrowser-Token and api_key are read.
	LegacyAuthorization bool `yaml:"legacy_authorization"`
	// HeaderPrecedence is "10.11" (Authorization first; default) or "10.10"
	// (X-Emby-Authorization first, all token sources always read).
	HeaderPrecedence string `yaml:"header_precedence"`
}

// TokensConfig controls the token table.
type TokensConfig struct {
	// Strict rejects user tokens the gateway never issued (created before
	// installation, or by reaching Jellyfin directly). Default false: such
	// tokens are allowed and recorded.
	Strict bool `yaml:"strict"`
	// CacheTTL is how long a token resolved against Jellyfin is trusted
	// before it is asked again. Default 5m.
	CacheTTL time.Duration `yaml:"cache_ttl"`
	// NegativeCacheTTL is how long an unknown token that Jellyfin rejected is
	// remembered as invalid. Default 30s.
	NegativeCacheTTL time.Duration `yaml:"negative_cache_ttl"`
	// ResolvePerMinute is how many unknown tokens one client address may ask
	// the gateway to resolve per minute. Default 30.
	ResolvePerMinute int `yaml:"resolve_per_minute"`
}

// TwoFactorConfig controls the second factor.
type TwoFactorConfig struct {
	// Issuer is the name authenticator apps list the account under. Empty
	// (the default) means Jellyfin's server name, which is what people call
	// their server; "Jellyfin" when Jellyfin cannot be asked. A name given
	// here always wins.
	Issuer string `yaml:"issuer"`
	// Require is who must use a second factor: "none" (only users who
	// enrolled; default), "admins" (administrators too) or "all".
	Require string `yaml:"require"`
	// GracePeriod is how long a user who must use a second factor but has
	// none may still sign in (and is sent to Setup) before being refused.
	// Default 168h (a week).
	GracePeriod time.Duration `yaml:"grace_period"`
	// LANBypass lists networks (CIDRs) whose sign-ins skip the second
	// factor; the word "lan" stands for shield.lan. Empty by default. Never
	// inferred through an untrusted proxy.
	LANBypass []string `yaml:"lan_bypass"`
	// ChallengeTTL is how long a withheld sign-in waits for its code before
	// its Jellyfin session is logged out. Default 5m.
	ChallengeTTL time.Duration `yaml:"challenge_ttl"`
	// ChallengeAttempts is how many wrong codes burn a challenge. Default 5.
	ChallengeAttempts int `yaml:"challenge_attempts"`
	// MaxOpenChallenges caps the withheld sign-ins one user may have at
	// once (each is a live Jellyfin session). Default 3.
	MaxOpenChallenges int `yaml:"max_open_challenges"`
	// TrustDays is how long a trusted browser may skip the challenge,
	// 1 to 90. Default 30.
	TrustDays int `yaml:"trust_days"`
	// DeviceApproval is how long an approved device has to sign in.
	// Default 1h.
	DeviceApproval time.Duration `yaml:"device_approval"`
}

// ShieldConfig controls throttling and bans. Jellyfin's own lockout
// disables an account until an administrator re-enables it, so anyone who
// knows a user name can lock its owner out; the shield stops guessers
// before Jellyfin's counter moves, without locking the owner out.
type ShieldConfig struct {
	// LoginsPerMinute is how many sign-in attempts one address may make per
	// minute (IPv6 counted per /64). Default 20.
	LoginsPerMinute int `yaml:"logins_per_minute"`
	// UserFailures is how many failed sign-ins of one user name, from
	// addresses that user never signed in from, may reach Jellyfin per
	// user_window; further attempts get the wrong-password answer from the
	// gateway. Keep it below Jellyfin's LoginAttemptsBeforeLockout. The
	// user's own addresses (and trusted browsers) are never held back.
	// Default 3.
	UserFailures int `yaml:"user_failures"`
	// UserWindow is the window of user_failures. Default 15m.
	UserWindow time.Duration `yaml:"user_window"`
	// BanFailures failed sign-ins from one address within ban_window ban
	// it for ban_time; each repeat ban doubles, up to ban_time_max.
	// Defaults 10, 10m, 24h, 720h.
	BanFailures int           `yaml:"ban_failures"`
	BanWindow   time.Duration `yaml:"ban_window"`
	BanTime     time.Duration `yaml:"ban_time"`
	BanTimeMax  time.Duration `yaml:"ban_time_max"`
	// Exempt lists networks that are never banned nor throttled (besides
	// the trusted proxies, shield.lan and two_factor.lan_bypass, which
	// always are).
	Exempt []string `yaml:"exempt"`
	// KnownAddressDays is how long an address a user signed in from counts
	// as theirs. Default 30.
	KnownAddressDays int `yaml:"known_address_days"`
	// Block lists networks refused outright (IPs and CIDRs).
	Block []string `yaml:"block"`
	// BlockLists are FireHOL-style lists (one IP or CIDR per line, #
	// comments), each "name=URL" or "name=path" (or just the URL or path),
	// refreshed every block_refresh; a list that fails to refresh keeps its
	// last good copy.
	BlockLists []string `yaml:"block_lists"`
	// BlockRefresh is how often block_lists are fetched again. Default 24h.
	BlockRefresh time.Duration `yaml:"block_refresh"`
	// AllowPrivateFeeds lets block_lists URLs point at private, loopback or
	// link-local addresses (a feed on the LAN). Default false.
	AllowPrivateFeeds bool `yaml:"allow_private_feeds"`
	// AllowOnly, when set, is the only place clients may come from: IPs,
	// CIDRs or host names (a dynamic-DNS name follows the home connection;
	// names are resolved again every resolve_every). Trusted proxies and
	// shield.exempt always pass. Empty (default): everyone.
	AllowOnly []string `yaml:"allow_only"`
	// AdminNetworks, when set, are the only places administrators may sign
	// in from or use their sessions (API keys are not affected). Same forms
	// as allow_only. Empty (default): anywhere; check recommends setting it.
	AdminNetworks []string `yaml:"admin_networks"`
	// ResolveEvery is how often host names in allowlists are resolved
	// again. Default 5m.
	ResolveEvery time.Duration `yaml:"resolve_every"`
	// GeoIPCity is a MaxMind-format City or Country database (e.g.
	// GeoLite2-City.mmdb), reloaded when the file changes. Needed for
	// country lists and impossible travel. Empty (default): no geo policy.
	GeoIPCity string `yaml:"geoip_city"`
	// GeoIPASN is a MaxMind-format ASN database (optional): alerts on a
	// sign-in from a new network operator.
	GeoIPASN string `yaml:"geoip_asn"`
	// AllowCountries, when set, lets only these countries (ISO codes) reach
	// Jellyfin; DenyCountries refuses these. Addresses the database does
	// not know pass. Exempt networks and the LAN always pass.
	AllowCountries []string `yaml:"allow_countries"`
	DenyCountries  []string `yaml:"deny_countries"`
	// TravelSpeedKmh: two sign-ins of one user farther apart than this
	// speed allows (accuracy radii subtracted) are impossible travel.
	// Default 900.
	TravelSpeedKmh int `yaml:"travel_speed_kmh"`
	// TravelAction is what impossible travel does: "alert" (audit and log;
	// default) or "block" (the sign-in needs a second factor, whatever
	// vouches for the device otherwise).
	TravelAction string `yaml:"travel_action"`
	// LAN lists the home networks (CIDRs). Requests from them may use
	// Jellyfin's LAN-only anonymous routes (/System/Restart) and see the
	// user list on the login screen. Never inferred through an untrusted
	// proxy. Empty by default: nothing is LAN.
	LAN []string `yaml:"lan"`
	// ProtectMedia refuses Jellyfin's anonymous media routes (images,
	// streams, HLS segments, subtitles) unless the request carries a token
	// the gateway accepts, or comes from an address where a signed-in
	// session was active within media_window (apps like Swiftfin and
	// Findroid fetch images and streams without a token). Default false.
	ProtectMedia bool `yaml:"protect_media"`
	// MediaWindow: see protect_media. Default 6h.
	MediaWindow time.Duration `yaml:"media_window"`
	// MaxSessionsPerUser caps the sessions one user holds through the
	// gateway; signing in beyond it logs the least recently used one out.
	// 0 (default): no cap.
	MaxSessionsPerUser int `yaml:"max_sessions_per_user"`
	// SessionIdle ends a session released by the gateway that was not used
	// for this long; SessionLifetime ends it this long after sign-in
	// (Jellyfin's own tokens never expire). 0 (default): never.
	SessionIdle     time.Duration `yaml:"session_idle"`
	SessionLifetime time.Duration `yaml:"session_lifetime"`
	// HidePublicUsers answers /Users/Public (the user tiles of the login
	// screen) with an empty list outside the LAN. Default false.
	HidePublicUsers bool `yaml:"hide_public_users"`
}

// LimitsConfig bounds what clients may send and how long they may take.
type LimitsConfig struct {
	// LoginBody is the largest login request body accepted. Default 64KiB.
	LoginBody ByteSize `yaml:"login_body"`
	// GatewayBody is the largest body accepted by the gateway's own pages
	// and API. Default 1MiB.
	GatewayBody ByteSize `yaml:"gateway_body"`
	// HeaderBytes is the largest request header block. Default 64KiB.
	HeaderBytes ByteSize `yaml:"header_bytes"`
	// ReadHeaderTimeout bounds how long a client may take to send headers.
	// Default 10s. (There is deliberately no overall read or write timeout:
	// a movie may stream for hours.)
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// IdleTimeout closes keep-alive connections idle this long. Default 2m.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// UpstreamHeaderTimeout bounds how long Jellyfin may take to start
	// answering (its status line and headers); past it the client gets 504
	// and a page saying Jellyfin is not answering, instead of waiting as
	// long as it cares to. An answer that has started is never cut: a
	// stream may run for hours. Default 60s.
	UpstreamHeaderTimeout time.Duration `yaml:"upstream_header_timeout"`
}

// LogConfig controls logging.
type LogConfig struct {
	// Level is debug, info, warn or error. Default info.
	Level string `yaml:"level"`
	// Format is text (default) or json.
	Format string `yaml:"format"`
	// File, when set, receives the log as well as standard error (for
	// fail2ban and CrowdSec).
	File string `yaml:"file"`
}

// ByteSize is a size in bytes that reads "65536", "64KiB", "1MiB", "1GiB",
// "64KB" or "1MB" (KB/MB are decimal; KiB/MiB binary).
type ByteSize int64
