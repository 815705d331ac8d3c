package tokens

import (
	"sync"
	"time"
)

// keyedLimiter is a token bucket per key (a client address key): n events
// per period, bursting to n. Idle keys are forgotten so an address scan
// cannot grow it without bound.
type keyedLimiter struct {
	mu      sync.Mutex
	rate    float64 // tokens per second
	burst   float64
	now     func() time.Time
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newKeyedLimiter(n int, per time.Duration, now func() time.Time) *keyedLimiter {
	return &keyedLimiter{rate: float64(n) / per.Seconds(), burst: float64(n), now: now, buckets: map[string]*bucket{}}
}

func (l *keyedLimiter) allow(key string) bool {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// sweep drops buckets that have refilled completely, at most once a minute.
func (l *keyedLimiter) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	full := time.Duration(l.burst / l.rate * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.last) > full {
			delete(l.buckets, k)
		}
	}
}
