package device

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestLimiter(t *testing.T) {
	clock := &fakeClock{now: t0}
	l := NewLimiter(3, time.Hour, clock.Now)
	for i := range 3 {
		if !l.Allow("anna") {
			t.Fatalf("event %d refused", i+1)
		}
		clock.Advance(10 * time.Minute)
	}
	if l.Allow("anna") {
		t.Fatal("a fourth event within the hour was allowed")
	}
	// Keys are independent.
	if !l.Allow("bob") {
		t.Fatal("another key was refused")
	}
	// At t0+60m the first event leaves the window: one slot frees up.
	clock.Advance(30 * time.Minute)
	if !l.Allow("anna") {
		t.Fatal("refused after the oldest event left the window")
	}
	if l.Allow("anna") {
		t.Fatal("allowed more than the freed slot")
	}
	// A refused event does not count: after a full window all slots are
	// free again, however often it was refused.
	for range 100 {
		l.Allow("anna")
	}
	clock.Advance(time.Hour)
	for i := range 3 {
		if !l.Allow("anna") {
			t.Fatalf("after a quiet window, event %d refused", i+1)
		}
	}
}

func TestLimiterSlidingWindow(t *testing.T) {
	clock := &fakeClock{now: t0}
	l := NewLimiter(2, time.Minute, clock.Now)
	// Two events at the end of one fixed window and two at the start of the
	// next would pass a fixed-window counter; a sliding window refuses.
	clock.Advance(59 * time.Second)
	l.Allow("k")
	l.Allow("k")
	clock.Advance(2 * time.Second)
	if l.Allow("k") {
		t.Fatal("allowed a burst across a window boundary")
	}
}

func TestLimiterDegenerate(t *testing.T) {
	clock := &fakeClock{now: t0}
	for _, l := range []*Limiter{
		NewLimiter(0, time.Hour, clock.Now),
		NewLimiter(-1, time.Hour, clock.Now),
		NewLimiter(5, 0, clock.Now),
	} {
		if l.Allow("k") {
			t.Fatalf("limiter %d/%v allowed an event", l.n, l.window)
		}
	}
	// A nil clock means the real one.
	if !NewLimiter(1, time.Hour, nil).Allow("k") {
		t.Fatal("the real clock refused the first event")
	}
}

func TestLimiterForgetsIdleKeys(t *testing.T) {
	clock := &fakeClock{now: t0}
	l := NewLimiter(1, time.Minute, clock.Now)
	for i := range 1000 {
		l.Allow(fmt.Sprintf("user%d", i))
	}
	clock.Advance(2 * time.Minute)
	l.Allow("fresh")
	l.mu.Lock()
	n := len(l.events)
	l.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d keys kept after they went idle, want 1", n)
	}
}

func TestLimiterConcurrent(t *testing.T) {
	clock := &fakeClock{now: t0}
	l := NewLimiter(5, time.Hour, clock.Now)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 50 {
		wg.Go(func() {
			if l.Allow("anna") {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if allowed != 5 {
		t.Fatalf("%d events allowed concurrently, want 5", allowed)
	}
}
