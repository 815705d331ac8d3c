package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Keyed is a token bucket per key: n events per period, bursting to n. A
// refused event takes nothing from the bucket, so a client that slows down
// to the rate gets through. It is safe for concurrent use.
type Keyed struct {
	mu    sync.Mutex
	limit rate.Limit
	burst int
	now   func() time.Time
	keys  keySet[*rate.Limiter]
}

// NewKeyed returns a limiter of n events per key per period. now is the
// clock (time.Now when nil). With n < 1 or period <= 0 nothing is allowed:
// a misconfigured limit fails closed.
func NewKeyed(n int, period time.Duration, now func() time.Time, opts ...Option) *Keyed {
	o := apply(opts)
	k := &Keyed{burst: n, now: clockOrNow(now)}
	// A full bucket is exactly what a forgotten key starts with, so
	// forgetting it changes no answer.
	k.keys = newKeySet(o.maxKeys, period, func(l *rate.Limiter, now time.Time) bool {
		return l.TokensAt(now) >= float64(k.burst)
	})
	if n >= 1 && period > 0 {
		k.limit = rate.Limit(float64(n) / period.Seconds())
	}
	return k
}

// Allow reports whether one more event for key fits the rate, and takes it
// from the key's bucket when it does.
func (k *Keyed) Allow(key string) bool {
	if k.limit == 0 {
		return false
	}
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys.sweep(now)
	l := k.keys.m[key]
	if l == nil {
		l = rate.NewLimiter(k.limit, k.burst)
		k.keys.put(key, l, now)
	}
	return l.AllowN(now, 1)
}

// Reset forgets key: its bucket is full again.
func (k *Keyed) Reset(key string) {
	k.mu.Lock()
	delete(k.keys.m, key)
	k.mu.Unlock()
}

// Len is the number of keys held, for tests and status.
func (k *Keyed) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.keys.m)
}
