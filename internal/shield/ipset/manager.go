package ipset

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for Options.
const (
	DefaultMaxPrefixes = 2_000_000
	// DefaultTimeout bounds one download when Options.Client is nil. A
	// FireHOL level 1 list is ~100 KiB; the largest public lists take
	// seconds on a slow line, never minutes.
	DefaultTimeout = 5 * time.Minute

	maxBody       = 64 << 20
	progressEvery = time.Second
	maxRetryDelay = time.Minute
	// loggedBadLines is how many bad lines of one load go to the log one
	// by one; the count of the rest follows in one line.
	loggedBadLines = 10
)

// Source is one configured list: exactly one of Static (CIDRs or addresses
// written in the configuration), Path (a file, typically kept current by
// FireHOL's update-ipsets) or URL (http or https) is set.
type Source struct {
	// Name identifies the list in logs, status and explanations of a
	// block ("in firehol_level1"); names are unique.
	Name string
	Path string
	URL  string
	// Refresh is how often a Path or URL source is read again; 0 reads it
	// once at start-up. Static sources never change.
	Refresh time.Duration
	Static  []string
}

type sourceKind int

const (
	kindStatic sourceKind = iota
	kindFile
	kindURL
)

func (s Source) kind() sourceKind {
	switch {
	case s.URL != "":
		return kindURL
	case s.Path != "":
		return kindFile
	default:
		return kindStatic
	}
}

func (k sourceKind) String() string {
	return [...]string{"static", "file", "url"}[k]
}

// Options configures a Manager. The zero value works: no disk cache, a
// client with DefaultTimeout, slog.Default, the real clock.
type Options struct {
	// CacheDir keeps each URL source's last good body (mode 0600), so a
	// restart while the feed or the network is down still starts with the
	// list. Empty disables the cache.
	CacheDir string
	// Client makes the downloads. Its redirect policy is kept, with the
	// scheme check and Guard applied to every hop first.
	Client *http.Client
	Logger *slog.Logger
	// Now is the clock for status times and staleness; tests move it.
	Now func() time.Time
	// MaxPrefixes bounds the entries read from one source
	// (DefaultMaxPrefixes when 0).
	MaxPrefixes int
	// Guard, when set, vets every URL requested, redirects included, and
	// refuses it with an error: the outbound address guard that keeps a
	// feed URL from reaching private or loopback services. A guard that
	// must see resolved addresses belongs in Client's dialer as well.
	Guard func(*url.URL) error
}

// SourceStatus is what a Manager knows about one source, so that a list
// that silently stopped updating or came out empty is reported, not
// trusted.
type SourceStatus struct {
	Name string
	// Kind is "static", "file" or "url".
	Kind string
	// Prefixes is the number of distinct prefixes in the copy in use.
	Prefixes int
	// BadLines counts the bad lines of the copy in use.
	BadLines int
	// LastLoad is when the copy in use was read, or last confirmed
	// unchanged (same file time and size, HTTP 304). For a copy taken from
	// the disk cache it is when that copy was downloaded.
	LastLoad time.Time
	// LastAttempt is the start of the last load or refresh, good or not.
	LastAttempt time.Time
	// LastError is why the last attempt failed; empty after a success.
	LastError string
	// Stale is set when a refreshed source has not loaded for two refresh
	// periods.
	Stale bool
	// Empty is set when the copy in use has no prefixes.
	Empty bool
	// FromCache is set while the copy in use came from the disk cache.
	FromCache bool
	// Truncated is set when the copy in use stopped at MaxPrefixes.
	Truncated bool
}

// Manager loads the configured sources, serves lookups from their combined
// Set, and refreshes file and URL sources on their schedules. Lookups read
// an atomic pointer and never wait for a refresh.
type Manager struct {
	sources     []Source
	log         *slog.Logger
	client      *http.Client
	now         func() time.Time
	cacheDir    string
	maxPrefixes int
	guard       func(*url.URL) error
	maxBody     int64
	progress    time.Duration

	set atomic.Pointer[Set]

	// mu guards state and started, and makes accepting a copy and
	// rebuilding the Set one step, so the Set always has every accepted
	// copy whatever order refreshes finish in.
	mu      sync.Mutex
	state   []sourceState
	started bool
	wg      sync.WaitGroup
}

type sourceState struct {
	data        *Builder // copy in use, list id 0; nil before the first load
	prefixes    int
	bad         int
	truncated   bool
	fromCache   bool
	lastLoad    time.Time
	lastAttempt time.Time
	lastErr     string
	// Validators of the copy in use, so a refresh of an unchanged source
	// costs a stat or a 304.
	etag, lastModified string
	modTime            time.Time
	size               int64
}

// NewManager returns a Manager for sources; nothing is loaded until Start.
func NewManager(sources []Source, opt Options) *Manager {
	m := &Manager{
		sources:     slices.Clone(sources),
		log:         opt.Logger,
		now:         opt.Now,
		cacheDir:    opt.CacheDir,
		maxPrefixes: opt.MaxPrefixes,
		guard:       opt.Guard,
		maxBody:     maxBody,
		progress:    progressEvery,
		state:       make([]sourceState, len(sources)),
	}
	for i := range m.sources {
		m.sources[i].Static = slices.Clone(m.sources[i].Static)
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.maxPrefixes <= 0 {
		m.maxPrefixes = DefaultMaxPrefixes
	}
	c := opt.Client
	if c == nil {
		c = &http.Client{Timeout: DefaultTimeout}
	}
	m.client = m.guardedClient(c)
	return m
}

// guardedClient copies c with a redirect policy that applies the scheme
// check and the guard to every hop: a feed that redirects must not lead the
// gateway somewhere it would refuse to go directly.
func (m *Manager) guardedClient(c *http.Client) *http.Client {
	gc := *c
	next := c.CheckRedirect
	gc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := m.checkURL(req.URL); err != nil {
			return err
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &gc
}

func (m *Manager) checkURL(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("scheme %q not allowed (http or https only)", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("URL has no host")
	}
	if m.guard != nil {
		if err := m.guard(u); err != nil {
			return fmt.Errorf("outbound guard refused %s: %w", redactURL(u), err)
		}
	}
	return nil
}

// Start loads every source and builds the first Set, then refreshes file
// and URL sources in the background until ctx ends (Wait waits for that).
// A source that cannot be loaded at all makes Start fail, unless it is a
// URL whose last good copy is in the cache: then that copy is used, the
// failure is in its status, and the refreshes keep trying. Start may be
// called once.
func (m *Manager) Start(ctx context.Context) error {
	m.mu.Lock()
	started := m.started
	m.started = true
	m.mu.Unlock()
	if started {
		return errors.New("ipset: manager already started")
	}
	if err := m.validate(); err != nil {
		return err
	}
	if m.cacheDir != "" {
		if err := os.MkdirAll(m.cacheDir, 0o700); err != nil {
			return fmt.Errorf("creating blocklist cache directory: %w", err)
		}
	}

	errs := make([]error, len(m.sources))
	var wg sync.WaitGroup
	for i := range m.sources {
		wg.Go(func() { errs[i] = m.initial(ctx, i) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	m.mu.Lock()
	m.rebuild()
	m.mu.Unlock()

	for i, s := range m.sources {
		if s.kind() != kindStatic && s.Refresh > 0 {
			m.wg.Go(func() { m.loop(ctx, i) })
		}
	}
	return nil
}

// Wait returns once the background refreshes have stopped, after the
// context given to Start has ended.
func (m *Manager) Wait() { m.wg.Wait() }

func (m *Manager) validate() error {
	if len(m.sources) > MaxLists {
		return fmt.Errorf("ipset: %d lists configured, at most %d are supported", len(m.sources), MaxLists)
	}
	seen := make(map[string]bool, len(m.sources))
	var errs []error
	for i, s := range m.sources {
		if s.Name == "" {
			errs = append(errs, fmt.Errorf("list %d: no name", i+1))
			continue
		}
		if seen[s.Name] {
			errs = append(errs, fmt.Errorf("list %q: name used twice", s.Name))
		}
		seen[s.Name] = true
		set := 0
		for _, b := range []bool{s.Path != "", s.URL != "", len(s.Static) > 0} {
			if b {
				set++
			}
		}
		switch {
		case set == 0:
			errs = append(errs, fmt.Errorf("list %q: no path, URL or entries", s.Name))
		case set > 1:
			errs = append(errs, fmt.Errorf("list %q: set only one of path, URL and entries", s.Name))
		}
		if s.Refresh < 0 {
			errs = append(errs, fmt.Errorf("list %q: negative refresh interval", s.Name))
		}
		if s.URL != "" {
			u, err := url.Parse(s.URL)
			if err == nil {
				err = m.checkURL(u)
			} else {
				err = errors.New("invalid URL")
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("list %q: %w", s.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// initial loads source i at start-up.
func (m *Manager) initial(ctx context.Context, i int) error {
	src := m.sources[i]
	start := m.now()
	var err error
	switch src.kind() {
	case kindStatic:
		c := m.loadStatic(i)
		m.accept(i, c, start, false)
		return nil
	case kindFile:
		var c *candidate
		c, err = m.loadFile(ctx, i, false)
		if err == nil {
			err = m.verdict(c, 0)
		}
		if err == nil {
			m.accept(i, c, start, false)
			return nil
		}
	case kindURL:
		err = m.initialURL(ctx, i, start)
		if err == nil {
			return nil
		}
	}
	return fmt.Errorf("loading list %q: %w", src.Name, err)
}

// initialURL downloads source i, falling back to the disk cache. An empty
// download loses to a non-empty cached copy: an empty answer from a feed
// is far more often a fault than a list that emptied out.
func (m *Manager) initialURL(ctx context.Context, i int, start time.Time) error {
	c, err := m.fetch(ctx, i, false)
	if err == nil {
		err = m.verdict(c, 0)
	}
	var cached *candidate
	var cacheErr error
	if err == nil && c.res.added == 0 {
		if cc, cerr := m.loadCache(ctx, i); cerr == nil && cc.res.added > 0 && m.verdict(cc, 0) == nil {
			cached, err = cc, errEmptyCopy
		}
	}
	if err == nil {
		m.accept(i, c, start, false)
		return nil
	}
	if c != nil {
		c.discard()
	}
	if cached == nil {
		cached, cacheErr = m.loadCache(ctx, i)
		if cacheErr == nil {
			cacheErr = m.verdict(cached, 0)
		}
		if cacheErr != nil {
			return errors.Join(err, cacheErr)
		}
	}
	m.log.Warn("blocklist download failed, using the cached copy", "name", m.sources[i].Name,
		"err", err, "downloaded", cached.loadedAt)
	m.accept(i, cached, start, false)
	m.mu.Lock()
	m.state[i].lastErr = err.Error()
	m.mu.Unlock()
	return nil
}

var errEmptyCopy = errors.New("the new copy has no prefixes")

// verdict decides whether a freshly read copy may replace the one in use
// (prev prefixes). A copy that is mostly not addresses is an error page or
// a captive portal, not a list; an empty copy replacing a non-empty one is
// a broken download until proven otherwise.
func (m *Manager) verdict(c *candidate, prev int) error {
	if c.res.lines > 0 && c.res.bad*2 > c.res.lines {
		return fmt.Errorf("%d of %d lines are not addresses, refusing the new copy", c.res.bad, c.res.lines)
	}
	if c.res.added == 0 && prev > 0 {
		return fmt.Errorf("%w, keeping the %d prefixes in use", errEmptyCopy, prev)
	}
	return nil
}

// refresh reads source i again and, if it changed and the new copy is
// acceptable, swaps it in; otherwise the copy in use stays and the error is
// recorded.
func (m *Manager) refresh(ctx context.Context, i int) error {
	src := m.sources[i]
	start := m.now()
	var c *candidate
	var err error
	switch src.kind() {
	case kindFile:
		c, err = m.loadFile(ctx, i, true)
	case kindURL:
		c, err = m.fetch(ctx, i, true)
	default:
		return nil
	}
	if err == nil && c != nil {
		m.mu.Lock()
		prev := m.state[i].prefixes
		m.mu.Unlock()
		if err = m.verdict(c, prev); err != nil {
			c.discard()
		}
	}
	switch {
	case err != nil:
		if ctx.Err() != nil {
			return err // shutting down: not a failure of the source
		}
		m.mu.Lock()
		st := &m.state[i]
		st.lastAttempt, st.lastErr = start, err.Error()
		m.mu.Unlock()
		m.log.Warn("blocklist refresh failed, keeping the previous copy", "name", src.Name, "err", err)
	case c == nil:
		m.mu.Lock()
		st := &m.state[i]
		st.lastAttempt, st.lastLoad, st.lastErr = start, m.now(), ""
		m.mu.Unlock()
		m.log.Debug("blocklist unchanged", "name", src.Name)
	default:
		m.accept(i, c, start, true)
	}
	return err
}

// loop refreshes source i every Refresh until ctx ends. After a failure it
// retries sooner (1 min, doubling, never later than Refresh), so a feed
// that was down for a minute does not leave a day-old list.
func (m *Manager) loop(ctx context.Context, i int) {
	every := m.sources[i].Refresh
	t := time.NewTimer(every)
	defer t.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		delay := every
		if err := m.refresh(ctx, i); err != nil {
			failures++
			delay = min(every, maxRetryDelay<<min(failures-1, 10))
		} else {
			failures = 0
		}
		t.Reset(delay)
	}
}

// accept makes c the copy in use of source i and rebuilds the Set.
func (m *Manager) accept(i int, c *candidate, attempt time.Time, refresh bool) {
	c.b.compact()
	m.mu.Lock()
	st := &m.state[i]
	st.data = c.b
	st.prefixes = c.b.len()
	st.bad = c.res.bad
	st.truncated = c.res.full
	st.fromCache = c.fromCache
	st.lastLoad = c.loadedAt
	st.lastAttempt = attempt
	st.lastErr = ""
	st.etag, st.lastModified = c.etag, c.lastModified
	st.modTime, st.size = c.modTime, c.size
	if refresh {
		m.rebuild()
	}
	prefixes := st.prefixes
	m.mu.Unlock()
	c.commit()

	src := m.sources[i]
	m.logBadLines(src.Name, c.res)
	level := slog.LevelInfo
	if prefixes == 0 || c.res.full {
		level = slog.LevelWarn
	}
	m.log.Log(context.Background(), level, "loaded blocklist", "name", src.Name,
		"prefixes", prefixes, "bad_lines", c.res.bad, "bytes", c.bytes,
		"duration", m.now().Sub(attempt).Round(time.Millisecond),
		"from_cache", c.fromCache, "truncated", c.res.full)
}

func (m *Manager) logBadLines(name string, res parseResult) {
	for k, l := range res.badLines {
		if k == loggedBadLines {
			m.log.Warn("more bad lines in blocklist", "name", name, "count", res.bad-k)
			return
		}
		m.log.Warn("bad line in blocklist", "name", name, "line", l.Line, "reason", l.Reason, "text", l.Text)
	}
}

// rebuild merges the copies in use into a new Set and swaps it in. The
// caller holds mu.
func (m *Manager) rebuild() {
	var n4, n6 int
	for _, st := range m.state {
		if st.data != nil {
			n4 += len(st.data.v4)
			n6 += len(st.data.v6)
		}
	}
	b := &Builder{v4: make([]uint64, 0, n4), v6: make([]entry6, 0, n6)}
	for i, st := range m.state {
		if st.data == nil {
			continue
		}
		for _, k := range st.data.v4 {
			b.v4 = append(b.v4, k&^0xff|uint64(i))
		}
		for _, e := range st.data.v6 {
			b.v6 = append(b.v6, entry6{p: e.p, list: uint8(i)})
		}
	}
	m.set.Store(b.Build())
}

// Set returns the current combined Set, in which list id i is source i. It
// is nil before Start.
func (m *Manager) Set() *Set { return m.set.Load() }

// Lookup returns the name of the first configured list that contains a.
func (m *Manager) Lookup(a netip.Addr) (name string, ok bool) {
	lists, ok := m.set.Load().Lookup(a)
	if !ok {
		return "", false
	}
	i := bits.TrailingZeros64(lists)
	if i >= len(m.sources) {
		return "", false
	}
	return m.sources[i].Name, true
}

// Status reports every source's state, in configuration order.
func (m *Manager) Status() []SourceStatus {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]SourceStatus, len(m.sources))
	for i, src := range m.sources {
		st := m.state[i]
		k := src.kind()
		out[i] = SourceStatus{
			Name:        src.Name,
			Kind:        k.String(),
			Prefixes:    st.prefixes,
			BadLines:    st.bad,
			LastLoad:    st.lastLoad,
			LastAttempt: st.lastAttempt,
			LastError:   st.lastErr,
			Stale:       k != kindStatic && src.Refresh > 0 && (st.lastLoad.IsZero() || now.Sub(st.lastLoad) > 2*src.Refresh),
			Empty:       st.prefixes == 0,
			FromCache:   st.fromCache,
			Truncated:   st.truncated,
		}
	}
	return out
}

// redactURL is u fit for logs and status: credentials in the user info or
// the query (paid feeds put keys there) are left out.
func redactURL(u *url.URL) string {
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	s := r.String()
	if u.RawQuery != "" {
		s += "?…"
	}
	return s
}

// redactErr removes the URL's secrets from an *url.Error, which the HTTP
// client returns with the full URL in its text.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			ue.URL = redactURL(u)
		} else {
			ue.URL = strings.SplitN(ue.URL, "?", 2)[0]
		}
	}
	return err
}
