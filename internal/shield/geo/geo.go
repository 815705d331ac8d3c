// Package geo answers where an address is, from MaxMind-format databases
// (GeoIP2/GeoLite2 City or Country, and optionally ASN), and holds the
// impossible-travel rule that compares two sign-ins of one user.
//
// The databases are files the operator keeps up to date (geoipupdate or a
// cron job). DB notices when a file changes on disk and swaps the new copy in
// without a restart; a broken replacement is refused and the previous copy
// stays in use, with the reason in the log and in Status.
package geo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oschwald/geoip2-golang/v2"
)

// DefaultReloadEvery is how often DB.Run looks at the files when
// Options.ReloadEvery is not set.
const DefaultReloadEvery = time.Minute

// Place is what a database says about an address.
type Place struct {
	// Country is the ISO 3166-1 alpha-2 code (upper case) of the country the
	// address is located in, or, when the database has no location for it,
	// the country its network is registered in. Empty when unknown.
	Country string
	// City is the English city name, empty when unknown (always empty with a
	// Country database).
	City string
	// Lat and Lon are the approximate coordinates; valid only if HasCoords.
	Lat, Lon float64
	// RadiusKm is the database's accuracy radius around Lat/Lon in
	// kilometres; 0 when the database gives none.
	RadiusKm float64
	// HasCoords reports whether Lat and Lon are known.
	HasCoords bool
	// ASN and Org come from the ASN database; 0 and empty without one.
	ASN uint
	Org string
}

// Options tune a DB. The zero value is usable.
type Options struct {
	// Logger receives load, reload and refusal messages; nil discards them.
	Logger *slog.Logger
	// Now is the clock for LoadedAt, LastMatch and error times; nil means
	// time.Now.
	Now func() time.Time
	// ReloadEvery is how often Run checks the files' size and modification
	// time (and identity, so a file renamed into place is noticed too).
	// Zero or negative means DefaultReloadEvery.
	ReloadEvery time.Duration
}

// Status describes the databases in use and proves the lookups are doing
// something: a database that never matched an address shows Matches == 0
// while Lookups grows.
type Status struct {
	CityPath string // path of the City or Country database, empty if none
	ASNPath  string // path of the ASN database, empty if none
	// CityType and ASNType are the database_type strings from the files'
	// metadata, e.g. "GeoLite2-City" or "GeoLite2-ASN".
	CityType, ASNType string
	// BuildEpoch is when the City/Country database in use was built (from
	// its metadata), ASNBuildEpoch the same for the ASN database. A stale
	// database shows here.
	BuildEpoch, ASNBuildEpoch time.Time
	// LoadedAt and ASNLoadedAt are when the files in use were read.
	LoadedAt, ASNLoadedAt time.Time
	// Reloads counts files swapped in after Open.
	Reloads uint64
	// Lookups counts Lookup calls with a valid address, Matches those that
	// found something, LookupErrors those a database failed to decode.
	Lookups, Matches, LookupErrors uint64
	// LastMatch is when Lookup last found something; zero if never.
	LastMatch time.Time
	// LastError is why the most recent change of a file was refused (or the
	// file could not be read), prefixed with "city: " or "asn: ". It is
	// cleared for a file once that file loads again. LastErrorAt is when it
	// happened.
	LastError   string
	LastErrorAt time.Time
}

// DB reads MaxMind-format City or Country databases and an optional ASN
// database, and reloads a file when it changes on disk. It is safe for
// concurrent use; lookups take no lock.
type DB struct {
	city, asn *source // nil when not configured
	log       *slog.Logger
	now       func() time.Time
	every     time.Duration

	lookups, matches, lookupErrs, reloads atomic.Uint64
	lastMatch                             atomic.Int64 // unix nanoseconds; 0 = never

	closed atomic.Bool
	done   chan struct{} // closed by Close
}

type kind int

const (
	kindCity kind = iota
	kindASN
)

func (k kind) String() string {
	if k == kindASN {
		return "asn"
	}
	return "city"
}

// source is one configured database file.
type source struct {
	kind kind
	path string
	cur  atomic.Pointer[loaded]

	mu        sync.Mutex // serialises loads; guards the fields below
	attempted stamp      // file last tried (loaded or refused)
	lastErr   string
	lastErrAt time.Time
}

// loaded is one database file read into memory.
type loaded struct {
	r        *geoip2.Reader
	stamp    stamp
	dbType   string
	v4only   bool // an IPv4 database: IPv6 addresses are simply unknown
	built    time.Time
	loadedAt time.Time
}

// stamp identifies one version of a file on disk.
type stamp struct {
	info os.FileInfo
}

func (s stamp) same(o stamp) bool {
	if s.info == nil || o.info == nil {
		return false
	}
	return s.info.Size() == o.info.Size() &&
		s.info.ModTime().Equal(o.info.ModTime()) &&
		os.SameFile(s.info, o.info)
}

// Open reads the configured databases. cityPath names a City or Country
// database, asnPath an ASN database; either may be empty, not both. A
// configured file that is missing or unreadable, or holds another kind of
// database, is an error.
func Open(cityPath, asnPath string, opt Options) (*DB, error) {
	if cityPath == "" && asnPath == "" {
		return nil, errors.New("geo: no database configured")
	}
	d := &DB{log: opt.Logger, now: opt.Now, every: opt.ReloadEvery, done: make(chan struct{})}
	if d.log == nil {
		d.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if d.now == nil {
		d.now = time.Now
	}
	if d.every <= 0 {
		d.every = DefaultReloadEvery
	}
	if cityPath != "" {
		d.city = &source{kind: kindCity, path: cityPath}
	}
	if asnPath != "" {
		d.asn = &source{kind: kindASN, path: asnPath}
	}
	for _, s := range d.sources() {
		st, err := statFile(s.path)
		if err != nil {
			return nil, fmt.Errorf("geo: %s database: %w", s.kind, err)
		}
		l, err := d.load(s, st)
		if err != nil {
			return nil, fmt.Errorf("geo: %s database %s: %w", s.kind, s.path, err)
		}
		s.attempted = l.stamp
		s.cur.Store(l)
		d.log.Info("geo database loaded", loadedAttrs(s, l)...)
	}
	return d, nil
}

func (d *DB) sources() []*source {
	var out []*source
	if d.city != nil {
		out = append(out, d.city)
	}
	if d.asn != nil {
		out = append(out, d.asn)
	}
	return out
}

// Lookup says what the databases know about a. An IPv4 address written as
// IPv6 (::ffff:a.b.c.d) is looked up as IPv4, and a zone is ignored. ok is
// false when nothing is known (or d is nil, closed, or a is invalid).
func (d *DB) Lookup(a netip.Addr) (Place, bool) {
	if d == nil || !a.IsValid() || d.closed.Load() {
		return Place{}, false
	}
	a = a.Unmap().WithZone("")
	d.lookups.Add(1)

	var p Place
	if d.city != nil {
		if l := d.city.cur.Load(); l != nil && l.covers(a) {
			c, err := l.r.City(a)
			if err != nil {
				d.lookupErrs.Add(1)
			} else {
				p.Country = c.Country.ISOCode
				if p.Country == "" {
					p.Country = c.RegisteredCountry.ISOCode
				}
				p.City = c.City.Names.English
				if c.Location.HasCoordinates() {
					p.Lat, p.Lon, p.HasCoords = *c.Location.Latitude, *c.Location.Longitude, true
					p.RadiusKm = float64(c.Location.AccuracyRadius)
				}
			}
		}
	}
	if d.asn != nil {
		if l := d.asn.cur.Load(); l != nil && l.covers(a) {
			r, err := l.r.ASN(a)
			if err != nil {
				d.lookupErrs.Add(1)
			} else {
				p.ASN, p.Org = r.AutonomousSystemNumber, r.AutonomousSystemOrganization
			}
		}
	}

	ok := p.Country != "" || p.City != "" || p.HasCoords || p.ASN != 0 || p.Org != ""
	if ok {
		d.matches.Add(1)
		d.lastMatch.Store(d.now().UnixNano())
	}
	return p, ok
}

// Run checks the files every Options.ReloadEvery until ctx ends, swapping in
// each one that changed. Failures are logged and kept in Status.
func (d *DB) Run(ctx context.Context) {
	if d == nil {
		return
	}
	t := time.NewTicker(d.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.done:
			return
		case <-t.C:
			_ = d.Reload()
		}
	}
}

// Reload checks every file once and swaps in those that changed since they
// were last read (or last refused). It returns the reasons for refusing a
// changed file or failing to look at one; the previous databases stay in
// use then. Run calls it on its schedule; call it directly to reload at once
// (on SIGHUP, say).
func (d *DB) Reload() error {
	if d == nil || d.closed.Load() {
		return nil
	}
	var errs []error
	for _, s := range d.sources() {
		if err := d.reloadSource(s); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (d *DB) reloadSource(s *source) error {
	s.mu.Lock()
	defer s.mu.Unlock()

	st, err := statFile(s.path)
	if err != nil {
		return d.refuse(s, err)
	}
	cur := s.cur.Load()
	if cur != nil && st.same(cur.stamp) {
		// Back to the file in use (it may have been missing for a moment).
		s.attempted, s.lastErr, s.lastErrAt = st, "", time.Time{}
		return nil
	}
	if st.same(s.attempted) {
		return nil // refused before and unchanged since: nothing new to say
	}
	l, err := d.load(s, st)
	if errors.Is(err, errChangedWhileReading) {
		return nil // still being written; look again next time
	}
	s.attempted = st
	if err != nil {
		return d.refuse(s, err)
	}
	s.cur.Store(l)
	s.lastErr, s.lastErrAt = "", time.Time{}
	d.reloads.Add(1)
	d.log.Info("geo database reloaded", loadedAttrs(s, l)...)
	// The previous reader is left to the garbage collector rather than
	// closed: a lookup may still be using it.
	return nil
}

// refuse records why s could not be (re)loaded. Called with s.mu held.
func (d *DB) refuse(s *source, err error) error {
	msg := err.Error()
	if msg != s.lastErr {
		d.log.Error("geo database not reloaded; keeping the one in use",
			"kind", s.kind.String(), "path", s.path, "err", msg)
	}
	s.lastErr, s.lastErrAt = msg, d.now()
	return fmt.Errorf("geo: %s database %s: %w", s.kind, s.path, err)
}

var errChangedWhileReading = errors.New("file changed while being read")

// load reads and checks the file s.path whose stat is st.
func (d *DB) load(s *source, st stamp) (*loaded, error) {
	b, err := os.ReadFile(s.path)
	if err != nil {
		return nil, err
	}
	after, err := statFile(s.path)
	if err != nil {
		return nil, err
	}
	if !after.same(st) {
		return nil, errChangedWhileReading
	}
	r, err := parse(s.kind, b)
	if err != nil {
		return nil, err
	}
	md := r.Metadata()
	epoch := int64(0)
	if md.BuildEpoch <= math.MaxInt64 {
		epoch = int64(md.BuildEpoch)
	}
	return &loaded{
		r:        r,
		stamp:    st,
		dbType:   md.DatabaseType,
		v4only:   md.IPVersion == 4,
		built:    time.Unix(epoch, 0).UTC(),
		loadedAt: d.now(),
	}, nil
}

// probes are addresses looked up once when a file is read, so a file whose
// search tree or data section is damaged is refused before it is used.
var probes = []netip.Addr{
	netip.MustParseAddr("1.1.1.1"),
	netip.MustParseAddr("8.8.8.8"),
	netip.MustParseAddr("81.2.69.142"),
	netip.MustParseAddr("192.0.2.1"),
	netip.MustParseAddr("203.0.113.200"),
	netip.MustParseAddr("2001:4860:4860::8888"),
	netip.MustParseAddr("2001:db8::1"),
}

// parse opens an in-memory database and checks it is of kind k. The bytes
// are kept in memory rather than mapped, so replacing or truncating the
// file on disk never affects a database in use.
func parse(k kind, b []byte) (r *geoip2.Reader, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("damaged database: %v", p)
		}
	}()
	r, err = geoip2.OpenBytes(b)
	if err != nil {
		var unknown geoip2.UnknownDatabaseTypeError
		if errors.As(err, &unknown) {
			return nil, fmt.Errorf("unsupported database type %q", unknown.DatabaseType)
		}
		return nil, err
	}
	md := r.Metadata()
	for _, a := range probes {
		if md.IPVersion == 4 && a.Is6() {
			continue
		}
		if k == kindCity {
			_, err = r.City(a)
		} else {
			_, err = r.ASN(a)
		}
		var wrong geoip2.InvalidMethodError
		if errors.As(err, &wrong) {
			want := "a City or Country database"
			if k == kindASN {
				want = "an ASN database"
			}
			return nil, fmt.Errorf("file is a %q database, want %s", md.DatabaseType, want)
		}
		if err != nil {
			return nil, fmt.Errorf("damaged database: %w", err)
		}
	}
	return r, nil
}

func (l *loaded) covers(a netip.Addr) bool { return !l.v4only || a.Is4() }

func statFile(path string) (stamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return stamp{}, err
	}
	if !fi.Mode().IsRegular() {
		return stamp{}, fmt.Errorf("%s is not a regular file", path)
	}
	return stamp{info: fi}, nil
}

func loadedAttrs(s *source, l *loaded) []any {
	return []any{
		"kind", s.kind.String(), "path", s.path, "type", l.dbType,
		"built", l.built.Format(time.RFC3339), "bytes", l.stamp.info.Size(),
	}
}

// Status reports the databases in use and the lookup counters. It is
// nil-safe.
func (d *DB) Status() Status {
	if d == nil {
		return Status{}
	}
	st := Status{
		Reloads:      d.reloads.Load(),
		Lookups:      d.lookups.Load(),
		Matches:      d.matches.Load(),
		LookupErrors: d.lookupErrs.Load(),
	}
	if n := d.lastMatch.Load(); n != 0 {
		st.LastMatch = time.Unix(0, n)
	}
	var errs []string
	for _, s := range d.sources() {
		l := s.cur.Load()
		s.mu.Lock()
		lastErr, lastErrAt := s.lastErr, s.lastErrAt
		s.mu.Unlock()
		if lastErr != "" {
			errs = append(errs, s.kind.String()+": "+lastErr)
			if lastErrAt.After(st.LastErrorAt) {
				st.LastErrorAt = lastErrAt
			}
		}
		switch s.kind {
		case kindCity:
			st.CityPath = s.path
			if l != nil {
				st.CityType, st.BuildEpoch, st.LoadedAt = l.dbType, l.built, l.loadedAt
			}
		case kindASN:
			st.ASNPath = s.path
			if l != nil {
				st.ASNType, st.ASNBuildEpoch, st.ASNLoadedAt = l.dbType, l.built, l.loadedAt
			}
		}
	}
	st.LastError = strings.Join(errs, "; ")
	return st
}

// Close releases the databases; afterwards Lookup finds nothing and Run
// returns. It is nil-safe and may be called more than once.
func (d *DB) Close() error {
	if d == nil || d.closed.Swap(true) {
		return nil
	}
	for _, s := range d.sources() {
		// Dropped, not closed: a concurrent Lookup may still hold the
		// reader, and in-memory readers need no explicit release.
		s.cur.Store(nil)
	}
	close(d.done)
	return nil
}
