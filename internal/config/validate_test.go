package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string // "" means valid
		check  func(*testing.T, *Config)
	}{
		{name: "defaults", change: func(*Config) {}},
		{name: "upstream with path", change: func(c *Config) { c.Upstream = "https://jellyfin.lan/jf" },
			check: func(t *testing.T, c *Config) {
				if c.UpstreamURL == nil || c.UpstreamURL.Path != "/jf" {
					t.Errorf("UpstreamURL = %v", c.UpstreamURL)
				}
			}},
		{name: "upstream without scheme", change: func(c *Config) { c.Upstream = "127.0.0.1:8096" },
			want: `upstream: "127.0.0.1:8096" is not a valid URL`},
		{name: "upstream other scheme", change: func(c *Config) { c.Upstream = "ftp://a" },
			want: `upstream: "ftp://a" must start with http:// or https://`},
		{name: "upstream no host", change: func(c *Config) { c.Upstream = "http://" },
			want: `upstream: "http:" has no host`},
		{name: "upstream query", change: func(c *Config) { c.Upstream = "http://a:8096/?x=1" },
			want: `upstream: "http://a:8096/?x=1" must not have a query or fragment`},
		{name: "upstream fragment", change: func(c *Config) { c.Upstream = "http://a#top" },
			want: `upstream: "http://a#top" must not have a query or fragment`},
		{name: "upstream credentials", change: func(c *Config) { c.Upstream = "http://me:secret@a" },
			want: `upstream: "http://me:xxxxx@a" must not contain a user name or password`},
		{name: "listen host and port", change: func(c *Config) { c.Listen = "[::1]:8097" }},
		{name: "listen port 0", change: func(c *Config) { c.Listen = "localhost:0" }},
		{name: "listen without port", change: func(c *Config) { c.Listen = "8097" },
			want: `listen: "8097" is not host:port (e.g. ":8097" or "127.0.0.1:8097")`},
		{name: "listen port too big", change: func(c *Config) { c.Listen = ":70000" },
			want: `listen: port "70000" is not a number from 0 to 65535`},
		{name: "listen named port", change: func(c *Config) { c.Listen = ":http" },
			want: `listen: port "http" is not a number from 0 to 65535`},
		{name: "data empty", change: func(c *Config) { c.Data = "" },
			want: `data: must name a directory`},
		{name: "base_url trimmed", change: func(c *Config) { c.BaseURL = "/jellyfin//" },
			check: func(t *testing.T, c *Config) {
				if c.BaseURL != "/jellyfin" {
					t.Errorf("BaseURL = %q", c.BaseURL)
				}
			}},
		{name: "base_url root", change: func(c *Config) { c.BaseURL = "/" },
			check: func(t *testing.T, c *Config) {
				if c.BaseURL != "" {
					t.Errorf("BaseURL = %q", c.BaseURL)
				}
			}},
		{name: "base_url relative", change: func(c *Config) { c.BaseURL = "jellyfin" },
			want: `base_url: "jellyfin" must start with "/" (e.g. "/jellyfin")`},
		{name: "base_url query", change: func(c *Config) { c.BaseURL = "/jf?x" },
			want: `base_url: "/jf?x" must be a path without "?" or "#"`},
		{name: "base_url dots", change: func(c *Config) { c.BaseURL = "/a/../b" },
			want: `base_url: "/a/../b" must not contain ".."`},
		{name: "public_url host only", change: func(c *Config) { c.PublicURL = "media.example.com" },
			want: `public_url: "media.example.com" must start with http:// or https://`},
		{name: "header precedence", change: func(c *Config) { c.Jellyfin.HeaderPrecedence = "10.12" },
			want: `jellyfin.header_precedence: "10.12" must be "10.10" or "10.11"`},
		{name: "zero and negative", change: func(c *Config) {
			c.Tokens.CacheTTL, c.Tokens.NegativeCacheTTL, c.Tokens.ResolvePerMinute = 0, -1, 0
			c.Limits.LoginBody, c.Limits.GatewayBody, c.Limits.HeaderBytes = 0, -1, 0
			c.Limits.ReadHeaderTimeout, c.Limits.IdleTimeout, c.Limits.UpstreamHeaderTimeout = 0, 0, -time.Second
		}, want: strings.Join([]string{
			`tokens.cache_ttl: must be greater than 0 (got 0s)`,
			`tokens.negative_cache_ttl: must be greater than 0 (got -1ns)`,
			`tokens.resolve_per_minute: must be at least 1 (got 0)`,
			`limits.login_body: must be greater than 0 (got 0B)`,
			`limits.gateway_body: must be greater than 0 (got -1B)`,
			`limits.header_bytes: must be greater than 0 (got 0B)`,
			`limits.read_header_timeout: must be greater than 0 (got 0s)`,
			`limits.idle_timeout: must be greater than 0 (got 0s)`,
			`limits.upstream_header_timeout: must be greater than 0 (got -1s)`,
		}, "\n")},
		{name: "log case folded", change: func(c *Config) { c.Log.Level, c.Log.Format = "WARN", "Json" },
			check: func(t *testing.T, c *Config) {
				if c.Log.Level != "warn" || c.Log.Format != "json" {
					t.Errorf("Log = %+v", c.Log)
				}
			}},
		{name: "log values", change: func(c *Config) { c.Log.Level, c.Log.Format = "trace", "xml" },
			want: "log.level: \"trace\" must be debug, info, warn or error\nlog.format: \"xml\" must be text or json"},
		{name: "trusted proxies", change: func(c *Config) {
			c.TrustedProxies = []string{"::ffff:10.0.0.1", "fe80::1%eth0", "2001:db8::1/32", "bogus", "10.0.0.1"}
		}, want: `trusted_proxies[3]: "bogus" is not an IP address or CIDR`},
		{name: "api key and file", change: func(c *Config) { c.APIKey, c.APIKeyFile = "k", "/k" },
			want: `api_key_file: api_key and api_key_file are both set; keep only one`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.change(&c)
			err := c.Validate()
			if got := errText(err); got != tt.want {
				t.Fatalf("Validate:\n%s\nwant:\n%s", got, tt.want)
			}
			if tt.check != nil {
				tt.check(t, &c)
			}
		})
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestValidateKeepsGoodProxiesNextToBadOnes(t *testing.T) {
	c := Default()
	c.TrustedProxies = []string{"::ffff:10.0.0.1", "fe80::1%eth0", "2001:db8::1/32", "bogus", "10.0.0.1"}
	_ = c.Validate()
	want := mustPrefixes("10.0.0.1/32", "fe80::1/128", "2001:db8::/32")
	if len(c.TrustedPrefixes) != len(want) {
		t.Fatalf("TrustedPrefixes = %v, want %v", c.TrustedPrefixes, want)
	}
	for i := range want {
		if c.TrustedPrefixes[i] != want[i] {
			t.Errorf("TrustedPrefixes[%d] = %v, want %v", i, c.TrustedPrefixes[i], want[i])
		}
	}
}

// writeKeyFile writes a key file with the given permissions.
func writeKeyFile(t *testing.T, text string, perm os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "api_key")
	if err := os.WriteFile(path, []byte(text), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAPIKeyFile(t *testing.T) {
	path := writeKeyFile(t, "  0123456789abcdef \r\nsecond line\n", 0o600)
	c, err := Load("", envMap(map[string]string{"JELLYGUARD_API_KEY_FILE": path}))
	if err != nil {
		t.Fatal(err)
	}
	if c.APIKey != "0123456789abcdef" {
		t.Errorf("APIKey = %q", c.APIKey)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings for a 0600 file: %q", c.Warnings)
	}
	// Validate again (as after a reload): the key read from the file is not
	// mistaken for a conflicting api_key.
	if err := os.WriteFile(path, []byte("rotated\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.APIKey != "rotated" {
		t.Errorf("APIKey after second Validate = %q", c.APIKey)
	}
	c.APIKeyFile = ""
	if err := c.Validate(); err != nil || c.APIKey != "" {
		t.Errorf("clearing api_key_file left APIKey %q (err %v)", c.APIKey, err)
	}
}

func TestAPIKeyFileProblems(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	c := Default()
	c.APIKeyFile = missing
	err := c.Validate()
	if want := `api_key_file: cannot read "` + missing + `": no such file or directory`; errText(err) != want {
		t.Errorf("error %v, want %s", err, want)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error does not wrap fs.ErrNotExist")
	}

	c.APIKeyFile = writeKeyFile(t, "\nkey on line two\n", 0o600)
	if want := `api_key_file: "` + c.APIKeyFile + `": the first line is empty`; errText(c.Validate()) != want {
		t.Errorf("error %v, want %s", c.Validate(), want)
	}

	c.APIKeyFile = t.TempDir()
	if want := `api_key_file: "` + c.APIKeyFile + `" is not a regular file`; errText(c.Validate()) != want {
		t.Errorf("error %v, want %s", c.Validate(), want)
	}
}

func TestAPIKeyFileReadableByOthersWarns(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	c := Default()
	c.APIKeyFile = writeKeyFile(t, "key\n", 0o644)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := `api_key_file "` + c.APIKeyFile + `" can be read by other users (mode 0644); run chmod 600 on it`
	if len(c.Warnings) != 1 || c.Warnings[0] != want {
		t.Errorf("Warnings = %q, want %q", c.Warnings, want)
	}
}

func TestRedacted(t *testing.T) {
	c := Default()
	c.APIKey = "0123456789abcdef"
	c.Upstream = "http://jellyfin:8096"
	c.TrustedProxies = []string{"10.0.0.1"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	r := c.Redacted()
	if r.APIKey != "********" {
		t.Errorf("APIKey = %q", r.APIKey)
	}
	if c.APIKey != "0123456789abcdef" {
		t.Errorf("Redacted changed the original")
	}
	r.TrustedProxies[0] = "changed"
	r.UpstreamURL.Host = "changed"
	if c.TrustedProxies[0] != "10.0.0.1" || c.UpstreamURL.Host != "jellyfin:8096" {
		t.Errorf("Redacted shares state with the original")
	}
	empty := Default()
	if got := empty.Redacted().APIKey; got != "" {
		t.Errorf("unset key shown as %q", got)
	}
}
