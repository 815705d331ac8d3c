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
		Short: "List users with their active tokens and when they were last seen",
		Long: `List users: those that hold tokens the gateway knows, with how many of them
are active and when one was last used. When an upstream and an API key are
configured, Jellyfin's own users are merged in, so users who never signed in
through the gateway show up too (with "—").`,
		Example: `  jellyguard user list --config /etc/jellyguard/jellyguard.yaml
  jellyguard user list --json | jq -r '.[] | select(.admin) | .name'`,
		Args: positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.userList(cmd.Context(), asJSON) },
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return c
}

// userRow is one user as the list shows it. Known is false for a Jellyfin
// user the gateway has never seen a token of.
type userRow struct {
	Name         string
	ID           string
	Admin        bool
	Known        bool
	ActiveTokens int
	LastSeen     time.Time
}

func (a *app) userList(ctx context.Context, asJSON bool) (err error) {
	e, err := a.openData(ctx)
	if err != nil {
		return err
	}
	defer closeInto(&err, e)
	summaries, err := e.store.Users(ctx)
	if err != nil {
		return err
	}
	rows := rowsFromStore(summaries)
	rows = a.mergeJellyfinUsers(ctx, e.cfg, rows)
	slices.SortFunc(rows, func(x, y userRow) int {
		return cmp.Or(cmp.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name)), cmp.Compare(x.ID, y.ID))
	})
	if asJSON {
		return writeJSON(a.stdout, usersJSON(rows))
	}
	return writeUserTable(a.stdout, rows)
}

func rowsFromStore(summaries []store.UserSummary) []userRow {
	rows := make([]userRow, 0, len(summaries))
	for _, s := range summaries {
		rows = append(rows, userRow{Name: s.UserName, ID: s.UserID, Admin: s.IsAdmin, Known: true,
			ActiveTokens: s.ActiveTokens, LastSeen: s.LastSeenAt})
	}
	return rows
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

func writeUserTable(w io.Writer, rows []userRow) error {
	if len(rows) == 0 {
		_, err := fmt.Fprintln(w, "No users yet: nobody has signed in through the gateway.")
		return err
	}
	t := newTable(w, "NAME", "ID", "ADMIN", "ACTIVE TOKENS", "LAST SEEN")
	for _, r := range rows {
		tokens := none
		if r.Known {
			tokens = strconv.Itoa(r.ActiveTokens)
		}
		t.row(r.Name, r.ID, yesNo(r.Admin), tokens, formatTime(r.LastSeen))
	}
	return t.Flush()
}

// userJSON is one user in --json output; active_tokens is null for users
// who never signed in through the gateway.
type userJSON struct {
	Name         string     `json:"name"`
	ID           string     `json:"id"`
	Admin        bool       `json:"admin"`
	ActiveTokens *int       `json:"active_tokens"`
	LastSeen     *time.Time `json:"last_seen"`
}

func usersJSON(rows []userRow) []userJSON {
	out := make([]userJSON, 0, len(rows))
	for _, r := range rows {
		u := userJSON{Name: r.Name, ID: r.ID, Admin: r.Admin, LastSeen: jsonTime(r.LastSeen)}
		if r.Known {
			n := r.ActiveTokens
			u.ActiveTokens = &n
		}
		out = append(out, u)
	}
	return out
}
