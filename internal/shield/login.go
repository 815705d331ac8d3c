package shield

import (
	"context"
	"fmt"
	"net/netip"
	"time"
)

// window counts events in a sliding window, keeping only their times.
type window struct{ times []time.Time }

func (w *window) count(now time.Time, span time.Duration) int {
	cut := 0
	for cut < len(w.times) && now.Sub(w.times[cut]) >= span {
		cut++
	}
	w.times = w.times[cut:]
	return len(w.times)
}

func (w *window) add(now time.Time, keep int) {
	w.times = append(w.times, now)
	if len(w.times) > keep {
		w.times = w.times[len(w.times)-keep:]
	}
}

// maxBackoff bounds the wait exponential backoff imposes on one address.
const maxBackoff = 5 * time.Minute

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

// Allow decides whether a sign-in attempt may reach Jellyfin: the
// address's rate and backoff, then — unless the address is the user's own
// or the browser is trusted — the user name's failure budget, so guessers
// are answered by the gateway before Jellyfin's lockout counter moves. A
// refused attempt counts as a failure of the address.
func (s *Shield) Allow(ctx context.Context, l Login) error {
	if s.Exempt(l.Addr) {
		return nil
	}
	now := s.now()
	key := Key(l.Addr).String()
	known := l.User != "" && (l.Trusted || s.Known(l.Addr, l.User))
	s.mu.Lock()
	a := s.addr(key)
	why := ""
	switch {
	case now.Before(a.next):
		why = "backoff"
	case a.attempts.count(now, time.Minute) >= s.cfg.LoginsPerMinute:
		why = "rate"
	case !known && l.User != "" && s.userFailures(fold(l.User), now) >= s.cfg.UserFailures:
		why = "user budget"
	}
	a.attempts.add(now, s.cfg.LoginsPerMinute+1)
	s.mu.Unlock()
	if why == "" {
		return nil
	}
	s.stats.throttled.Add(1)
	s.log.Info("sign-in held back", "ip", l.Addr, "user", l.User, "why", why)
	s.failed(ctx, l, now, false)
	return fmt.Errorf("%w: %s", ErrThrottled, why)
}

func (s *Shield) addr(key string) *addrState {
	a := s.addrs[key]
	if a == nil {
		a = &addrState{}
		s.addrs[key] = a
	}
	return a
}

func (s *Shield) userFailures(user string, now time.Time) int {
	w := s.users[user]
	if w == nil {
		return 0
	}
	return w.count(now, s.cfg.UserWindow)
}

// Failed records a sign-in Jellyfin (or the second factor) refused: the
// address backs off, the user name's budget shrinks (unless the address is
// the user's own), and an address with too many failures is banned.
func (s *Shield) Failed(ctx context.Context, l Login) {
	if s.Exempt(l.Addr) {
		return
	}
	s.failed(ctx, l, s.now(), !l.PasswordRight)
}

func (s *Shield) failed(ctx context.Context, l Login, now time.Time, countUser bool) {
	key := Key(l.Addr)
	known := l.User != "" && (l.Trusted || s.Known(l.Addr, l.User))
	s.mu.Lock()
	a := s.addr(key.String())
	a.failures.add(now, s.cfg.BanFailures+1)
	a.streak++
	if a.streak > 3 {
		a.next = now.Add(min(time.Second<<min(a.streak-4, 16), maxBackoff))
	}
	if countUser && !known && l.User != "" {
		u := s.users[fold(l.User)]
		if u == nil {
			u = &window{}
			s.users[fold(l.User)] = u
		}
		u.add(now, s.cfg.UserFailures+1)
	}
	ban := a.failures.count(now, s.cfg.BanWindow) >= s.cfg.BanFailures
	if ban {
		a.failures.times = nil
	}
	s.sweepLocked(now)
	s.mu.Unlock()
	s.stats.failures.Add(1)
	if ban {
		reason := fmt.Sprintf("%d failed sign-ins within %s", s.cfg.BanFailures, s.cfg.BanWindow)
		if _, err := s.AutoBan(ctx, key, reason); err != nil {
			s.log.Error("banning failed", "prefix", key, "err", err)
		}
	}
}

// Succeeded records a sign-in that was released: the address becomes the
// user's own and its backoff ends.
func (s *Shield) Succeeded(l Login) {
	now := s.now()
	key := Key(l.Addr).String()
	s.mu.Lock()
	if a := s.addrs[key]; a != nil {
		a.streak, a.next = 0, time.Time{}
	}
	if l.User != "" {
		s.rememberLocked(fold(l.User), key, now)
	}
	s.mu.Unlock()
}

// sweepLocked forgets idle addresses and users now and then, so an address
// scan cannot grow the maps without bound.
func (s *Shield) sweepLocked(now time.Time) {
	if len(s.addrs) < 10000 && len(s.users) < 10000 {
		return
	}
	for k, a := range s.addrs {
		if a.failures.count(now, s.cfg.BanWindow) == 0 && a.attempts.count(now, time.Minute) == 0 && now.After(a.next) {
			delete(s.addrs, k)
		}
	}
	for k, w := range s.users {
		if w.count(now, s.cfg.UserWindow) == 0 {
			delete(s.users, k)
		}
	}
}
