package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/jellyguard/jellyguard/internal/config"
)

// app is one run of the command line: its streams, its environment, and the
// configuration resolved from the shared flags. Every subcommand reads the
// same flags, so one config file serves serve, check and the admin commands.
type app struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	flags          *config.Flags

	cfg      *config.Config
	cfgErr   error
	resolved bool
	warned   bool

	// command is the path of the running command below the root ("token
	// list"), for what depends on which command runs (readOnlyCommands).
	command string
}

func newApp(stdout, stderr io.Writer, getenv func(string) string) *app {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	return &app{stdout: stdout, stderr: stderr, getenv: getenv}
}

// rootCommand builds the whole command tree.
func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "jellyguard",
		Short: "A security gateway in front of Jellyfin",
		Long: `jellyguard stands in front of a Jellyfin server and makes it safe to put on the
internet: every request passes through it, every token it lets out is known
and can be revoked, and every sign-in is recorded in a tamper-evident audit log.

Every command reads the same configuration: a YAML file (--config or
JELLYGUARD_CONFIG), JELLYGUARD_* environment variables, and the flags below,
in increasing order of precedence. The admin commands (user, token, audit)
work on the data directory directly, also while the gateway is running; the
ones that only look (token list, user list, ban list, audit tail, audit
verify) also work on a read-only data directory.`,
		Example: `  # Try it without a Jellyfin server: an emulator behind the gateway
  jellyguard demo

  # Write a config file, check it against your Jellyfin, then run
  jellyguard config example > jellyguard.yaml
  jellyguard check --config jellyguard.yaml
  jellyguard serve --config jellyguard.yaml

  # Revoke a leaked session
  jellyguard token list --config jellyguard.yaml --user alice
  jellyguard token revoke --config jellyguard.yaml 3f9a1c0e`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          noSubcommand,
		RunE:          showHelp,
		PersistentPreRun: func(cmd *cobra.Command, _ []string) {
			a.command = strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
		},

		SuggestionsMinimumDistance: suggestDistance,
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err: err} })
	a.flags = config.BindFlags(root.PersistentFlags())
	root.AddCommand(
		a.serveCommand(),
		a.demoCommand(),
		a.checkCommand(),
		a.userCommand(),
		a.tokenCommand(),
		a.banCommand(),
		a.auditCommand(),
		a.configCommand(),
		a.versionCommand(),
	)
	return root
}

// suggestDistance is how many typos apart a command name may be and still
// be suggested ("tokne" → "token").
const suggestDistance = 2

// group builds a command that only holds subcommands. Run alone it shows
// its help; with an unknown subcommand it is a usage error rather than
// cobra's default of printing help and succeeding.
func group(use, short, long string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Long: long, Args: noSubcommand, RunE: showHelp,
		SuggestionsMinimumDistance: suggestDistance}
	c.AddCommand(subs...)
	return c
}

func showHelp(cmd *cobra.Command, _ []string) error { return cmd.Help() }

// noSubcommand rejects positional arguments on a command that only groups
// subcommands, suggesting the closest name.
func noSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %q?)", s[0])
	}
	return &usageError{err: errors.New(msg)}
}

// positional wraps a cobra argument check so that its failure is a usage
// error.
func positional(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			return &usageError{err: err}
		}
		return nil
	}
}

// config returns the configuration resolved from the shared flags, the
// environment and the config file. It is resolved once per run, and its
// warnings are printed once on stderr.
func (a *app) config() (*config.Config, error) {
	cfg, err := a.resolveConfig()
	if err != nil {
		return nil, err
	}
	if !a.warned {
		a.warned = true
		for _, w := range cfg.Warnings {
			say(a.stderr, "jellyguard: warning: %s\n", w)
		}
	}
	return cfg, nil
}

// resolveConfig resolves the configuration without printing its warnings,
// for check, which reports them itself.
func (a *app) resolveConfig() (*config.Config, error) {
	if !a.resolved {
		a.resolved = true
		a.cfg, a.cfgErr = a.flags.Resolve(a.getenv)
		if a.cfgErr != nil {
			a.cfgErr = &configError{problems: splitErrors(a.cfgErr)}
		}
	}
	return a.cfg, a.cfgErr
}

// configSource names where the configuration came from, for messages.
func (a *app) configSource() string {
	if p := a.flags.ConfigPath(a.getenv); p != "" {
		return p
	}
	return "built-in defaults, environment and flags"
}

// configError lists every problem of an invalid configuration, one a line,
// so a single run is enough to fix them all.
type configError struct{ problems []error }

func (e *configError) Error() string {
	if len(e.problems) == 1 {
		return "invalid configuration: " + e.problems[0].Error()
	}
	var b strings.Builder
	b.WriteString("invalid configuration:")
	for _, p := range e.problems {
		b.WriteString("\n  ")
		b.WriteString(p.Error())
	}
	return b.String()
}

func (e *configError) Unwrap() []error { return e.problems }

// splitErrors undoes errors.Join so that each problem can be shown alone.
func splitErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, splitErrors(e)...)
		}
		return out
	}
	return []error{err}
}
