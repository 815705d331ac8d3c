package tokens_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jellyguard/jellyguard/internal/audit"
	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/tokens"
)

// TestRecordStoresTheTokenWithItsEvent: a released token and its sign-in
// event are stored together; when the event cannot be written the token is
// not stored, not in the table, and Record fails so the caller refuses the
// sign-in.
func TestRecordStoresTheTokenWithItsEvent(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	tab := f.table(t, nil)
	is := tokens.Issued{UserID: "u1", UserName: "alice", Source: "login"}
	ev := audit.Event{Kind: audit.SignInSuccess, UserID: "u1", UserName: "alice", Door: "login"}

	if _, err := f.store.DB().Exec(`CREATE TRIGGER fail_audit BEFORE INSERT ON audit
		BEGIN SELECT RAISE(ABORT, 'injected failure'); END`); err != nil {
		t.Fatal(err)
	}
	h, err := tab.Record(ctx, "tok-unaudited", is, ev)
	if err == nil {
		t.Fatal("a token was recorded although its audit event could not be written")
	}
	if _, err := f.store.Token(ctx, h); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the token is stored without its event: %v", err)
	}
	if _, ok := tab.Lookup(h); ok {
		t.Fatal("the token is in the table without its event")
	}
	if _, err := f.store.DB().Exec(`DROP TRIGGER fail_audit`); err != nil {
		t.Fatal(err)
	}

	h, err = tab.Record(ctx, "tok-audited", is, ev)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := tab.Lookup(h); !ok || v.Status != tokens.Active {
		t.Fatalf("recorded token: %+v, %v", v, ok)
	}
	if _, err := f.store.Token(ctx, h); err != nil {
		t.Fatal(err)
	}
	evs, err := f.audit.Since(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Kind != audit.SignInSuccess {
		t.Fatalf("events %+v, want the one sign-in", evs)
	}
}
