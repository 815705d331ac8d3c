package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/signin"
	"github.com/jellyguard/jellyguard/internal/store"
)

func (a *app) userCommand() *cobra.Command {
	return group("user", "Show the users the gateway and Jellyfin know",
		`Users are Jellyfin's: the gateway never changes Jellyfin's user records. It
knows a user once they sign in through it (or use a token it checks).`,
		a.userListCommand(), a.userResetCommand(), a.userTOTPCommand(), a.userNetworksCommand(),
		a.userRequirementCommand("require", "Require a second factor of a user", store.RequireAlways),
		a.userRequirementCommand("exempt", "Never ask a user for a second factor", store.RequireNever),
		a.userRequirementCommand("default", "Let the global policy decide for a user again", store.RequireDefault))
}

func (a *app) userListCommand() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "list",
		Short: "List users with their second factor, active tokens and when they were last seen",
		Long: `List users: those the gateway knows (they signed in through it, hold tokens
it checks, or were enrolled or given a rule here), with where they stand with
the second factor, how many of their tokens are active (the same count as
the "active" rows of token list) and when one was last used. When an
upstream and an API key are configured, Jellyfin's own users are merged in,
so users who never signed in through the gateway show up too (with "—").

2FA is one of:

  enrolled                   has an authenticator or unused recovery codes
  exempt                     never asked for a second factor (user exempt)
  grace until <time>         must enroll; signs in without a code until then
  grace from first sign-in   must enroll; the grace period starts at their
                             first sign-in through the gateway
  required, not enrolled     must enroll and the grace period is over: sign-ins
                             are refused until they do (user totp enrolls them)
  not enrolled               not required (two_factor.require), not enrolled

With --json, two_factor is "enrolled", "exempt", "grace", "required" or
"off" for these, and grace_until is when a running grace period ends.`,
		Example: `  jellyguard user list --config /etc/jellyguard/jellyguard.yaml
  jellyguard user list --json | jq -r '.[] | select(.admin) | .name'
  jellyguard user list --json | jq -r '.[] | select(.two_factor == "grace") | "\(.name) \(.grace_until)"'`,
		Args: positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.userList(cmd.Context(), asJSON) },
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return c
}

// userRow is one user as the list shows it. Known is false for a Jellyfin
// user the gateway has never seen.
type userRow struct {
	Name         string
	ID           string
	Admin        bool
	Known        bool
	ActiveTokens int
	LastSeen     time.Time
	Factor       signin.FactorState
}

func (a *app) userList(ctx context.Context, asJSON bool) (err error) {
	e, err := a.openData(ctx)
	if err != nil {
		return err
	}
	defer closeInto(&err, e)
	rows, err := knownUsers(ctx, e.store)
	if err != nil {
		return err
	}
	rows = a.mergeJellyfinUsers(ctx, e.cfg, rows)
	for i := range rows {
		rows[i].Factor = e.parts.Signin.FactorState(ctx, rows[i].ID, rows[i].Admin)
	}
	slices.SortFunc(rows, func(x, y userRow) int {
		return cmp.Or(cmp.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name)), cmp.Compare(x.ID, y.ID))
	})
	if asJSON {
		return writeJSON(a.stdout, usersJSON(rows))
	}
	return writeUserTable(a.stdout, rows)
}

// knownUsers lists the users the gateway knows: the owners of the session
// tokens it recorded and the accounts it keeps second-factor state for (a
// user enrolled or given a rule from the command line may hold no token
// yet). Active tokens are counted the way token list marks them, so the
// two lists never disagree about a user.
func knownUsers(ctx context.Context, st store.Store) ([]userRow, error) {
	summaries, err := st.Users(ctx)
	if err != nil {
		return nil, err
	}
	live, err := st.Tokens(ctx, store.TokenFilter{})
	if err != nil {
		return nil, err
	}
	active := map[string]int{}
	for _, t := range live {
		if tokenStatus(t) == "active" {
			active[normalizeID(t.UserID)]++
		}
	}
	rows := make([]userRow, 0, len(summaries))
	seen := map[string]bool{}
	for _, s := range summaries {
		id := normalizeID(s.UserID)
		seen[id] = true
		rows = append(rows, userRow{Name: s.UserName, ID: s.UserID, Admin: s.IsAdmin, Known: true,
			ActiveTokens: active[id], LastSeen: s.LastSeenAt})
	}
	accounts, err := st.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	for _, acct := range accounts {
		if id := normalizeID(acct.UserID); !seen[id] {
			seen[id] = true
			rows = append(rows, userRow{Name: acct.UserName, ID: acct.UserID, Admin: acct.IsAdmin, Known: true,
				ActiveTokens: active[id]})
		}
	}
	return rows, nil
}

// mergeJellyfinUsers adds Jellyfin's users when it can ask Jellyfin. Jellyfin
// is the authority on names and roles, so its values win for users both
// know. If Jellyfin cannot be asked, the gateway's own view is still shown.
func (a *app) mergeJellyfinUsers(ctx context.Context, cfg *config.Config, rows []userRow) []userRow {
	jf := jellyfinClient(cfg)
	if jf == nil || cfg.APIKey == "" {
		return rows
	}
	users, err := jf.Users(ctx)
	if err != nil {
		say(a.stderr, "jellyguard: warning: cannot list Jellyfin's users (%v); showing the users the gateway knows\n", err)
		return rows
	}
	byID := make(map[string]int, len(rows))
	for i, r := range rows {
		byID[normalizeID(r.ID)] = i
	}
	for _, u := range users {
		if i, ok := byID[normalizeID(u.ID)]; ok {
			rows[i].Name, rows[i].Admin = u.Name, u.IsAdministrator
			continue
		}
		rows = append(rows, userRow{Name: u.Name, ID: u.ID, Admin: u.IsAdministrator})
	}
	return rows
}

// Second-factor standings as user list --json names them.
const (
	factorEnrolled = "enrolled"
	factorExempt   = "exempt"
	factorGrace    = "grace"
	factorRequired = "required"
	factorOff      = "off"
)

// factorWord names a standing for --json.
func factorWord(f signin.FactorState) string {
	switch {
	case f.Exempt:
		return factorExempt
	case f.Enrolled:
		return factorEnrolled
	case f.Grace:
		return factorGrace
	case f.Required:
		return factorRequired
	default:
		return factorOff
	}
}

// factorCell describes a standing in the table, in the words the help
// explains.
func factorCell(f signin.FactorState) string {
	switch factorWord(f) {
	case factorExempt:
		return "exempt"
	case factorEnrolled:
		return "enrolled"
	case factorGrace:
		if f.GraceUntil.IsZero() {
			return "grace from first sign-in"
		}
		return "grace until " + formatTime(f.GraceUntil)
	case factorRequired:
		return "required, not enrolled"
	default:
		return "not enrolled"
	}
}

func writeUserTable(w io.Writer, rows []userRow) error {
	if len(rows) == 0 {
		_, err := fmt.Fprintln(w, "No users yet: nobody has signed in through the gateway.")
		return err
	}
	t := newTable(w, "NAME", "ID", "ADMIN", "2FA", "ACTIVE TOKENS", "LAST SEEN")
	for _, r := range rows {
		tokens := none
		if r.Known {
			tokens = strconv.Itoa(r.ActiveTokens)
		}
		t.row(r.Name, r.ID, yesNo(r.Admin), factorCell(r.Factor), tokens, formatTime(r.LastSeen))
	}
	return t.Flush()
}

// userJSON is one user in --json output; active_tokens is null for users
// the gateway has never seen. two_factor is "enrolled", "exempt", "grace",
// "required" (grace over, not enrolled) or "off"; grace_until is set while
// a started grace period runs.
type userJSON struct {
	Name         string     `json:"name"`
	ID           string     `json:"id"`
	Admin        bool       `json:"admin"`
	TwoFactor    string     `json:"two_factor"`
	Enrolled     bool       `json:"enrolled"`
	GraceUntil   *time.Time `json:"grace_until"`
	ActiveTokens *int       `json:"active_tokens"`
	LastSeen     *time.Time `json:"last_seen"`
}

func usersJSON(rows []userRow) []userJSON {
	out := make([]userJSON, 0, len(rows))
	for _, r := range rows {
		u := userJSON{Name: r.Name, ID: r.ID, Admin: r.Admin, TwoFactor: factorWord(r.Factor), Enrolled: r.Factor.Enrolled,
			GraceUntil: jsonTime(r.Factor.GraceUntil), LastSeen: jsonTime(r.LastSeen)}
		if r.Known {
			n := r.ActiveTokens
			u.ActiveTokens = &n
		}
		out = append(out, u)
	}
	return out
}
