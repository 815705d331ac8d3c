// Package shield keeps guessers and floods away from Jellyfin: per-address
// throttling with backoff, a per-user failure budget that never holds back
// the user's own addresses, and bans that persist, escalate for repeat
// offenders, and take effect in every process at once.
//
// Jellyfin's own lockout disables an account until an administrator
// re-enables it, so anyone who knows a user name can lock its owner out.
// The shield answers guessers itself — the same answer as a wrong password —
// before Jellyfin's counter moves, while the owner signing in from an
// address they used before goes straight through.
package shield

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/store"
)

// Options are the shield's dependencies.
type Options struct {
	Config *config.Config
	Store  store.Store
	Logger *slog.Logger
	Now    func() time.Time
	// OnBan is called for every ban this process sets (audit, notify).
	OnBan func(b store.Ban)
	// Resolver resolves host names in allowlists; nil: the system's.
	Resolver Resolver
}

// Shield is safe for concurrent use. Create it with New.
type Shield struct {
	cfg      config.ShieldConfig
	resolver Resolver
	nets     networks
	users4   atomic.Pointer[map[string]*AllowList] // per-user allowlists by user id
	exempt   []netip.Prefix
	st       store.Store
	log      *slog.Logger
	now      func() time.Time
	onBan    func(store.Ban)

	bans atomic.Pointer[banSet] // read on every request without a lock

	mu       sync.Mutex
	addrs    map[string]*addrState           // by address key (IPv6 per /64)
	users    map[string]*window              // failed sign-ins per folded user name
	known    map[string]map[string]time.Time // folded user name → address key → last success
	lastSeen int64                           // change feed cursor

	stats stats
}

type addrState struct {
	attempts window // sign-in attempts, for logins_per_minute
	failures window // failed sign-ins, for bans
	next     time.Time
	streak   int // failures since the last success, for backoff
}

// New loads the active bans and the addresses users signed in from.
func New(ctx context.Context, o Options) (*Shield, error) {
	s := &Shield{cfg: o.Config.Shield, resolver: o.Resolver, st: o.Store, log: o.Logger, now: o.Now, onBan: o.OnBan,
		addrs: map[string]*addrState{}, users: map[string]*window{}, known: map[string]map[string]time.Time{}}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.resolver == nil {
		s.resolver = defaultResolver
	}
	// Never banned nor throttled: the trusted proxies, the configured LAN
	// (shield.lan and two_factor.lan_bypass) and shield.exempt.
	for _, ps := range [][]netip.Prefix{o.Config.TrustedPrefixes, o.Config.LANNetworks, o.Config.LANPrefixes, o.Config.ExemptPrefixes} {
		s.exempt = append(s.exempt, ps...)
	}
	last, err := o.Store.LastChange(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading change feed: %w", err)
	}
	s.lastSeen = last
	if err := s.reloadBans(ctx); err != nil {
		return nil, err
	}
	s.loadKnown(ctx)
	if err := s.loadNetworks(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Key is the unit the shield counts and bans: the address for IPv4, its
// /64 for IPv6 (one subscriber holds a whole /64).
func Key(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	if a.Is4() {
		return netip.PrefixFrom(a, 32)
	}
	p, _ := a.Prefix(64)
	return p
}

func fold(user string) string { return strings.ToLower(strings.TrimSpace(user)) }

// Exempt reports whether a is never banned nor throttled.
func (s *Shield) Exempt(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.exempt {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Banned returns the ban in force for a, if any. It runs on every request
// and never locks.
func (s *Shield) Banned(a netip.Addr) (store.Ban, bool) {
	set := s.bans.Load()
	if set == nil {
		return store.Ban{}, false
	}
	b, ok := set.lookup(a.Unmap())
	if !ok || !b.Active(s.now()) {
		return store.Ban{}, false
	}
	s.stats.refused.Add(1)
	return b, true
}

// loadKnown seeds the users' familiar addresses from the tokens the gateway
// released, so a restart does not make everyone a stranger.
func (s *Shield) loadKnown(ctx context.Context) {
	toks, err := s.st.Tokens(ctx, store.TokenFilter{})
	if err != nil {
		s.log.Warn("loading known addresses failed", "err", err)
		return
	}
	horizon := s.now().AddDate(0, 0, -s.cfg.KnownAddressDays)
	for _, t := range toks {
		a, err := netip.ParseAddr(t.IP)
		if err != nil || t.UserName == "" || t.Source == "resolved" || t.LastSeenAt.Before(horizon) {
			continue
		}
		s.rememberLocked(fold(t.UserName), Key(a).String(), t.LastSeenAt)
	}
}

func (s *Shield) rememberLocked(user, key string, at time.Time) {
	m := s.known[user]
	if m == nil {
		m = map[string]time.Time{}
		s.known[user] = m
	}
	if at.After(m[key]) {
		m[key] = at
	}
}

// Known reports whether user signed in from a's network recently.
func (s *Shield) Known(a netip.Addr, user string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.known[fold(user)][Key(a).String()]
	return ok && s.now().Sub(at) < time.Duration(s.cfg.KnownAddressDays)*24*time.Hour
}

// ErrThrottled says a sign-in attempt was held back.
var ErrThrottled = errors.New("throttled")
