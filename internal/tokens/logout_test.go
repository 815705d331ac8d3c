package tokens_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/tokens"
)

// pending returns the hashes of the revoked tokens the store says are not
// yet logged out.
func (f *fixture) pending(t *testing.T) []tokens.Hash {
	t.Helper()
	list, err := f.store.PendingLogouts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []tokens.Hash
	for _, st := range list {
		out = append(out, st.Hash)
	}
	return out
}

func retryRound(t *testing.T, tab *tokens.Table) {
	t.Helper()
	if err := tab.RetryLogouts(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestLogoutIsRetriedWithBackoffUntilConfirmed: Jellyfin refuses the
// logout of a revoked token five times; the table tries again after 1s,
// 2s, 4s, then every 4s (the cap here), until Jellyfin confirms, and then
// never again.
func TestLogoutIsRetriedWithBackoffUntilConfirmed(t *testing.T) {
	f := newFixture(t)
	f.res.logoutFails = 5
	tab := f.table(t, func(o *tokens.Options) { o.LogoutRetry, o.LogoutRetryMax = time.Second, 4*time.Second })
	ctx := context.Background()
	h, err := tab.Record(ctx, "tok", tokens.Issued{UserID: "u1", UserName: "alice", Source: "login"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := tab.Revoke(ctx, h, "test")
	if err != nil {
		t.Fatal(err)
	}
	if !st.LoggedOutAt.IsZero() || tab.LogoutError(h) == nil {
		t.Fatalf("a refused logout looks confirmed: %+v, error %v", st, tab.LogoutError(h))
	}
	if p := f.pending(t); len(p) != 1 || p[0] != h {
		t.Fatalf("pending logouts %v, want the revoked token", p)
	}
	// Seconds after the revocation, and the attempts expected by then.
	steps := []struct {
		at    time.Duration
		calls int
	}{
		{0, 1}, {999 * time.Millisecond, 1}, {time.Second, 2}, {2 * time.Second, 2}, {3 * time.Second, 3},
		{6 * time.Second, 3}, {7 * time.Second, 4}, {10 * time.Second, 4}, {11 * time.Second, 5},
		{14 * time.Second, 5}, {15 * time.Second, 6}, {time.Hour, 6},
	}
	start := f.clock.Now()
	for _, s := range steps {
		f.clock.Advance(start.Add(s.at).Sub(f.clock.Now()))
		retryRound(t, tab)
		if calls, _ := f.res.logouts(); calls != s.calls {
			t.Fatalf("%v after the revocation: %d logout attempts, want %d", s.at, calls, s.calls)
		}
	}
	if _, out := f.res.logouts(); len(out) != 1 || out[0] != "tok" {
		t.Fatalf("logged out %v", out)
	}
	if p := f.pending(t); len(p) != 0 {
		t.Fatalf("still pending after Jellyfin confirmed: %v", p)
	}
	if err := tab.LogoutError(h); err != nil {
		t.Fatalf("LogoutError after the logout: %v", err)
	}
}

// TestOwedLogoutsSurviveARestart: logouts refused before a restart, and
// revocations made while no gateway ran (the command line without an
// upstream), are all tried as soon as the next table starts, without
// waiting out any backoff; a revoked API key is not Jellyfin's to log out.
func TestOwedLogoutsSurviveARestart(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	is := tokens.Issued{UserID: "u1", UserName: "alice", Source: "login"}
	f.res.logoutFails = 100
	f.res.apiKeys = []string{"sonarr-key"}
	before := f.table(t, func(o *tokens.Options) { o.LogoutRetry = time.Hour })
	hA, _ := before.Record(ctx, "tok-a", is)
	hB, _ := before.Record(ctx, "tok-b", is)
	check(t, before, "sonarr-key")
	if _, err := before.Revoke(ctx, hA, "test"); err != nil {
		t.Fatal(err)
	}
	retryRound(t, before) // tok-a waits an hour now
	cli := f.table(t, func(o *tokens.Options) { o.Resolver = nil })
	for _, h := range []tokens.Hash{hB, tokens.HashOf("sonarr-key")} {
		if _, err := cli.Revoke(ctx, h, "cli"); err != nil {
			t.Fatal(err)
		}
	}
	if p := f.pending(t); len(p) != 2 {
		t.Fatalf("pending logouts %v, want tok-a and tok-b", p)
	}

	f.res.mu.Lock()
	f.res.logoutFails = 0
	f.res.mu.Unlock()
	after := f.table(t, nil)
	retryRound(t, after)
	if _, out := f.res.logouts(); !sameSet(out, []string{"tok-a", "tok-b"}) {
		t.Fatalf("logged out after the restart: %v, want tok-a and tok-b", out)
	}
	if p := f.pending(t); len(p) != 0 {
		t.Fatalf("still pending: %v", p)
	}
}

// TestKeepLogoutsRunsAtStart: the loop a gateway runs settles what is owed
// without any other prompt, and then the revocations Sync picks up.
func TestKeepLogoutsRunsAtStart(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cli := f.table(t, func(o *tokens.Options) { o.Resolver = nil })
	h, _ := cli.Record(ctx, "tok", tokens.Issued{UserID: "u1", UserName: "alice", Source: "login"})
	if _, err := cli.Revoke(ctx, h, "cli"); err != nil {
		t.Fatal(err)
	}
	serve := f.table(t, nil)
	loop, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { serve.KeepLogouts(loop, 10*time.Millisecond); close(done) }()
	defer func() { stop(); <-done }()
	settled := func(want ...string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for len(f.pending(t)) > 0 {
			if time.Now().After(deadline) {
				t.Fatal("the owed logout was not settled")
			}
			time.Sleep(10 * time.Millisecond)
		}
		if _, out := f.res.logouts(); !sameSet(out, want) {
			t.Fatalf("logged out %v, want %v", out, want)
		}
	}
	settled("tok")

	h2, _ := serve.Record(ctx, "tok-2", tokens.Issued{UserID: "u1", UserName: "alice", Source: "login"})
	if _, err := cli.Revoke(ctx, h2, "cli"); err != nil {
		t.Fatal(err)
	}
	if err := serve.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if v, _ := serve.Lookup(h2); v.Status != tokens.Revoked {
		t.Fatalf("after sync: %v", v.Status)
	}
	settled("tok", "tok-2")
}

// TestLogoutAnswered401IsDone: Jellyfin answering 401 to the logout means
// the token is already dead there, which is all the logout was for.
func TestLogoutAnswered401IsDone(t *testing.T) {
	f := newFixture(t)
	f.res.logoutGone = true
	tab := f.table(t, nil)
	ctx := context.Background()
	h, _ := tab.Record(ctx, "tok", tokens.Issued{UserID: "u1", UserName: "alice", Source: "login"})
	st, err := tab.Revoke(ctx, h, "test")
	if err != nil {
		t.Fatal(err)
	}
	if st.LoggedOutAt.IsZero() || tab.LogoutError(h) != nil {
		t.Fatalf("a 401 was not taken as the logout: %+v, error %v", st, tab.LogoutError(h))
	}
	if p := f.pending(t); len(p) != 0 {
		t.Fatalf("still pending: %v", p)
	}
	f.clock.Advance(time.Hour)
	retryRound(t, tab)
	if calls, _ := f.res.logouts(); calls != 1 {
		t.Fatalf("%d logout attempts, want 1", calls)
	}
}

// TestConfirmedLogoutWakesTheOthers: once Jellyfin confirms one logout it
// is reachable again, so the tokens waiting out a long backoff are tried
// in the next round.
func TestConfirmedLogoutWakesTheOthers(t *testing.T) {
	f := newFixture(t)
	f.res.logoutFails = 2
	tab := f.table(t, func(o *tokens.Options) { o.LogoutRetry = time.Hour })
	ctx := context.Background()
	is := tokens.Issued{UserID: "u1", UserName: "alice", Source: "login"}
	for _, tok := range []string{"tok-a", "tok-b", "tok-c"} {
		h, _ := tab.Record(ctx, tok, is)
		if _, err := tab.Revoke(ctx, h, "test"); err != nil {
			t.Fatal(err)
		}
	}
	if _, out := f.res.logouts(); len(out) != 1 || out[0] != "tok-c" {
		t.Fatalf("logged out %v, want tok-c (the first two failed)", out)
	}
	f.clock.Advance(time.Second)
	retryRound(t, tab)
	if _, out := f.res.logouts(); !sameSet(out, []string{"tok-a", "tok-b", "tok-c"}) {
		t.Fatalf("logged out %v, want all three", out)
	}
}

// TestRetryLogout is `token revoke` of a token already revoked: it tries
// again at once, whatever the backoff, and says what happened.
func TestRetryLogout(t *testing.T) {
	f := newFixture(t)
	f.res.logoutFails = 1
	tab := f.table(t, func(o *tokens.Options) { o.LogoutRetry = time.Hour })
	ctx := context.Background()
	h, _ := tab.Record(ctx, "tok", tokens.Issued{UserID: "u1", UserName: "alice", Source: "login"})
	if _, err := tab.RetryLogout(ctx, h); err == nil {
		t.Fatal("RetryLogout of an active token succeeded")
	}
	if _, err := tab.Revoke(ctx, h, "test"); err != nil {
		t.Fatal(err)
	}
	st, err := tab.RetryLogout(ctx, h)
	if err != nil || st.LoggedOutAt.IsZero() {
		t.Fatalf("RetryLogout: %+v, %v", st, err)
	}
	if _, err := tab.RetryLogout(ctx, h); err != nil {
		t.Fatalf("RetryLogout of a token logged out: %v", err)
	}
	if calls, _ := f.res.logouts(); calls != 2 {
		t.Fatalf("%d logout attempts, want 2", calls)
	}

	cli := f.table(t, func(o *tokens.Options) { o.Resolver = nil })
	h2, _ := cli.Record(ctx, "tok-2", tokens.Issued{UserID: "u1", UserName: "alice", Source: "login"})
	if _, err := cli.Revoke(ctx, h2, "cli"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.RetryLogout(ctx, h2); !errors.Is(err, tokens.ErrNoUpstream) {
		t.Fatalf("without a Jellyfin: %v, want ErrNoUpstream", err)
	}
}

// TestLogoutWithoutASealedCopyIsNotRetried: a record that cannot be
// unsealed is reported once, not retried every round.
func TestLogoutWithoutASealedCopyIsNotRetried(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	h := tokens.HashOf("tok")
	if err := f.store.PutToken(ctx, store.Token{Hash: h, Kind: store.KindSession, UserID: "u1", Source: "login",
		Sealed: []byte("not a seal"), CreatedAt: f.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.RevokeToken(ctx, h, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	tab := f.table(t, nil)
	for range 3 {
		retryRound(t, tab)
		f.clock.Advance(time.Hour)
	}
	if calls, _ := f.res.logouts(); calls != 0 {
		t.Fatalf("%d logout attempts with a token that does not unseal", calls)
	}
	if tab.LogoutError(h) == nil {
		t.Fatal("no reason recorded")
	}
}

func sameSet(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	seen := map[string]int{}
	for _, s := range got {
		seen[s]++
	}
	for _, s := range want {
		if seen[s] == 0 {
			return false
		}
		seen[s]--
	}
	return true
}
