package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/jellyguard/jellyguard/internal/signin"
	"github.com/jellyguard/jellyguard/internal/store"
)

// by is recorded in the audit log as who made an administrator's change.
const byCLI = "the command line"

func (a *app) userResetCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "reset USERNAME",
		Short: "Wipe a user's second factor, trusted browsers and devices (break glass)",
		Long: `Wipe everything second-factor of one user: the authenticator, the recovery
codes, open challenges, trusted browsers and approved devices. The tokens
those browsers and devices hold are revoked. Use it when someone lost their
phone and their recovery codes; they can enroll again on the Setup page (or
with "jellyguard user totp"). Works while the gateway runs.`,
		Example: `  jellyguard user reset alice --config /etc/jellyguard/jellyguard.yaml`,
		Args:    positional(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withSignin(cmd.Context(), args[0], func(ctx context.Context, svc *signin.Service, acct store.Account) error {
				if err := svc.Reset(ctx, acct, byCLI); err != nil {
					return err
				}
				return printf(a.stdout, "Reset %s: second factor, trusted browsers and devices removed.\n", acct.UserName)
			})
		},
	}
}

func (a *app) userTOTPCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "totp USERNAME",
		Short: "Enroll (or re-enroll) a user's authenticator and print its URI and recovery codes",
		Long: `Enroll TOTP for a user without asking them for a code: prints the otpauth://
URI (paste it into an authenticator app, or make a QR code of it) and ten new
recovery codes, each usable once. An existing enrollment is replaced. For
scripted setups, and for an administrator helping someone in person.`,
		Example: `  jellyguard user totp alice
  jellyguard user totp alice | head -1 | qrencode -t ansiutf8`,
		Args: positional(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withSignin(cmd.Context(), args[0], func(ctx context.Context, svc *signin.Service, acct store.Account) error {
				e, err := svc.EnrollFromCLI(ctx, acct)
				if err != nil {
					return err
				}
				return printf(a.stdout, "%s\n\nRecovery codes for %s (each works once; keep them safe):\n%s\n",
					e.URI, e.UserName, strings.Join(e.RecoveryCodes, "\n"))
			})
		},
	}
}

func (a *app) userRequirementCommand(use, short string, r store.Requirement) *cobra.Command {
	return &cobra.Command{
		Use:   use + " USERNAME",
		Short: short,
		Long: short + `. "require" makes the user pass a second factor whatever the global policy
(they get the enrollment grace period first); "exempt" never asks them for
one; "default" follows two_factor.require again.`,
		Example: "  jellyguard user " + use + " alice",
		Args:    positional(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withSignin(cmd.Context(), args[0], func(ctx context.Context, svc *signin.Service, acct store.Account) error {
				if err := svc.SetRequirement(ctx, acct, r, byCLI); err != nil {
					return err
				}
				return printf(a.stdout, "%s: second factor %s.\n", acct.UserName, map[store.Requirement]string{
					store.RequireAlways: "required", store.RequireNever: "never asked for", store.RequireDefault: "as the global policy says"}[r])
			})
		},
	}
}

// withSignin opens the data directory, builds the sign-in service and finds
// the user by name: in the gateway's own records, or else in Jellyfin's
// user list when an upstream and an API key are configured.
func (a *app) withSignin(ctx context.Context, name string, fn func(context.Context, *signin.Service, store.Account) error) (err error) {
	e, err := a.openData(ctx)
	if err != nil {
		return err
	}
	defer closeInto(&err, e)
	acct, err := a.findAccount(ctx, e, name)
	if err != nil {
		return err
	}
	return fn(ctx, e.parts.Signin, acct)
}

var errNoSuchUser = errors.New("no such user")

func (a *app) findAccount(ctx context.Context, e *env, name string) (store.Account, error) {
	folded := signin.Fold(strings.TrimSpace(name))
	acct, err := e.store.AccountByName(ctx, folded)
	if err == nil {
		return acct, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return acct, err
	}
	if jf := jellyfinClient(e.cfg); jf != nil && e.cfg.APIKey != "" {
		users, err := jf.Users(ctx)
		if err != nil {
			return acct, fmt.Errorf("looking %q up in Jellyfin: %w", name, err)
		}
		for _, u := range users {
			if strings.EqualFold(u.Name, name) {
				return store.Account{UserID: u.ID, UserName: u.Name, NameFolded: folded, IsAdmin: u.IsAdministrator}, nil
			}
		}
	}
	return acct, fmt.Errorf("%w %q: the gateway has not seen them sign in, and Jellyfin was not asked (configure upstream and api_key) or does not know them", errNoSuchUser, name)
}

// printf writes to w and returns the write error (stdout may be a closed pipe).
func printf(w io.Writer, format string, args ...any) error {
	_, err := fmt.Fprintf(w, format, args...)
	return err
}
