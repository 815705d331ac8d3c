package shield

import (
	"context"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/store/sqlite"
	"github.com/jellyguard/jellyguard/internal/testkit"
)

func newShield(t *testing.T, mod func(*config.Config)) (*Shield, *testkit.Clock, *sqlite.Store) {
	t.Helper()
	return newShieldWith(t, mod, nil)
}

// newShieldWith is newShield with the options (hooks, logger) set by opt.
func newShieldWith(t *testing.T, mod func(*config.Config), opt func(*Options)) (*Shield, *testkit.Clock, *sqlite.Store) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "jellyguard.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	cfg := config.Default()
	cfg.TrustedProxies = []string{"10.0.0.1"}
	if mod != nil {
		mod(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	c := testkit.NewClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	o := Options{Config: &cfg, Store: st, Now: c.Now}
	if opt != nil {
		opt(&o)
	}
	s, err := New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return s, c, st
}

func TestKeyAndParsePrefix(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7": "203.0.113.7/32", "::ffff:203.0.113.7": "203.0.113.7/32",
		"2001:db8:1:2:3::9": "2001:db8:1:2::/64", "198.51.100.77/24": "198.51.100.0/24",
		"::ffff:198.51.100.0/120": "198.51.100.0/24",
	} {
		p, err := ParsePrefix(in)
		if err != nil || p.String() != want {
			t.Errorf("ParsePrefix(%q) = %v, %v; want %s", in, p, err, want)
		}
	}
	for _, bad := range []string{"", "nope", "1.2.3.4/33", "::ffff:1.2.3.4/64"} {
		if _, err := ParsePrefix(bad); err == nil {
			t.Errorf("ParsePrefix(%q) accepted", bad)
		}
	}
}

func TestRepeatOffendersAreBannedLongerUpToTheMaximum(t *testing.T) {
	s, c, _ := newShield(t, func(cfg *config.Config) { cfg.Shield.BanTime, cfg.Shield.BanTimeMax = time.Hour, 5*time.Hour })
	ctx := context.Background()
	p := Key(netip.MustParseAddr("203.0.113.7"))
	for i, want := range []time.Duration{time.Hour, 2 * time.Hour, 4 * time.Hour, 5 * time.Hour, 5 * time.Hour} {
		b, err := s.AutoBan(ctx, p, "test")
		if err != nil {
			t.Fatal(err)
		}
		if got := b.ExpiresAt.Sub(b.CreatedAt); got != want || b.Level != i+1 {
			t.Fatalf("ban %d: %s at level %d, want %s", i+1, got, b.Level, want)
		}
		c.Advance(want + time.Minute) // served; it comes back
		if _, banned := s.Banned(p.Addr()); banned {
			t.Fatal("an expired ban still refuses")
		}
	}
}

func TestFailuresBanAfterTheConfiguredCountWithinTheWindow(t *testing.T) {
	s, c, _ := newShield(t, nil)
	ctx := context.Background()
	a := netip.MustParseAddr("198.51.100.9")
	for range 9 {
		s.Failed(ctx, Login{Addr: a})
		c.Advance(30 * time.Second)
	}
	if _, banned := s.Banned(a); banned {
		t.Fatal("banned before the tenth failure")
	}
	c.Advance(10 * time.Minute) // the window passes: the count starts again
	for range 9 {
		s.Failed(ctx, Login{Addr: a})
	}
	if _, banned := s.Banned(a); banned {
		t.Fatal("old failures counted")
	}
	s.Failed(ctx, Login{Addr: a})
	if _, banned := s.Banned(a); !banned {
		t.Fatal("not banned after ten failures within the window")
	}
	// Exempt addresses are never banned.
	proxy := netip.MustParseAddr("10.0.0.1")
	for range 20 {
		s.Failed(ctx, Login{Addr: proxy})
	}
	if _, banned := s.Banned(proxy); banned || s.Allow(ctx, Login{Addr: proxy, User: "x"}) != nil {
		t.Fatal("a trusted proxy was banned or throttled")
	}
}

func TestUserBudgetSparesTheOwnersAddressesAndTrustedBrowsers(t *testing.T) {
	s, _, _ := newShield(t, nil)
	ctx := context.Background()
	home := netip.MustParseAddr("198.51.100.10")
	s.Succeeded(Login{Addr: home, User: "Alice"})
	for i := range 3 {
		a := netip.MustParseAddr("203.0.113.1").Next()
		for range i {
			a = a.Next()
		}
		if err := s.Allow(ctx, Login{Addr: a, User: "alice"}); err != nil {
			t.Fatalf("guess %d held back early: %v", i, err)
		}
		s.Failed(ctx, Login{Addr: a, User: "alice"})
	}
	stranger := netip.MustParseAddr("203.0.113.200")
	if err := s.Allow(ctx, Login{Addr: stranger, User: "ALICE"}); err == nil {
		t.Fatal("a fourth stranger reached Jellyfin for alice")
	}
	if err := s.Allow(ctx, Login{Addr: home, User: "alice"}); err != nil {
		t.Fatalf("alice at home was held back: %v", err)
	}
	if err := s.Allow(ctx, Login{Addr: netip.MustParseAddr("192.0.2.33"), User: "alice", Trusted: true}); err != nil {
		t.Fatalf("a trusted browser was held back: %v", err)
	}
	// A wrong code after a right password does not spend the budget.
	s2, _, _ := newShield(t, nil)
	for range 5 {
		s2.Failed(ctx, Login{Addr: netip.MustParseAddr("192.0.2.1"), User: "bob", PasswordRight: true})
	}
	if err := s2.Allow(ctx, Login{Addr: netip.MustParseAddr("192.0.2.2"), User: "bob"}); err != nil {
		t.Fatalf("second-factor failures spent bob's password budget: %v", err)
	}
}

func TestBackoffAndRate(t *testing.T) {
	s, c, _ := newShield(t, nil)
	ctx := context.Background()
	a := netip.MustParseAddr("198.51.100.50")
	for range 4 {
		s.Failed(ctx, Login{Addr: a})
	}
	if err := s.Allow(ctx, Login{Addr: a}); err == nil {
		t.Fatal("no backoff after four failures in a row")
	}
	c.Advance(2 * time.Minute)
	s.Succeeded(Login{Addr: a, User: "carol"})
	if err := s.Allow(ctx, Login{Addr: a}); err != nil {
		t.Fatalf("backoff survived a success: %v", err)
	}
	b := netip.MustParseAddr("198.51.100.51")
	for i := range 20 {
		if err := s.Allow(ctx, Login{Addr: b}); err != nil {
			t.Fatalf("attempt %d refused under the rate", i+1)
		}
	}
	if err := s.Allow(ctx, Login{Addr: b}); err == nil {
		t.Fatal("the 21st attempt in a minute passed")
	}
}

func TestKnownAddressesComeFromReleasedTokens(t *testing.T) {
	s, c, st := newShield(t, nil)
	ctx := context.Background()
	now := c.Now()
	if err := st.PutToken(ctx, store.Token{Hash: [32]byte{1}, Kind: store.KindSession, UserName: "Dave", IP: "192.0.2.80",
		Source: "login", CreatedAt: now, LastSeenAt: now}); err != nil {
		t.Fatal(err)
	}
	restarted, err := New(ctx, Options{Config: &config.Config{Shield: s.cfg}, Store: st, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	if !restarted.Known(netip.MustParseAddr("192.0.2.80"), "dave") {
		t.Fatal("a released token's address is not known after a restart")
	}
	if restarted.Known(netip.MustParseAddr("192.0.2.81"), "dave") {
		t.Fatal("a neighbour counts as known")
	}
	if !restarted.KnownAddress(netip.MustParseAddr("192.0.2.80")) || restarted.KnownAddress(netip.MustParseAddr("192.0.2.81")) {
		t.Fatal("a released token's address is not a known address after a restart, or its neighbour is")
	}
}

func TestTheConfiguredLANIsNeverBanned(t *testing.T) {
	s, _, _ := newShield(t, func(c *config.Config) {
		c.Shield.LAN = []string{"192.168.1.0/24"}
		c.TwoFactor.LANBypass = []string{"10.8.0.0/16"}
	})
	ctx := context.Background()
	for _, ip := range []string{"192.168.1.5", "10.8.3.3"} {
		a := netip.MustParseAddr(ip)
		for range 30 {
			s.Failed(ctx, Login{Addr: a, User: "alice"})
		}
		if _, banned := s.Banned(a); banned || !s.Exempt(a) {
			t.Fatalf("%s on the LAN was banned", ip)
		}
	}
}
