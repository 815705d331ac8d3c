package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/store"
)

func runKnownAddress(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("Lookups", func(t *testing.T) { testAddressKnown(t, open(t)) })
	t.Run("NewestWins", func(t *testing.T) { testRememberAddressNewestWins(t, open(t)) })
	t.Run("List", func(t *testing.T) { testKnownAddresses(t, open(t)) })
	t.Run("Forget", func(t *testing.T) { testForgetAddresses(t, open(t)) })
	t.Run("Concurrent", func(t *testing.T) { testRememberAddressConcurrent(t, open(t)) })
}

// Two networks and when alice and bob signed in from them.
const netA, netB = "198.51.100.0/24", "203.0.113.0/24"

func rememberSample(t *testing.T, s store.Store) {
	t.Helper()
	for _, k := range []store.KnownAddress{
		{UserFolded: "alice", AddrKey: netA, LastAt: t0},
		{UserFolded: "alice", AddrKey: netB, LastAt: t0.Add(time.Hour)},
		{UserFolded: "bob", AddrKey: netA, LastAt: t0.Add(2 * time.Hour)},
	} {
		must(t, s.RememberAddress(t.Context(), k.UserFolded, k.AddrKey, k.LastAt))
	}
}

func normKnown(ks []store.KnownAddress) []store.KnownAddress {
	out := []store.KnownAddress{}
	for _, k := range ks {
		k.LastAt = utc(k.LastAt)
		out = append(out, k)
	}
	return out
}

func testAddressKnown(t *testing.T, s store.Store) {
	rememberSample(t, s)
	tests := []struct {
		user  string // "": any user (AddressKnown)
		addr  string
		since time.Time
		want  bool
	}{
		{"", netA, t0.Add(-time.Hour), true},
		{"", netA, t0.Add(2*time.Hour - us), true}, // bob
		{"", netA, t0.Add(2 * time.Hour), false},   // strictly after since
		{"", netB, t0, true},
		{"", netB, t0.Add(time.Hour), false},
		{"", "192.0.2.0/24", t0.Add(-time.Hour), false},
		{"alice", netA, t0.Add(-us), true},
		{"alice", netA, t0, false},
		{"alice", netB, t0.Add(time.Hour - us), true},
		{"bob", netA, t0.Add(time.Hour), true},
		{"bob", netB, t0.Add(-time.Hour), false}, // alice's, not bob's
		{"ALICE", netA, t0.Add(-time.Hour), false},
		{"carol", netA, t0.Add(-time.Hour), false},
	}
	for _, tt := range tests {
		var got bool
		var err error
		if tt.user == "" {
			got, err = s.AddressKnown(t.Context(), tt.addr, tt.since)
		} else {
			got, err = s.AddressKnownFor(t.Context(), tt.user, tt.addr, tt.since)
		}
		must(t, err)
		if got != tt.want {
			t.Errorf("known(%q, %q, since t0%+v) = %v, want %v", tt.user, tt.addr, tt.since.Sub(t0), got, tt.want)
		}
	}
}

func testRememberAddressNewestWins(t *testing.T, s store.Store) {
	steps := []struct {
		at, want time.Time
	}{
		{t0.Add(time.Hour), t0.Add(time.Hour)},
		{t0, t0.Add(time.Hour)}, // an older success does not move it back
		{t0.Add(time.Hour), t0.Add(time.Hour)},
		{t0.Add(2 * time.Hour), t0.Add(2 * time.Hour)},
	}
	for _, st := range steps {
		must(t, s.RememberAddress(t.Context(), "alice", netA, st.at))
		got, err := s.KnownAddresses(t.Context(), t0.Add(-time.Hour))
		must(t, err)
		want := []store.KnownAddress{{UserFolded: "alice", AddrKey: netA, LastAt: st.want}}
		mustEqual(t, fmt.Sprintf("known addresses after a success at t0%+v", st.at.Sub(t0)), got, want, normKnown)
	}
}

func testKnownAddresses(t *testing.T, s store.Store) {
	rememberSample(t, s)
	aliceA := store.KnownAddress{UserFolded: "alice", AddrKey: netA, LastAt: t0}
	aliceB := store.KnownAddress{UserFolded: "alice", AddrKey: netB, LastAt: t0.Add(time.Hour)}
	bobA := store.KnownAddress{UserFolded: "bob", AddrKey: netA, LastAt: t0.Add(2 * time.Hour)}
	tests := []struct {
		since time.Time
		want  []store.KnownAddress
	}{
		{t0.Add(-us), []store.KnownAddress{aliceA, aliceB, bobA}}, // by user, then address
		{t0, []store.KnownAddress{aliceB, bobA}},
		{t0.Add(2*time.Hour - us), []store.KnownAddress{bobA}},
		{t0.Add(2 * time.Hour), nil},
	}
	for _, tt := range tests {
		got, err := s.KnownAddresses(t.Context(), tt.since)
		must(t, err)
		mustEqual(t, fmt.Sprintf("KnownAddresses(t0%+v)", tt.since.Sub(t0)), got, tt.want, normKnown)
	}
}

func testForgetAddresses(t *testing.T, s store.Store) {
	rememberSample(t, s)
	steps := []struct {
		before  time.Time
		deleted int
		left    int
	}{
		{t0.Add(-us), 0, 3},
		{t0, 1, 2}, // last used exactly at before: forgotten
		{t0, 0, 2},
		{t0.Add(90 * time.Minute), 1, 1},
		{t0.Add(24 * time.Hour), 1, 0},
	}
	for _, st := range steps {
		n, err := s.ForgetAddresses(t.Context(), st.before)
		must(t, err)
		left, err := s.KnownAddresses(t.Context(), t0.Add(-time.Hour))
		must(t, err)
		if n != st.deleted || len(left) != st.left {
			t.Fatalf("ForgetAddresses(t0%+v) = %d leaving %d, want %d leaving %d",
				st.before.Sub(t0), n, len(left), st.deleted, st.left)
		}
	}
	if known, err := s.AddressKnown(t.Context(), netA, t0.Add(-time.Hour)); err != nil || known {
		t.Fatalf("AddressKnown after forgetting everything = %v, %v", known, err)
	}
}

// testRememberAddressConcurrent: successes recorded at once for one user
// and address all succeed, and the newest time is the one kept.
func testRememberAddressConcurrent(t *testing.T, s store.Store) {
	const n = 20
	race(t, n, func(ctx context.Context, i int) (bool, error) {
		return false, s.RememberAddress(ctx, "alice", netA, t0.Add(time.Duration(i)*time.Second))
	})
	got, err := s.KnownAddresses(t.Context(), t0.Add(-time.Hour))
	must(t, err)
	want := []store.KnownAddress{{UserFolded: "alice", AddrKey: netA, LastAt: t0.Add((n - 1) * time.Second)}}
	mustEqual(t, "known addresses after concurrent successes", got, want, normKnown)
}
