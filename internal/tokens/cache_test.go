package tokens_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/tokens"
)

// TestExpiredResolutionsAreForgotten: made-up tokens leave the table once
// their negative cache expires, at the next sync; records stay.
func TestExpiredResolutionsAreForgotten(t *testing.T) {
	f := newFixture(t)
	tab := f.table(t, func(o *tokens.Options) { o.ResolvePerMinute = 1000 })
	ctx := context.Background()
	if _, err := tab.Record(ctx, "tok", tokens.Issued{UserID: "u1", UserName: "alice", Source: "login"}); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		if v := check(t, tab, fmt.Sprintf("made-up-%d", i)); v.Status != tokens.Invalid {
			t.Fatalf("verdict %+v", v)
		}
	}
	if got := tab.Size(); got != (tokens.Size{Records: 2, Cached: 200}) { // tok and the own key
		t.Fatalf("size %+v", got)
	}
	f.clock.Advance(5 * time.Second)
	if err := tab.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := tab.Size(); got.Cached != 200 {
		t.Fatalf("forgotten before their time: %+v", got)
	}
	f.clock.Advance(6 * time.Second) // past NegativeTTL (10s)
	if err := tab.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := tab.Size(); got != (tokens.Size{Records: 2, Cached: 0}) {
		t.Fatalf("after NegativeTTL: size %+v, want only the records", got)
	}
	if v := check(t, tab, "tok"); v.Status != tokens.Active {
		t.Fatalf("the released token: %v", v.Status)
	}
}

// TestCacheBoundHolds: ten times the bound of distinct tokens leave the
// table at the bound; released and revoked tokens are never evicted.
func TestCacheBoundHolds(t *testing.T) {
	const bound = 50
	f := newFixture(t)
	f.res.owners["adopted"] = jellyfin.Owner{UserID: "u2", UserName: "bob"}
	tab := f.table(t, func(o *tokens.Options) { o.MaxCached, o.ResolvePerMinute = bound, 1000 })
	ctx := context.Background()
	hRel, _ := tab.Record(ctx, "released", tokens.Issued{UserID: "u1", UserName: "alice", Source: "login"})
	check(t, tab, "adopted")
	if _, err := tab.Revoke(ctx, tokens.HashOf("adopted"), "test"); err != nil {
		t.Fatal(err)
	}
	for i := range 10 * bound {
		check(t, tab, fmt.Sprintf("made-up-%d", i))
		if got := tab.Size(); got.Cached > bound {
			t.Fatalf("after %d tokens: %d cached, bound %d", i+1, got.Cached, bound)
		}
	}
	if got := tab.Size(); got != (tokens.Size{Records: 3, Cached: bound}) {
		t.Fatalf("size %+v", got)
	}
	asked := f.res.asked.Load()
	if v := check(t, tab, "released"); v.Status != tokens.Active || v.Hash != hRel {
		t.Fatalf("released token after the flood: %+v", v)
	}
	if v := check(t, tab, "adopted"); v.Status != tokens.Revoked {
		t.Fatalf("revoked token after the flood: %v", v.Status)
	}
	if f.res.asked.Load() != asked {
		t.Fatal("a record was evicted and resolved again")
	}
}

// TestCacheEvictsTheLeastRecentlyUsed: a token used again is kept over one
// that was not.
func TestCacheEvictsTheLeastRecentlyUsed(t *testing.T) {
	f := newFixture(t)
	tab := f.table(t, func(o *tokens.Options) { o.MaxCached = 3 })
	for _, tok := range []string{"t1", "t2", "t3", "t1", "t4"} { // t2 is now the least recent
		check(t, tab, tok)
	}
	if n := f.res.asked.Load(); n != 4 {
		t.Fatalf("asked %d times, want 4", n)
	}
	for _, tok := range []string{"t1", "t3", "t4"} {
		check(t, tab, tok)
	}
	if n := f.res.asked.Load(); n != 4 {
		t.Fatalf("a recently used token was evicted: asked %d times", n)
	}
	check(t, tab, "t2")
	if n := f.res.asked.Load(); n != 5 {
		t.Fatalf("the least recently used token was kept: asked %d times", n)
	}
	// t2 came back and evicted t1, the least recent of t1, t3, t4.
	check(t, tab, "t1")
	if n := f.res.asked.Load(); n != 6 {
		t.Fatalf("asked %d times, want 6", n)
	}
}

// TestUnknownTokenCostsOneLookupWhileCached: however often a made-up token
// is sent, Jellyfin is asked once until the answer expires.
func TestUnknownTokenCostsOneLookupWhileCached(t *testing.T) {
	f := newFixture(t)
	tab := f.table(t, nil)
	for range 100 {
		check(t, tab, "made-up")
	}
	if n := f.res.asked.Load(); n != 1 {
		t.Fatalf("asked %d times", n)
	}
}

// TestAdoptingAReleasedTokenKeepsItsRecord: a process that did not have a
// token in memory (another one released it) and sees it in a request must
// take the stored record, not record the token again as resolved: the
// device, sign-in time, factor and assurance stay, and the owner's policy
// against unreleased tokens does not apply to it.
func TestAdoptingAReleasedTokenKeepsItsRecord(t *testing.T) {
	f := newFixture(t)
	f.res.owners["tok"] = jellyfin.Owner{UserID: "u1", UserName: "alice"}
	ctx := context.Background()
	other := f.table(t, func(o *tokens.Options) { o.Policy = policy{"u1": true} })
	tab := f.table(t, func(o *tokens.Options) { o.Policy = policy{"u1": true} })

	signedIn := f.clock.Now()
	h, err := other.Record(ctx, "tok", tokens.Issued{UserID: "u1", UserName: "alice", DeviceID: "dev-1",
		Client: "Jellyfin Web", DeviceName: "Firefox", IP: "192.0.2.7", Source: "login", Factor: "totp",
		Assurance: store.AssuranceTwoFactor})
	if err != nil {
		t.Fatal(err)
	}
	want, err := f.store.Token(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)

	v := check(t, tab, "tok")
	if v.Status != tokens.Active || v.Adopted || v.Factor != "totp" || v.Assurance != store.AssuranceTwoFactor ||
		!v.SignedInAt.Equal(signedIn) {
		t.Fatalf("verdict %+v (%v), want the released session", v, v.Status)
	}
	got, err := f.store.Token(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	if got.Source != "login" || got.DeviceID != "dev-1" || got.Factor != "totp" ||
		got.Assurance != store.AssuranceTwoFactor || !got.CreatedAt.Equal(want.CreatedAt) {
		t.Fatalf("the stored record was downgraded:\n%+v\nwant\n%+v", got, want)
	}
	// It is a record now: not asked about again when the cache would expire.
	f.clock.Advance(2 * time.Minute)
	check(t, tab, "tok")
	if n := f.res.asked.Load(); n != 1 {
		t.Fatalf("asked %d times", n)
	}
	if sz := tab.Size(); sz.Records != 2 || sz.Cached != 0 {
		t.Fatalf("size %+v", sz)
	}
}
