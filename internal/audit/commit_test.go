package audit

import (
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/store"
)

func TestCommitStoresTheChangeWithItsEvents(t *testing.T) {
	ctx := t.Context()
	s := openStore(t)
	var logged strings.Builder
	l := New(s, testKeys(t, 1), slog.New(slog.NewTextHandler(&logged, nil)))
	fill(t, s, 3)
	ban := store.Ban{Prefix: "203.0.113.0/24", Reason: "scanning", Source: "manual", Level: 1, CreatedAt: time.Now()}
	err := l.Commit(ctx, func(w store.Writer) error { return w.PutBan(ctx, ban) },
		Event{Kind: BanAdded, Network: ban.Prefix, Note: "manual ban", By: "test"},
		Event{Kind: TokenRevoked, UserID: "u", IP: netip.MustParseAddr("192.0.2.9")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ban(ctx, ban.Prefix); err != nil {
		t.Fatalf("the change: %v", err)
	}
	if n, err := l.Verify(ctx); n != 5 || err != nil {
		t.Fatalf("Verify = %d, %v; want 5 intact", n, err)
	}
	evs, err := l.Tail(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if evs[0].Kind != BanAdded || evs[0].IP != ban.Prefix || evs[0].Detail != "manual ban, by test" ||
		evs[1].Kind != TokenRevoked || evs[1].IP != "192.0.2.9" {
		t.Fatalf("committed events %+v", evs)
	}
	if n := strings.Count(logged.String(), "audit event"); n != 2 {
		t.Fatalf("%d events logged, want the 2 committed:\n%s", n, logged.String())
	}
}

func TestCommitStoresNothingWhenEitherFails(t *testing.T) {
	ctx := t.Context()
	s := openStore(t)
	var logged strings.Builder
	l := New(s, testKeys(t, 1), slog.New(slog.NewTextHandler(&logged, nil)))
	fill(t, s, 3)
	ban := store.Ban{Prefix: "203.0.113.0/24", Source: "manual", Level: 1, CreatedAt: time.Now()}
	stop := errors.New("stopped midway")
	err := l.Commit(ctx, func(w store.Writer) error {
		if err := w.PutBan(ctx, ban); err != nil {
			return err
		}
		return stop
	}, Event{Kind: BanAdded, Network: ban.Prefix})
	if !errors.Is(err, stop) {
		t.Fatalf("Commit = %v, want the change's error", err)
	}
	// An event without a kind refuses the whole commit.
	err = l.Commit(ctx, func(w store.Writer) error { return w.PutBan(ctx, ban) }, Event{Network: ban.Prefix})
	if err == nil {
		t.Fatal("Commit accepted an event without a kind")
	}
	if _, err := s.Ban(ctx, ban.Prefix); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the change of a failed commit was stored: %v", err)
	}
	if n, err := l.Verify(ctx); n != 3 || err != nil {
		t.Fatalf("Verify = %d, %v; want the 3 events before", n, err)
	}
	if strings.Contains(logged.String(), "audit event") {
		t.Fatalf("an uncommitted event was logged:\n%s", logged.String())
	}
}
