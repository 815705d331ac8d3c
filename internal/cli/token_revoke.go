package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/tokens"
)

// revokedBy is recorded in the audit log as who revoked a token.
const revokedBy = "the command line"

func (a *app) tokenRevokeCommand() *cobra.Command {
	var user string
	c := &cobra.Command{
		Use:   "revoke [HASH...]",
		Short: "Revoke tokens by hash, or all active tokens of a user",
		Long: `Revoke tokens: the gateway refuses them from now on, closes the streams and
WebSockets that use them, and logs them out of Jellyfin.

A token is named by its hash as token list shows it: the full 64 hex digits,
or any prefix of at least 8 that matches exactly one token. --user revokes
every active token of one user instead (sign them out everywhere).

When an upstream is configured, the tokens are logged out of Jellyfin right
away; otherwise a running gateway does it within a second or so. Revoking
works while the gateway runs: it picks the change up by itself.`,
		Example: `  jellyguard token revoke 3f9a1c0e
  jellyguard token revoke 3f9a1c0e5b2d 77d0c4a19e02
  jellyguard token revoke --user alice`,
		Args: positional(cobra.ArbitraryArgs),
		RunE: func(cmd *cobra.Command, hashes []string) error {
			switch {
			case user != "" && len(hashes) > 0:
				return usagef("give token hashes or --user, not both")
			case user == "" && len(hashes) == 0:
				return usagef("name the tokens to revoke by hash, or use --user NAME")
			}
			return a.tokenRevoke(cmd.Context(), hashes, user)
		},
	}
	c.Flags().StringVar(&user, "user", "", "revoke every active token of this user (name or id)")
	return c
}

func (a *app) tokenRevoke(ctx context.Context, hashes []string, user string) (err error) {
	e, err := a.openData(ctx)
	if err != nil {
		return err
	}
	defer closeInto(&err, e)
	all, err := e.store.Tokens(ctx, store.TokenFilter{IncludeRevoked: true})
	if err != nil {
		return err
	}
	targets, err := revokeTargets(all, hashes, user)
	if err != nil {
		return err
	}
	if len(targets) == 0 {
		_, err := fmt.Fprintf(a.stdout, "User %q has no active tokens; nothing to revoke.\n", user)
		return err
	}
	table, err := e.tokenTable(ctx)
	if err != nil {
		return err
	}
	for _, st := range targets {
		if err := a.revokeOne(ctx, e, table, st); err != nil {
			return err
		}
	}
	return nil
}

// revokeTargets picks the tokens to revoke: those named by hash, or every
// active token of user. A user no token belongs to is an error (most
// likely a typo); a known user without active tokens is not.
func revokeTargets(all []store.Token, hashes []string, user string) ([]store.Token, error) {
	if user == "" {
		return findTokens(all, hashes)
	}
	owned := tokensOf(all, user)
	if len(owned) == 0 {
		return nil, fmt.Errorf("no token of a user %q is known (see jellyguard user list)", user)
	}
	var active []store.Token
	for _, st := range owned {
		if tokenStatus(st) == "active" {
			active = append(active, st)
		}
	}
	return active, nil
}

// tokenTable is the token table of the opened parts. With an upstream
// configured it can log revoked tokens out of Jellyfin itself.
func (e *env) tokenTable(context.Context) (*tokens.Table, error) { return e.parts.Tokens, nil }

// revokeOne revokes st and says what happened, including whether Jellyfin
// confirmed the logout.
func (a *app) revokeOne(ctx context.Context, e *env, table *tokens.Table, st store.Token) error {
	h := tokens.Hash(st.Hash)
	if st.Revoked() {
		_, err := fmt.Fprintf(a.stdout, "%s (%s) was already revoked on %s.\n", h.Short(), describeToken(st), formatTime(st.RevokedAt))
		return err
	}
	if _, err := table.Revoke(ctx, h, revokedBy); err != nil {
		return err
	}
	_, err := fmt.Fprintf(a.stdout, "Revoked %s (%s); %s.\n", h.Short(), describeToken(st), a.logoutOutcome(ctx, e, st))
	return err
}

// logoutOutcome tells whether the revoked token is also gone from Jellyfin.
func (a *app) logoutOutcome(ctx context.Context, e *env, before store.Token) string {
	switch {
	case before.Kind == store.KindAPIKey:
		return "the gateway refuses it; delete it in Jellyfin too (Dashboard → API Keys)"
	case !before.LoggedOutAt.IsZero():
		return "it was already logged out of Jellyfin"
	case e.cfg.UpstreamURL == nil:
		return "no upstream is configured here, so a running gateway will log it out of Jellyfin"
	}
	after, err := e.store.Token(ctx, before.Hash)
	if err == nil && !after.LoggedOutAt.IsZero() {
		return "logged out of Jellyfin"
	}
	return "Jellyfin did not confirm the logout (see the log); the gateway refuses the token regardless"
}
