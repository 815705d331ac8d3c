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
	"github.com/jellyguard/jellyguard/internal/tokens"
)

// by is recorded in the audit log as who made an administrator's change.
const byCLI = "the command line"

func (a *app) userResetCommand() *cobra.Command {
	var keep bool
	c := &cobra.Command{
		Use:   "reset USERNAME",
		Short: "Wipe a user's second factor, trusted browsers and devices, and sign them out (break glass)",
		Long: `Wipe everything second-factor of one user: the authenticator, the recovery
codes, open challenges, trusted browsers and approved devices. Use it when
someone lost their phone and their recovery codes; they can enroll again on
the Setup page (or with "jellyguard user totp").

A lost phone is a signed-in phone in someone else's hands, so every active
session of the user is revoked too: the gateway refuses those tokens from
now on and they sign in again everywhere. With --keep-sessions only the
sessions of the trusted browsers and approved devices are revoked; the rest
stay signed in (revoke them later with "jellyguard token revoke --user").

A user who must use a second factor and whose grace period is over cannot
sign in again until they are enrolled; the command says so. Works while the
gateway runs.`,
		Example: `  jellyguard user reset alice --config /etc/jellyguard/jellyguard.yaml
  jellyguard user reset alice --keep-sessions`,
		Args: positional(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error { return a.userReset(cmd.Context(), args[0], keep) },
	}
	c.Flags().BoolVar(&keep, "keep-sessions", false, "leave sessions signed in, except those of trusted browsers and devices")
	return c
}

// userReset wipes a user's second factor and, unless keep, revokes every
// session they still hold. The sessions are listed before the reset, which
// itself revokes those of trusted browsers and devices, so that the count
// it reports covers both.
func (a *app) userReset(ctx context.Context, name string, keep bool) (err error) {
	e, err := a.openData(ctx)
	if err != nil {
		return err
	}
	defer closeInto(&err, e)
	acct, err := a.findAccount(ctx, e, name)
	if err != nil {
		return err
	}
	before, err := activeSessions(ctx, e.store, acct.UserID)
	if err != nil {
		return err
	}
	if err := e.parts.Signin.Reset(ctx, acct, byCLI); err != nil {
		return err
	}
	if err := printf(a.stdout, "Reset %s: second factor, trusted browsers and devices removed.\n", acct.UserName); err != nil {
		return err
	}
	left, err := activeSessions(ctx, e.store, acct.UserID)
	if err != nil {
		return err
	}
	ended := len(before) - len(left)
	if !keep {
		for _, t := range left {
			if _, err := e.parts.Tokens.Revoke(ctx, tokens.Hash(t.Hash), "reset by "+byCLI); err != nil {
				return err
			}
		}
		ended, left = len(before)+newSince(before, left), nil
	}
	if err := a.sayReset(acct, ended, len(left)); err != nil {
		return err
	}
	if st := e.parts.Signin.FactorState(ctx, acct.UserID, acct.IsAdmin); st.Required && !st.Grace && !st.Enrolled {
		return printf(a.stdout, "%s must use a second factor and their grace period is over: they cannot sign in until enrolled again\n"+
			"(jellyguard user totp %s prints a new authenticator, or jellyguard user exempt %s lifts the requirement).\n",
			acct.UserName, acct.UserName, acct.UserName)
	}
	return nil
}

// sayReset reports the sessions a reset ended and kept.
func (a *app) sayReset(acct store.Account, ended, kept int) error {
	var b strings.Builder
	switch ended {
	case 0:
		b.WriteString("No active session was revoked")
	case 1:
		b.WriteString("Revoked 1 active session")
	default:
		fmt.Fprintf(&b, "Revoked %d active sessions", ended)
	}
	switch {
	case kept == 1:
		fmt.Fprintf(&b, "; 1 stays signed in (jellyguard token revoke --user %s ends it).\n", acct.UserName)
	case kept > 1:
		fmt.Fprintf(&b, "; %d stay signed in (jellyguard token revoke --user %s ends them).\n", kept, acct.UserName)
	case ended > 0:
		fmt.Fprintf(&b, ": %s signs in again everywhere.\n", acct.UserName)
	default:
		b.WriteString(": there was none.\n")
	}
	return printf(a.stdout, "%s", b.String())
}

// activeSessions lists the user's tokens that token list shows as active.
func activeSessions(ctx context.Context, st store.Store, userID string) ([]store.Token, error) {
	live, err := st.Tokens(ctx, store.TokenFilter{})
	if err != nil {
		return nil, err
	}
	var out []store.Token
	for _, t := range live {
		if tokenStatus(t) == "active" && normalizeID(t.UserID) == normalizeID(userID) {
			out = append(out, t)
		}
	}
	return out, nil
}

// newSince counts the tokens of after that before does not hold: sessions
// that began while the reset ran.
func newSince(before, after []store.Token) int {
	had := make(map[[32]byte]bool, len(before))
	for _, t := range before {
		had[t.Hash] = true
	}
	n := 0
	for _, t := range after {
		if !had[t.Hash] {
			n++
		}
	}
	return n
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
	// A user whose tokens the gateway adopted without seeing them sign in.
	owners, err := e.store.Users(ctx)
	if err != nil {
		return acct, err
	}
	for _, u := range owners {
		if signin.Fold(u.UserName) == folded {
			return store.Account{UserID: u.UserID, UserName: u.UserName, NameFolded: folded, IsAdmin: u.IsAdmin}, nil
		}
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
	return acct, fmt.Errorf("%w %q: the gateway has not seen them sign in nor any token of theirs, and Jellyfin was not asked (configure upstream and api_key) or does not know them", errNoSuchUser, name)
}

// printf writes to w and returns the write error (stdout may be a closed pipe).
func printf(w io.Writer, format string, args ...any) error {
	_, err := fmt.Fprintf(w, format, args...)
	return err
}
