package config

// Example returns a complete config file: every key with its default and a
// line saying what it does. Load accepts it as is; it is what
// `jellyguard config example` prints and what the README shows.
func Example() string {
	return example
}

const example = `# jellyguard configuration.
#
# Every key below shows its default. Each can also be set with an environment
# variable: JELLYGUARD_ plus the key path in capitals, dots as underscores
# (tokens.cache_ttl -> JELLYGUARD_TOKENS_CACHE_TTL); lists are comma-separated.
# Command-line flags beat the environment, which beats this file.
# Durations: 30s, 5m, 1h. Sizes: bytes, or a number with KiB, MiB, KB, MB.

# Address the gateway accepts clients on (host:port; no host = all interfaces).
listen: ":8097"

# URL of the Jellyfin server, e.g. http://127.0.0.1:8096. Needed to serve.
upstream: ""

# Data directory: the SQLite database and the key file live here.
data: ./jellyguard-data

# A Jellyfin API key (Dashboard -> API Keys), used to resolve unknown tokens and
# mint sessions. Prefer api_key_file or JELLYGUARD_API_KEY; set only one of the two.
api_key: ""

# A file whose first line is the API key (keep it chmod 600).
api_key_file: ""

# Jellyfin's own BaseUrl setting (Dashboard -> Networking), e.g. /jellyfin.
base_url: ""

# Address people use to reach the gateway, e.g. https://media.example.com.
public_url: ""

# Reverse proxies whose X-Forwarded-For is believed: IPs, CIDRs, or the preset
# cloudflare. Empty: the TCP peer is the client. E.g. [127.0.0.1, cloudflare]
trusted_proxies: []

jellyfin:
  # Mirror of Jellyfin's EnableLegacyAuthorization (true in 10.11, false in 12.0).
  legacy_authorization: true
  # Which credential header Jellyfin reads first: "10.11" or "10.10".
  header_precedence: "10.11"

tokens:
  # Refuse user tokens the gateway never issued (older sessions are allowed and recorded if false).
  strict: false
  # How long a token Jellyfin confirmed is trusted before asking again.
  cache_ttl: 5m
  # How long a token Jellyfin rejected is remembered as invalid.
  negative_cache_ttl: 30s
  # Unknown tokens one client address may have resolved per minute.
  resolve_per_minute: 30

two_factor:
  # Name authenticator apps list the account under; empty: Jellyfin's server name.
  issuer: ""
  # Who must use a second factor: none (only users who enrolled), admins, all.
  require: "none"
  # How long a user who must enroll may still sign in (and is sent to Setup).
  grace_period: 168h
  # Networks whose sign-ins skip the second factor (CIDRs, or "lan" for
  # shield.lan); empty: none.
  lan_bypass: []
  # How long a withheld sign-in waits for its code.
  challenge_ttl: 5m
  # Wrong codes that burn a challenge.
  challenge_attempts: 5
  # Withheld sign-ins one user may have open at once.
  max_open_challenges: 3
  # Days a trusted browser skips the challenge (1-90).
  trust_days: 30
  # How long an approved device has to sign in.
  device_approval: 1h

shield:
  # Sign-in attempts one address may make per minute (IPv6 per /64).
  logins_per_minute: 20
  # Failed sign-ins of one user name from unfamiliar addresses that may reach
  # Jellyfin per user_window (keep below Jellyfin's lockout setting).
  user_failures: 3
  user_window: 15m
  # Failures from one address within ban_window that ban it for ban_time
  # (doubling for repeat offenders, up to ban_time_max).
  ban_failures: 10
  ban_window: 10m
  ban_time: 24h
  ban_time_max: 720h
  # Networks never banned or throttled (trusted proxies and lan_bypass always are).
  exempt: []
  # Days an address a user signed in from counts as theirs.
  known_address_days: 30
  # Networks refused outright (IPs, CIDRs).
  block: []
  # FireHOL-style lists, "name=URL" or "name=path"; refreshed every block_refresh,
  # keeping the last good copy when a refresh fails.
  block_lists: []
  block_refresh: 24h
  # Let block_lists URLs point at private or loopback addresses.
  allow_private_feeds: false
  # Only these may reach Jellyfin at all (IPs, CIDRs, host names); empty: everyone.
  allow_only: []
  # Administrators only from these (IPs, CIDRs, host names); API keys not affected.
  admin_networks: []
  # How often host names in allowlists are resolved again (dynamic DNS).
  resolve_every: 5m
  # MaxMind-format databases (reloaded when the file changes); empty: no geo policy.
  geoip_city: ""
  geoip_asn: ""
  # Only these countries (ISO codes), or never these; unknown addresses pass.
  allow_countries: []
  deny_countries: []
  # Impossible travel: faster than this between two sign-ins of one user.
  travel_speed_kmh: 900
  # alert (audit and log) or block (that sign-in needs a second factor).
  travel_action: alert
  # Home networks (CIDRs): may use Jellyfin's LAN-only routes and see the login user list.
  lan: []
  # Images, streams and subtitles only with a known token, or from an address
  # with a signed-in session active within media_window.
  protect_media: false
  media_window: 6h
  # Sessions one user may hold through the gateway (the least recently used is
  # logged out beyond it); 0: no cap.
  max_sessions_per_user: 0
  # End sessions unused this long, or this long after sign-in; 0: never.
  session_idle: 0s
  session_lifetime: 0s
  # Answer /Users/Public (the login screen's user tiles) with [] outside the LAN.
  hide_public_users: false

limits:
  # Largest login request body.
  login_body: 64KiB
  # Largest body for the gateway's own pages and API.
  gateway_body: 1MiB
  # Largest request header block.
  header_bytes: 64KiB
  # Time a client may take to send its headers (no overall timeout: streams run for hours).
  read_header_timeout: 10s
  # Keep-alive connections idle this long are closed.
  idle_timeout: 2m
  # Time Jellyfin may take to start answering; past it the client gets 504 and a page
  # saying Jellyfin is not answering. An answer that has started (a stream) is never cut.
  upstream_header_timeout: 60s

log:
  # debug, info, warn or error.
  level: info
  # text or json.
  format: text
  # Also write the log to this file (for fail2ban or CrowdSec).
  file: ""
`
