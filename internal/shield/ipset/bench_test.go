package ipset

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

const benchPrefixes = 500_000

// writeBenchList writes a FireHOL-format list of n prefixes, shaped like the
// big public lists: 70 % /32, 20 % /24, the rest /12–/20 with longer
// prefixes more common (each length covers about the same address space,
// as in FireHOL's level lists, so a fifth of IPv4 is listed rather than
// all of it), and ~1 % IPv6 /48. The seed is fixed: every run loads the same
// list.
func writeBenchList(tb testing.TB, n int) (string, []netip.Prefix) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	path := filepath.Join(tb.TempDir(), "bench.netset")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "#\n# bench_level1\n#\n# %d prefixes, generated\n#\n", n)
	ps := make([]netip.Prefix, 0, n)
	for range n {
		var p netip.Prefix
		switch r := rng.IntN(1000); {
		case r < 10:
			var a [16]byte
			a[0] = 0x20 | byte(rng.IntN(32))
			for i := 1; i < 6; i++ {
				a[i] = byte(rng.IntN(256))
			}
			p = netip.PrefixFrom(netip.AddrFrom16(a), 48)
		default:
			var a [4]byte
			for i := range a {
				a[i] = byte(rng.IntN(256))
			}
			bits := 32
			switch {
			case r < 700:
			case r < 900:
				bits = 24
			default:
				// weight 2^(bits-12): /20 is 256 times as common as /12
				x := rng.IntN(511) + 1
				bits = 12
				for x > 1 {
					x >>= 1
					bits++
				}
			}
			p = netip.PrefixFrom(netip.AddrFrom4(a), bits).Masked()
		}
		ps = append(ps, p)
		if p.IsSingleIP() {
			fmt.Fprintln(w, p.Addr())
		} else {
			fmt.Fprintln(w, p)
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return path, ps
}

func loadBenchList(tb testing.TB, path string) *Set {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var b Builder
	added, bad, err := Parse(f, 0, &b, 0)
	if err != nil || len(bad) != 0 || added != benchPrefixes {
		tb.Fatalf("Parse: %d added, %d bad, %v", added, len(bad), err)
	}
	return b.Build()
}

// BenchmarkLoad500k is parse + build of a 500k-prefix list, the cost of a
// start-up or refresh (goal: under a second).
func BenchmarkLoad500k(b *testing.B) {
	path, _ := writeBenchList(b, benchPrefixes)
	fi, _ := os.Stat(path)
	b.SetBytes(fi.Size())
	b.ReportAllocs()

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := loadBenchList(b, path)
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)
	prefixes := s.Len()
	runtime.KeepAlive(s)

	b.ResetTimer() // also drops metrics reported so far: report below
	for b.Loop() {
		loadBenchList(b, path)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
	b.ReportMetric(heap, "set-MiB")
	b.ReportMetric(float64(prefixes), "prefixes")
}

// benchQueries is 65,536 addresses, half inside a listed prefix and half
// in none, shuffled.
func benchQueries(b *testing.B, s *Set, ps []netip.Prefix) []netip.Addr {
	rng := rand.New(rand.NewPCG(3, 4))
	qs := make([]netip.Addr, 0, 1<<16)
	for len(qs) < 1<<15 {
		p := ps[rng.IntN(len(ps))]
		a := p.Addr().AsSlice()
		for i := p.Bits() / 8; i < len(a); i++ {
			a[i] |= byte(rng.IntN(256)) & (0xff >> max(0, p.Bits()-8*i))
		}
		q, _ := netip.AddrFromSlice(a)
		qs = append(qs, q)
	}
	for len(qs) < 1<<16 {
		var q netip.Addr
		if rng.IntN(100) == 0 {
			var a [16]byte
			for i := range a {
				a[i] = byte(rng.IntN(256))
			}
			a[0] = 0x20 | a[0]&0x1f
			q = netip.AddrFrom16(a)
		} else {
			q = netip.AddrFrom4([4]byte{byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
		}
		if _, ok := s.Lookup(q); !ok {
			qs = append(qs, q)
		}
	}
	rng.Shuffle(len(qs), func(i, j int) { qs[i], qs[j] = qs[j], qs[i] })
	hits := 0
	for _, q := range qs {
		if _, ok := s.Lookup(q); ok {
			hits++
		}
	}
	if hits != 1<<15 {
		b.Fatalf("%d hits of %d queries, want half", hits, len(qs))
	}
	return qs
}

// BenchmarkLookup500k is one Set lookup against 500k prefixes, half hits
// and half misses (goal: under 100 ns, no allocations).
func BenchmarkLookup500k(b *testing.B) {
	path, ps := writeBenchList(b, benchPrefixes)
	s := loadBenchList(b, path)
	qs := benchQueries(b, s, ps)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.Lookup(qs[i&(1<<16-1)])
		i++
	}
}

// BenchmarkManagerLookup500k is the lookup as the gateway makes it: the
// atomic load of the current Set, the lookup and the list's name.
func BenchmarkManagerLookup500k(b *testing.B) {
	path, ps := writeBenchList(b, benchPrefixes)
	m := NewManager([]Source{{Name: "bench_level1", Path: path}}, Options{Logger: quiet})
	if err := m.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	qs := benchQueries(b, m.Set(), ps)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m.Lookup(qs[i&(1<<16-1)])
		i++
	}
}
