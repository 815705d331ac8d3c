package store

import (
	"context"
	"time"
)

// Ban keeps an address or network away from Jellyfin.
type Ban struct {
	// Prefix is the banned network in CIDR form ("203.0.113.7/32",
	// "2001:db8:1:2::/64"): the key.
	Prefix string
	Reason string
	// Source is "auto" (too many failures) or "manual" (CLI, admin API).
	Source string
	By     string // who set a manual ban
	// Level counts the bans this prefix has had; repeat offenders get
	// longer ones. An expired ban stays stored so the next one escalates.
	Level     int
	CreatedAt time.Time
	ExpiresAt time.Time // zero: until lifted
	LiftedAt  time.Time // zero unless lifted by hand
}

// Active reports whether the ban is in force at now.
func (b Ban) Active(now time.Time) bool {
	return b.LiftedAt.IsZero() && (b.ExpiresAt.IsZero() || now.Before(b.ExpiresAt))
}

// Change kinds of the shield.
const (
	ChangeBanAdded     = "ban.added"     // Key: the prefix
	ChangeBanLifted    = "ban.lifted"    // Key: the prefix
	ChangeUserNetworks = "user.networks" // Key: the user id
)

// ShieldStore is the part of the store bans and network policy need.
type ShieldStore interface {
	// PutBan inserts or replaces the ban of b.Prefix and appends a
	// ChangeBanAdded change in the same transaction.
	PutBan(ctx context.Context, b Ban) error
	// Ban returns the stored ban of prefix (active or not), or ErrNotFound.
	Ban(ctx context.Context, prefix string) (Ban, error)
	// Bans lists stored bans, newest first; active only unless all.
	Bans(ctx context.Context, now time.Time, all bool) ([]Ban, error)
	// LiftBan marks the ban lifted at `at` and appends ChangeBanLifted;
	// ErrNotFound when there is no active ban of prefix.
	LiftBan(ctx context.Context, prefix string, at time.Time) error

	// PutUserNetworks replaces the networks a user may sign in from
	// (entries: IPs, CIDRs or host names; none: no restriction) and
	// appends ChangeUserNetworks.
	PutUserNetworks(ctx context.Context, userID, userName string, entries []string) error
	// UserNetworks returns every user's allowlist by user id.
	UserNetworks(ctx context.Context) (map[string][]string, error)
}
