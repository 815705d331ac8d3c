package shield

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// networks are the allowlists: global, administrators', and per user.
type networks struct {
	allowOnly *AllowList
	admins    *AllowList
}

func (s *Shield) loadNetworks(ctx context.Context) error {
	var err error
	if s.nets.allowOnly, err = NewAllowList(s.cfg.AllowOnly); err != nil {
		return fmt.Errorf("shield.allow_only: %w", err)
	}
	if s.nets.admins, err = NewAllowList(s.cfg.AdminNetworks); err != nil {
		return fmt.Errorf("shield.admin_networks: %w", err)
	}
	return s.reloadUserNetworks(ctx)
}

func (s *Shield) reloadUserNetworks(ctx context.Context) error {
	byUser, err := s.st.UserNetworks(ctx)
	if err != nil {
		return fmt.Errorf("loading user networks: %w", err)
	}
	lists := make(map[string]*AllowList, len(byUser))
	for id, entries := range byUser {
		l, err := NewAllowList(entries)
		if err != nil {
			s.log.Warn("ignoring a bad user allowlist", "user", id, "err", err)
			continue
		}
		lists[id] = l
	}
	s.users4.Store(&lists)
	s.resolveAll(ctx)
	return nil
}

// Reachable reports whether a may reach Jellyfin at all (allow_only).
func (s *Shield) Reachable(a netip.Addr) bool {
	return s.nets.allowOnly.Empty() || s.nets.allowOnly.Contains(a) || s.Exempt(a)
}

// UserAllowed reports whether a user (an administrator when admin) may sign
// in from, and use their sessions at, address a; the reason when not.
func (s *Shield) UserAllowed(userID string, admin bool, a netip.Addr) (bool, string) {
	if admin && !s.nets.admins.Empty() && !s.nets.admins.Contains(a) {
		return false, "administrators only from shield.admin_networks"
	}
	if m := s.users4.Load(); m != nil {
		if l := (*m)[userID]; !l.Empty() && !l.Contains(a) {
			return false, "outside the user's allowed networks"
		}
	}
	return true, ""
}

// SetUserNetworks replaces a user's allowlist (none: no restriction).
func (s *Shield) SetUserNetworks(ctx context.Context, userID, userName string, entries []string) error {
	if _, err := NewAllowList(entries); err != nil {
		return err
	}
	if err := s.st.PutUserNetworks(ctx, userID, userName, entries); err != nil {
		return err
	}
	return s.reloadUserNetworks(ctx)
}

// resolveAll resolves the host names of every allowlist once.
func (s *Shield) resolveAll(ctx context.Context) {
	now := s.now()
	lists := []*AllowList{s.nets.allowOnly, s.nets.admins}
	if m := s.users4.Load(); m != nil {
		for _, l := range *m {
			lists = append(lists, l)
		}
	}
	for _, l := range lists {
		if l != nil && len(l.names) > 0 {
			l.Resolve(ctx, s.resolver, now)
		}
	}
}

// AllowStatus lists every host name in the allowlists with what it
// resolved to, for check and the console.
func (s *Shield) AllowStatus() []NameStatus {
	out := append(s.nets.allowOnly.Status(), s.nets.admins.Status()...)
	if m := s.users4.Load(); m != nil {
		for _, l := range *m {
			out = append(out, l.Status()...)
		}
	}
	return out
}

// resolveLoop re-resolves host names every resolve_every until ctx ends.
func (s *Shield) resolveLoop(ctx context.Context) {
	tick := time.NewTicker(s.cfg.ResolveEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			s.resolveAll(ctx)
		}
	}
}

var defaultResolver Resolver = net.DefaultResolver
