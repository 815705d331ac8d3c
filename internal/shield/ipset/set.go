package ipset

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"

	"github.com/gaissmai/bart"
)

// MaxLists is how many lists one Set can tell apart: each list is one bit of
// the uint64 a lookup returns.
const MaxLists = 64

// Set is an immutable set of prefixes with, per prefix, which lists contain
// it (a bitmask of list ids), so a block can be explained ("in
// firehol_level1") and not only enforced.
//
// A Set is safe for concurrent use; the nil *Set is the empty set.
type Set struct {
	t *bart.Table[uint64]
}

// Lookup reports which lists contain a. When several listed prefixes cover a
// (a /8 in one list, a /32 in another), lists has the bits of all of them:
// Build folds every prefix's lists into the prefixes it encloses, so the one
// longest-prefix match the table does is enough.
//
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, as a dual-stack listener
// reports IPv4 peers) are looked up as the IPv4 address they carry.
func (s *Set) Lookup(a netip.Addr) (lists uint64, ok bool) {
	if s == nil || !a.IsValid() {
		return 0, false
	}
	return s.t.Lookup(a.Unmap())
}

// Len is the number of distinct prefixes in the set.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return s.t.Size()
}

// Builder collects prefixes from several lists for one Set. The zero value is
// ready to use; a Builder is not safe for concurrent use.
//
// Prefixes are kept in a compact form (8 bytes per IPv4 prefix) until Build,
// which sorts them once: the Manager keeps one Builder per source as that
// source's current copy and merges them into a new Set whenever one changes.
type Builder struct {
	// v4 packs one IPv4 entry per word: address<<16 | bits<<8 | list id.
	// Sorting the words sorts by address, then prefix length, then list,
	// which is the order Build needs.
	v4 []uint64
	v6 []entry6
}

type entry6 struct {
	p    netip.Prefix // masked
	list uint8
}

// Add records that list contains p. Host bits are masked off, and an
// IPv4-mapped IPv6 prefix (::ffff:192.0.2.0/120) is stored as the IPv4
// prefix it denotes, since lookups unmap addresses the same way. An invalid
// prefix or a list id outside [0, MaxLists) is ignored: Parse reports bad
// input with its line number, and this is not the place to repeat that.
func (b *Builder) Add(p netip.Prefix, list int) {
	if !p.IsValid() || list < 0 || list >= MaxLists {
		return
	}
	p = normalize(p)
	a := p.Addr()
	if a.Is4() {
		b.v4 = append(b.v4, key4(a, p.Bits(), list))
		return
	}
	b.v6 = append(b.v6, entry6{p: p, list: uint8(list)})
}

// normalize masks p and unmaps an IPv4-mapped prefix that is at least /96.
func normalize(p netip.Prefix) netip.Prefix {
	a := p.Addr()
	if a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked()
}

// key4 packs an IPv4 entry as the big-endian bytes 0, 0, address, bits,
// list id.
func key4(a netip.Addr, bits, list int) uint64 {
	if bits < 0 || bits > 32 || list < 0 || list >= MaxLists {
		return 0 // unreachable: Add checked both
	}
	ip := a.As4()
	return binary.BigEndian.Uint64([]byte{0, 0, ip[0], ip[1], ip[2], ip[3], byte(bits), byte(list)})
}

// unkey4 is the prefix of a key4 word.
func unkey4(k uint64) netip.Prefix {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], k)
	return netip.PrefixFrom(netip.AddrFrom4([4]byte(b[2:6])), int(b[6]))
}

// len is the number of entries added (duplicates included until compact).
func (b *Builder) len() int { return len(b.v4) + len(b.v6) }

func cmpEntry6(x, y entry6) int {
	if c := x.p.Addr().Compare(y.p.Addr()); c != 0 {
		return c
	}
	if c := cmp.Compare(x.p.Bits(), y.p.Bits()); c != 0 {
		return c
	}
	return cmp.Compare(x.list, y.list)
}

// compact sorts the entries and drops exact duplicates, so that a source's
// prefix count means distinct prefixes and its copy takes no more memory
// than it needs.
func (b *Builder) compact() {
	slices.Sort(b.v4)
	b.v4 = slices.Clip(slices.Compact(b.v4))
	slices.SortFunc(b.v6, cmpEntry6)
	b.v6 = slices.Clip(slices.Compact(b.v6))
}

// Build returns a Set of everything added so far. The Builder stays usable;
// later Adds show up in later Builds only.
//
// Before inserting, each prefix is given the lists of every prefix that
// encloses it. In sorted order (address, then length) an enclosing prefix
// always comes before the prefixes inside it, so one pass with a stack of
// open enclosing prefixes does this in linear time.
func (b *Builder) Build() *Set {
	t := new(bart.Table[uint64])

	slices.Sort(b.v4)
	type open4 struct{ last, lists uint64 }
	var stack4 []open4
	for i := 0; i < len(b.v4); {
		k := b.v4[i] >> 8 // address<<8 | bits
		var lists uint64
		for ; i < len(b.v4) && b.v4[i]>>8 == k; i++ {
			lists |= 1 << (b.v4[i] & 0xff)
		}
		p := unkey4(b.v4[i-1])
		ip := k >> 8
		last := ip | (uint64(1)<<(32-p.Bits()) - 1)
		for len(stack4) > 0 && stack4[len(stack4)-1].last < ip {
			stack4 = stack4[:len(stack4)-1]
		}
		if len(stack4) > 0 {
			lists |= stack4[len(stack4)-1].lists
		}
		stack4 = append(stack4, open4{last: last, lists: lists})
		t.Insert(p, lists)
	}

	slices.SortFunc(b.v6, cmpEntry6)
	type open6 struct {
		p     netip.Prefix
		lists uint64
	}
	var stack6 []open6
	for i := 0; i < len(b.v6); {
		p := b.v6[i].p
		var lists uint64
		for ; i < len(b.v6) && b.v6[i].p == p; i++ {
			lists |= 1 << b.v6[i].list
		}
		for len(stack6) > 0 && !stack6[len(stack6)-1].p.Contains(p.Addr()) {
			stack6 = stack6[:len(stack6)-1]
		}
		if len(stack6) > 0 {
			lists |= stack6[len(stack6)-1].lists
		}
		stack6 = append(stack6, open6{p: p, lists: lists})
		t.Insert(p, lists)
	}
	return &Set{t: t}
}
