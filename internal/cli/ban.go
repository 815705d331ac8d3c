package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

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
		Use:     "list",
		Short:   "List active bans",
		Long:    "List the bans in force: the network, why, by whom, since when and until when.",
		Example: "  jellyguard ban list\n  jellyguard ban list --all --json",
		Args:    positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withShield(cmd.Context(), func(ctx context.Context, s *shield.Shield, _ *env) error {
				bans, err := s.Bans(ctx, all)
				if err != nil {
					return err
				}
				return a.writeBans(bans, asJSON)
			})
		},
	}
	c.Flags().BoolVar(&all, "all", false, "include expired and lifted bans")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return c
}

func (a *app) writeBans(bans []store.Ban, asJSON bool) error {
	if asJSON {
		if bans == nil {
			bans = []store.Ban{}
		}
		return json.NewEncoder(a.stdout).Encode(bans)
	}
	if len(bans) == 0 {
		return printf(a.stdout, "No active bans.\n")
	}
	t := newTable(a.stdout, "NETWORK", "SOURCE", "LEVEL", "SINCE", "UNTIL", "REASON")
	for _, b := range bans {
		until := "lifted by hand"
		if !b.ExpiresAt.IsZero() {
			until = formatTime(b.ExpiresAt)
		}
		t.row(b.Prefix, b.Source, fmt.Sprint(b.Level), formatTime(b.CreatedAt), until, b.Reason)
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
ban lasts until lifted. Trusted proxies, two_factor.lan_bypass and
shield.exempt cannot be banned.`,
		Example: "  jellyguard ban add 203.0.113.7 --reason 'scanning'\n  jellyguard ban add 198.51.100.0/24 --for 72h",
		Args:    positional(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := shield.ParsePrefix(args[0])
			if err != nil {
				return usagef("%v", err)
			}
			return a.withShield(cmd.Context(), func(ctx context.Context, s *shield.Shield, _ *env) error {
				b, err := s.Ban(ctx, p, reason, byCLI, d)
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
