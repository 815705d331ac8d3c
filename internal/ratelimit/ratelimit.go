// Package ratelimit is the one vocabulary for "how often may this key act":
// Keyed, a token bucket per key for rates ("20 sign-ins a minute"), and
// Window, a sliding-window count per key for rules that are a count over a
// span ("ban after 10 failures within 10 minutes", "3 notices an hour").
//
// The two answer different questions and must not be swapped: a bucket
// refills continuously, so a client that waits gets a little back, while a
// window holds every event until it is a full span old, so a failure budget
// cannot be spent faster by pacing.
//
// Keys are client-chosen in practice (addresses, user names typed by
// anyone), so both forget keys that have nothing left to remember and cap
// the number of keys they hold: an address or name scan cannot grow memory
// without bound. Both take their clock from the caller so that tests run
// on a fake one.
package ratelimit

import "time"

// DefaultMaxKeys bounds the keys a limiter holds when MaxKeys is not given.
// It is far above what honest clients of one gateway produce within a
// period, so it only bites during a scan.
const DefaultMaxKeys = 100_000

// fullSweepEvery spaces out the sweeps forced by a full limiter, so a scan
// that keeps it full costs one pass over the keys a second, not one per
// event.
const fullSweepEvery = time.Second

// Option tunes a limiter.
type Option func(*options)

type options struct {
	maxKeys int
}

// MaxKeys caps the number of keys a limiter holds (DefaultMaxKeys when not
// given; n < 1 keeps the default). When a new key arrives at the cap, keys
// with nothing left to remember are forgotten first and, if none are, an
// arbitrary key is: that key merely starts again as if new, which a scan of
// that many keys within one period could achieve anyway.
func MaxKeys(n int) Option {
	return func(o *options) {
		if n >= 1 {
			o.maxKeys = n
		}
	}
}

func apply(opts []Option) options {
	o := options{maxKeys: DefaultMaxKeys}
	for _, f := range opts {
		f(&o)
	}
	return o
}

func clockOrNow(now func() time.Time) func() time.Time {
	if now == nil {
		return time.Now
	}
	return now
}

// keySet is the per-key state both limiters hold, with the forgetting and
// the cap they share: keys with nothing left to remember (idle) are swept
// at most once every period, and a full set makes room for a new key by a
// forced sweep (at most once per fullSweepEvery) and then by dropping
// arbitrary keys.
type keySet[V any] struct {
	m      map[string]V
	max    int
	every  time.Duration
	idle   func(v V, now time.Time) bool
	swept  time.Time // last periodic sweep
	forced time.Time // last sweep forced by a full set
}

func newKeySet[V any](max int, every time.Duration, idle func(V, time.Time) bool) keySet[V] {
	return keySet[V]{m: map[string]V{}, max: max, every: every, idle: idle}
}

// sweep forgets idle keys, at most once every period.
func (s *keySet[V]) sweep(now time.Time) {
	if now.Sub(s.swept) < s.every {
		return
	}
	s.swept = now
	s.dropIdle(now)
}

func (s *keySet[V]) dropIdle(now time.Time) {
	for key, v := range s.m {
		if s.idle(v, now) {
			delete(s.m, key)
		}
	}
}

// put stores v under key, making room first when key is new.
func (s *keySet[V]) put(key string, v V, now time.Time) {
	if _, ok := s.m[key]; !ok && len(s.m) >= s.max {
		if now.Sub(s.forced) >= fullSweepEvery {
			s.forced = now
			s.dropIdle(now)
		}
		for k := range s.m {
			if len(s.m) < s.max {
				break
			}
			delete(s.m, k)
		}
	}
	s.m[key] = v
}
