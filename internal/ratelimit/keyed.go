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
	mu     sync.Mutex
	limit  rate.Limit
	burst  int
	period time.Duration
	now    func() time.Time
	max    int
	keys   map[string]*rate.Limiter
	swept  time.Time // last periodic sweep
	forced time.Time // last sweep forced by a full map
}

// NewKeyed returns a limiter of n events per key per period. now is the
// clock (time.Now when nil). With n < 1 or period <= 0 nothing is allowed:
// a misconfigured limit fails closed.
func NewKeyed(n int, period time.Duration, now func() time.Time, opts ...Option) *Keyed {
	o := apply(opts)
	k := &Keyed{burst: n, period: period, now: clockOrNow(now), max: o.maxKeys, keys: map[string]*rate.Limiter{}}
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
	k.sweep(now)
	l := k.keys[key]
	if l == nil {
		k.makeRoom(now)
		l = rate.NewLimiter(k.limit, k.burst)
		k.keys[key] = l
	}
	return l.AllowN(now, 1)
}

// Reset forgets key: its bucket is full again.
func (k *Keyed) Reset(key string) {
	k.mu.Lock()
	delete(k.keys, key)
	k.mu.Unlock()
}

// Len is the number of keys held, for tests and status.
func (k *Keyed) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.keys)
}

// sweep forgets the keys whose bucket is full again, at most once a
// period: a full bucket is exactly what a forgotten key starts with, so
// forgetting it changes no answer.
func (k *Keyed) sweep(now time.Time) {
	if now.Sub(k.swept) < k.period {
		return
	}
	k.swept = now
	k.dropFull(now)
}

func (k *Keyed) dropFull(now time.Time) {
	for key, l := range k.keys {
		if l.TokensAt(now) >= float64(k.burst) {
			delete(k.keys, key)
		}
	}
}

// makeRoom keeps the map under its cap before a new key is added.
func (k *Keyed) makeRoom(now time.Time) {
	if len(k.keys) < k.max {
		return
	}
	if now.Sub(k.forced) >= fullSweepEvery {
		k.forced = now
		k.dropFull(now)
	}
	for key := range k.keys {
		if len(k.keys) < k.max {
			return
		}
		delete(k.keys, key)
	}
}
