package device

import (
	"sync"
	"time"
)

// Limiter allows at most n events per key within any window-long span (a
// sliding window), for "a new device wants in" notifications: a password
// guesser with the right password must not be able to flood the user's
// phone. It is safe for concurrent use. Keys whose events have all left
// the window are forgotten, so many keys do not grow it without bound.
type Limiter struct {
	mu     sync.Mutex
	n      int
	window time.Duration
	now    func() time.Time
	events map[string][]time.Time // per key, oldest first, at most n
	swept  time.Time
}

// NewLimiter returns a limiter of n events per key per window. now is the
// clock (time.Now when nil). With n < 1 or window <= 0 nothing is allowed.
func NewLimiter(n int, window time.Duration, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{n: n, window: window, now: now, events: map[string][]time.Time{}}
}

// Allow reports whether one more event for key fits in the window, and
// counts it when it does.
func (l *Limiter) Allow(key string) bool {
	if l.n < 1 || l.window <= 0 {
		return false
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	ev := live(l.events[key], now, l.window)
	if len(ev) >= l.n {
		l.events[key] = ev
		return false
	}
	l.events[key] = append(ev, now)
	return true
}

// sweep forgets keys with no event inside the window, at most once a window.
func (l *Limiter) sweep(now time.Time) {
	if now.Sub(l.swept) < l.window {
		return
	}
	l.swept = now
	for k, ev := range l.events {
		if len(ev) == 0 || now.Sub(ev[len(ev)-1]) >= l.window {
			delete(l.events, k)
		}
	}
}

// live drops the events that left the window ending at now.
func live(ev []time.Time, now time.Time, window time.Duration) []time.Time {
	i := 0
	for i < len(ev) && now.Sub(ev[i]) >= window {
		i++
	}
	if i == 0 {
		return ev
	}
	// Copy down so the backing array does not keep growing at its end.
	return append(ev[:0], ev[i:]...)
}
