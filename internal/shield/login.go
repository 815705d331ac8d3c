package shield

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/jellyguard/jellyguard/internal/jellyfin"
)

// maxBackoff bounds the wait exponential backoff imposes on one throttle
// key.
const maxBackoff = 5 * time.Minute

// sharedRateFactor scales logins_per_minute into the cap on all attempts
// at one known address by names that are not at home there. Per (address,
// user name) throttling alone would let a guesser at a shared address spray
// unbounded fresh names; the cap bounds that to what ten strangers'
// addresses could do, which honest traffic behind one NAT or CGNAT does
// not reach. Users signing in from their own address (and trusted
// browsers) are not held to it, so a flood at a shared address cannot hold
// back the people who live there, nor a Seerr server signing its users in.
const sharedRateFactor = 10

// sweepEvery spaces out the passes that forget idle streaks, expired known
// addresses and old would-ban reports.
const sweepEvery = time.Minute

// Login is what the gateway tells the shield about a sign-in attempt.
type Login struct {
	Addr netip.Addr
	User string // as typed; "" when unknown (Quick Connect, legacy route)
	// Trusted: the request carries something that vouches for the
	// browser (a valid trust cookie); the user budget does not apply.
	Trusted bool
	// PasswordRight: Jellyfin accepted the password and a second factor
	// failed. Jellyfin's lockout counter did not move, so the user name's
	// budget is not charged; the address still is.
	PasswordRight bool
}

// streak is the backoff of one throttle key: failures since the last
// success there.
type streak struct {
	n    int
	next time.Time // no attempt before
	last time.Time // the last failure
}

// attempt is a sign-in attempt placed among the counters it moves.
type attempt struct {
	prefix netip.Prefix
	addr   string // address key
	user   string // folded user name
	// shared: someone signed in at the address recently, so several people
	// may be behind it; backoff and rate are kept per (address, user) and
	// the address is never banned automatically.
	shared bool
	// spared: the address is the user's own or the browser is trusted; the
	// user budget and the shared-address cap do not apply.
	spared bool
	key    string // backoff and rate key
}

// charged reports whether a failure spends the user name's budget.
func (a attempt) charged() bool { return a.user != "" && !a.spared }

func (s *Shield) placeLocked(l Login, now time.Time) attempt {
	p := Key(l.Addr)
	at := attempt{prefix: p, addr: p.String(), user: jellyfin.FoldName(l.User)}
	at.shared = s.fresh(s.knownAddr[at.addr], now)
	at.spared = l.User != "" && (l.Trusted || s.fresh(s.known[at.user][at.addr], now))
	at.key = at.addr
	if at.shared {
		// The address part has a fixed form without NUL, so the pair is
		// unambiguous whatever the name holds.
		at.key = at.addr + "\x00" + at.user
	}
	return at
}

// Allow decides whether a sign-in attempt may reach Jellyfin: the backoff
// and rate of its throttle key (the address, or the address and user name
// at a known address), then — unless the address is the user's own or the
// browser is trusted — the user name's failure budget, shared by every
// process, so guessers are answered by the gateway before Jellyfin's
// lockout counter moves. A refused attempt counts as a failure.
func (s *Shield) Allow(ctx context.Context, l Login) error {
	if s.Exempt(l.Addr) {
		return nil
	}
	now := s.now()
	s.mu.Lock()
	at := s.placeLocked(l, now)
	why := ""
	switch {
	case s.streaks[at.key] != nil && now.Before(s.streaks[at.key].next):
		why = "backoff"
	case at.shared && !at.spared && !s.shared.Allow(at.addr):
		why = "shared address rate"
	case !s.rate.Allow(at.key):
		why = "rate"
	}
	s.mu.Unlock()
	if why == "" && at.charged() {
		why = s.budgetSpent(ctx, at, now)
	}
	if why == "" {
		return nil
	}
	s.stats.throttled.Add(1)
	s.log.Info("sign-in held back", "ip", l.Addr, "user", l.User, "why", why)
	s.failed(ctx, l, now, false)
	return fmt.Errorf("%w: %s", ErrThrottled, why)
}

// budgetSpent reads the user name's failure budget from the store: "" while
// some is left, otherwise why the attempt is held back. A budget that
// cannot be read holds the attempt back: letting it through would give a
// guesser unlimited tries at Jellyfin's lockout counter while the store is
// down.
func (s *Shield) budgetSpent(ctx context.Context, at attempt, now time.Time) string {
	n, err := s.st.CountEvents(ctx, userFailKey(at.user), now.Add(-s.cfg.UserWindow))
	if err != nil {
		if ctx.Err() == nil { // not merely a client that hung up
			s.log.Error("reading a user name's failure budget failed; holding the sign-in back", "user", at.user, "err", err)
		}
		return "user budget unavailable"
	}
	if n < s.cfg.UserFailures {
		return ""
	}
	// The owner may have signed in here through another gateway since the
	// cache was last refreshed; ask the store before holding them back.
	home, err := s.st.AddressKnownFor(ctx, at.user, at.addr, s.horizon(now))
	if err != nil {
		s.log.Warn("looking up a user's own addresses failed", "user", at.user, "err", err)
		return "user budget"
	}
	if home {
		return ""
	}
	return "user budget"
}

// Failed records a sign-in Jellyfin (or the second factor) refused: the
// throttle key backs off, the user name's budget shrinks (unless the
// address is the user's own), and an address with too many failures is
// banned — or, when it is known, reported instead.
func (s *Shield) Failed(ctx context.Context, l Login) {
	if s.Exempt(l.Addr) {
		return
	}
	s.failed(ctx, l, s.now(), !l.PasswordRight)
}

func (s *Shield) failed(ctx context.Context, l Login, now time.Time, countUser bool) {
	// A guesser hanging up as soon as the answer arrives must not take the
	// failure off the books.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	s.mu.Lock()
	at := s.placeLocked(l, now)
	st := s.streaks[at.key]
	if st == nil {
		st = &streak{}
		s.streaks[at.key] = st
	}
	st.n++
	st.last = now
	if st.n > 3 {
		st.next = now.Add(min(time.Second<<min(st.n-4, 16), maxBackoff))
	}
	// Once a known address has been reported within a ban window, more
	// failures there change nothing this process does until the window
	// ends, so a flood at a shared address costs no store writes.
	settled := at.shared && s.reportedLocked(at.addr, now)
	s.sweepLocked(now)
	s.mu.Unlock()
	s.stats.failures.Add(1)
	if countUser && at.charged() {
		if err := s.st.AddEvent(ctx, userFailKey(at.user), now, s.cfg.UserWindow); err != nil {
			s.log.Error("recording a failure against a user name's budget failed", "user", at.user, "err", err)
		}
	}
	if settled {
		return
	}
	over, err := s.countAddressFailure(ctx, at.addr, now)
	if err != nil {
		s.log.Error("counting a failed sign-in of an address failed", "prefix", at.prefix, "err", err)
	}
	if !over {
		return
	}
	shared := at.shared
	if !shared {
		// Someone may have signed in here through another gateway since
		// the cache was last refreshed: banning on a stale cache would
		// lock a household out. If the store cannot say, the ban stands.
		known, err := s.st.AddressKnown(ctx, at.addr, s.horizon(now))
		if err != nil {
			s.log.Warn("looking up whether an address is known failed; banning it as a stranger's", "prefix", at.prefix, "err", err)
		}
		shared = known
	}
	reason := fmt.Sprintf("%d failed sign-ins within %s", s.cfg.BanFailures, s.cfg.BanWindow)
	if !shared {
		s.banForFailures(ctx, at.prefix, reason)
		return
	}
	s.mu.Lock()
	report := !s.reportedLocked(at.addr, now)
	if report {
		s.reported[at.addr] = now
	}
	s.mu.Unlock()
	if report {
		s.log.Warn("would ban a shared address", "prefix", at.prefix, "reason", reason)
		if s.onWould != nil {
			s.onWould(at.prefix, reason)
		}
	}
}

// reportedLocked reports whether the address was reported as a would-be
// ban within the last ban window.
func (s *Shield) reportedLocked(addr string, now time.Time) bool {
	last, ok := s.reported[addr]
	return ok && now.Sub(last) < s.cfg.BanWindow
}

// countAddressFailure adds a failure to the address key's count in the
// store, shared by every process, and reports whether the count reached
// ban_failures within ban_window. The count that reached it is reset, so
// the next ban or report takes as many failures again; if the reset fails,
// the count still reached it.
func (s *Shield) countAddressFailure(ctx context.Context, addr string, now time.Time) (bool, error) {
	key := addrFailKey(addr)
	s.tally.Lock()
	defer s.tally.Unlock()
	if err := s.st.AddEvent(ctx, key, now, s.cfg.BanWindow); err != nil {
		return false, fmt.Errorf("recording failure of %s: %w", addr, err)
	}
	n, err := s.st.CountEvents(ctx, key, now.Add(-s.cfg.BanWindow))
	if err != nil {
		return false, fmt.Errorf("counting failures of %s: %w", addr, err)
	}
	if n < s.cfg.BanFailures {
		return false, nil
	}
	if err := s.st.ResetEvents(ctx, key); err != nil {
		return true, fmt.Errorf("resetting failures of %s: %w", addr, err)
	}
	return true, nil
}

// Succeeded records a sign-in that was released: the address becomes the
// user's own (and known) in every process, and the backoff of the address
// and of the user there ends.
func (s *Shield) Succeeded(l Login) {
	now := s.now()
	addr := Key(l.Addr).String()
	user := jellyfin.FoldName(l.User)
	s.mu.Lock()
	delete(s.streaks, addr)
	delete(s.streaks, addr+"\x00"+user)
	if l.User != "" {
		s.rememberLocked(user, addr, now)
	}
	s.sweepLocked(now)
	s.mu.Unlock()
	if l.User == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := s.st.RememberAddress(ctx, user, addr, now); err != nil {
		// This process knows the address; other gateways, and this one
		// after a restart, will not.
		s.log.Error("remembering a sign-in address failed", "user", user, "prefix", addr, "err", err)
	}
}

// sweepLocked forgets, at most once a minute, the streaks idle for a ban
// window whose backoff has ended, known addresses past known_address_days
// and would-ban reports older than a ban window, so an address scan (or
// names sprayed at a shared address) cannot grow the maps without bound.
// The limiters forget their own idle keys; the store's rows are tidied by
// Sync.
func (s *Shield) sweepLocked(now time.Time) {
	if now.Sub(s.swept) < sweepEvery {
		return
	}
	s.swept = now
	for k, st := range s.streaks {
		if !now.Before(st.next) && now.Sub(st.last) >= s.cfg.BanWindow {
			delete(s.streaks, k)
		}
	}
	for user, m := range s.known {
		for k, at := range m {
			if !s.fresh(at, now) {
				delete(m, k)
			}
		}
		if len(m) == 0 {
			delete(s.known, user)
		}
	}
	for k, at := range s.knownAddr {
		if !s.fresh(at, now) {
			delete(s.knownAddr, k)
		}
	}
	for k, at := range s.reported {
		if now.Sub(at) >= s.cfg.BanWindow {
			delete(s.reported, k)
		}
	}
}
