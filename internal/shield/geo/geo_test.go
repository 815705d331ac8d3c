package geo_test

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/jellyguard/jellyguard/internal/shield/geo"
	"github.com/jellyguard/jellyguard/internal/shield/geo/geotest"
	"github.com/jellyguard/jellyguard/internal/testkit"
)

type fixture struct {
	dir, city, asn string
	log            *testkit.Buffer
	clock          *testkit.Clock
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{
		dir:   dir,
		city:  filepath.Join(dir, "GeoLite2-City.mmdb"),
		asn:   filepath.Join(dir, "GeoLite2-ASN.mmdb"),
		log:   &testkit.Buffer{},
		clock: testkit.NewClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)),
	}
	geotest.Write(t, f.city, geotest.Sample())
	geotest.WriteASN(t, f.asn, geotest.Sample())
	return f
}

func (f *fixture) options() geo.Options {
	return geo.Options{
		Logger: slog.New(slog.NewTextHandler(f.log, nil)),
		Now:    f.clock.Now,
	}
}

func (f *fixture) open(t *testing.T) *geo.DB {
	t.Helper()
	d, err := geo.Open(f.city, f.asn, f.options())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// bumpMtime moves a file's modification time forward, as a slow copy or a
// coarse file system clock might leave it.
func bumpMtime(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	next := fi.ModTime().Add(2 * time.Second)
	if err := os.Chtimes(path, next, next); err != nil {
		t.Fatal(err)
	}
}

func mustLookup(t *testing.T, d *geo.DB, addr string) geo.Place {
	t.Helper()
	p, ok := d.Lookup(netip.MustParseAddr(addr))
	if !ok {
		t.Fatalf("Lookup(%s): nothing found", addr)
	}
	return p
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestLookupBerlinAndSydney(t *testing.T) {
	d := newFixture(t).open(t)

	cases := []struct {
		addr          string
		country, city string
		lat, lon, rad float64
		asn           uint
		org           string
	}{
		{"192.0.2.10", "DE", "Berlin", 52.52, 13.405, 20, 64500, "Example Berlin Net"},
		{"2001:db8:49::1", "DE", "Berlin", 52.52, 13.405, 20, 64500, "Example Berlin Net"},
		{"198.51.100.7", "AU", "Sydney", -33.8688, 151.2093, 20, 64502, "Example Sydney Net"},
		{"2001:db8:61:ffff::2", "AU", "Sydney", -33.8688, 151.2093, 20, 64502, "Example Sydney Net"},
		{"203.0.113.5", "DE", "Potsdam", 52.3906, 13.0645, 10, 64501, "Example Potsdam Net"},
	}
	for _, c := range cases {
		p := mustLookup(t, d, c.addr)
		if p.Country != c.country || p.City != c.city || !p.HasCoords ||
			!near(p.Lat, c.lat, 1e-9) || !near(p.Lon, c.lon, 1e-9) || p.RadiusKm != c.rad ||
			p.ASN != c.asn || p.Org != c.org {
			t.Errorf("Lookup(%s) = %+v, want %s/%s (%v,%v ±%v km) AS%d %q",
				c.addr, p, c.country, c.city, c.lat, c.lon, c.rad, c.asn, c.org)
		}
	}
}

func TestLookupMiss(t *testing.T) {
	d := newFixture(t).open(t)
	for _, a := range []string{"10.1.2.3", "203.0.113.200", "2001:db8:ffff::1", "::1"} {
		if p, ok := d.Lookup(netip.MustParseAddr(a)); ok || p != (geo.Place{}) {
			t.Errorf("Lookup(%s) = %+v, %v; want nothing", a, p, ok)
		}
	}
	if _, ok := d.Lookup(netip.Addr{}); ok {
		t.Error("Lookup(invalid address) found something")
	}
	st := d.Status()
	if st.Lookups != 4 || st.Matches != 0 {
		t.Errorf("Lookups, Matches = %d, %d; want 4, 0 (the invalid address is not counted)", st.Lookups, st.Matches)
	}
}

func TestLookupIPv4InIPv6(t *testing.T) {
	d := newFixture(t).open(t)
	p := mustLookup(t, d, "::ffff:192.0.2.10")
	if p.Country != "DE" || p.City != "Berlin" || p.ASN != 64500 {
		t.Errorf("Lookup(::ffff:192.0.2.10) = %+v, want Berlin", p)
	}
	p = mustLookup(t, d, "::ffff:198.51.100.1")
	if p.Country != "AU" {
		t.Errorf("Lookup(::ffff:198.51.100.1) = %+v, want Sydney", p)
	}
	// A zone does not get in the way.
	p = mustLookup(t, d, "2001:db8:49::1%eth0")
	if p.City != "Berlin" {
		t.Errorf("Lookup with zone = %+v, want Berlin", p)
	}
}

func TestLookupPartialRecords(t *testing.T) {
	f := newFixture(t)
	geotest.Write(t, f.city, []geotest.Entry{
		{CIDR: "192.0.2.0/24", Country: "NL"},                // country only
		{CIDR: "198.51.100.0/24", Lat: 48.8566, Lon: 2.3522}, // coordinates, no radius
	})
	d, err := geo.Open(f.city, "", f.options())
	if err != nil {
		t.Fatal(err)
	}
	p := mustLookup(t, d, "192.0.2.1")
	if p.Country != "NL" || p.HasCoords || p.ASN != 0 {
		t.Errorf("country-only record = %+v", p)
	}
	p = mustLookup(t, d, "198.51.100.1")
	if !p.HasCoords || p.Country != "" || p.RadiusKm != 0 || !near(p.Lat, 48.8566, 1e-9) {
		t.Errorf("coordinates-only record = %+v", p)
	}
}

func TestASNOnly(t *testing.T) {
	f := newFixture(t)
	d, err := geo.Open("", f.asn, f.options())
	if err != nil {
		t.Fatal(err)
	}
	p := mustLookup(t, d, "198.51.100.1")
	if p.ASN != 64502 || p.Org != "Example Sydney Net" || p.Country != "" || p.HasCoords {
		t.Errorf("ASN-only lookup = %+v", p)
	}
	st := d.Status()
	if st.CityPath != "" || st.ASNPath != f.asn || st.ASNType != "GeoLite2-ASN" || st.CityType != "" {
		t.Errorf("Status = %+v", st)
	}
}

func TestStatusCounts(t *testing.T) {
	f := newFixture(t)
	d := f.open(t)

	st := d.Status()
	if st.CityPath != f.city || st.ASNPath != f.asn ||
		st.CityType != "GeoLite2-City" || st.ASNType != "GeoLite2-ASN" {
		t.Errorf("paths/types in Status = %+v", st)
	}
	if st.BuildEpoch.IsZero() || st.ASNBuildEpoch.IsZero() || time.Since(st.BuildEpoch) > time.Hour {
		t.Errorf("BuildEpoch = %v, ASNBuildEpoch = %v; want the build time", st.BuildEpoch, st.ASNBuildEpoch)
	}
	if !st.LoadedAt.Equal(f.clock.Now()) || !st.ASNLoadedAt.Equal(f.clock.Now()) {
		t.Errorf("LoadedAt = %v / %v, want %v", st.LoadedAt, st.ASNLoadedAt, f.clock.Now())
	}
	if st.Lookups != 0 || st.Matches != 0 || !st.LastMatch.IsZero() || st.LastError != "" || st.Reloads != 0 {
		t.Errorf("fresh Status = %+v", st)
	}

	f.clock.Advance(time.Minute)
	mustLookup(t, d, "192.0.2.1")
	if st := d.Status(); !st.LastMatch.Equal(f.clock.Now()) {
		t.Errorf("LastMatch = %v, want %v", st.LastMatch, f.clock.Now())
	}
	f.clock.Advance(time.Minute)
	d.Lookup(netip.MustParseAddr("10.0.0.1"))
	mustLookup(t, d, "::ffff:198.51.100.1")
	matchedAt := f.clock.Now()
	f.clock.Advance(time.Minute) // a miss later does not move LastMatch
	d.Lookup(netip.MustParseAddr("10.0.0.2"))

	st = d.Status()
	if st.Lookups != 4 || st.Matches != 2 || st.LookupErrors != 0 {
		t.Errorf("Lookups, Matches, LookupErrors = %d, %d, %d; want 4, 2, 0", st.Lookups, st.Matches, st.LookupErrors)
	}
	if !st.LastMatch.Equal(matchedAt) {
		t.Errorf("LastMatch = %v, want %v", st.LastMatch, matchedAt)
	}
}

// A database that never matches is visible: lookups grow, matches stay 0.
func TestStatusNeverMatched(t *testing.T) {
	f := newFixture(t)
	geotest.Write(t, f.city, []geotest.Entry{{CIDR: "172.16.0.0/12", Country: "DE"}})
	d, err := geo.Open(f.city, "", f.options())
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		d.Lookup(netip.MustParseAddr("192.0.2.1"))
	}
	st := d.Status()
	if st.Lookups != 5 || st.Matches != 0 || !st.LastMatch.IsZero() {
		t.Errorf("Status = %+v; want 5 lookups, no match", st)
	}
}

func TestOpenErrors(t *testing.T) {
	f := newFixture(t)
	garbage := filepath.Join(f.dir, "garbage.mmdb")
	if err := os.WriteFile(garbage, []byte("this is not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, city, asn, want string
	}{
		{"nothing configured", "", "", "no database configured"},
		{"missing city file", filepath.Join(f.dir, "nope.mmdb"), "", "no such file"},
		{"missing asn file", f.city, filepath.Join(f.dir, "nope.mmdb"), "no such file"},
		{"directory", f.dir, "", "not a regular file"},
		{"garbage", garbage, "", "invalid MaxMind DB"},
		{"ASN database as city", f.asn, "", `"GeoLite2-ASN" database, want a City or Country database`},
		{"city database as ASN", "", f.city, `"GeoLite2-City" database, want an ASN database`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := geo.Open(c.city, c.asn, f.options())
			if err == nil {
				_ = d.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("Open error = %q, want it to mention %q", err, c.want)
			}
		})
	}
}

// paris moves Berlin's test range to Paris.
var paris = geotest.Entry{CIDR: "192.0.2.0/24", Country: "FR", City: "Paris",
	Lat: 48.8566, Lon: 2.3522, RadiusKm: 5}

func TestReloadReplacedFile(t *testing.T) {
	f := newFixture(t)
	d := f.open(t)
	if p := mustLookup(t, d, "192.0.2.1"); p.City != "Berlin" {
		t.Fatalf("before: %+v", p)
	}

	// Nothing changed: nothing happens.
	if err := d.Reload(); err != nil {
		t.Fatalf("Reload of unchanged files: %v", err)
	}
	if st := d.Status(); st.Reloads != 0 {
		t.Fatalf("Reloads = %d after no change", st.Reloads)
	}

	f.clock.Advance(time.Hour)
	geotest.Write(t, f.city, []geotest.Entry{paris})
	bumpMtime(t, f.city)
	if err := d.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	p := mustLookup(t, d, "192.0.2.1")
	if p.City != "Paris" || p.Country != "FR" || p.ASN != 64500 {
		t.Errorf("after reload: %+v, want Paris (and the ASN database untouched)", p)
	}
	if _, ok := d.Lookup(netip.MustParseAddr("198.51.100.1")); !ok {
		t.Error("the ASN database should still know Sydney's range")
	}
	st := d.Status()
	if st.Reloads != 1 || !st.LoadedAt.Equal(f.clock.Now()) || st.ASNLoadedAt.Equal(f.clock.Now()) || st.LastError != "" {
		t.Errorf("Status after reload = %+v", st)
	}
	if !strings.Contains(f.log.String(), "geo database reloaded") {
		t.Errorf("log does not mention the reload:\n%s", f.log)
	}
}

// A file rewritten in place with the same size and modification time is
// still noticed when it is a new file (renamed into place).
func TestReloadNoticesRenamedFileWithSameStamp(t *testing.T) {
	f := newFixture(t)
	geotest.Write(t, f.city, []geotest.Entry{geotest.Berlin})
	d := f.open(t)
	fi, err := os.Stat(f.city)
	if err != nil {
		t.Fatal(err)
	}
	moved := geotest.Berlin
	moved.City = "Bernau" // same length, same size of file
	geotest.Write(t, f.city, []geotest.Entry{moved})
	if err := os.Chtimes(f.city, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if fi2, _ := os.Stat(f.city); fi2.Size() != fi.Size() {
		t.Fatalf("the test database changed size (%d, %d): this test needs a same-size replacement", fi.Size(), fi2.Size())
	}
	if err := d.Reload(); err != nil {
		t.Fatal(err)
	}
	if p := mustLookup(t, d, "192.0.2.1"); p.City != "Bernau" {
		t.Errorf("after reload: %+v, want Bernau", p)
	}
}

func TestRunReloads(t *testing.T) {
	f := newFixture(t)
	opt := f.options()
	opt.ReloadEvery = 10 * time.Millisecond
	d, err := geo.Open(f.city, f.asn, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		d.Run(ctx)
		close(done)
	}()

	geotest.Write(t, f.city, []geotest.Entry{paris})
	bumpMtime(t, f.city)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if p, _ := d.Lookup(netip.MustParseAddr("192.0.2.1")); p.City == "Paris" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Run did not pick up the new file within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

func TestRunReturnsOnClose(t *testing.T) {
	d := newFixture(t).open(t)
	done := make(chan struct{})
	go func() {
		d.Run(context.Background())
		close(done)
	}()
	_ = d.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after Close")
	}
}

func TestCorruptReplacementKeepsOldDatabase(t *testing.T) {
	good, err := geotest.CityBytes([]geotest.Entry{paris})
	if err != nil {
		t.Fatal(err)
	}
	asnBytes, err := geotest.ASNBytes(geotest.Sample())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		content []byte
		want    string
	}{
		{"garbage", []byte("<html>404 Not Found</html>"), "invalid MaxMind DB"},
		{"truncated", good[:len(good)/2], "invalid MaxMind DB"},
		{"empty", nil, "invalid MaxMind DB"},
		{"wrong kind", asnBytes, "want a City or Country database"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			d := f.open(t)
			f.clock.Advance(time.Hour)

			// Written in place, the way a careless copy would.
			if err := os.WriteFile(f.city, c.content, 0o600); err != nil {
				t.Fatal(err)
			}
			bumpMtime(t, f.city)
			err := d.Reload()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Reload error = %v, want one mentioning %q", err, c.want)
			}
			if p := mustLookup(t, d, "192.0.2.1"); p.City != "Berlin" {
				t.Errorf("after a refused reload: %+v, want the old Berlin record", p)
			}
			st := d.Status()
			if !strings.HasPrefix(st.LastError, "city: ") || !strings.Contains(st.LastError, c.want) ||
				!st.LastErrorAt.Equal(f.clock.Now()) || st.Reloads != 0 || st.CityType != "GeoLite2-City" {
				t.Errorf("Status after a refused reload = %+v", st)
			}

			// The same broken file is not retried or logged again, and the
			// error stays visible.
			if err := d.Reload(); err != nil {
				t.Errorf("second Reload of the same broken file: %v", err)
			}
			if n := strings.Count(f.log.String(), "keeping the one in use"); n != 1 {
				t.Errorf("refusal logged %d times, want once:\n%s", n, f.log)
			}
			if st := d.Status(); st.LastError == "" {
				t.Error("LastError cleared although the file is still broken")
			}

			// A good file replaces it and clears the error.
			if err := os.WriteFile(f.city, good, 0o600); err != nil {
				t.Fatal(err)
			}
			bumpMtime(t, f.city)
			if err := d.Reload(); err != nil {
				t.Fatalf("Reload of a good file: %v", err)
			}
			if p := mustLookup(t, d, "192.0.2.1"); p.City != "Paris" {
				t.Errorf("after the good file: %+v, want Paris", p)
			}
			if st := d.Status(); st.LastError != "" || st.Reloads != 1 {
				t.Errorf("Status after the good file = %+v", st)
			}
		})
	}
}

func TestRemovedFileKeepsOldDatabase(t *testing.T) {
	f := newFixture(t)
	d := f.open(t)
	if err := os.Rename(f.asn, f.asn+".bak"); err != nil {
		t.Fatal(err)
	}
	err := d.Reload()
	if err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("Reload error = %v, want a missing file", err)
	}
	if p := mustLookup(t, d, "192.0.2.1"); p.ASN != 64500 {
		t.Errorf("ASN lost after the file went missing: %+v", p)
	}
	if st := d.Status(); !strings.HasPrefix(st.LastError, "asn: ") {
		t.Errorf("LastError = %q", st.LastError)
	}
	// The same file comes back: nothing to reload, and the error is gone.
	if err := os.Rename(f.asn+".bak", f.asn); err != nil {
		t.Fatal(err)
	}
	if err := d.Reload(); err != nil {
		t.Fatal(err)
	}
	if st := d.Status(); st.LastError != "" || st.Reloads != 0 {
		t.Errorf("Status after the file came back = %+v", st)
	}
}

func TestNilAndClosed(t *testing.T) {
	var d *geo.DB
	if _, ok := d.Lookup(netip.MustParseAddr("192.0.2.1")); ok {
		t.Error("nil DB found something")
	}
	if st := d.Status(); st != (geo.Status{}) {
		t.Errorf("nil DB Status = %+v", st)
	}
	if err := d.Reload(); err != nil {
		t.Error(err)
	}
	if err := d.Close(); err != nil {
		t.Error(err)
	}
	d.Run(context.Background()) // returns at once

	d = newFixture(t).open(t)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, ok := d.Lookup(netip.MustParseAddr("192.0.2.1")); ok {
		t.Error("closed DB found something")
	}
}

// Lookups run while files are swapped (meant for -race).
func TestConcurrentLookupAndReload(t *testing.T) {
	f := newFixture(t)
	d := f.open(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				p, ok := d.Lookup(netip.MustParseAddr("192.0.2.1"))
				if !ok || (p.City != "Berlin" && p.City != "Paris") {
					t.Errorf("Lookup during reloads = %+v, %v", p, ok)
					return
				}
			}
		})
	}
	for i := range 20 {
		e := geotest.Berlin
		if i%2 == 0 {
			e = paris
		}
		geotest.Write(t, f.city, []geotest.Entry{e})
		bumpMtime(t, f.city)
		if err := d.Reload(); err != nil {
			t.Error(err)
		}
	}
	cancel()
	wg.Wait()
	if st := d.Status(); st.Reloads != 20 {
		t.Errorf("Reloads = %d, want 20", st.Reloads)
	}
}

// The acceptance case end to end: a Berlin sign-in, then one from Sydney
// 30 minutes later, both located through a test database.
func TestImpossibleTravelThroughDatabase(t *testing.T) {
	d := newFixture(t).open(t)
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	first := geo.SignIn{At: t0, Place: mustLookup(t, d, "192.0.2.10")}
	second := geo.SignIn{At: t0.Add(30 * time.Minute), Place: mustLookup(t, d, "198.51.100.20")}

	v := geo.Travel{}.Judge(&first, geo.Seen{Countries: []string{"DE"}, ASNs: []uint{64500}}, second)
	if !v.Impossible || !v.NewCountry || !v.NewASN {
		t.Errorf("Berlin → Sydney in 30 min = %+v; want impossible, new country, new ASN", v)
	}
	third := geo.SignIn{At: t0.Add(45 * time.Minute), Place: mustLookup(t, d, "203.0.113.9")}
	if v := (geo.Travel{}).Judge(&first, geo.Seen{Countries: []string{"DE"}}, third); v.Impossible || v.NewCountry {
		t.Errorf("Berlin → Potsdam in 45 min = %+v; want neither", v)
	}
}

func BenchmarkLookup(b *testing.B) {
	dir := b.TempDir()
	city, asn := filepath.Join(dir, "city.mmdb"), filepath.Join(dir, "asn.mmdb")
	geotest.Write(b, city, geotest.Sample())
	geotest.WriteASN(b, asn, geotest.Sample())
	d, err := geo.Open(city, asn, geo.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	hit, miss := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("10.0.0.1")
	b.Run("hit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d.Lookup(hit)
		}
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d.Lookup(miss)
		}
	})
}

// A Country database (no cities, no coordinates) built for IPv4 only, as
// some third-party databases are: IPv6 addresses are misses, not errors.
func TestIPv4OnlyCountryDatabase(t *testing.T) {
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            "GeoLite2-Country",
		Description:             map[string]string{"en": "test"},
		IPVersion:               4,
		RecordSize:              24,
		IncludeReservedNetworks: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, network, _ := net.ParseCIDR("192.0.2.0/24")
	if err := tree.Insert(network, mmdbtype.Map{
		"country": mmdbtype.Map{"iso_code": mmdbtype.String("SE")},
	}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "country.mmdb")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := geo.Open(path, "", geo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := mustLookup(t, d, "::ffff:192.0.2.1")
	if p.Country != "SE" || p.City != "" || p.HasCoords {
		t.Errorf("Country database lookup = %+v", p)
	}
	if _, ok := d.Lookup(netip.MustParseAddr("2001:db8::1")); ok {
		t.Error("IPv6 address found in an IPv4 database")
	}
	if st := d.Status(); st.CityType != "GeoLite2-Country" || st.LookupErrors != 0 || st.Lookups != 2 || st.Matches != 1 {
		t.Errorf("Status = %+v", st)
	}
}
