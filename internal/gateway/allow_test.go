package gateway_test

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/testkit"
	"github.com/jellyguard/jellyguard/internal/testutil"
)

type testResolver struct {
	mu sync.Mutex
	m  map[string]string
}

func (r *testResolver) set(name, addr string) { r.mu.Lock(); r.m[name] = addr; r.mu.Unlock() }

func (r *testResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a, ok := r.m[host]; ok && a != "" {
		return []netip.Addr{netip.MustParseAddr(a)}, nil
	}
	return nil, errors.New("no such host")
}

func TestAllowOnlyFollowsADynamicDNSName(t *testing.T) {
	r := &testResolver{m: map[string]string{"home.dyndns.example": "198.51.100.1"}}
	e := testutil.Start(t, testutil.Options{Resolver: r, Configure: func(c *config.Config) {
		c.TrustedProxies = []string{"127.0.0.1"}
		c.Shield.AllowOnly = []string{"home.dyndns.example", "192.0.2.0/24"}
		c.Shield.ResolveEvery = 100 * time.Millisecond
	}})
	for ip, want := range map[string]int{"198.51.100.1": 200, "192.0.2.9": 200, "203.0.113.1": 403} {
		if s, _ := getFrom(t, e, ip, "/System/Info/Public", ""); s != want {
			t.Fatalf("%s: %d, want %d", ip, s, want)
		}
	}
	r.set("home.dyndns.example", "198.51.100.2")
	if !testkit.Eventually(3*time.Second, func() bool { s, _ := getFrom(t, e, "198.51.100.2", "/System/Info/Public", ""); return s == 200 }) {
		t.Fatal("the allowlist did not follow the name to its new address")
	}
	r.set("home.dyndns.example", "") // DNS fails: the last address stays allowed
	time.Sleep(300 * time.Millisecond)
	if s, _ := getFrom(t, e, "198.51.100.2", "/System/Info/Public", ""); s != 200 {
		t.Fatalf("a DNS failure locked the family out: %d", s)
	}
}

func TestAdministratorsOnlyFromTheirNetworks(t *testing.T) {
	e := testutil.Start(t, testutil.Options{Configure: func(c *config.Config) {
		c.TrustedProxies = []string{"127.0.0.1"}
		c.Shield.AdminNetworks = []string{"192.168.1.0/24"}
	}})
	if s := loginFrom(t, e, "203.0.113.50", "admin", e.Passwords["admin"], "admin-away"); s != 401 {
		t.Fatalf("administrator sign-in from outside: %d", s)
	}
	tok := loginVia(t, e, "192.168.1.10", "admin")
	if s, _ := getFrom(t, e, "192.168.1.10", "/System/Info", tok); s != 200 {
		t.Fatalf("administrator at home: %d", s)
	}
	if s, _ := getFrom(t, e, "203.0.113.50", "/System/Info", tok); s != 403 {
		t.Fatalf("administrator's session used from outside: %d", s)
	}
	if s := loginFrom(t, e, "203.0.113.50", "bob", e.Passwords["bob"], "bob-away"); s != 200 {
		t.Fatalf("a user who is not an administrator: %d", s)
	}
	key := e.Fake.AddAPIKey("sonarr")
	if s, _ := getFrom(t, e, "203.0.113.50", "/System/Info", key); s != 200 {
		t.Fatalf("an API key is not an administrator's session: %d", s)
	}
}

func TestPerUserNetworksApplyAtOnce(t *testing.T) {
	e := testutil.Start(t, testutil.Options{Configure: func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.1"} }})
	tok := loginVia(t, e, "198.51.100.5", "bob")
	bob, _ := e.Fake.User("bob")
	if err := e.App.Shield.SetUserNetworks(context.Background(), bob.ID, "bob", []string{"198.51.100.0/24"}); err != nil {
		t.Fatal(err)
	}
	if s, _ := getFrom(t, e, "203.0.113.77", "/System/Info", tok); s != 403 {
		t.Fatalf("bob's session from outside his networks: %d", s)
	}
	if s, _ := getFrom(t, e, "198.51.100.6", "/System/Info", tok); s != 200 {
		t.Fatalf("bob inside his networks: %d", s)
	}
	if s := loginFrom(t, e, "203.0.113.77", "bob", e.Passwords["bob"], "bob-2"); s != 401 {
		t.Fatalf("bob signing in from outside: %d", s)
	}
}
