package shield

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/jellyguard/jellyguard/internal/store"
)

// banSet is an immutable snapshot of the active bans: single keys (an IPv4
// address, an IPv6 /64) in a map, wider manual bans in a short list.
type banSet struct {
	keys  map[netip.Prefix]store.Ban
	wider []widerBan
}

type widerBan struct {
	p netip.Prefix
	b store.Ban
}

func (s *banSet) lookup(a netip.Addr) (store.Ban, bool) {
	if b, ok := s.keys[Key(a)]; ok {
		return b, true
	}
	for _, w := range s.wider {
		if w.p.Contains(a) {
			return w.b, true
		}
	}
	return store.Ban{}, false
}

func buildSet(bans []store.Ban) *banSet {
	set := &banSet{keys: make(map[netip.Prefix]store.Ban, len(bans))}
	for _, b := range bans {
		p, err := netip.ParsePrefix(b.Prefix)
		if err != nil {
			continue
		}
		if k := Key(p.Addr()); k == p {
			set.keys[p] = b
		} else {
			set.wider = append(set.wider, widerBan{p, b})
		}
	}
	return set
}

func (s *Shield) reloadBans(ctx context.Context) error {
	bans, err := s.st.Bans(ctx, s.now(), false)
	if err != nil {
		return fmt.Errorf("loading bans: %w", err)
	}
	s.bans.Store(buildSet(bans))
	return nil
}

// ParsePrefix reads a ban target as typed: an address (banned as its Key:
// the address, or its IPv6 /64) or a CIDR.
func ParsePrefix(s string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return Key(a), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR", s)
	}
	a, bits := p.Addr(), p.Bits()
	if a.Is4In6() {
		if a, bits = a.Unmap(), bits-96; bits < 0 {
			return netip.Prefix{}, fmt.Errorf("%q is not an IPv4 network", s)
		}
	}
	return netip.PrefixFrom(a, bits).Masked(), nil
}

// ErrExempt refuses a ban of a network the shield never bans.
var ErrExempt = errors.New("exempt from bans (a trusted proxy, the LAN bypass or shield.exempt)")

// AutoBan bans a prefix for too many failures; each repeat ban of the same
// prefix doubles the time, up to ban_time_max.
func (s *Shield) AutoBan(ctx context.Context, p netip.Prefix, reason string) (store.Ban, error) {
	prev, err := s.st.Ban(ctx, p.String())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Ban{}, fmt.Errorf("reading previous bans of %s: %w", p, err)
	}
	return s.escalate(ctx, p, reason, prev)
}

// banForFailures bans p for reaching ban_failures, unless a ban of it is
// already in force: another process saw the shared count reach the limit
// at the same moment, or banned it before this one applied the ban. The
// same failures then escalate no further.
func (s *Shield) banForFailures(ctx context.Context, p netip.Prefix, reason string) {
	prev, err := s.st.Ban(ctx, p.String())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Error("banning failed", "prefix", p, "err", fmt.Errorf("reading previous bans of %s: %w", p, err))
		return
	}
	if err == nil && prev.Active(s.now()) {
		s.apply(ctx)
		return
	}
	if _, err := s.escalate(ctx, p, reason, prev); err != nil {
		s.log.Error("banning failed", "prefix", p, "err", err)
	}
}

// escalate sets an automatic ban of p one level above prev.
func (s *Shield) escalate(ctx context.Context, p netip.Prefix, reason string, prev store.Ban) (store.Ban, error) {
	level := prev.Level + 1
	d := s.cfg.BanTime
	for i := 1; i < level && d < s.cfg.BanTimeMax; i++ {
		d *= 2
	}
	d = min(d, s.cfg.BanTimeMax)
	now := s.now()
	b := store.Ban{Prefix: p.String(), Reason: reason, Source: "auto", Level: level, CreatedAt: now, ExpiresAt: now.Add(d)}
	return b, s.put(ctx, b)
}

// Ban sets a manual ban (d = 0: until lifted).
func (s *Shield) Ban(ctx context.Context, p netip.Prefix, reason, by string, d time.Duration) (store.Ban, error) {
	if s.Exempt(p.Addr()) {
		return store.Ban{}, ErrExempt
	}
	prev, _ := s.st.Ban(ctx, p.String())
	now := s.now()
	b := store.Ban{Prefix: p.String(), Reason: reason, Source: "manual", By: by, Level: prev.Level + 1, CreatedAt: now}
	if d > 0 {
		b.ExpiresAt = now.Add(d)
	}
	return b, s.put(ctx, b)
}

func (s *Shield) put(ctx context.Context, b store.Ban) error {
	if err := s.st.PutBan(ctx, b); err != nil {
		return fmt.Errorf("storing ban of %s: %w", b.Prefix, err)
	}
	s.apply(ctx)
	s.stats.bans.Add(1)
	s.log.Warn("banned", "prefix", b.Prefix, "until", b.ExpiresAt, "reason", b.Reason, "level", b.Level)
	if s.onBan != nil {
		s.onBan(b)
	}
	return nil
}

// Lift ends a ban at once, in this process and (through the change feed)
// in every other one.
func (s *Shield) Lift(ctx context.Context, p netip.Prefix) error {
	if err := s.st.LiftBan(ctx, p.String(), s.now()); err != nil {
		return fmt.Errorf("lifting ban of %s: %w", p, err)
	}
	s.mu.Lock()
	delete(s.streaks, p.String())
	s.rate.Reset(p.String())
	s.mu.Unlock()
	// The ban is lifted either way; stale failures only bring the next
	// ban closer.
	if err := s.st.ResetEvents(ctx, addrFailKey(p.String())); err != nil {
		s.log.Warn("resetting the failures of a lifted ban failed", "prefix", p, "err", err)
	}
	s.apply(ctx)
	return nil
}

// apply reloads the ban set (after a change here or in another process).
func (s *Shield) apply(ctx context.Context) {
	if err := s.reloadBans(ctx); err != nil {
		s.log.Error("reloading bans failed", "err", err)
	}
}

// Sync applies bans set or lifted by other processes (the CLI, replicas),
// refreshes the known addresses from the store every few seconds, and now
// and then deletes expired rows from the store.
func (s *Shield) Sync(ctx context.Context) error {
	return errors.Join(s.syncChanges(ctx), s.refreshKnown(ctx), s.tidyStore(ctx))
}

// syncChanges applies the change feed.
func (s *Shield) syncChanges(ctx context.Context) error {
	changes, err := s.st.Changes(ctx, atomic.LoadInt64(&s.lastSeen))
	if err != nil {
		return fmt.Errorf("reading change feed: %w", err)
	}
	reload := false
	for _, c := range changes {
		atomic.StoreInt64(&s.lastSeen, c.Seq)
		switch c.Kind {
		case store.ChangeBanAdded, store.ChangeBanLifted:
			reload = true
		case store.ChangeUserNetworks:
			if err := s.reloadUserNetworks(ctx); err != nil {
				s.log.Warn("reloading user networks failed", "err", err)
			}
		}
	}
	if reload || len(changes) == 0 && s.expiredSince() {
		s.apply(ctx)
	}
	return nil
}

// expiredSince reports whether a ban in the snapshot has run out (the
// snapshot is then rebuilt so it stays small).
func (s *Shield) expiredSince() bool {
	set := s.bans.Load()
	if set == nil {
		return false
	}
	now := s.now()
	for _, b := range set.keys {
		if !b.Active(now) {
			return true
		}
	}
	return false
}

// Watch calls Sync every interval, and resolves allowlist host names every
// resolve_every, until ctx ends.
func (s *Shield) Watch(ctx context.Context, interval time.Duration) {
	go s.resolveLoop(ctx)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := s.Sync(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("shield sync failed", "err", err)
			}
		}
	}
}

// Bans lists the active bans (all: lifted and expired ones too).
func (s *Shield) Bans(ctx context.Context, all bool) ([]store.Ban, error) {
	return s.st.Bans(ctx, s.now(), all)
}

type stats struct {
	refused, throttled, failures, bans atomic.Int64
}

// Status is what `check` and the console show: proof the shield is alive.
type Status struct {
	ActiveBans                         int
	Refused, Throttled, Failures, Bans int64
}

// Status counts what the shield did since start.
func (s *Shield) Status() Status {
	st := Status{Refused: s.stats.refused.Load(), Throttled: s.stats.throttled.Load(),
		Failures: s.stats.failures.Load(), Bans: s.stats.bans.Load()}
	if set := s.bans.Load(); set != nil {
		st.ActiveBans = len(set.keys) + len(set.wider)
	}
	return st
}
