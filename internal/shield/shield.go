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
//
// Several gateways may share one store. The rules an attacker would
// multiply by spreading attempts over them live in the store, so all of
// them meet one count: an address's failures that lead to a ban
// (ban_failures within ban_window), a user name's failure budget
// (user_failures within user_window), and the addresses users signed in
// from. Each process answers "is this address known" from a cache of the
// latter, seeded at start and refreshed every few seconds, so a success
// through one gateway is recognised by the others within seconds; the
// decisions a stale cache would get wrong — holding back an owner whose
// budget is spent, banning an address — ask the store first. The
// per-request rate, the shared-address cap and the backoff streaks stay in
// each process's memory: they are cheap brakes on bursts, touched on every
// attempt, and however many replicas multiply them, the shared budgets and
// bans still bound what an attacker gets.
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

// Store is the state the shield reads and writes: bans and allowlists,
// the shared failure counts, the addresses users signed in from, the
// released tokens that seed those from before the store kept them, and the
// change feed that carries other processes' bans. store.Store satisfies
// it; a store shared by replicas needs to provide only this.
type Store interface {
	store.ShieldStore
	store.ThrottleStore
	store.KnownAddressStore
	// Tokens lists tokens, newest first.
	Tokens(ctx context.Context, f store.TokenFilter) ([]store.Token, error)
	// Changes returns changes with Seq > after, oldest first.
	Changes(ctx context.Context, after int64) ([]store.Change, error)
	// LastChange returns the highest change Seq (0 if none).
	LastChange(ctx context.Context) (int64, error)
}

var _ Store = store.Store(nil)

// Options are the shield's dependencies.
type Options struct {
	Config *config.Config
	Store  Store
	Logger *slog.Logger
	Now    func() time.Time
	// OnBan is called for every ban this process sets (audit, notify).
	OnBan func(b store.Ban)
	// OnWouldBan is called instead of a ban when a known address (one
	// several people may share) has as many failures as would ban a
	// stranger's: at most once per ban_window per address in each
	// process, so an audit trail records the attack without one line per
	// guess.
	OnWouldBan func(prefix netip.Prefix, reason string)
	// Resolver resolves host names in allowlists; nil: the system's.
	Resolver Resolver
}

const (
	// knownRefreshEvery spaces out the reads of the addresses other
	// processes saw successes from: a success through one gateway is
	// recognised by the others within this.
	knownRefreshEvery = 5 * time.Second
	// knownOverlap reaches each refresh back before the previous one, for
	// successes written a little after the time they carry.
	knownOverlap = time.Minute
	// knownReloadEvery spaces out the full reloads that catch successes
	// written later than knownOverlap allows for.
	knownReloadEvery = 10 * time.Minute
	// tidyEvery spaces out the passes that delete expired rows from the
	// store.
	tidyEvery = 10 * time.Minute
	// storeTimeout bounds a store call that records a sign-in: the client
	// hanging up must not cancel it, and a stuck store must not hold the
	// request forever.
	storeTimeout = 5 * time.Second
)

// addrFailKey and userFailKey are the keys of the shared failure counts:
// an address key's towards a ban, a folded user name's towards its
// budget. The prefixes keep the two apart whatever a name holds.
func addrFailKey(addr string) string { return "fail:addr:" + addr }
func userFailKey(user string) string { return "fail:user:" + user }

// Shield is safe for concurrent use. Create it with New.
type Shield struct {
	cfg      config.ShieldConfig
	resolver Resolver
	nets     networks
	users4   atomic.Pointer[map[string]*AllowList] // per-user allowlists by user id
	exempt   []netip.Prefix
	st       Store
	log      *slog.Logger
	now      func() time.Time
	onBan    func(store.Ban)
	onWould  func(netip.Prefix, string)

	bans atomic.Pointer[banSet] // read on every request without a lock

	// mu guards the fields below and makes each decision over the
	// in-memory brakes atomic. It is never held across a store call.
	mu        sync.Mutex
	rate      *ratelimit.Keyed                // attempts per throttle key, logins_per_minute
	shared    *ratelimit.Keyed                // attempts per known address by names not at home there
	streaks   map[string]*streak              // backoff per throttle key
	known     map[string]map[string]time.Time // folded user name → address key → last success
	knownAddr map[string]time.Time            // address key → last success of anyone
	reported  map[string]time.Time            // address key → last would-ban report
	swept     time.Time                       // last sweep of the maps above
	knownAt   time.Time                       // last refresh of the known addresses from the store
	reloaded  time.Time                       // last full reload of them
	tidied    time.Time                       // last pass forgetting expired rows in the store
	lastSeen  int64                           // change feed cursor

	// tally makes counting an address's failure and resetting the count
	// that reached ban_failures one step within this process, so that
	// concurrent failures ban once.
	tally sync.Mutex

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
	if s.resolver == nil {
		s.resolver = defaultResolver
	}
	// Never banned nor throttled: the trusted proxies, the configured LAN
	// (shield.lan and two_factor.lan_bypass) and shield.exempt.
	for _, ps := range [][]netip.Prefix{o.Config.TrustedPrefixes, o.Config.LAN, o.Config.BypassNetworks, o.Config.Exempt} {
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
	s.loadTokenAddresses(ctx)
	if err := s.refreshKnown(ctx); err != nil {
		return nil, err
	}
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

// loadTokenAddresses seeds the users' familiar addresses from the tokens
// the gateway released, so the successes from before the store remembered
// addresses still count.
func (s *Shield) loadTokenAddresses(ctx context.Context) {
	toks, err := s.st.Tokens(ctx, store.TokenFilter{})
	if err != nil {
		s.log.Warn("loading the addresses of released tokens failed", "err", err)
		return
	}
	horizon := s.horizon(s.now())
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range toks {
		a, err := netip.ParseAddr(t.IP)
		if err != nil || t.UserName == "" || t.Source == "resolved" || !t.LastSeenAt.After(horizon) {
			continue
		}
		s.rememberLocked(jellyfin.FoldName(t.UserName), Key(a).String(), t.LastSeenAt)
	}
}

// refreshKnown merges into the cache the successes any process recorded in
// the store since the last refresh, at most once every knownRefreshEvery.
// Every knownReloadEvery, and after a failed refresh, it reads every
// address within known_address_days instead, catching a success whose
// write reached the store later than its time says (a slow write, another
// replica's clock).
func (s *Shield) refreshKnown(ctx context.Context) error {
	now := s.now()
	s.mu.Lock()
	if now.Sub(s.knownAt) < knownRefreshEvery {
		s.mu.Unlock()
		return nil
	}
	since := s.knownAt.Add(-knownOverlap)
	full := now.Sub(s.reloaded) >= knownReloadEvery
	s.knownAt = now
	if full {
		s.reloaded = now
	}
	s.mu.Unlock()
	if h := s.horizon(now); full || since.Before(h) {
		since = h
	}
	rows, err := s.st.KnownAddresses(ctx, since)
	if err != nil {
		s.mu.Lock()
		s.reloaded = time.Time{}
		s.mu.Unlock()
		return fmt.Errorf("loading known addresses: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range rows {
		s.rememberLocked(k.UserFolded, k.AddrKey, k.LastAt)
	}
	return nil
}

// tidyStore forgets, at most once every tidyEvery, the known addresses past
// known_address_days and the failure events past their window, so neither
// table grows with every address and name ever tried.
func (s *Shield) tidyStore(ctx context.Context) error {
	now := s.now()
	s.mu.Lock()
	if now.Sub(s.tidied) < tidyEvery {
		s.mu.Unlock()
		return nil
	}
	s.tidied = now
	s.mu.Unlock()
	var errs []error
	forgot, err := s.st.ForgetAddresses(ctx, s.horizon(now))
	if err != nil {
		errs = append(errs, fmt.Errorf("forgetting expired known addresses: %w", err))
	}
	swept, err := s.st.SweepEvents(ctx, now)
	if err != nil {
		errs = append(errs, fmt.Errorf("sweeping expired failure counts: %w", err))
	}
	if forgot > 0 || swept > 0 {
		s.log.Debug("shield state tidied", "addresses", forgot, "events", swept)
	}
	return errors.Join(errs...)
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
	return !at.IsZero() && at.After(s.horizon(now))
}

// horizon is the time a success must be after to make an address known at
// now.
func (s *Shield) horizon(now time.Time) time.Time {
	return now.Add(-time.Duration(s.cfg.KnownAddressDays) * 24 * time.Hour)
}

// ErrThrottled says a sign-in attempt was held back.
var ErrThrottled = errors.New("throttled")
