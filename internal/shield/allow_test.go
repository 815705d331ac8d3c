package shield

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// FakeResolver answers from a map the test changes; a name mapped to nil
// fails to resolve.
type fakeResolver struct {
	mu sync.Mutex
	m  map[string][]netip.Addr
}

func (f *fakeResolver) set(name string, addrs ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var as []netip.Addr
	for _, a := range addrs {
		as = append(as, netip.MustParseAddr(a))
	}
	f.m[name] = as
}

func (f *fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	as, ok := f.m[host]
	if !ok || as == nil {
		return nil, errors.New("no such host")
	}
	return as, nil
}

func TestDynamicDNSEntryFollowsItsNameAndSurvivesFailures(t *testing.T) {
	r := &fakeResolver{m: map[string][]netip.Addr{}}
	l, err := NewAllowList([]string{"10.9.0.0/16", "grandma.dyndns.example", "203.0.113.9"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, now := context.Background(), time.Now()
	home1, home2 := netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.77")
	if l.Contains(home1) {
		t.Fatal("an unresolved name allowed an address")
	}
	if st := l.Status(); len(st) != 1 || st[0].Ever {
		t.Fatalf("status before resolving: %+v", st)
	}
	r.set("grandma.dyndns.example", home1.String())
	l.Resolve(ctx, r, now)
	if !l.Contains(home1) || !l.Contains(netip.MustParseAddr("10.9.3.4")) || !l.Contains(netip.MustParseAddr("203.0.113.9")) {
		t.Fatal("resolved list does not allow its entries")
	}
	// The home connection gets a new address.
	r.set("grandma.dyndns.example", home2.String())
	l.Resolve(ctx, r, now.Add(5*time.Minute))
	if !l.Contains(home2) || l.Contains(home1) {
		t.Fatal("the entry did not follow its name")
	}
	// DNS fails: the previous address stays.
	r.set("grandma.dyndns.example")
	l.Resolve(ctx, r, now.Add(10*time.Minute))
	if !l.Contains(home2) {
		t.Fatal("a DNS failure dropped the last known address")
	}
	if st := l.Status(); st[0].LastError == "" || !st[0].Ever {
		t.Fatalf("status after a failure: %+v", st)
	}
	// A single IPv6 address is that address, not its /64.
	l6, _ := NewAllowList([]string{"2001:db8::1"})
	if l6.Contains(netip.MustParseAddr("2001:db8::2")) {
		t.Fatal("an IPv6 address entry allowed its neighbour")
	}
	if _, err := NewAllowList([]string{"not a host!"}); err == nil {
		t.Fatal("a bad entry was accepted")
	}
}
