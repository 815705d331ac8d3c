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
away; otherwise, or when Jellyfin does not answer, a running gateway does
it, and keeps trying until Jellyfin confirms (token list shows "revoked,
logout pending" until then). Revoking a token that is already revoked tries
its logout again. Revoking works while the gateway runs: it picks the change
up by itself.`,
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
// confirmed the logout. A token already revoked is not revoked again, but
// a logout still owed is tried again.
func (a *app) revokeOne(ctx context.Context, e *env, table *tokens.Table, st store.Token) error {
	h := tokens.Hash(st.Hash)
	if st.Revoked() {
		_, err := fmt.Fprintf(a.stdout, "%s (%s) was already revoked on %s; %s.\n", h.Short(), describeToken(st),
			formatTime(st.RevokedAt), a.retryOutcome(ctx, e, table, st))
		return err
	}
	after, err := table.Revoke(ctx, h, revokedBy)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(a.stdout, "Revoked %s (%s); %s.\n", h.Short(), describeToken(st), logoutOutcome(e, table, after))
	return err
}

// apiKeyNote is what revoking an API key leaves to do: Jellyfin has no
// logout for keys.
const apiKeyNote = "the gateway refuses it; delete it in Jellyfin too (Dashboard → API Keys)"

// logoutOutcome tells whether a token just revoked is also gone from
// Jellyfin.
func logoutOutcome(e *env, table *tokens.Table, after store.Token) string {
	switch {
	case after.Kind == store.KindAPIKey:
		return apiKeyNote
	case !after.LoggedOutAt.IsZero():
		return "logged out of Jellyfin"
	case e.cfg.UpstreamURL == nil:
		return "no upstream is configured here, so a running gateway will log it out of Jellyfin"
	}
	return notConfirmed(table.LogoutError(tokens.Hash(after.Hash)))
}

// retryOutcome tries the logout of a token revoked earlier, if it is still
// owed, and tells the result.
func (a *app) retryOutcome(ctx context.Context, e *env, table *tokens.Table, st store.Token) string {
	switch {
	case st.Kind == store.KindAPIKey:
		return apiKeyNote
	case !st.LoggedOutAt.IsZero():
		return "it is logged out of Jellyfin"
	case e.cfg.UpstreamURL == nil:
		return "its logout from Jellyfin is still pending: a running gateway will do it, or give --upstream to try now"
	}
	if _, err := table.RetryLogout(ctx, tokens.Hash(st.Hash)); err != nil {
		return notConfirmed(err)
	}
	return "its logout was still pending, and Jellyfin has now confirmed it"
}

// notConfirmed says that Jellyfin did not confirm a logout, and why.
func notConfirmed(err error) string {
	why := ""
	if err != nil {
		why = " (" + cell(err.Error()) + ")"
	}
	return "Jellyfin did not confirm the logout" + why + "; the gateway refuses the token regardless, " +
		"a running gateway keeps trying, and running this command again tries now"
}
