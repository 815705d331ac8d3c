package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/tokens"
)

// minPrefix is the shortest hash prefix token revoke accepts: short enough
// to type, long enough that a typo rarely hits another token.
const minPrefix = 8

func (a *app) tokenCommand() *cobra.Command {
	return group("token", "List and revoke the Jellyfin tokens the gateway knows",
		`Every Jellyfin access token that passed through the gateway is recorded by
its SHA-256 hash (never the token itself). Revoking one makes the gateway
refuse it at once, closes its open streams, and logs it out of Jellyfin.`,
		a.tokenListCommand(), a.tokenRevokeCommand())
}

// tokenListOptions are the flags of token list.
type tokenListOptions struct {
	user string
	all  bool
	json bool
}

func (a *app) tokenListCommand() *cobra.Command {
	var o tokenListOptions
	c := &cobra.Command{
		Use:   "list",
		Short: "List known tokens (active ones unless --all)",
		Long: `List the tokens the gateway knows, newest first. TOKEN is the first 12 hex
digits of the token's SHA-256 hash, which is what token revoke takes; the
token itself is never shown. STATUS is one of:

  active                  a session the gateway lets through
  revoked                 revoked through the gateway; refused, and logged
                          out of Jellyfin (or an API key, which only
                          Jellyfin's dashboard deletes)
  revoked, logout pending refused by the gateway, but Jellyfin has not yet
                          confirmed the logout, so the token still works
                          there directly; a running gateway keeps trying,
                          and token revoke of it tries again at once
  logged out              no longer valid in Jellyfin
  apikey                  a Jellyfin API key used by an integration

In --json output a pending logout is "status": "revoked" with
"logout_pending": true.

SOURCE says how the gateway learnt the token: login, quickconnect,
legacy-login (handed out through the gateway) or resolved (seen in a
request and confirmed by Jellyfin).`,
		Example: `  jellyguard token list
  jellyguard token list --user alice --all
  jellyguard token list --json | jq -r '.[] | select(.status == "active") | .hash'`,
		Args: positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.tokenList(cmd.Context(), o) },
	}
	c.Flags().StringVar(&o.user, "user", "", "only tokens of this user (name or id)")
	c.Flags().BoolVar(&o.all, "all", false, "include revoked tokens")
	c.Flags().BoolVar(&o.json, "json", false, "print JSON instead of a table (full hashes)")
	return c
}

func (a *app) tokenList(ctx context.Context, o tokenListOptions) (err error) {
	e, err := a.openData(ctx)
	if err != nil {
		return err
	}
	defer closeInto(&err, e)
	list, err := e.store.Tokens(ctx, store.TokenFilter{IncludeRevoked: o.all})
	if err != nil {
		return err
	}
	if o.user != "" {
		list = tokensOf(list, o.user)
	}
	if o.json {
		return writeJSON(a.stdout, tokensJSON(list))
	}
	return writeTokenTable(a.stdout, list, o)
}

// openData resolves the configuration and opens the data directory, the
// first step of every admin command.
func (a *app) openData(ctx context.Context) (*env, error) {
	cfg, err := a.config()
	if err != nil {
		return nil, err
	}
	return a.openEnv(ctx, cfg, true, false)
}

func writeTokenTable(w io.Writer, list []store.Token, o tokenListOptions) error {
	if len(list) == 0 {
		_, err := fmt.Fprintln(w, noTokensMessage(o))
		return err
	}
	t := newTable(w, "TOKEN", "USER", "CLIENT", "DEVICE", "IP", "SOURCE", "CREATED", "LAST SEEN", "STATUS")
	for _, st := range list {
		t.row(tokens.Hash(st.Hash).Short(), st.UserName, st.Client, st.DeviceName, st.IP, st.Source,
			formatTime(st.CreatedAt), formatTime(st.LastSeenAt), tokenState(st))
	}
	return t.Flush()
}

func noTokensMessage(o tokenListOptions) string {
	msg := "No active tokens"
	if o.all {
		msg = "No tokens"
	}
	if o.user != "" {
		msg += fmt.Sprintf(" for user %q", o.user)
	}
	return msg + "."
}

// tokenStatus names a token's state as the list shows it.
func tokenStatus(st store.Token) string {
	switch {
	case st.Revoked():
		return "revoked"
	case !st.LoggedOutAt.IsZero():
		return "logged out"
	case st.Kind == store.KindAPIKey:
		return "apikey"
	default:
		return "active"
	}
}

// logoutPending reports whether st is revoked but Jellyfin has not yet
// confirmed its logout: the token is refused by the gateway and still valid
// in Jellyfin.
func logoutPending(st store.Token) bool {
	return st.Revoked() && st.LoggedOutAt.IsZero() && st.Kind == store.KindSession
}

// tokenState is tokenStatus as the table shows it: a pending logout is told
// apart from a finished revocation.
func tokenState(st store.Token) string {
	if logoutPending(st) {
		return "revoked, logout pending"
	}
	return tokenStatus(st)
}

// tokensOf keeps the tokens of one user, given by name (as Jellyfin does,
// case-insensitively) or by id.
func tokensOf(list []store.Token, user string) []store.Token {
	var out []store.Token
	for _, st := range list {
		if userMatches(st.UserName, st.UserID, user) {
			out = append(out, st)
		}
	}
	return out
}

func userMatches(name, id, want string) bool {
	if name != "" && strings.EqualFold(name, want) {
		return true
	}
	return id != "" && normalizeID(id) == normalizeID(want)
}

// normalizeID brings a Jellyfin user id to one form: Jellyfin writes GUIDs
// both with and without dashes, in either case.
func normalizeID(id string) string {
	return strings.ToLower(strings.ReplaceAll(id, "-", ""))
}

// tokenJSON is one token in --json output. It carries the full hash, which
// identifies the token without revealing it.
type tokenJSON struct {
	Hash        string     `json:"hash"`
	Kind        string     `json:"kind"`
	Status      string     `json:"status"`
	UserID      string     `json:"user_id,omitempty"`
	UserName    string     `json:"user,omitempty"`
	Admin       bool       `json:"admin"`
	DeviceID    string     `json:"device_id,omitempty"`
	Client      string     `json:"client,omitempty"`
	DeviceName  string     `json:"device,omitempty"`
	IP          string     `json:"ip,omitempty"`
	Source      string     `json:"source,omitempty"`
	CreatedAt   *time.Time `json:"created"`
	LastSeenAt  *time.Time `json:"last_seen"`
	RevokedAt   *time.Time `json:"revoked"`
	LoggedOutAt *time.Time `json:"logged_out"`
	// LogoutPending: revoked, and Jellyfin has not yet confirmed the logout.
	LogoutPending bool `json:"logout_pending,omitempty"`
}

func tokensJSON(list []store.Token) []tokenJSON {
	out := make([]tokenJSON, 0, len(list))
	for _, st := range list {
		out = append(out, tokenJSON{
			Hash: tokens.Hash(st.Hash).String(), Kind: string(st.Kind), Status: tokenStatus(st),
			UserID: st.UserID, UserName: st.UserName, Admin: st.IsAdmin, DeviceID: st.DeviceID,
			Client: st.Client, DeviceName: st.DeviceName, IP: st.IP, Source: st.Source,
			CreatedAt: jsonTime(st.CreatedAt), LastSeenAt: jsonTime(st.LastSeenAt),
			RevokedAt: jsonTime(st.RevokedAt), LoggedOutAt: jsonTime(st.LoggedOutAt), LogoutPending: logoutPending(st),
		})
	}
	return out
}

// findTokens resolves each hash or hash prefix in args to exactly one
// token. All arguments are resolved before anything is revoked, so a typo
// in the third argument does not leave the first two revoked and the
// command half done.
func findTokens(list []store.Token, args []string) ([]store.Token, error) {
	var found []store.Token
	var errs []error
	for _, arg := range args {
		st, err := findToken(list, arg)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		found = append(found, st)
	}
	return found, errors.Join(errs...)
}

func findToken(list []store.Token, arg string) (store.Token, error) {
	prefix := strings.ToLower(strings.TrimSpace(arg))
	if err := checkPrefix(prefix); err != nil {
		return store.Token{}, err
	}
	var matches []store.Token
	for _, st := range list {
		if strings.HasPrefix(tokens.Hash(st.Hash).String(), prefix) {
			matches = append(matches, st)
		}
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		return store.Token{}, fmt.Errorf("no token with hash %s… (see jellyguard token list --all)", prefix)
	default:
		return store.Token{}, fmt.Errorf("hash prefix %s is ambiguous: it matches %d tokens; give more digits", prefix, len(matches))
	}
}

// checkPrefix accepts 8 to 64 hex digits.
func checkPrefix(p string) error {
	if len(p) < minPrefix || len(p) > 64 {
		return fmt.Errorf("token hash %q: give the full hash or at least its first %d hex digits", p, minPrefix)
	}
	for _, r := range p {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return fmt.Errorf("token hash %q: %q is not a hex digit", p, r)
		}
	}
	return nil
}

// describeToken names a token for a message: whose it is and from where.
func describeToken(st store.Token) string {
	if st.Kind == store.KindAPIKey {
		return "Jellyfin API key"
	}
	parts := []string{cell(st.UserName)}
	switch {
	case st.Client != "" && st.DeviceName != "":
		parts = append(parts, cell(st.Client)+" on "+cell(st.DeviceName))
	case st.Client != "" || st.DeviceName != "":
		parts = append(parts, cell(st.Client+st.DeviceName))
	}
	if st.IP != "" {
		parts = append(parts, "from "+cell(st.IP))
	}
	return strings.Join(parts, ", ")
}
