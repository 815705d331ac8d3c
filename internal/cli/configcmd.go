package cli

import (
	"fmt"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"

	"github.com/jellyguard/jellyguard/internal/config"
)

func (a *app) configCommand() *cobra.Command {
	return group("config", "Write, validate and show the configuration",
		`The configuration is a YAML file (--config, or JELLYGUARD_CONFIG), overridden
by JELLYGUARD_* environment variables, overridden by the flags every command
accepts. These commands help write one and see what jellyguard makes of it.`,
		a.configExampleCommand(), a.configCheckCommand(), a.configShowCommand())
}

func (a *app) configExampleCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "example",
		Short: "Print a complete config file with every default and what it does",
		Long: `Print a config file listing every key with its default value and a comment
saying what it does. It loads as is; edit what you need.`,
		Example: `  jellyguard config example > /etc/jellyguard/jellyguard.yaml`,
		Args:    positional(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprint(a.stdout, config.Example())
			return err
		},
	}
}

func (a *app) configCheckCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Validate the configuration without contacting Jellyfin",
		Long: `Read the config file, the environment and the flags, and report every
problem at once, each with the key and the line, variable or flag to fix.
Exits 0 when the configuration is valid, 1 otherwise. Warnings (such as a
key file other users can read) are printed but do not fail.

To also check the connection to Jellyfin and its proxy settings, use
"jellyguard check".`,
		Example: `  jellyguard config check --config /etc/jellyguard/jellyguard.yaml`,
		Args:    positional(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			if _, err := a.config(); err != nil {
				return err
			}
			_, err := fmt.Fprintf(a.stdout, "configuration is valid (%s)\n", a.configSource())
			return err
		},
	}
}

func (a *app) configShowCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "show",
		Short: "Print the resolved configuration as YAML, with secrets hidden",
		Long: `Print the configuration jellyguard would run with — defaults, config file,
environment and flags combined — as YAML. The API key is replaced by
asterisks, so the output is safe to paste into a bug report.`,
		Example: `  jellyguard config show --config /etc/jellyguard/jellyguard.yaml
  JELLYGUARD_LOG_LEVEL=debug jellyguard config show`,
		Args: positional(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			out, err := yaml.Marshal(cfg.Redacted())
			if err != nil {
				return fmt.Errorf("writing the configuration as YAML: %w", err)
			}
			if len(out) > 0 && out[len(out)-1] != '\n' {
				out = append(out, '\n')
			}
			_, err = a.stdout.Write(out)
			return err
		},
	}
}
