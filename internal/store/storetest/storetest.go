// Package storetest is the conformance suite for store.Store: every
// implementation runs it, so the SQLite file of a single gateway and a
// database shared by several replicas keep the same contracts. It covers
// the state replicas must agree on (Quick Connect requests, enrollments in
// progress, throttle counters, known addresses and challenges) and state
// changes committed together with their audit events.
//
// Times are compared to the microsecond: a store must keep at least that
// much of every time it stores, in any location.
package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/store"
)

// Run runs the suite. open returns a new, empty store for each subtest;
// closing it is open's to arrange (for example with t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("QuickConnect", func(t *testing.T) { runQuickConnect(t, open) })
	t.Run("Enrollment", func(t *testing.T) { runEnrollment(t, open) })
	t.Run("Throttle", func(t *testing.T) { runThrottle(t, open) })
	t.Run("KnownAddress", func(t *testing.T) { runKnownAddress(t, open) })
	t.Run("Challenge", func(t *testing.T) { runChallenge(t, open) })
	t.Run("Audited", func(t *testing.T) { runAudited(t, open) })
	t.Run("Tokens", func(t *testing.T) { runTokens(t, open) })
}

// t0 is the suite's "now": a microsecond part makes a store that drops it
// fail.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)

// us is the smallest step a store must tell apart.
const us = time.Microsecond

func hashOf(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// utc makes times from different stores comparable with reflect.DeepEqual:
// no monotonic reading, one location, and one zero time.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Round(0).UTC()
}

// blob makes an empty byte slice and nil compare equal: a store may return
// either for an empty value.
func blob(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// mustEqual compares whole records after norm: every field must come back
// as stored.
func mustEqual[T any](t *testing.T, what string, got, want T, norm func(T) T) {
	t.Helper()
	if g, w := norm(got), norm(want); !reflect.DeepEqual(g, w) {
		t.Fatalf("%s =\n%+v\nwant\n%+v", what, g, w)
	}
}

func mustNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("%s: err = %v, want store.ErrNotFound", what, err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// race runs fn from n goroutines started together and returns how many
// reported a win. Any error fails the test.
func race(t *testing.T, n int, fn func(ctx context.Context, i int) (bool, error)) int {
	t.Helper()
	var (
		mu    sync.Mutex
		wins  int
		errs  []error
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for i := range n {
		wg.Go(func() {
			<-start
			won, err := fn(t.Context(), i)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if won {
				wins++
			}
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return wins
}
