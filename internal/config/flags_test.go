package config

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// parseFlags binds the shared flags on a fresh set and parses args.
func parseFlags(t *testing.T, args ...string) *Flags {
	t.Helper()
	fs := pflag.NewFlagSet("jellyguard", pflag.ContinueOnError)
	f := BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFlagBeatsEnvBeatsFile(t *testing.T) {
	env := envMap(map[string]string{
		"JELLYGUARD_LISTEN":    ":9100",
		"JELLYGUARD_LOG_LEVEL": "warn",
		"JELLYGUARD_DATA":      "/srv/jg",
	})
	f := parseFlags(t, "--config", "testdata/full.yaml", "--listen", ":9200",
		"--trusted-proxies", "10.0.0.1, cloudflare", "--trusted-proxies", "10.0.0.2", "--strict=false")
	c, err := f.Resolve(env)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ key, got, want string }{
		{"listen (flag over env)", c.Listen, ":9200"},
		{"log.level (env over file)", c.Log.Level, "warn"},
		{"data (env over file)", c.Data, "/srv/jg"},
		{"log.format (file over default)", c.Log.Format, "json"},
		{"tokens.resolve_per_minute (file over default)", strconv.Itoa(c.Tokens.ResolvePerMinute), "5"},
		{"idle_timeout (default)", c.Limits.IdleTimeout.String(), "1m30s"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %q, want %q", ch.key, ch.got, ch.want)
		}
	}
	if c.Tokens.Strict {
		t.Errorf("--strict=false did not override the file")
	}
	if want := []string{"10.0.0.1", "cloudflare", "10.0.0.2"}; !reflect.DeepEqual(c.TrustedProxies, want) {
		t.Errorf("trusted_proxies = %q, want %q", c.TrustedProxies, want)
	}
}

func TestFlagsNotGivenDoNotOverride(t *testing.T) {
	env := envMap(map[string]string{"JELLYGUARD_LISTEN": ":9100"})
	c, err := parseFlags(t).Resolve(env)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":9100" || c.Log.Level != "info" {
		t.Errorf("listen %q, log.level %q", c.Listen, c.Log.Level)
	}
}

func TestConfigPath(t *testing.T) {
	env := envMap(map[string]string{ConfigEnv: "testdata/full.yaml"})
	c, err := parseFlags(t).Resolve(env)
	if err != nil {
		t.Fatal(err)
	}
	if c.Data != "/var/lib/jellyguard" {
		t.Errorf("%s not read: data = %q", ConfigEnv, c.Data)
	}
	f := parseFlags(t, "--config", "testdata/empty.yaml")
	if got := f.ConfigPath(env); got != "testdata/empty.yaml" {
		t.Errorf("ConfigPath = %q, want --config over %s", got, ConfigEnv)
	}
	if got := parseFlags(t).ConfigPath(nil); got != "" {
		t.Errorf("ConfigPath without flag or env = %q", got)
	}
}

func TestFlagProblemsNameTheFlag(t *testing.T) {
	f := parseFlags(t, "--config", "testdata/bad_duration.yaml", "--listen", "nope", "--log-format", "xml")
	_, err := f.Resolve(nil)
	want := strings.Join([]string{
		`testdata/bad_duration.yaml:7:14: tokens.cache_ttl: invalid duration "banana"`,
		`--listen: listen: "nope" is not host:port (e.g. ":8097" or "127.0.0.1:8097")`,
		`--log-format: log.format: "xml" must be text or json`,
	}, "\n")
	if errText(err) != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
}

func TestAPIKeyFlagReplacesFileKeyAndWarns(t *testing.T) {
	f := parseFlags(t, "--config", "testdata/api_key_conflict.yaml", "--api-key", "fromflag")
	c, err := f.Resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.APIKey != "fromflag" || c.APIKeyFile != "" {
		t.Errorf("api_key %q, api_key_file %q", c.APIKey, c.APIKeyFile)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "process list") {
		t.Errorf("Warnings = %q", c.Warnings)
	}
}

func TestFlagHelpShowsDefaults(t *testing.T) {
	fs := pflag.NewFlagSet("jellyguard", pflag.ContinueOnError)
	BindFlags(fs)
	want := map[string]string{
		"config": "", "listen": ":8097", "data": "./jellyguard-data", "log-level": "info",
		"log-format": "text", "strict": "false", "trusted-proxies": "[]", "api-key": "",
		"upstream": "", "api-key-file": "", "base-url": "", "public-url": "", "log-file": "",
	}
	for name, def := range want {
		fl := fs.Lookup(name)
		if fl == nil {
			t.Errorf("--%s not registered", name)
			continue
		}
		if fl.DefValue != def {
			t.Errorf("--%s default %q, want %q", name, fl.DefValue, def)
		}
	}
	n := 0
	fs.VisitAll(func(*pflag.Flag) { n++ })
	if n != len(want) {
		t.Errorf("%d flags registered, want %d", n, len(want))
	}
}
