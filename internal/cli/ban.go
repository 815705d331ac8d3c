package cli

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/shield"
	"github.com/jellyguard/jellyguard/internal/store"
)

func (a *app) banCommand() *cobra.Command {
	return group("ban", "List, set and lift bans of addresses and networks",
		`Bans keep an address (IPv6: its /64) or a network away from Jellyfin: its
connections are dropped, or its requests refused with 403, before Jellyfin
sees them. The gateway bans addresses by itself after too many failed
sign-ins (shield.ban_failures within shield.ban_window), for longer each time
they come back. These commands work while the gateway runs; changes take
effect within a second.`,
		a.banListCommand(), a.banAddCommand(), a.banRemoveCommand())
}

func (a *app) banListCommand() *cobra.Command {
	var all, asJSON bool
	c := &cobra.Command{
		Use:   "list",
		Short: "List active bans (all bans with --all)",
		Long: `List the bans in force: the network, whether set by the shield (auto) or by
hand (manual), why, since when and how long it lasts ("until lifted" for a ban
without an end). With --all, expired and lifted bans are listed too; STATUS
says which is which: active, expired, or lifted with the time it was lifted.

With --json each ban is an object; "expires" is null for a ban that lasts
until lifted, and "lifted" is null unless it was lifted.`,
		Example: "  jellyguard ban list\n  jellyguard ban list --all --json",
		Args:    positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withShield(cmd.Context(), func(ctx context.Context, s *shield.Shield, _ *env) error {
				bans, err := s.Bans(ctx, all)
				if err != nil {
					return err
				}
				return a.writeBans(bans, all, asJSON, time.Now())
			})
		},
	}
	c.Flags().BoolVar(&all, "all", false, "include expired and lifted bans")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return c
}

// Ban states as ban list shows them.
const (
	banActive  = "active"
	banExpired = "expired"
	banLifted  = "lifted"
)

// banStatus says whether b is in force at now, ran out, or was lifted.
func banStatus(b store.Ban, now time.Time) string {
	switch {
	case !b.LiftedAt.IsZero():
		return banLifted
	case b.Active(now):
		return banActive
	default:
		return banExpired
	}
}

// banJSON is one ban in --json output.
type banJSON struct {
	Network string     `json:"network"`
	Status  string     `json:"status"`
	Source  string     `json:"source"`
	By      string     `json:"by,omitempty"`
	Level   int        `json:"level"`
	Reason  string     `json:"reason"`
	Created *time.Time `json:"created"`
	Expires *time.Time `json:"expires"` // null: until lifted
	Lifted  *time.Time `json:"lifted"`
}

func (a *app) writeBans(bans []store.Ban, all, asJSON bool, now time.Time) error {
	if asJSON {
		out := make([]banJSON, 0, len(bans))
		for _, b := range bans {
			out = append(out, banJSON{Network: b.Prefix, Status: banStatus(b, now), Source: b.Source, By: b.By,
				Level: b.Level, Reason: b.Reason, Created: jsonTime(b.CreatedAt), Expires: jsonTime(b.ExpiresAt),
				Lifted: jsonTime(b.LiftedAt)})
		}
		return writeJSON(a.stdout, out)
	}
	if len(bans) == 0 {
		if all {
			return printf(a.stdout, "No bans.\n")
		}
		return printf(a.stdout, "No active bans.\n")
	}
	t := newTable(a.stdout, "NETWORK", "STATUS", "SOURCE", "LEVEL", "SINCE", "LASTS", "REASON")
	for _, b := range bans {
		status := banStatus(b, now)
		if status == banLifted {
			status += " " + formatTime(b.LiftedAt)
		}
		t.row(b.Prefix, status, b.Source, fmt.Sprint(b.Level), formatTime(b.CreatedAt), strings.TrimSpace(untilText(b)), b.Reason)
	}
	return t.Flush()
}

func (a *app) banAddCommand() *cobra.Command {
	var reason string
	var d time.Duration
	c := &cobra.Command{
		Use:   "add ADDRESS|CIDR",
		Short: "Ban an address or a network",
		Long: `Ban an address (an IPv6 address bans its /64) or a network. Without --for the
ban lasts until lifted. Trusted proxies, shield.lan, two_factor.lan_bypass
and shield.exempt cannot be banned; a ban of one of them is refused with the
key and the entry that exempt it.`,
		Example: "  jellyguard ban add 203.0.113.7 --reason 'scanning'\n  jellyguard ban add 198.51.100.0/24 --for 72h",
		Args:    positional(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := shield.ParsePrefix(args[0])
			if err != nil {
				return usagef("%v", err)
			}
			if d < 0 {
				return usagef("--for must not be negative (got %s)", d)
			}
			return a.withShield(cmd.Context(), func(ctx context.Context, s *shield.Shield, e *env) error {
				b, err := s.Ban(ctx, p, reason, byCLI, d)
				if errors.Is(err, shield.ErrExempt) {
					return exemptError(e.cfg, p, err)
				}
				if err != nil {
					return err
				}
				return printf(a.stdout, "Banned %s%s.\n", b.Prefix, untilText(b))
			})
		},
	}
	c.Flags().StringVar(&reason, "reason", "banned by hand", "why (shown in ban list and the audit log)")
	c.Flags().DurationVar(&d, "for", 0, "how long (e.g. 24h); 0: until lifted")
	return c
}

// exemptError says which setting keeps p from being banned and why it
// does, so the admin can judge whether to change that setting.
func exemptError(cfg *config.Config, p netip.Prefix, err error) error {
	rule, ok := shield.ExemptBy(cfg, p.Addr())
	if !ok {
		return err
	}
	what := map[string]string{
		"trusted_proxies":       "a trusted proxy, and banning it would ban everyone who comes through it",
		"shield.lan":            "on the LAN, which the shield never bans",
		"two_factor.lan_bypass": "in a network that skips the second factor, which the shield never bans",
		"shield.exempt":         "exempt from bans and throttles",
	}[rule.Key]
	return fmt.Errorf("not banning %s: %s is %s (%s: %s); remove it from %s first if it must be banned",
		p, p.Addr(), what, rule.Key, rule.Network, rule.Key)
}

func untilText(b store.Ban) string {
	if b.ExpiresAt.IsZero() {
		return " until lifted"
	}
	return " until " + formatTime(b.ExpiresAt)
}

func (a *app) banRemoveCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "remove ADDRESS|CIDR",
		Aliases: []string{"lift", "rm"},
		Short:   "Lift a ban at once",
		Long:    "Lift a ban: a running gateway lets the address in again within a second.",
		Example: "  jellyguard ban remove 203.0.113.7",
		Args:    positional(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := shield.ParsePrefix(args[0])
			if err != nil {
				return usagef("%v", err)
			}
			return a.withShield(cmd.Context(), func(ctx context.Context, s *shield.Shield, e *env) error {
				if err := s.Lift(ctx, p); err != nil {
					return err
				}
				e.parts.RecordLift(ctx, p, byCLI)
				return printf(a.stdout, "Lifted the ban of %s.\n", p)
			})
		},
	}
}

// withShield opens the data directory and the shield over it.
func (a *app) withShield(ctx context.Context, fn func(context.Context, *shield.Shield, *env) error) (err error) {
	e, err := a.openData(ctx)
	if err != nil {
		return err
	}
	defer closeInto(&err, e)
	return fn(ctx, e.parts.Shield, e)
}
