package ipset

import (
	"net/netip"
	"testing"
)

func TestSetLookup(t *testing.T) {
	var b Builder
	b.Add(netip.MustParsePrefix("10.0.0.0/8"), 0)
	b.Add(netip.MustParsePrefix("10.1.2.3/32"), 1)
	b.Add(netip.MustParsePrefix("10.1.2.3/32"), 1)   // duplicate
	b.Add(netip.MustParsePrefix("192.0.2.77/24"), 2) // host bits masked
	b.Add(netip.MustParsePrefix("2001:db8::/32"), 0)
	b.Add(netip.MustParsePrefix("2001:db8:1::/48"), 3)
	b.Add(netip.MustParsePrefix("::ffff:198.51.100.0/120"), 4) // mapped: stored as 198.51.100.0/24
	b.Add(netip.Prefix{}, 0)                                   // invalid: ignored
	b.Add(netip.MustParsePrefix("203.0.113.0/24"), MaxLists)   // list out of range: ignored
	b.Add(netip.MustParsePrefix("203.0.113.0/24"), -1)
	s := b.Build()

	if got, want := s.Len(), 6; got != want {
		t.Errorf("Len = %d, want %d", got, want)
	}
	tests := []struct {
		addr  string
		lists uint64
		ok    bool
	}{
		{"10.200.0.1", 1 << 0, true},
		{"10.1.2.3", 1<<0 | 1<<1, true}, // both lists, though /32 is the longest match
		{"10.1.2.4", 1 << 0, true},
		{"::ffff:10.1.2.3", 1<<0 | 1<<1, true}, // as a dual-stack listener reports it
		{"192.0.2.1", 1 << 2, true},
		{"192.0.3.1", 0, false},
		{"2001:db8:1::5", 1<<0 | 1<<3, true},
		{"2001:db8:2::5", 1 << 0, true},
		{"2001:db9::1", 0, false},
		{"198.51.100.9", 1 << 4, true},
		{"203.0.113.1", 0, false},
		{"fe80::1%eth0", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			lists, ok := s.Lookup(netip.MustParseAddr(tc.addr))
			if lists != tc.lists || ok != tc.ok {
				t.Errorf("Lookup(%s) = %b, %v; want %b, %v", tc.addr, lists, ok, tc.lists, tc.ok)
			}
		})
	}
	if _, ok := s.Lookup(netip.Addr{}); ok {
		t.Error("the zero Addr is in the set")
	}
}

func TestNilSet(t *testing.T) {
	var s *Set
	if _, ok := s.Lookup(netip.MustParseAddr("10.0.0.1")); ok {
		t.Error("nil set contains an address")
	}
	if s.Len() != 0 {
		t.Error("nil set has prefixes")
	}
	var b Builder
	if s := b.Build(); s.Len() != 0 {
		t.Error("empty builder built a non-empty set")
	}
}

// TestBuildFoldsEnclosingLists checks the stack walk of Build on nesting
// that opens and closes: siblings, a supernet ending before a later entry.
func TestBuildFoldsEnclosingLists(t *testing.T) {
	var b Builder
	b.Add(netip.MustParsePrefix("10.0.0.0/8"), 0)
	b.Add(netip.MustParsePrefix("10.0.0.0/16"), 1)
	b.Add(netip.MustParsePrefix("10.0.0.0/24"), 2)
	b.Add(netip.MustParsePrefix("10.0.1.0/24"), 3)
	b.Add(netip.MustParsePrefix("10.1.0.0/16"), 4)
	b.Add(netip.MustParsePrefix("11.0.0.1/32"), 5)
	b.Add(netip.MustParsePrefix("255.255.255.255/32"), 6)
	b.Add(netip.MustParsePrefix("128.0.0.0/1"), 7)
	s := b.Build()
	for addr, want := range map[string]uint64{
		"10.0.0.1":        1<<0 | 1<<1 | 1<<2,
		"10.0.1.1":        1<<0 | 1<<1 | 1<<3,
		"10.0.2.1":        1<<0 | 1<<1,
		"10.1.0.1":        1<<0 | 1<<4,
		"11.0.0.1":        1 << 5,
		"255.255.255.255": 1<<6 | 1<<7,
		"200.1.1.1":       1 << 7,
	} {
		if got, _ := s.Lookup(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Lookup(%s) = %b, want %b", addr, got, want)
		}
	}
}
