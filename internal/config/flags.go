package config

import (
	"fmt"
	"reflect"

	"github.com/spf13/pflag"
)

// ConfigEnv names the config file when --config is not given.
const ConfigEnv = EnvPrefix + "CONFIG"

// Flags are the command-line flags every subcommand shares. Resolve combines
// them with the config file and the environment.
type Flags struct {
	fs     *pflag.FlagSet
	config *string
}

// flagKeys lists the shared flags and the key each one sets. The flags cover
// what people change per run; everything else stays in the file or the
// environment.
var flagKeys = []struct{ name, key, usage string }{
	{"listen", "listen", "address to accept clients on, host:port"},
	{"upstream", "upstream", "Jellyfin server URL, e.g. http://127.0.0.1:8096"},
	{"data", "data", "data directory (database and keys)"},
	{"api-key", "api_key", "Jellyfin API key (visible in the process list; prefer --api-key-file)"},
	{"api-key-file", "api_key_file", "file whose first line is the Jellyfin API key"},
	{"base-url", "base_url", "Jellyfin's BaseUrl setting, e.g. /jellyfin"},
	{"public-url", "public_url", "address people use to reach the gateway, e.g. https://media.example.com"},
	{"trusted-proxies", "trusted_proxies", `proxies whose X-Forwarded-For is believed: IPs, CIDRs or "cloudflare"`},
	{"strict", "tokens.strict", "reject user tokens the gateway never issued"},
	{"log-level", "log.level", "log level: debug, info, warn or error"},
	{"log-format", "log.format", "log format: text or json"},
	{"log-file", "log.file", "also write the log to this file"},
}

// BindFlags registers the shared flags on fs, with the defaults of Default
// in their help, and returns the handle Resolve reads them through.
func BindFlags(fs *pflag.FlagSet) *Flags {
	f := &Flags{fs: fs}
	f.config = fs.String("config", "", "config file (YAML); default $"+ConfigEnv+", else built-in defaults")
	def := Default()
	for _, fk := range flagKeys {
		l := mustLeaf(fk.key)
		bindFlag(fs, fk.name, fk.usage, def.value(l))
	}
	return f
}

// bindFlag registers one flag whose type follows the field it sets.
func bindFlag(fs *pflag.FlagSet, name, usage string, def reflect.Value) {
	switch def.Kind() {
	case reflect.String:
		fs.String(name, def.String(), usage)
	case reflect.Bool:
		fs.Bool(name, def.Bool(), usage)
	case reflect.Slice:
		fs.StringSlice(name, def.Interface().([]string), usage)
	default:
		panic(fmt.Sprintf("config: no flag type for %s", def.Type()))
	}
}

func mustLeaf(key string) leaf {
	l, ok := leafByKey(key)
	if !ok {
		panic("config: flag for unknown key " + key)
	}
	return l
}

// ConfigPath is the config file Resolve reads: --config, else the
// JELLYGUARD_CONFIG variable, else "" (defaults only).
func (f *Flags) ConfigPath(env func(string) string) string {
	if f.fs.Changed("config") || env == nil {
		return *f.config
	}
	return env(ConfigEnv)
}

// Resolve builds the configuration: defaults, then the config file, then
// the environment, then the flags given on the command line, then Validate.
// Each later source overrides the earlier ones (flag > env > file > default).
// Like Load, it reports every problem found.
func (f *Flags) Resolve(env func(string) string) (*Config, error) {
	c, errs := load(f.ConfigPath(env), env)
	errs = append(errs, c.applyFlags(f.fs)...)
	return c.finish(errs)
}

// applyFlags sets the keys whose flags were given explicitly.
func (c *Config) applyFlags(fs *pflag.FlagSet) []error {
	var errs []error
	for _, fk := range flagKeys {
		fl := fs.Lookup(fk.name)
		if fl == nil || !fl.Changed {
			continue
		}
		l := mustLeaf(fk.key)
		if err := setFlag(fs, fl, c.value(l)); err != nil {
			errs = append(errs, &problem{where: "--" + fk.name, key: fk.key, err: err})
			continue
		}
		c.setBy(fk.key, origin{layer: layerFlag, where: "--" + fk.name})
	}
	return errs
}

func setFlag(fs *pflag.FlagSet, fl *pflag.Flag, v reflect.Value) error {
	if v.Kind() != reflect.Slice {
		return setText(v, fl.Value.String())
	}
	items, err := fs.GetStringSlice(fl.Name)
	if err != nil {
		return fmt.Errorf("reading --%s: %w", fl.Name, err)
	}
	return setList(v, trimItems(items))
}
