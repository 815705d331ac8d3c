package ratelimit

import (
	"sync"
	"time"
)

// Window counts events per key within a sliding window: at most n events
// within any span-long stretch of time. An event leaves the count exactly
// one span after it happened, so pacing the events does not buy more of
// them than n per span. It is safe for concurrent use.
//
// Only the newest n events of a key are kept, so counts saturate at n:
// "has the key reached n" is the only question a Window answers about
// larger counts.
type Window struct {
	mu     sync.Mutex
	n      int
	span   time.Duration
	now    func() time.Time
	events keySet[[]time.Time] // per key, oldest first, at most n
}

// NewWindow returns a counter of up to n events per key per span. now is
// the clock (time.Now when nil). With n < 1 or span <= 0 nothing is
// allowed and nothing is counted: a misconfigured limit fails closed.
func NewWindow(n int, span time.Duration, now func() time.Time, opts ...Option) *Window {
	o := apply(opts)
	w := &Window{n: n, span: span, now: clockOrNow(now)}
	// A key with no event in the window answers exactly like a new one.
	w.events = newKeySet(o.maxKeys, span, func(ev []time.Time, now time.Time) bool {
		return len(ev) == 0 || now.Sub(ev[len(ev)-1]) >= w.span
	})
	return w
}

func (w *Window) broken() bool { return w.n < 1 || w.span <= 0 }

// Allow reports whether one more event for key fits in the window, and
// counts it when it does.
func (w *Window) Allow(key string) bool {
	if w.broken() {
		return false
	}
	now := w.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	ev := w.live(key, now)
	if len(ev) >= w.n {
		return false
	}
	w.put(key, append(ev, now), now)
	return true
}

// Add counts an event for key whether or not it fits, and returns the
// count within the window afterwards (at most n).
func (w *Window) Add(key string) int {
	if w.broken() {
		return 0
	}
	now := w.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	ev := append(w.live(key, now), now)
	if len(ev) > w.n {
		ev = append(ev[:0], ev[len(ev)-w.n:]...)
	}
	w.put(key, ev, now)
	return len(ev)
}

// Count returns the events of key within the window (at most n).
func (w *Window) Count(key string) int {
	if w.broken() {
		return 0
	}
	now := w.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	ev := w.live(key, now)
	if len(ev) == 0 {
		delete(w.events.m, key)
	}
	return len(ev)
}

// Reset forgets the events of key.
func (w *Window) Reset(key string) {
	w.mu.Lock()
	delete(w.events.m, key)
	w.mu.Unlock()
}

// Len is the number of keys held, for tests and status.
func (w *Window) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.events.m)
}

// live returns the events of key that are still within the window ending
// at now, dropping the older ones in place.
func (w *Window) live(key string, now time.Time) []time.Time {
	ev := w.events.m[key]
	i := 0
	for i < len(ev) && now.Sub(ev[i]) >= w.span {
		i++
	}
	if i == 0 {
		return ev
	}
	// Copy down so the backing array does not keep growing at its end.
	ev = append(ev[:0], ev[i:]...)
	w.events.m[key] = ev
	return ev
}

// put stores the events of key.
func (w *Window) put(key string, ev []time.Time, now time.Time) {
	w.events.sweep(now)
	w.events.put(key, ev, now)
}
