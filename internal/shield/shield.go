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
//
// Many people can share one address: a family behind one NAT, a mobile
// carrier's CGNAT, a Seerr server signing every user in. Throttling such an
// address as a whole would let anyone there lock everyone else out, so an
// address where any user signed in successfully within known_address_days
// is known: there, backoff, rate and failures are kept per (address, user
// name), and the address is never banned automatically — the would-be ban
// is reported (Options.OnWouldBan) for an administrator to judge. Addresses
// nobody signed in from are throttled and banned as a whole.
package shield

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/ratelimit"
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
	// OnWouldBan is called instead of a ban when a known address (one
	// several people may share) has as many failures as would ban a
	// stranger's: at most once per ban_window per address, so an audit
	// trail records the attack without one line per guess.
	OnWouldBan func(prefix netip.Prefix, reason string)
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
	onWould  func(netip.Prefix, string)

	bans atomic.Pointer[banSet] // read on every request without a lock

	// mu guards the maps below and makes each decision over the limiters
	// atomic (a failure that bans also resets the count it read).
	mu        sync.Mutex
	rate      *ratelimit.Keyed                // attempts per throttle key, logins_per_minute
	shared    *ratelimit.Keyed                // attempts per known address by names not at home there
	failures  *ratelimit.Window               // failures per address key within ban_window
	budget    *ratelimit.Window               // failures per folded user name within user_window
	streaks   map[string]*streak              // backoff per throttle key
	known     map[string]map[string]time.Time // folded user name → address key → last success
	knownAddr map[string]time.Time            // address key → last success of anyone
	reported  map[string]time.Time            // address key → last would-ban report
	swept     time.Time                       // last sweep of the maps above
	lastSeen  int64                           // change feed cursor

	stats stats
}

// New loads the active bans and the addresses users signed in from.
func New(ctx context.Context, o Options) (*Shield, error) {
	s := &Shield{cfg: o.Config.Shield, resolver: o.Resolver, st: o.Store, log: o.Logger, now: o.Now, onBan: o.OnBan,
		onWould: o.OnWouldBan, streaks: map[string]*streak{}, known: map[string]map[string]time.Time{},
		knownAddr: map[string]time.Time{}, reported: map[string]time.Time{}}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.rate = ratelimit.NewKeyed(s.cfg.LoginsPerMinute, time.Minute, s.now)
	s.shared = ratelimit.NewKeyed(sharedRateFactor*s.cfg.LoginsPerMinute, time.Minute, s.now)
	s.failures = ratelimit.NewWindow(s.cfg.BanFailures, s.cfg.BanWindow, s.now)
	s.budget = ratelimit.NewWindow(s.cfg.UserFailures, s.cfg.UserWindow, s.now)
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
		s.rememberLocked(jellyfin.FoldName(t.UserName), Key(a).String(), t.LastSeenAt)
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
	if at.After(s.knownAddr[key]) {
		s.knownAddr[key] = at
	}
}

// Known reports whether user signed in from a's network recently: the
// address is the user's own.
func (s *Shield) Known(a netip.Addr, user string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fresh(s.known[jellyfin.FoldName(user)][Key(a).String()], s.now())
}

// KnownAddress reports whether any user signed in from a's network
// recently: the address may be shared by several people, so it is
// throttled per user name and never banned automatically.
func (s *Shield) KnownAddress(a netip.Addr) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fresh(s.knownAddr[Key(a).String()], s.now())
}

// fresh reports whether a success at `at` still makes an address known.
func (s *Shield) fresh(at, now time.Time) bool {
	return !at.IsZero() && now.Sub(at) < time.Duration(s.cfg.KnownAddressDays)*24*time.Hour
}

// ErrThrottled says a sign-in attempt was held back.
var ErrThrottled = errors.New("throttled")
