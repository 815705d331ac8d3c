package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// maxFileSize bounds the config file read into memory; a real one is a few
// kilobytes, so anything larger is a mistake (or not a config file).
const maxFileSize = 1 << 20

// Default returns the configuration used for every key the file, the
// environment and the flags leave unset. The values are the ones documented
// on each field and in Example.
func Default() Config {
	return Config{
		Listen: ":8097",
		Data:   "./jellyguard-data",
		Jellyfin: JellyfinConfig{
			LegacyAuthorization: true,
			HeaderPrecedence:    "10.11",
		},
		Tokens: TokensConfig{
			CacheTTL:         5 * time.Minute,
			NegativeCacheTTL: 30 * time.Second,
			ResolvePerMinute: 30,
		},
		TwoFactor: TwoFactorConfig{
			Issuer:            "", // Jellyfin's server name
			Require:           "none",
			GracePeriod:       7 * 24 * time.Hour,
			ChallengeTTL:      5 * time.Minute,
			ChallengeAttempts: 5,
			MaxOpenChallenges: 3,
			TrustDays:         30,
			DeviceApproval:    time.Hour,
		},
		Shield: ShieldConfig{
			LoginsPerMinute:  20,
			UserFailures:     3,
			UserWindow:       15 * time.Minute,
			BanFailures:      10,
			BanWindow:        10 * time.Minute,
			BanTime:          24 * time.Hour,
			BanTimeMax:       30 * 24 * time.Hour,
			KnownAddressDays: 30,
			MediaWindow:      6 * time.Hour,
			BlockRefresh:     24 * time.Hour,
			ResolveEvery:     5 * time.Minute,
			TravelSpeedKmh:   900,
			TravelAction:     "alert",
		},
		Limits: LimitsConfig{
			LoginBody:         64 * KiB,
			GatewayBody:       1 * MiB,
			HeaderBytes:       64 * KiB,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			// Long enough for a slow library scan or a cold disk to spin
			// up, short enough that a hung Jellyfin is reported.
			UpstreamHeaderTimeout: 60 * time.Second,
		},
		Log: LogConfig{Level: "info", Format: "text"},
	}
}

// Load reads the YAML file at path over Default (path "" means defaults
// only), applies the JELLYGUARD_* variables that env returns (nil env: none),
// and validates the result. The returned error lists every problem found,
// each naming its key and, where it has one, the file position or variable
// to fix, so one run is enough to correct a hand-edited file.
func Load(path string, env func(string) string) (*Config, error) {
	c, errs := load(path, env)
	return c.finish(errs)
}

// load reads the file and the environment without validating, so Resolve can
// apply flags before Validate runs.
func load(path string, env func(string) string) (*Config, []error) {
	c := Default()
	c.origins = origins{}
	var errs []error
	if path != "" {
		errs = append(errs, c.readFile(path)...)
	}
	if env != nil {
		errs = append(errs, c.applyEnv(env)...)
	}
	return &c, errs
}

// finish validates c and joins every problem found so far with those of
// validation.
func (c *Config) finish(errs []error) (*Config, error) {
	errs = append(errs, c.validate()...)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// readFile decodes the config file at path over c.
func (c *Config) readFile(path string) []error {
	data, err := readLimited(path)
	if err != nil {
		return []error{fmt.Errorf("reading config file: %w", err)}
	}
	return c.decodeYAML(path, data)
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path) //nolint:gosec // G304: the operator names the config file; reading it is the point
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // opened read-only: a close error loses nothing
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s: larger than %s", path, ByteSize(maxFileSize))
	}
	return data, nil
}
