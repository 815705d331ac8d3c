package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/store"
)

func runThrottle(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("Count", func(t *testing.T) { testCountEvents(t, open(t)) })
	t.Run("Reset", func(t *testing.T) { testResetEvents(t, open(t)) })
	t.Run("Sweep", func(t *testing.T) { testSweepEvents(t, open(t)) })
	t.Run("KeepMustBePositive", func(t *testing.T) { testAddEventKeep(t, open(t)) })
	t.Run("Concurrent", func(t *testing.T) { testAddEventConcurrent(t, open(t)) })
}

func addEvents(t *testing.T, s store.Store, key string, keep time.Duration, at ...time.Time) {
	t.Helper()
	for _, a := range at {
		must(t, s.AddEvent(t.Context(), key, a, keep))
	}
}

func countEvents(t *testing.T, s store.Store, key string, since time.Time) int {
	t.Helper()
	n, err := s.CountEvents(t.Context(), key, since)
	must(t, err)
	return n
}

func testCountEvents(t *testing.T, s store.Store) {
	const a, b = "addr:203.0.113.7/32", "addr:2001:db8::/64"
	sec := time.Second
	// Two events of a share an instant; both count.
	addEvents(t, s, a, time.Hour, t0, t0.Add(sec), t0.Add(sec), t0.Add(2*sec))
	addEvents(t, s, b, time.Hour, t0.Add(sec))
	addEvents(t, s, "user:ALICE", time.Hour, t0)
	tests := []struct {
		key   string
		since time.Time
		want  int
	}{
		{a, t0.Add(-time.Hour), 4},
		{a, t0.Add(-us), 4},
		{a, t0, 3}, // strictly after since
		{a, t0.Add(sec - us), 3},
		{a, t0.Add(sec), 1},
		{a, t0.Add(2*sec - us), 1},
		{a, t0.Add(2 * sec), 0},
		{b, t0, 1},
		{b, t0.Add(sec), 0},
		{"user:ALICE", t0.Add(-us), 1},
		{"user:alice", t0.Add(-us), 0}, // keys are opaque: no folding
		{"addr:203.0.113.7", t0.Add(-us), 0},
		{"", t0.Add(-time.Hour), 0},
	}
	for _, tt := range tests {
		if got := countEvents(t, s, tt.key, tt.since); got != tt.want {
			t.Errorf("CountEvents(%q, t0%+v) = %d, want %d", tt.key, tt.since.Sub(t0), got, tt.want)
		}
	}
}

func testResetEvents(t *testing.T, s store.Store) {
	ctx := t.Context()
	addEvents(t, s, "user:alice", time.Hour, t0, t0.Add(time.Second))
	addEvents(t, s, "user:bob", time.Hour, t0)
	must(t, s.ResetEvents(ctx, "user:alice"))
	if n := countEvents(t, s, "user:alice", t0.Add(-time.Hour)); n != 0 {
		t.Fatalf("events after reset = %d, want 0", n)
	}
	if n := countEvents(t, s, "user:bob", t0.Add(-time.Hour)); n != 1 {
		t.Fatalf("another key's events after reset = %d, want 1", n)
	}
	must(t, s.ResetEvents(ctx, "user:alice"))
	must(t, s.ResetEvents(ctx, "user:nobody"))
	// A reset key counts again from scratch.
	addEvents(t, s, "user:alice", time.Hour, t0.Add(time.Minute))
	if n := countEvents(t, s, "user:alice", t0.Add(-time.Hour)); n != 1 {
		t.Fatalf("events after reset and one more = %d, want 1", n)
	}
}

func testSweepEvents(t *testing.T, s store.Store) {
	ctx := t.Context()
	// short's events are kept a minute, long's an hour. A new event of a
	// key must not cost the key an older event still within its keep.
	addEvents(t, s, "short", time.Minute, t0, t0.Add(30*time.Second))
	addEvents(t, s, "long", time.Hour, t0, t0.Add(30*time.Minute))
	all := t0.Add(-time.Hour)
	if short, long := countEvents(t, s, "short", all), countEvents(t, s, "long", all); short != 2 || long != 2 {
		t.Fatalf("events before sweeping: short %d, long %d; want 2 and 2", short, long)
	}
	steps := []struct {
		before      time.Time
		deleted     int
		short, long int // left after the step
	}{
		{t0.Add(time.Minute - us), 0, 2, 2},
		{t0.Add(time.Minute), 1, 1, 2}, // kept exactly a minute: gone
		{t0.Add(time.Minute), 0, 1, 2},
		{t0.Add(time.Hour - us), 1, 0, 2},
		{t0.Add(90 * time.Minute), 2, 0, 0},
	}
	for _, st := range steps {
		n, err := s.SweepEvents(ctx, st.before)
		must(t, err)
		short, long := countEvents(t, s, "short", all), countEvents(t, s, "long", all)
		if n != st.deleted || short != st.short || long != st.long {
			t.Fatalf("SweepEvents(t0%+v) = %d leaving short %d, long %d; want %d leaving %d, %d",
				st.before.Sub(t0), n, short, long, st.deleted, st.short, st.long)
		}
	}
}

func testAddEventKeep(t *testing.T, s store.Store) {
	for _, keep := range []time.Duration{0, -time.Second} {
		if err := s.AddEvent(t.Context(), "k", t0, keep); err == nil {
			t.Errorf("AddEvent with keep %v succeeded", keep)
		}
	}
	if n := countEvents(t, s, "k", t0.Add(-time.Hour)); n != 0 {
		t.Fatalf("refused events counted: %d", n)
	}
}

// testAddEventConcurrent: events recorded at once, at one instant, are all
// counted; none is lost to another's write.
func testAddEventConcurrent(t *testing.T, s store.Store) {
	const n = 20
	race(t, n, func(ctx context.Context, i int) (bool, error) {
		return false, s.AddEvent(ctx, "addr:198.51.100.1/32", t0, time.Hour)
	})
	if got := countEvents(t, s, "addr:198.51.100.1/32", t0.Add(-us)); got != n {
		t.Fatalf("events recorded concurrently = %d, want %d", got, n)
	}
}
