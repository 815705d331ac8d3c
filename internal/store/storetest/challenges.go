package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/store"
)

func runChallenge(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("RoundTrip", func(t *testing.T) { testChallengeRoundTrip(t, open(t)) })
	t.Run("Attempts", func(t *testing.T) { testChallengeAttempts(t, open(t)) })
	t.Run("AttemptsConcurrent", func(t *testing.T) { testChallengeAttemptsConcurrent(t, open(t)) })
	t.Run("TakeOnce", func(t *testing.T) { testTakeChallengeOnce(t, open(t)) })
	t.Run("Expired", func(t *testing.T) { testExpiredChallenges(t, open(t)) })
}

func challenge(id, userID string, created time.Time) store.Challenge {
	return store.Challenge{
		ID: id, UserID: userID, UserName: "Alice", IsAdmin: true, DeviceID: "dev-" + id,
		Client: "Jellyfin Web", DeviceName: "Firefox", Version: "10.11.0", IP: "192.0.2.7",
		ServerID: "srv", Web: true, Source: "login", Sealed: []byte("sealed " + id), Attempts: 2,
		CreatedAt: created, ExpiresAt: created.Add(5 * time.Minute),
	}
}

func normChallenge(c store.Challenge) store.Challenge {
	c.Sealed, c.CreatedAt, c.ExpiresAt = blob(c.Sealed), utc(c.CreatedAt), utc(c.ExpiresAt)
	return c
}

func putChallenges(t *testing.T, s store.Store, cs ...store.Challenge) {
	t.Helper()
	for _, c := range cs {
		must(t, s.PutChallenge(t.Context(), c))
	}
}

// challengeIDs lists the challenges' ids in order.
func challengeIDs(cs []store.Challenge) string {
	ids := []string{}
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return fmt.Sprint(ids)
}

func testChallengeRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	c1 := challenge("c1", "ua", t0.Add(time.Minute))
	c2 := challenge("c2", "ua", t0)
	bare := store.Challenge{ID: "c3", UserID: "ub", CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
	putChallenges(t, s, c1, c2, bare)
	for _, want := range []store.Challenge{c1, c2, bare} {
		got, err := s.Challenge(ctx, want.ID)
		must(t, err)
		mustEqual(t, "challenge "+want.ID, got, want, normChallenge)
	}
	_, err := s.Challenge(ctx, "nope")
	mustNotFound(t, "missing challenge", err)

	tests := []struct {
		userID, want string
	}{
		{"ua", "[c2 c1]"}, // oldest first
		{"ub", "[c3]"},
		{"uc", "[]"},
	}
	for _, tt := range tests {
		got, err := s.UserChallenges(ctx, tt.userID)
		must(t, err)
		if challengeIDs(got) != tt.want {
			t.Fatalf("UserChallenges(%s) = %s, want %s", tt.userID, challengeIDs(got), tt.want)
		}
	}
	list, _ := s.UserChallenges(ctx, "ua")
	mustEqual(t, "listed challenge", list[1], c1, normChallenge)

	// Replacing replaces every field, the attempts included.
	c1b := c1
	c1b.IP, c1b.Attempts, c1b.Web, c1b.Sealed = "198.51.100.1", 0, false, []byte("other")
	putChallenges(t, s, c1b)
	got, err := s.Challenge(ctx, "c1")
	must(t, err)
	mustEqual(t, "replaced challenge", got, c1b, normChallenge)

	taken, err := s.TakeChallenge(ctx, "c1")
	must(t, err)
	mustEqual(t, "taken challenge", taken, c1b, normChallenge)
	_, err = s.TakeChallenge(ctx, "c1")
	mustNotFound(t, "taking twice", err)
	_, err = s.Challenge(ctx, "c1")
	mustNotFound(t, "taken challenge", err)
	if got, _ := s.UserChallenges(ctx, "ua"); challengeIDs(got) != "[c2]" {
		t.Fatalf("UserChallenges after taking c1 = %s", challengeIDs(got))
	}
}

func testChallengeAttempts(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := challenge("c1", "ua", t0)
	putChallenges(t, s, c, challenge("c2", "ua", t0))
	for want := c.Attempts + 1; want <= c.Attempts+3; want++ {
		n, err := s.AddChallengeAttempt(ctx, "c1")
		if err != nil || n != want {
			t.Fatalf("AddChallengeAttempt = %d, %v; want %d", n, err, want)
		}
	}
	got, err := s.Challenge(ctx, "c1")
	must(t, err)
	if got.Attempts != c.Attempts+3 {
		t.Fatalf("stored attempts = %d, want %d", got.Attempts, c.Attempts+3)
	}
	if other, _ := s.Challenge(ctx, "c2"); other.Attempts != c.Attempts {
		t.Fatalf("another challenge's attempts = %d, want %d", other.Attempts, c.Attempts)
	}
	_, err = s.AddChallengeAttempt(ctx, "nope")
	mustNotFound(t, "attempt on a missing challenge", err)
	if _, err := s.TakeChallenge(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	_, err = s.AddChallengeAttempt(ctx, "c1")
	mustNotFound(t, "attempt on a taken challenge", err)
}

// testChallengeAttemptsConcurrent: failed attempts made at once are all
// counted, and each sees its own count, so a limit on attempts holds
// however many replicas take them.
func testChallengeAttemptsConcurrent(t *testing.T, s store.Store) {
	const n = 20
	c := challenge("c1", "ua", t0)
	c.Attempts = 0
	putChallenges(t, s, c)
	counts := make([]int, n)
	race(t, n, func(ctx context.Context, i int) (bool, error) {
		var err error
		counts[i], err = s.AddChallengeAttempt(ctx, "c1")
		return false, err
	})
	seen := make([]bool, n+1)
	for _, k := range counts {
		if k < 1 || k > n || seen[k] {
			t.Fatalf("counts returned to concurrent attempts = %v, want 1 to %d once each", counts, n)
		}
		seen[k] = true
	}
	got, err := s.Challenge(t.Context(), "c1")
	must(t, err)
	if got.Attempts != n {
		t.Fatalf("attempts = %d, want %d", got.Attempts, n)
	}
}

// testTakeChallengeOnce: of many requests taking one challenge at once,
// exactly one gets the withheld token.
func testTakeChallengeOnce(t *testing.T, s store.Store) {
	c := challenge("c1", "ua", t0)
	putChallenges(t, s, c, challenge("c2", "ua", t0))
	wins := race(t, 20, func(ctx context.Context, i int) (bool, error) {
		got, err := s.TakeChallenge(ctx, "c1")
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		if err == nil && !bytes.Equal(got.Sealed, c.Sealed) {
			return true, fmt.Errorf("taken challenge = %+v", got)
		}
		return err == nil, err
	})
	if wins != 1 {
		t.Fatalf("%d requests took the challenge, want 1", wins)
	}
	_, err := s.Challenge(t.Context(), "c1")
	mustNotFound(t, "taken challenge", err)
	if _, err := s.Challenge(t.Context(), "c2"); err != nil {
		t.Fatalf("another challenge after the race: %v", err)
	}
}

func testExpiredChallenges(t *testing.T, s store.Store) {
	for i := range 3 {
		c := challenge(fmt.Sprint("c", i), "ua", t0)
		c.ExpiresAt = t0.Add(time.Duration(3-i) * time.Minute) // c2 expires first
		putChallenges(t, s, c)
	}
	tests := []struct {
		now  time.Time
		want string
	}{
		{t0, "[]"},
		{t0.Add(time.Minute - us), "[]"},
		{t0.Add(time.Minute), "[c2]"}, // ExpiresAt == now is expired
		{t0.Add(150 * time.Second), "[c2 c1]"},
		{t0.Add(time.Hour), "[c2 c1 c0]"}, // in the order they expired
	}
	for _, tt := range tests {
		got, err := s.ExpiredChallenges(t.Context(), tt.now)
		must(t, err)
		if challengeIDs(got) != tt.want {
			t.Errorf("ExpiredChallenges(t0%+v) = %s, want %s", tt.now.Sub(t0), challengeIDs(got), tt.want)
		}
	}
	got, err := s.ExpiredChallenges(t.Context(), t0.Add(time.Minute))
	must(t, err)
	want := challenge("c2", "ua", t0)
	want.ExpiresAt = t0.Add(time.Minute)
	if len(got) != 1 {
		t.Fatalf("ExpiredChallenges = %s", challengeIDs(got))
	}
	mustEqual(t, "expired challenge", got[0], want, normChallenge)
	// Listing does not delete: the caller takes what it cleans up.
	if _, err := s.Challenge(t.Context(), "c2"); err != nil {
		t.Fatalf("expired challenge after listing: %v", err)
	}
}
