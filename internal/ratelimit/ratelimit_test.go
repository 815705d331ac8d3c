package ratelimit

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/testkit"
)

func newClock() *testkit.Clock {
	return testkit.NewClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
}

// step is one event in a scripted run: advance the clock, then act on key
// and expect the answer.
type step struct {
	after time.Duration
	key   string
	want  bool
}

func TestKeyedIsATokenBucketPerKey(t *testing.T) {
	burst := func(key string, n int, want bool) []step {
		out := make([]step, n)
		for i := range out {
			out[i] = step{key: key, want: want}
		}
		return out
	}
	cat := func(parts ...[]step) []step {
		var out []step
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		n      int
		period time.Duration
		steps  []step
	}{
		{"bursts to n then refuses", 3, time.Minute, cat(burst("a", 3, true), burst("a", 2, false))},
		{"keys are independent", 2, time.Minute, cat(burst("a", 2, true), burst("a", 1, false), burst("b", 2, true), burst("b", 1, false))},
		{"refills at n per period", 3, time.Minute, cat(burst("a", 3, true), burst("a", 1, false),
			[]step{{after: 19 * time.Second, key: "a", want: false}, {after: time.Second, key: "a", want: true}, {key: "a", want: false}})},
		{"refused events take nothing", 1, time.Minute, []step{{key: "a", want: true},
			{after: 30 * time.Second, key: "a", want: false}, {after: 29 * time.Second, key: "a", want: false},
			{after: time.Second, key: "a", want: true}}},
		{"refills no further than n", 2, time.Minute, cat([]step{{key: "a", want: true}, {after: time.Hour, key: "a", want: true}},
			burst("a", 1, true), burst("a", 1, false))},
		{"n < 1 refuses everything", 0, time.Minute, burst("a", 2, false)},
		{"period <= 0 refuses everything", 5, 0, burst("a", 2, false)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			k := NewKeyed(tc.n, tc.period, c.Now)
			for i, s := range tc.steps {
				c.Advance(s.after)
				if got := k.Allow(s.key); got != s.want {
					t.Fatalf("step %d (%s): Allow = %v, want %v", i, s.key, got, s.want)
				}
			}
		})
	}
}

func TestKeyedForgetsFullBucketsAndCapsKeys(t *testing.T) {
	c := newClock()
	k := NewKeyed(2, time.Minute, c.Now)
	for i := range 1000 {
		k.Allow(fmt.Sprintf("198.51.100.%d", i))
	}
	if k.Len() != 1000 {
		t.Fatalf("held %d keys, want 1000", k.Len())
	}
	// A minute later every bucket is full again; the next event sweeps.
	c.Advance(time.Minute)
	k.Allow("203.0.113.1")
	if k.Len() != 1 {
		t.Fatalf("held %d keys after they refilled, want 1", k.Len())
	}
	// A key whose bucket is still short is kept and still limited.
	a := "203.0.113.1"
	c.Advance(50 * time.Second)
	for i := range 2 {
		if !k.Allow(a) {
			t.Fatalf("a refilled bucket refused event %d", i+1)
		}
	}
	c.Advance(10 * time.Second)
	k.Allow("y") // sweeps; a's bucket is a third full
	if k.Len() != 2 || k.Allow(a) {
		t.Fatalf("a short bucket was forgotten by the sweep (%d keys)", k.Len())
	}

	capped := NewKeyed(1, time.Hour, c.Now, MaxKeys(10))
	for i := range 100 {
		if !capped.Allow(fmt.Sprint(i)) {
			t.Fatalf("new key %d refused", i)
		}
		if capped.Len() > 10 {
			t.Fatalf("held %d keys over a cap of 10", capped.Len())
		}
	}
	if capped.Allow("99") {
		t.Fatal("the newest key was evicted instead of an older one")
	}
	// Full buckets go before short ones when the cap is reached.
	full := NewKeyed(1, time.Minute, c.Now, MaxKeys(3))
	full.Allow("first")
	c.Advance(30 * time.Second)
	full.Allow("old1")
	full.Allow("old2")
	c.Advance(30 * time.Second)
	full.Allow("live") // the periodic sweep drops "first"
	c.Advance(30 * time.Second)
	full.Allow("new") // the map is full: old1 and old2 are full again, live is not
	if full.Len() != 2 || full.Allow("live") {
		t.Fatalf("a full limiter dropped a short bucket (%d keys)", full.Len())
	}
}

func TestKeyedReset(t *testing.T) {
	c := newClock()
	k := NewKeyed(1, time.Hour, c.Now)
	if !k.Allow("a") || k.Allow("a") {
		t.Fatal("a bucket of one did not limit")
	}
	k.Reset("a")
	if !k.Allow("a") {
		t.Fatal("Reset did not refill the bucket")
	}
}

func TestWindowCountsWithinASlidingSpan(t *testing.T) {
	for _, tc := range []struct {
		name  string
		n     int
		span  time.Duration
		steps []step
	}{
		{"allows n per span", 3, time.Hour, []step{{key: "a", want: true}, {key: "a", want: true}, {key: "a", want: true}, {key: "a", want: false}}},
		{"keys are independent", 1, time.Hour, []step{{key: "a", want: true}, {key: "a", want: false}, {key: "b", want: true}}},
		{"an event leaves exactly one span later", 2, time.Hour, []step{{key: "a", want: true},
			{after: 30 * time.Minute, key: "a", want: true}, {after: 29 * time.Minute, key: "a", want: false},
			{after: time.Minute, key: "a", want: true}, {key: "a", want: false},
			{after: 30 * time.Minute, key: "a", want: true}}},
		{"pacing buys nothing", 2, time.Hour, []step{{key: "a", want: true}, {after: 20 * time.Minute, key: "a", want: true},
			{after: 20 * time.Minute, key: "a", want: false}, {after: 19 * time.Minute, key: "a", want: false}}},
		{"n < 1 refuses everything", 0, time.Hour, []step{{key: "a", want: false}}},
		{"span <= 0 refuses everything", 3, 0, []step{{key: "a", want: false}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			w := NewWindow(tc.n, tc.span, c.Now)
			for i, s := range tc.steps {
				c.Advance(s.after)
				if got := w.Allow(s.key); got != s.want {
					t.Fatalf("step %d (%s): Allow = %v, want %v", i, s.key, got, s.want)
				}
			}
		})
	}
}

func TestWindowAddCountReset(t *testing.T) {
	c := newClock()
	w := NewWindow(3, 10*time.Minute, c.Now)
	for i, want := range []int{1, 2, 3, 3, 3} {
		if got := w.Add("a"); got != want {
			t.Fatalf("Add %d = %d, want %d (counts saturate at n)", i+1, got, want)
		}
		c.Advance(time.Minute)
	}
	// The newest three (at minutes 2, 3 and 4) are kept.
	c.Advance(7*time.Minute + 59*time.Second) // 12:59 since the first
	if got := w.Count("a"); got != 2 {
		t.Fatalf("Count = %d, want 2 once the event at minute 2 left", got)
	}
	if !w.Allow("a") || w.Allow("a") {
		t.Fatal("Allow disagrees with Count")
	}
	w.Reset("a")
	if got := w.Count("a"); got != 0 {
		t.Fatalf("Count after Reset = %d", got)
	}
	if got := w.Count("never"); got != 0 || w.Len() != 0 {
		t.Fatalf("a never-seen key counted %d, held %d keys", got, w.Len())
	}
	if NewWindow(0, time.Minute, c.Now).Add("a") != 0 {
		t.Fatal("a window of zero counted")
	}
}

func TestWindowForgetsIdleKeysAndCapsKeys(t *testing.T) {
	c := newClock()
	w := NewWindow(3, 10*time.Minute, c.Now)
	for i := range 1000 {
		w.Add(fmt.Sprintf("user%d", i))
	}
	w.Add("kept")
	if w.Len() != 1001 {
		t.Fatalf("held %d keys, want 1001", w.Len())
	}
	c.Advance(9 * time.Minute)
	w.Add("kept")
	c.Advance(time.Minute) // the first events leave; "kept" has one left
	w.Add("new")
	if w.Len() != 2 {
		t.Fatalf("held %d keys after the window passed, want 2", w.Len())
	}
	if got := w.Count("kept"); got != 1 {
		t.Fatalf("a key with an event in the window counted %d, want 1", got)
	}

	capped := NewWindow(1, time.Hour, c.Now, MaxKeys(10))
	for i := range 100 {
		if !capped.Allow(fmt.Sprint(i)) {
			t.Fatalf("new key %d refused", i)
		}
		if capped.Len() > 10 {
			t.Fatalf("held %d keys over a cap of 10", capped.Len())
		}
	}
	if capped.Allow("99") {
		t.Fatal("the newest key was evicted instead of an older one")
	}
	// Idle keys go before live ones when the cap is reached.
	idle := NewWindow(1, time.Minute, c.Now, MaxKeys(3))
	idle.Add("first")
	c.Advance(30 * time.Second)
	idle.Add("old1")
	idle.Add("old2")
	c.Advance(30 * time.Second)
	idle.Add("live") // the periodic sweep drops "first"
	c.Advance(30 * time.Second)
	idle.Add("new") // the map is full: old1 and old2 left the window, live did not
	if idle.Count("live") != 1 || idle.Len() != 2 {
		t.Fatalf("a full window dropped a live key (live=%d, keys=%d)", idle.Count("live"), idle.Len())
	}
}

func TestConcurrentUse(t *testing.T) {
	c := newClock()
	k := NewKeyed(100, time.Minute, c.Now)
	w := NewWindow(100, time.Minute, c.Now)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowedK, allowedW := 0, 0
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				okK, okW := k.Allow("shared"), w.Allow("shared")
				_ = w.Count(fmt.Sprint(g, i))
				mu.Lock()
				if okK {
					allowedK++
				}
				if okW {
					allowedW++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if allowedK != 100 || allowedW != 100 {
		t.Fatalf("400 concurrent events allowed %d (bucket) and %d (window), want 100 each", allowedK, allowedW)
	}
}
