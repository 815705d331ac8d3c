package cli

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/jellyguard/jellyguard/internal/shield"
)

func (a *app) userNetworksCommand() *cobra.Command {
	var clear bool
	c := &cobra.Command{
		Use:   "networks USERNAME [ADDRESS|CIDR|HOSTNAME...]",
		Short: "Show or set the networks a user may sign in from",
		Long: `Restrict where a user may sign in from and use their sessions: IP addresses,
CIDRs, or host names (a dynamic-DNS name follows the home connection; names
are resolved again every shield.resolve_every). With no entries it shows the
current list; --clear removes the restriction. Takes effect at once, also
on a running gateway.`,
		Example: "  jellyguard user networks grandma 198.51.100.0/24 grandma.dyndns.example\n  jellyguard user networks grandma\n  jellyguard user networks grandma --clear",
		Args:    positional(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, entries := args[0], args[1:]
			if clear && len(entries) > 0 {
				return usagef("give networks or --clear, not both")
			}
			return a.withShield(cmd.Context(), func(ctx context.Context, s *shield.Shield, e *env) error {
				acct, err := a.findAccount(ctx, e, name)
				if err != nil {
					return err
				}
				if len(entries) == 0 && !clear {
					all, err := e.store.UserNetworks(ctx)
					if err != nil {
						return err
					}
					if len(all[acct.UserID]) == 0 {
						return printf(a.stdout, "%s may sign in from anywhere.\n", acct.UserName)
					}
					return printf(a.stdout, "%s may sign in from: %s\n", acct.UserName, strings.Join(all[acct.UserID], ", "))
				}
				if err := s.SetUserNetworks(ctx, acct.UserID, acct.UserName, entries); err != nil {
					return err
				}
				if clear {
					return printf(a.stdout, "%s may sign in from anywhere again.\n", acct.UserName)
				}
				return printf(a.stdout, "%s may now sign in only from: %s\n", acct.UserName, strings.Join(entries, ", "))
			})
		},
	}
	c.Flags().BoolVar(&clear, "clear", false, "remove the restriction")
	return c
}
