package shield

import (
	"context"
	"errors"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/store/sqlite"
	"github.com/jellyguard/jellyguard/internal/testkit"
)

// cluster is several gateways over one database file, each with its own
// connection as separate processes would have, on one clock; rec hears
// them all.
type cluster struct {
	t     *testing.T
	path  string
	cfg   config.Config
	clock *testkit.Clock
	rec   *recorder
}

func newCluster(t *testing.T, mod func(*config.Config)) *cluster {
	t.Helper()
	cfg := config.Default()
	cfg.TrustedProxies = []string{"10.0.0.1"}
	if mod != nil {
		mod(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return &cluster{t: t, path: filepath.Join(t.TempDir(), "jellyguard.db"), cfg: cfg,
		clock: testkit.NewClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)), rec: &recorder{}}
}

// store opens another connection to the cluster's database.
func (cl *cluster) store() *sqlite.Store {
	cl.t.Helper()
	st, err := sqlite.Open(context.Background(), cl.path, nil)
	if err != nil {
		cl.t.Fatal(err)
	}
	cl.t.Cleanup(func() { _ = st.Close() })
	return st
}

// gateway starts a shield over its own connection.
func (cl *cluster) gateway() *Shield {
	cl.t.Helper()
	return cl.gatewayOn(cl.store())
}

func (cl *cluster) gatewayOn(st Store) *Shield {
	cl.t.Helper()
	o := Options{Config: &cl.cfg, Store: st, Now: cl.clock.Now}
	cl.rec.options(&o)
	s, err := New(context.Background(), o)
	if err != nil {
		cl.t.Fatal(err)
	}
	return s
}

func syncAll(t *testing.T, ss ...*Shield) {
	t.Helper()
	for _, s := range ss {
		if err := s.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFailuresSpreadOverGatewaysBanAtTheConfiguredCount(t *testing.T) {
	cl := newCluster(t, nil)
	a, b := cl.gateway(), cl.gateway()
	ctx := context.Background()
	x := netip.MustParseAddr("203.0.113.70")
	for i := range 9 {
		[]*Shield{a, b}[i%2].Failed(ctx, Login{Addr: x, User: guessers[i]})
		cl.clock.Advance(10 * time.Second)
	}
	syncAll(t, a, b)
	if _, banned := a.Banned(x); banned {
		t.Fatal("banned after 9 failures in total")
	}
	b.Failed(ctx, Login{Addr: x, User: "guest"}) // the tenth; five on each
	if _, banned := b.Banned(x); !banned {
		t.Fatal("ten failures split over two gateways did not ban the address")
	}
	syncAll(t, a)
	if _, banned := a.Banned(x); !banned {
		t.Fatal("the other gateway does not refuse the banned address")
	}
	if bans, _ := cl.rec.counts(); bans != 1 || cl.rec.bans[0].Level != 1 {
		t.Fatalf("bans set: %+v, want one at level 1", cl.rec.bans)
	}

	// Failures older than ban_window count on neither gateway.
	y := netip.MustParseAddr("203.0.113.71")
	for i := range 9 {
		[]*Shield{a, b}[i%2].Failed(ctx, Login{Addr: y})
	}
	cl.clock.Advance(cl.cfg.Shield.BanWindow)
	a.Failed(ctx, Login{Addr: y})
	syncAll(t, a, b)
	if _, banned := b.Banned(y); banned {
		t.Fatal("failures from before the window were counted")
	}
}

func TestConcurrentFailuresBanOnce(t *testing.T) {
	cl := newCluster(t, nil)
	s := cl.gateway()
	// Each round races ban_failures failures of one address; a race lost
	// shows as a second ban (escalated) of it.
	const rounds = 10
	for i := range rounds {
		x := netip.AddrFrom4([4]byte{203, 0, 113, byte(i)})
		var wg sync.WaitGroup
		for range cl.cfg.Shield.BanFailures {
			wg.Go(func() { s.Failed(context.Background(), Login{Addr: x}) })
		}
		wg.Wait()
		if n, err := s.st.CountEvents(context.Background(), addrFailKey(Key(x).String()), time.Time{}); err != nil || n != 0 {
			t.Fatalf("the count that banned %s was left at %d (%v), want reset", x, n, err)
		}
	}
	cl.rec.mu.Lock()
	defer cl.rec.mu.Unlock()
	seen := map[string]bool{}
	for _, b := range cl.rec.bans {
		if b.Level != 1 || seen[b.Prefix] {
			t.Fatalf("bans set: %+v, want one at level 1 per address", cl.rec.bans)
		}
		seen[b.Prefix] = true
	}
	if len(seen) != rounds {
		t.Fatalf("%d addresses banned, want %d", len(seen), rounds)
	}
}

func TestAUserBudgetSpentOnOneGatewayHoldsBackOnTheOther(t *testing.T) {
	cl := newCluster(t, nil)
	a, b := cl.gateway(), cl.gateway()
	ctx := context.Background()
	stranger := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{203, 0, 113, byte(100 + i)}) }
	for i := range cl.cfg.Shield.UserFailures {
		l := Login{Addr: stranger(i), User: "alice"}
		if err := a.Allow(ctx, l); err != nil {
			t.Fatalf("guess %d held back early: %v", i+1, err)
		}
		a.Failed(ctx, l)
	}
	err := b.Allow(ctx, Login{Addr: stranger(10), User: "Alice"})
	if !errors.Is(err, ErrThrottled) || !strings.HasSuffix(err.Error(), ": user budget") {
		t.Fatalf("the other gateway let a guess at a spent budget through: %v", err)
	}
	if err := b.Allow(ctx, Login{Addr: stranger(11), User: "bob"}); err != nil {
		t.Fatalf("another name was held back by alice's budget: %v", err)
	}
	// The budget ends after user_window, on every gateway.
	cl.clock.Advance(cl.cfg.Shield.UserWindow)
	if err := b.Allow(ctx, Login{Addr: stranger(12), User: "alice"}); err != nil {
		t.Fatalf("alice's budget did not come back after the window: %v", err)
	}
}

func TestASuccessOnOneGatewayIsKnownOnTheOtherWithinSeconds(t *testing.T) {
	cl := newCluster(t, nil)
	a, b := cl.gateway(), cl.gateway()
	home := netip.MustParseAddr("198.51.100.70")
	a.Succeeded(Login{Addr: home, User: "Bob"})
	cl.clock.Advance(knownRefreshEvery)
	syncAll(t, b)
	if !b.KnownAddress(home) || !b.Known(home, "BOB") || b.Known(home, "alice") {
		t.Fatal("a success through one gateway was not seen by the other within the refresh interval")
	}

	// The refreshes after the first read what changed.
	cafe := netip.MustParseAddr("2001:db8:70::1")
	a.Succeeded(Login{Addr: cafe, User: "carol"})
	cl.clock.Advance(knownRefreshEvery)
	syncAll(t, b)
	if !b.Known(netip.MustParseAddr("2001:db8:70::2"), "carol") {
		t.Fatal("a later success was not seen by the other gateway")
	}

	// A success written later than the time it carries is still found by
	// the periodic full reload.
	late := netip.MustParseAddr("198.51.100.71")
	st := cl.store()
	if err := st.RememberAddress(context.Background(), "ERIN", Key(late).String(), cl.clock.Now().Add(-2*knownOverlap)); err != nil {
		t.Fatal(err)
	}
	cl.clock.Advance(knownReloadEvery)
	syncAll(t, b)
	if !b.Known(late, "erin") {
		t.Fatal("a success written late was never seen")
	}

	// A gateway starting later knows them all at once.
	c := cl.gatewayOn(st)
	if !c.Known(home, "bob") || !c.Known(cafe, "carol") || !c.KnownAddress(late) {
		t.Fatal("a starting gateway did not load the known addresses from the store")
	}
}

func TestAStaleCacheNeitherBansNorHoldsBackAHousehold(t *testing.T) {
	cl := newCluster(t, nil)
	a, b := cl.gateway(), cl.gateway()
	ctx := context.Background()
	// Carol signs in at home through a; b has not refreshed since.
	home := netip.MustParseAddr("198.51.100.80")
	a.Succeeded(Login{Addr: home, User: "carol"})
	for i := range cl.cfg.Shield.BanFailures {
		b.Failed(ctx, Login{Addr: home, User: guessers[i]})
	}
	if _, banned := b.Banned(home); banned {
		t.Fatal("an address known through another gateway was banned")
	}
	if bans, would := cl.rec.counts(); bans != 0 || would != 1 {
		t.Fatalf("%d bans and %d would-be bans, want 0 and 1", bans, would)
	}

	// Dave's budget is spent by a guesser; he signs in at home through a,
	// and his next attempt reaches b before its cache has caught up.
	for i := range cl.cfg.Shield.UserFailures {
		b.Failed(ctx, Login{Addr: netip.AddrFrom4([4]byte{203, 0, 113, byte(200 + i)}), User: "dave"})
	}
	dhome := netip.MustParseAddr("198.51.100.81")
	a.Succeeded(Login{Addr: dhome, User: "dave"})
	if err := b.Allow(ctx, Login{Addr: dhome, User: "Dave"}); err != nil {
		t.Fatalf("dave at home was held back by a gateway whose cache had not caught up: %v", err)
	}
	if err := b.Allow(ctx, Login{Addr: netip.MustParseAddr("203.0.113.250"), User: "dave"}); !errors.Is(err, ErrThrottled) {
		t.Fatalf("a stranger guessing at dave's spent budget: %v, want held back", err)
	}
}

// faultyStore is a store whose failure counts and known addresses break on
// demand.
type faultyStore struct {
	Store
	broken atomic.Bool
}

var errStoreDown = errors.New("store down")

func (f *faultyStore) CountEvents(ctx context.Context, key string, since time.Time) (int, error) {
	if f.broken.Load() {
		return 0, errStoreDown
	}
	return f.Store.CountEvents(ctx, key, since)
}

func (f *faultyStore) AddEvent(ctx context.Context, key string, at time.Time, keep time.Duration) error {
	if f.broken.Load() {
		return errStoreDown
	}
	return f.Store.AddEvent(ctx, key, at, keep)
}

func (f *faultyStore) RememberAddress(ctx context.Context, user, addr string, at time.Time) error {
	if f.broken.Load() {
		return errStoreDown
	}
	return f.Store.RememberAddress(ctx, user, addr, at)
}

func TestAStoreThatFailsHoldsSignInsBackAndSaysSo(t *testing.T) {
	cl := newCluster(t, nil)
	fs := &faultyStore{Store: cl.store()}
	s := cl.gatewayOn(fs)
	ctx := context.Background()
	fs.broken.Store(true)

	err := s.Allow(ctx, Login{Addr: netip.MustParseAddr("203.0.113.90"), User: "alice"})
	if !errors.Is(err, ErrThrottled) || !strings.HasSuffix(err.Error(), ": user budget unavailable") {
		t.Fatalf("a sign-in whose budget could not be read: %v, want held back", err)
	}
	if cl.rec.logLines("holding the sign-in back") != 1 {
		t.Fatal("the unreadable budget was not logged")
	}
	for range 3 {
		s.Failed(ctx, Login{Addr: netip.MustParseAddr("203.0.113.91"), User: "bob"})
	}
	// The attempt held back above counts against its address too.
	if cl.rec.logLines("recording a failure against a user name's budget failed") != 3 ||
		cl.rec.logLines("counting a failed sign-in of an address failed") != 4 {
		t.Fatal("failures that could not be recorded were not logged")
	}
	home := netip.MustParseAddr("198.51.100.90")
	s.Succeeded(Login{Addr: home, User: "carol"})
	if cl.rec.logLines("remembering a sign-in address failed") != 1 {
		t.Fatal("a success that could not be recorded was not logged")
	}
	if !s.Known(home, "carol") {
		t.Fatal("this gateway forgot a success it could not store")
	}

	fs.broken.Store(false)
	if err := s.Allow(ctx, Login{Addr: netip.MustParseAddr("203.0.113.92"), User: "alice"}); err != nil {
		t.Fatalf("held back once the store was back: %v", err)
	}
}

func TestAGuesserHangingUpStillSpendsTheBudget(t *testing.T) {
	s, _, _ := newShield(t, nil)
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	x := netip.MustParseAddr("203.0.113.95")
	for range s.cfg.BanFailures {
		s.Failed(gone, Login{Addr: x, User: "alice"})
	}
	if _, banned := s.Banned(x); !banned {
		t.Fatal("failures whose request was cancelled did not ban")
	}
	if err := s.Allow(context.Background(), Login{Addr: netip.MustParseAddr("203.0.113.96"), User: "alice"}); !errors.Is(err, ErrThrottled) {
		t.Fatalf("failures whose request was cancelled did not spend the budget: %v", err)
	}
}
