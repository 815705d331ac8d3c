package config

import (
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// envMap serves a fixed environment.
func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// plain drops the bookkeeping that is not configuration, so two Configs
// compare by their values.
func plain(c Config) Config {
	c.origins = nil
	c.apiKeyFromFile = false
	return c
}

// validDefault is Default after Validate, i.e. what Load returns for an
// empty file.
func validDefault(t *testing.T) Config {
	t.Helper()
	d := Default()
	if err := d.Validate(); err != nil {
		t.Fatalf("Default does not validate: %v", err)
	}
	return plain(d)
}

func TestLoadReportsProblemsWithPosition(t *testing.T) {
	tests := []struct {
		file string
		want string
	}{
		{"unknown_key.yaml", `testdata/unknown_key.yaml:2:1: unknown key "lisen" (did you mean "listen"?)`},
		{"nested_unknown_key.yaml", `testdata/nested_unknown_key.yaml:5:3: unknown key "ban_tme"`},
		{"bad_duration.yaml", `testdata/bad_duration.yaml:7:14: tokens.cache_ttl: invalid duration "banana"`},
		{"bad_cidr.yaml", `testdata/bad_cidr.yaml:4:5: trusted_proxies[2]: "10.0.0.300/8" is not an IP address or CIDR`},
		{"api_key_conflict.yaml", `testdata/api_key_conflict.yaml:3:15: api_key_file: api_key (set at testdata/api_key_conflict.yaml:2:10) and api_key_file are both set; keep only one`},
		{"syntax.yaml", `testdata/syntax.yaml:2:18: sequence end token ']' not found`},
		{"wrong_type.yaml", strings.Join([]string{
			`testdata/wrong_type.yaml:1:9: listen: expected a single value, got a list`,
			`testdata/wrong_type.yaml:3:23: tokens.resolve_per_minute: invalid integer "many"`,
			`testdata/wrong_type.yaml:4:11: tokens.strict: invalid boolean "maybe" (use true or false)`,
			`testdata/wrong_type.yaml:5:9: limits: expected a mapping of keys, got "5"`,
		}, "\n")},
		{"multiple.yaml", strings.Join([]string{
			`testdata/multiple.yaml:3:1: unknown key "ban_time"`,
			`testdata/multiple.yaml:9:23: tokens.negative_cache_ttl: invalid duration "soon"`,
			`testdata/multiple.yaml:2:11: upstream: "ftp://jellyfin.lan" must start with http:// or https://`,
			`testdata/multiple.yaml:1:9: listen: "8097" is not host:port (e.g. ":8097" or "127.0.0.1:8097")`,
			`testdata/multiple.yaml:6:5: trusted_proxies[1]: "not-an-ip" is not an IP address or CIDR`,
			`testdata/multiple.yaml:8:14: tokens.cache_ttl: must be greater than 0 (got 0s)`,
			`testdata/multiple.yaml:11:10: log.level: "verbose" must be debug, info, warn or error`,
		}, "\n")},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			c, err := Load(filepath.Join("testdata", tt.file), nil)
			if err == nil {
				t.Fatalf("Load succeeded: %+v", c)
			}
			if c != nil {
				t.Errorf("Load returned a config with an error")
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n%s\nwant:\n%s", err, tt.want)
			}
		})
	}
}

func TestLoadInlineProblems(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"second document", "listen: \":1\"\n---\nlisten: \":2\"\n", `config.yaml:3:1: only one YAML document is allowed`},
		{"top level list", "- a\n- b\n", `config.yaml:1:1: expected a mapping of keys, got a list`},
		{"top level scalar", "hello\n", `config.yaml:1:1: expected a mapping of keys, got "hello"`},
		{"merge key", "tokens:\n  <<: {strict: true}\n", `config.yaml:2:3: tokens: merge keys (<<) are not supported`},
		{"duplicate key", "listen: \":1\"\nlisten: \":2\"\n", `config.yaml:2:1: mapping key "listen" already defined at [1:1]`},
		{"list of lists", "trusted_proxies:\n  - [10.0.0.1]\n", `config.yaml:2:5: trusted_proxies[0]: expected a single value, got a list`},
		{"list given a mapping", "trusted_proxies: {a: 1}\n", `config.yaml:1:18: trusted_proxies: expected a list, got a mapping`},
		{"duration without unit", "limits:\n  idle_timeout: 300\n", `config.yaml:2:17: limits.idle_timeout: invalid duration "300" (missing unit, e.g. "300s")`},
		{"bad size", "limits:\n  login_body: 64XB\n", `config.yaml:2:15: limits.login_body: invalid size "64XB" (use bytes or a number with KiB, MiB, GiB, KB, MB or GB)`},
		{"case matters", "Listen: \":1\"\n", `config.yaml:1:1: unknown key "Listen" (did you mean "listen"?)`},
		{"unknown alias", "listen: *addr\n", `config.yaml:1:9: alias *addr refers to no anchor`},
		{"deep nesting", "listen: " + strings.Repeat("[", 100) + "\n", `config.yaml:1:73: nested more than 64 levels deep`},
		{"empty list item", "trusted_proxies:\n  - 10.0.0.1\n  -\n", `config.yaml:3:5: trusted_proxies[1]: "" is not an IP address or CIDR`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.yaml)
			_, err := Load(path, nil)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			got := strings.ReplaceAll(err.Error(), path, "config.yaml")
			if got != tt.want {
				t.Errorf("error:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// writeConfig writes text to config.yaml in a fresh directory.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadEmptyGivesDefaults(t *testing.T) {
	want := validDefault(t)
	for _, path := range []string{"", "testdata/empty.yaml", "testdata/comments_only.yaml"} {
		c, err := Load(path, nil)
		if err != nil {
			t.Fatalf("Load(%q): %v", path, err)
		}
		if got := plain(*c); !reflect.DeepEqual(got, want) {
			t.Errorf("Load(%q) =\n%+v\nwant\n%+v", path, got, want)
		}
	}
}

func TestLoadNullKeepsDefaults(t *testing.T) {
	c, err := Load(writeConfig(t, "listen:\ntokens:\nlog:\n  level: ~\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := plain(*c); !reflect.DeepEqual(got, validDefault(t)) {
		t.Errorf("got %+v", got)
	}
}

func TestLoadFull(t *testing.T) {
	c, err := Load("testdata/full.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Listen:         "127.0.0.1:9000",
		Upstream:       "http://jellyfin:8096/",
		Data:           "/var/lib/jellyguard",
		BaseURL:        "/jellyfin",
		PublicURL:      "https://media.example.com",
		TrustedProxies: []string{"172.16.0.0/12"},
		Jellyfin:       JellyfinConfig{LegacyAuthorization: false, HeaderPrecedence: "10.10"},
		Tokens:         TokensConfig{Strict: true, CacheTTL: 10 * time.Minute, NegativeCacheTTL: time.Minute, ResolvePerMinute: 5},
		TwoFactor: TwoFactorConfig{Issuer: "Family Media", Require: "admins", GracePeriod: 48 * time.Hour,
			LANBypass: []string{"192.168.1.0/24"}, ChallengeTTL: 90 * time.Second, ChallengeAttempts: 3,
			MaxOpenChallenges: 2, TrustDays: 14, DeviceApproval: 30 * time.Minute},
		Shield: Default().Shield,
		Limits: LimitsConfig{
			LoginBody: 32 * KiB, GatewayBody: 2 * MB, HeaderBytes: 16 * KiB,
			ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 90 * time.Second, UpstreamHeaderTimeout: 45 * time.Second,
		},
		Log:             LogConfig{Level: "debug", Format: "json", File: "/var/log/jellyguard.log"},
		UpstreamURL:     c.UpstreamURL,
		TrustedPrefixes: []netip.Prefix{netip.MustParsePrefix("172.16.0.0/12")},
		BypassNetworks:  Networks{netip.MustParsePrefix("192.168.1.0/24")},
	}
	if got := plain(*c); !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
	if c.UpstreamURL == nil || c.UpstreamURL.Host != "jellyfin:8096" || c.UpstreamURL.Scheme != "http" {
		t.Errorf("UpstreamURL = %v", c.UpstreamURL)
	}
}

func TestLoadAnchorsAndTags(t *testing.T) {
	c, err := Load("testdata/anchors.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:8097" || c.PublicURL != "https://media.example.com" {
		t.Errorf("listen %q, public_url %q", c.Listen, c.PublicURL)
	}
	if c.Tokens.NegativeCacheTTL != time.Minute {
		t.Errorf("alias not followed: negative_cache_ttl = %s", c.Tokens.NegativeCacheTTL)
	}
	if got := c.origins.lookup("tokens.negative_cache_ttl").where; got != "testdata/anchors.yaml:7:23" {
		t.Errorf("alias reported at %q, want its use site", got)
	}
}

func TestLoadCloudflarePreset(t *testing.T) {
	c, err := Load("testdata/cloudflare.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := slicesConcat(cloudflareRanges, mustPrefixes("10.0.0.7/32", "192.168.0.0/16", "10.0.0.0/8"))
	if !reflect.DeepEqual(c.TrustedPrefixes, want) {
		t.Errorf("TrustedPrefixes =\n%v\nwant\n%v", c.TrustedPrefixes, want)
	}
	if len(cloudflareRanges) != 22 {
		t.Errorf("cloudflare preset has %d ranges, want 15 IPv4 + 7 IPv6", len(cloudflareRanges))
	}
	for _, ip := range []string{"104.16.0.1", "2606:4700::1", "172.70.1.1"} {
		if !containsAddr(c.TrustedPrefixes, netip.MustParseAddr(ip)) {
			t.Errorf("%s not trusted", ip)
		}
	}
}

func slicesConcat(a, b []netip.Prefix) []netip.Prefix {
	return append(append([]netip.Prefix{}, a...), b...)
}

func containsAddr(prefixes []netip.Prefix, a netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yaml", nil)
	want := "reading config file: open testdata/does-not-exist.yaml: no such file or directory"
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error does not wrap fs.ErrNotExist")
	}
}

func TestLoadTooLarge(t *testing.T) {
	path := writeConfig(t, "# "+strings.Repeat("x", maxFileSize)+"\n")
	_, err := Load(path, nil)
	if err == nil || !strings.Contains(err.Error(), "larger than 1MiB") {
		t.Fatalf("error %v", err)
	}
}

func TestEnvOverridesFile(t *testing.T) {
	env := envMap(map[string]string{
		"JELLYGUARD_LISTEN":            ":9100",
		"JELLYGUARD_TRUSTED_PROXIES":   " 10.0.0.1 , cloudflare,,",
		"JELLYGUARD_TOKENS_STRICT":     "false",
		"JELLYGUARD_TOKENS_CACHE_TTL":  "90s",
		"JELLYGUARD_LOG_LEVEL":         "warn",
		"JELLYGUARD_LIMITS_LOGIN_BODY": "8KiB",
	})
	c, err := Load("testdata/full.yaml", env)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":9100" {
		t.Errorf("listen = %q, want the environment's", c.Listen)
	}
	if !reflect.DeepEqual(c.TrustedProxies, []string{"10.0.0.1", "cloudflare"}) {
		t.Errorf("trusted_proxies = %q", c.TrustedProxies)
	}
	if c.Tokens.Strict || c.Tokens.CacheTTL != 90*time.Second || c.Log.Level != "warn" || c.Limits.LoginBody != 8*KiB {
		t.Errorf("env not applied: %+v %+v %+v", c.Tokens, c.Log, c.Limits)
	}
	if c.Data != "/var/lib/jellyguard" {
		t.Errorf("data = %q, want the file's", c.Data)
	}
}

func TestEnvProblemsNameTheVariable(t *testing.T) {
	env := envMap(map[string]string{
		"JELLYGUARD_TOKENS_CACHE_TTL":          "banana",
		"JELLYGUARD_TOKENS_STRICT":             "maybe",
		"JELLYGUARD_LISTEN":                    "nope",
		"JELLYGUARD_TRUSTED_PROXIES":           "10.0.0.1,300.0.0.1",
		"JELLYGUARD_TOKENS_NEGATIVE_CACHE_TTL": "0s",
	})
	_, err := Load("testdata/full.yaml", env)
	want := strings.Join([]string{
		`JELLYGUARD_TOKENS_STRICT: tokens.strict: invalid boolean "maybe" (use true or false)`,
		`JELLYGUARD_TOKENS_CACHE_TTL: tokens.cache_ttl: invalid duration "banana"`,
		`JELLYGUARD_LISTEN: listen: "nope" is not host:port (e.g. ":8097" or "127.0.0.1:8097")`,
		`JELLYGUARD_TRUSTED_PROXIES: trusted_proxies[1]: "300.0.0.1" is not an IP address or CIDR`,
		`JELLYGUARD_TOKENS_NEGATIVE_CACHE_TTL: tokens.negative_cache_ttl: must be greater than 0 (got 0s)`,
	}, "\n")
	if err == nil || err.Error() != want {
		t.Fatalf("error:\n%v\nwant:\n%s", err, want)
	}
}

func TestEveryKeyHasAnEnvironmentVariable(t *testing.T) {
	samples := map[reflect.Type]string{
		reflect.TypeFor[string]():        "x",
		reflect.TypeFor[bool]():          "true",
		reflect.TypeFor[int]():           "7",
		reflect.TypeFor[time.Duration](): "7s",
		reflect.TypeFor[ByteSize]():      "7KiB",
		reflect.TypeFor[[]string]():      "10.0.0.1",
	}
	env := map[string]string{}
	for _, l := range leaves() {
		sample, ok := samples[l.typ]
		if !ok {
			t.Fatalf("%s: no sample for type %s", l.key, l.typ)
		}
		env[l.env] = sample
	}
	for _, name := range []string{"JELLYGUARD_LISTEN", "JELLYGUARD_API_KEY", "JELLYGUARD_API_KEY_FILE",
		"JELLYGUARD_TRUSTED_PROXIES", "JELLYGUARD_TOKENS_STRICT", "JELLYGUARD_TOKENS_CACHE_TTL", "JELLYGUARD_LOG_LEVEL"} {
		if _, ok := env[name]; !ok {
			t.Errorf("no key reads %s", name)
		}
	}
	c, errs := load("", envMap(env))
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	for _, l := range leaves() {
		if got := c.origins.lookup(l.key); got.where != l.env {
			t.Errorf("%s: set by %q, want %s", l.key, got.where, l.env)
		}
	}
}

func TestHigherLayerReplacesExclusivePartner(t *testing.T) {
	keyFile := writeKeyFile(t, "filekey\n", 0o600)
	env := envMap(map[string]string{"JELLYGUARD_API_KEY_FILE": keyFile})
	c, err := Load("testdata/api_key_conflict.yaml", env)
	if err != nil {
		t.Fatal(err)
	}
	if c.APIKey != "filekey" {
		t.Errorf("APIKey = %q, want the key file's", c.APIKey)
	}
}
