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
	max    int
	events map[string][]time.Time // per key, oldest first, at most n
	swept  time.Time              // last periodic sweep
	forced time.Time              // last sweep forced by a full map
}

// NewWindow returns a counter of up to n events per key per span. now is
// the clock (time.Now when nil). With n < 1 or span <= 0 nothing is
// allowed and nothing is counted: a misconfigured limit fails closed.
func NewWindow(n int, span time.Duration, now func() time.Time, opts ...Option) *Window {
	o := apply(opts)
	return &Window{n: n, span: span, now: clockOrNow(now), max: o.maxKeys, events: map[string][]time.Time{}}
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
		delete(w.events, key)
	}
	return len(ev)
}

// Reset forgets the events of key.
func (w *Window) Reset(key string) {
	w.mu.Lock()
	delete(w.events, key)
	w.mu.Unlock()
}

// Len is the number of keys held, for tests and status.
func (w *Window) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.events)
}

// live returns the events of key that are still within the window ending
// at now, dropping the older ones in place.
func (w *Window) live(key string, now time.Time) []time.Time {
	ev := w.events[key]
	i := 0
	for i < len(ev) && now.Sub(ev[i]) >= w.span {
		i++
	}
	if i == 0 {
		return ev
	}
	// Copy down so the backing array does not keep growing at its end.
	ev = append(ev[:0], ev[i:]...)
	w.events[key] = ev
	return ev
}

// put stores the events of key, making room first when key is new.
func (w *Window) put(key string, ev []time.Time, now time.Time) {
	w.sweep(now)
	if _, ok := w.events[key]; !ok {
		w.makeRoom(now)
	}
	w.events[key] = ev
}

// sweep forgets keys whose events have all left the window, at most once a
// span: a key with no event in the window answers exactly like a new one.
func (w *Window) sweep(now time.Time) {
	if now.Sub(w.swept) < w.span {
		return
	}
	w.swept = now
	w.dropIdle(now)
}

func (w *Window) dropIdle(now time.Time) {
	for key, ev := range w.events {
		if len(ev) == 0 || now.Sub(ev[len(ev)-1]) >= w.span {
			delete(w.events, key)
		}
	}
}

// makeRoom keeps the map under its cap before a new key is added.
func (w *Window) makeRoom(now time.Time) {
	if len(w.events) < w.max {
		return
	}
	if now.Sub(w.forced) >= fullSweepEvery {
		w.forced = now
		w.dropIdle(now)
	}
	for key := range w.events {
		if len(w.events) < w.max {
			return
		}
		delete(w.events, key)
	}
}
