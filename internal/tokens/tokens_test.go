package tokens_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/audit"
	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/secret"
	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/store/sqlite"
	"github.com/jellyguard/jellyguard/internal/testkit"
	"github.com/jellyguard/jellyguard/internal/tokens"
)

// resolver is a scripted Jellyfin: owners maps token → owner, apiKeys lists
// keys; everything else is invalid. The owners of lanOnly tokens lack
// EnableRemoteAccess: Jellyfin answers 403 for them unless the client is
// on its LAN.
type resolver struct {
	mu        sync.Mutex
	owners    map[string]jellyfin.Owner
	lanOnly   map[string]bool
	apiKeys   []string
	down      bool
	gate      chan struct{} // when set, UserForToken waits on it
	asked     atomic.Int32
	loggedOut []string
	// logoutFails makes the next logouts fail as an unreachable Jellyfin
	// would; logoutGone answers them 401, as Jellyfin does for a token it
	// no longer knows. logoutCalls counts every attempt.
	logoutFails int
	logoutGone  bool
	logoutCalls int
}

func (r *resolver) UserForToken(_ context.Context, token, clientIP string) (jellyfin.Owner, error) {
	r.asked.Add(1)
	if r.gate != nil {
		<-r.gate
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		return jellyfin.Owner{}, errors.New("connection refused")
	}
	if o, ok := r.owners[token]; ok {
		if r.lanOnly[token] && !onLAN(clientIP) {
			return jellyfin.Owner{}, fmt.Errorf("jellyfin GET /Users/Me: status 403: %w", jellyfin.ErrForbidden)
		}
		return o, nil
	}
	for _, k := range r.apiKeys {
		if k == token {
			return jellyfin.Owner{}, jellyfin.ErrNoUser
		}
	}
	return jellyfin.Owner{}, jellyfin.ErrInvalidToken
}

// onLAN is Jellyfin's default LAN: the private ranges and loopback.
func onLAN(ip string) bool {
	a, err := netip.ParseAddr(ip)
	return err == nil && (a.IsPrivate() || a.IsLoopback())
}

func (r *resolver) APIKeys(context.Context) ([]jellyfin.APIKey, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []jellyfin.APIKey
	for _, k := range r.apiKeys {
		out = append(out, jellyfin.APIKey{AccessToken: k, AppName: "app"})
	}
	return out, nil
}

func (r *resolver) Logout(_ context.Context, token string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logoutCalls++
	switch {
	case r.logoutFails > 0:
		r.logoutFails--
		return errors.New("jellyfin POST /Sessions/Logout: connection refused")
	case r.logoutGone:
		return fmt.Errorf("jellyfin POST /Sessions/Logout: status 401: %w", jellyfin.ErrInvalidToken)
	}
	r.loggedOut = append(r.loggedOut, token)
	return nil
}

// logouts returns the attempts so far and the tokens logged out.
func (r *resolver) logouts() (int, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.logoutCalls, slices.Clone(r.loggedOut)
}

type fixture struct {
	store *sqlite.Store
	keys  *secret.Keys
	audit *audit.Log
	res   *resolver
	clock *testkit.Clock
	dir   string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	keys, err := secret.LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "jellyguard.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return &fixture{store: st, keys: keys, audit: audit.New(st, keys, nil), dir: dir,
		res:   &resolver{owners: map[string]jellyfin.Owner{}, lanOnly: map[string]bool{}},
		clock: testkit.NewClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))}
}

func (f *fixture) table(t *testing.T, mod func(*tokens.Options)) *tokens.Table {
	t.Helper()
	o := tokens.Options{Store: f.store, Keys: f.keys, Audit: f.audit, Resolver: f.res, OwnKey: "own-key",
		CacheTTL: time.Minute, NegativeTTL: 10 * time.Second, ResolvePerMinute: 100, Now: f.clock.Now}
	if mod != nil {
		mod(&o)
	}
	tab, err := tokens.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func check(t *testing.T, tab *tokens.Table, token string) tokens.Verdict {
	t.Helper()
	v, err := tab.Check(context.Background(), token, "203.0.113.7", "203.0.113.7")
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	return v
}

func TestRecordedTokensPassWithoutAskingJellyfin(t *testing.T) {
	f := newFixture(t)
	tab := f.table(t, nil)
	h, err := tab.Record(context.Background(), "tok-alice", tokens.Issued{UserID: "u1", UserName: "alice", Source: "login"})
	if err != nil {
		t.Fatal(err)
	}
	if v := check(t, tab, "tok-alice"); v.Status != tokens.Active || v.UserName != "alice" || v.Hash != h {
		t.Fatalf("verdict %+v", v)
	}
	if f.res.asked.Load() != 0 {
		t.Fatal("a recorded token was resolved")
	}
	st, err := f.store.Token(context.Background(), h)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := f.keys.Open(st.Sealed, h[:])
	if err != nil || string(plain) != "tok-alice" {
		t.Fatalf("sealed token does not open to the token: %q %v", plain, err)
	}
	// A fresh table (a restart) knows it too.
	if v := check(t, f.table(t, nil), "tok-alice"); v.Status != tokens.Active {
		t.Fatalf("after restart: %+v", v)
	}
}

func TestConcurrentChecksOfAnUnknownTokenResolveOnce(t *testing.T) {
	f := newFixture(t)
	f.res.owners["tok-x"] = jellyfin.Owner{UserID: "u2", UserName: "bob"}
	f.res.gate = make(chan struct{})
	tab := f.table(t, nil)
	var wg sync.WaitGroup
	results := make(chan tokens.Verdict, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := tab.Check(context.Background(), "tok-x", "k", "ip")
			if err != nil {
				t.Error(err)
			}
			results <- v
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(f.res.gate)
	wg.Wait()
	close(results)
	for v := range results {
		if v.Status != tokens.Active || v.UserName != "bob" {
			t.Fatalf("verdict %+v", v)
		}
	}
	if n := f.res.asked.Load(); n != 1 {
		t.Fatalf("resolved %d times", n)
	}
}

func TestCachesExpire(t *testing.T) {
	f := newFixture(t)
	tab := f.table(t, nil)
	if v := check(t, tab, "nobody"); v.Status != tokens.Invalid {
		t.Fatalf("verdict %+v", v)
	}
	check(t, tab, "nobody")
	if f.res.asked.Load() != 1 {
		t.Fatal("negative cache missed")
	}
	f.clock.Advance(11 * time.Second)
	check(t, tab, "nobody")
	if f.res.asked.Load() != 2 {
		t.Fatal("negative cache did not expire")
	}
	f.res.owners["adopted"] = jellyfin.Owner{UserID: "u3", UserName: "carol"}
	check(t, tab, "adopted")
	f.clock.Advance(59 * time.Second)
	check(t, tab, "adopted")
	if f.res.asked.Load() != 3 {
		t.Fatalf("positive cache missed: %d", f.res.asked.Load())
	}
	f.clock.Advance(2 * time.Second)
	check(t, tab, "adopted")
	if f.res.asked.Load() != 4 {
		t.Fatalf("positive cache did not expire: %d", f.res.asked.Load())
	}
}

func TestResolutionFailsClosedAndIsLimited(t *testing.T) {
	f := newFixture(t)
	f.res.down = true
	tab := f.table(t, func(o *tokens.Options) { o.ResolvePerMinute = 2 })
	if _, err := tab.Check(context.Background(), "t1", "a", "a"); !errors.Is(err, tokens.ErrUnavailable) {
		t.Fatalf("jellyfin down: %v", err)
	}
	f.res.down = false
	if _, err := tab.Check(context.Background(), "t2", "a", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := tab.Check(context.Background(), "t3", "a", "a"); !errors.Is(err, tokens.ErrResolveLimit) {
		t.Fatalf("third resolution in a minute: %v", err)
	}
	if _, err := tab.Check(context.Background(), "t3", "other-address", "b"); err != nil {
		t.Fatalf("another address is not limited: %v", err)
	}
	f.clock.Advance(31 * time.Second)
	if _, err := tab.Check(context.Background(), "t4", "a", "a"); err != nil {
		t.Fatalf("after refill: %v", err)
	}
}

func TestAPIKeysAreConfirmedAndOwnKeyRefused(t *testing.T) {
	f := newFixture(t)
	f.res.apiKeys = []string{"sonarr-key", "own-key"}
	tab := f.table(t, nil)
	if v := check(t, tab, "sonarr-key"); v.Status != tokens.APIKey {
		t.Fatalf("api key: %+v", v)
	}
	if v := check(t, tab, "own-key"); v.Status != tokens.Own || v.Status.Passes() {
		t.Fatalf("own key: %+v", v)
	}
	if f.res.asked.Load() != 1 {
		t.Fatal("the own key was sent to Jellyfin for resolution")
	}
}

func TestStrictRefusesForeignUserTokens(t *testing.T) {
	f := newFixture(t)
	f.res.owners["foreign"] = jellyfin.Owner{UserID: "u1", UserName: "alice"}
	tab := f.table(t, func(o *tokens.Options) { o.Strict = true })
	if v := check(t, tab, "foreign"); v.Status != tokens.Refused || v.Status.Passes() {
		t.Fatalf("verdict %+v", v)
	}
	if _, err := f.store.Token(context.Background(), tokens.HashOf("foreign")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused token was stored: %v", err)
	}
	evs, _ := f.audit.Tail(context.Background(), 5)
	if len(evs) != 1 || evs[0].Kind != audit.TokenRejected {
		t.Fatalf("audit %+v", evs)
	}
}

// TestRevocationByAnotherProcessIsPickedUp is the CLI revoking a token while
// serve runs: two tables on one database.
func TestRevocationByAnotherProcessIsPickedUp(t *testing.T) {
	f := newFixture(t)
	serve := f.table(t, nil)
	h, _ := serve.Record(context.Background(), "tok", tokens.Issued{UserID: "u1", UserName: "alice", Source: "login"})
	var closed []tokens.Hash
	serve.OnRevoke(func(x tokens.Hash) { closed = append(closed, x) })

	cli := f.table(t, func(o *tokens.Options) { o.Resolver = nil })
	if _, err := cli.Revoke(context.Background(), h, "cli"); err != nil {
		t.Fatal(err)
	}
	if v := check(t, serve, "tok"); v.Status != tokens.Active {
		t.Fatal("changed before sync")
	}
	if err := serve.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if v, _ := serve.Lookup(h); v.Status != tokens.Revoked {
		t.Fatalf("after sync: %+v", v)
	}
	if len(closed) != 1 || closed[0] != h {
		t.Fatalf("connections not closed: %v", closed)
	}
	// The CLI had no Jellyfin to talk to, so the running gateway logged it out.
	if len(f.res.loggedOut) != 1 || f.res.loggedOut[0] != "tok" {
		t.Fatalf("logged out: %v", f.res.loggedOut)
	}
	st, _ := f.store.Token(context.Background(), h)
	if st.LoggedOutAt.IsZero() {
		t.Fatal("logout not recorded")
	}
	// Syncing again does nothing more.
	_ = serve.Sync(context.Background())
	if len(f.res.loggedOut) != 1 || len(closed) != 1 {
		t.Fatal("a change was applied twice")
	}
}

func TestLastSeenIsWrittenInBatches(t *testing.T) {
	f := newFixture(t)
	tab := f.table(t, nil)
	h, _ := tab.Record(context.Background(), "tok", tokens.Issued{UserID: "u1", UserName: "alice"})
	created := f.clock.Now()
	f.clock.Advance(5 * time.Minute)
	check(t, tab, "tok")
	st, _ := f.store.Token(context.Background(), h)
	if !st.LastSeenAt.Equal(created) {
		t.Fatal("last seen written per request")
	}
	_ = tab.Sync(context.Background())
	st, _ = f.store.Token(context.Background(), h)
	if !st.LastSeenAt.Equal(f.clock.Now()) {
		t.Fatalf("last seen %v, want %v", st.LastSeenAt, f.clock.Now())
	}
}

func TestParseHash(t *testing.T) {
	h := tokens.HashOf("x")
	got, err := tokens.ParseHash(h.String())
	if err != nil || got != h {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "zz", h.String()[:63], h.String() + "0"} {
		if _, err := tokens.ParseHash(bad); err == nil {
			t.Errorf("ParseHash(%q) accepted", bad)
		}
	}
}

func TestSessionCapEvictsTheLeastRecentlyUsed(t *testing.T) {
	f := newFixture(t)
	tab := f.table(t, func(o *tokens.Options) { o.MaxPerUser = 2 })
	ctx := context.Background()
	is := tokens.Issued{UserID: "u1", UserName: "alice", Source: "login"}
	hA, _ := tab.Record(ctx, "tok-a", is)
	f.clock.Advance(2 * time.Minute)
	_, _ = tab.Record(ctx, "tok-b", is)
	f.clock.Advance(2 * time.Minute)
	check(t, tab, "tok-a") // a is used again: b is now the least recent
	f.clock.Advance(2 * time.Minute)
	_, _ = tab.Record(ctx, "tok-c", is)
	if v := check(t, tab, "tok-b"); v.Status != tokens.Revoked {
		t.Fatalf("least recently used session: %v", v.Status)
	}
	for _, tok := range []string{"tok-a", "tok-c"} {
		if v := check(t, tab, tok); v.Status != tokens.Active {
			t.Fatalf("%s: %v", tok, v.Status)
		}
	}
	if st, _ := f.store.Token(ctx, hA); st.Revoked() {
		t.Fatal("the recently used session was revoked")
	}
	if len(f.res.loggedOut) != 1 || f.res.loggedOut[0] != "tok-b" {
		t.Fatalf("logged out of Jellyfin: %v", f.res.loggedOut)
	}
	// Other users do not count against alice.
	_, _ = tab.Record(ctx, "tok-bob", tokens.Issued{UserID: "u2", UserName: "bob", Source: "login"})
	if v := check(t, tab, "tok-a"); v.Status != tokens.Active {
		t.Fatal("bob's sign-in evicted alice")
	}
}

func TestSessionsEndAfterIdleTimeAndLifetime(t *testing.T) {
	f := newFixture(t)
	tab := f.table(t, func(o *tokens.Options) { o.Idle, o.Lifetime = 10*time.Minute, time.Hour })
	ctx := context.Background()
	is := tokens.Issued{UserID: "u1", UserName: "alice", Source: "login"}
	_, _ = tab.Record(ctx, "busy", is)
	_, _ = tab.Record(ctx, "idle", is)
	for range 5 { // busy is used every 8 minutes; idle never
		f.clock.Advance(8 * time.Minute)
		if v := check(t, tab, "busy"); v.Status != tokens.Active {
			t.Fatalf("a session in use ended: %v", v.Status)
		}
	}
	if v := check(t, tab, "idle"); v.Status != tokens.Revoked {
		t.Fatalf("an idle session: %v", v.Status)
	}
	f.clock.Advance(25 * time.Minute) // 65 minutes after sign-in
	if v := check(t, tab, "busy"); v.Status != tokens.Revoked {
		t.Fatalf("a session past its lifetime: %v", v.Status)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		f.res.mu.Lock()
		n := len(f.res.loggedOut)
		f.res.mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("expired sessions logged out of Jellyfin: %d", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Adopted tokens (not released by the gateway) are not the gateway's to expire.
	f.res.owners["adopted"] = jellyfin.Owner{UserID: "u1", UserName: "alice"}
	check(t, tab, "adopted")
	f.clock.Advance(2 * time.Hour)
	if v, _ := tab.Lookup(tokens.HashOf("adopted")); v.Status == tokens.Revoked {
		t.Fatal("an adopted token was expired")
	}
}

// policy is a scripted Policy: the listed users have a second factor.
type policy map[string]bool

func (p policy) ReleasedOnly(_ context.Context, userID string) bool { return p[userID] }

// syncLog is a log sink that tests read while the table writes.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestTokenWhoseOwnerJellyfinRefusesIsRefused: Jellyfin answers 403 on
// /Users/Me for a token of a user without remote access used from outside
// its LAN, and with that hides who owns it. Such a token must not pass with
// an unknown owner: the user's policy (here: a second factor, so only
// tokens the gateway released) could not be applied to it.
func TestTokenWhoseOwnerJellyfinRefusesIsRefused(t *testing.T) {
	f := newFixture(t)
	f.res.owners["remy-tok"] = jellyfin.Owner{UserID: "u-remy", UserName: "remy"}
	f.res.lanOnly["remy-tok"] = true
	logs := &syncLog{}
	tab := f.table(t, func(o *tokens.Options) {
		o.Policy = policy{"u-remy": true}
		o.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	ctx := context.Background()

	v, err := tab.Check(ctx, "remy-tok", "203.0.113.7", "203.0.113.7")
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != tokens.Forbidden || v.Status.Passes() || v.UserID != "" || v.Adopted {
		t.Fatalf("verdict %+v (%v); want forbidden, not passing", v, v.Status)
	}
	if _, err := f.store.Token(ctx, tokens.HashOf("remy-tok")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a token with an unknown owner was stored: %v", err)
	}
	evs, _ := f.audit.Tail(ctx, 5)
	if len(evs) != 1 || evs[0].Kind != audit.TokenRejected || evs[0].IP != "203.0.113.7" {
		t.Fatalf("audit %+v", evs)
	}
	out := logs.String()
	if strings.Contains(out, "remy-tok") || !strings.Contains(out, tokens.HashOf("remy-tok").Short()) {
		t.Fatalf("log line must name the token by its short hash only: %s", out)
	}

	// Cached like the other refusals: not asked again until it expires.
	if v := check(t, tab, "remy-tok"); v.Status != tokens.Forbidden {
		t.Fatalf("second check: %v", v.Status)
	}
	if n := f.res.asked.Load(); n != 1 {
		t.Fatalf("asked Jellyfin %d times within the negative cache", n)
	}

	// From the LAN Jellyfin names the owner, and the owner's policy decides.
	f.clock.Advance(11 * time.Second)
	v, err = tab.Check(ctx, "remy-tok", "192.168.1.20", "192.168.1.20")
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != tokens.Refused || v.UserName != "remy" {
		t.Fatalf("from the LAN: %+v (%v); want refused by remy's policy", v, v.Status)
	}
}

// TestTokenWhoseOwnerJellyfinRefusesIsAdoptedOnceNamed: without a policy
// against it, the same token is adopted as soon as Jellyfin names its owner.
func TestTokenWhoseOwnerJellyfinRefusesIsAdoptedOnceNamed(t *testing.T) {
	for _, strict := range []bool{false, true} {
		t.Run(fmt.Sprintf("strict=%v", strict), func(t *testing.T) {
			f := newFixture(t)
			f.res.owners["remy-tok"] = jellyfin.Owner{UserID: "u-remy", UserName: "remy"}
			f.res.lanOnly["remy-tok"] = true
			tab := f.table(t, func(o *tokens.Options) { o.Strict = strict })
			if v := check(t, tab, "remy-tok"); v.Status != tokens.Forbidden {
				t.Fatalf("from outside: %v", v.Status)
			}
			f.clock.Advance(11 * time.Second)
			v, err := tab.Check(context.Background(), "remy-tok", "10.0.0.5", "10.0.0.5")
			if err != nil {
				t.Fatal(err)
			}
			want := tokens.Active
			if strict {
				want = tokens.Refused
			}
			if v.Status != want || v.UserName != "remy" {
				t.Fatalf("from the LAN: %+v (%v), want %v", v, v.Status, want)
			}
		})
	}
}

func TestStatusNames(t *testing.T) {
	for st, want := range map[tokens.Status]string{tokens.Forbidden: "forbidden", tokens.Own: "own", tokens.Status(200): "status(200)"} {
		if got := st.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", st, got, want)
		}
	}
}
