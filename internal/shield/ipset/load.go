package ipset

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// userAgent names the gateway to feed operators, who do look at it.
const userAgent = "jellyguard"

// candidate is a freshly read copy of a source, not yet in use.
type candidate struct {
	b        *Builder
	res      parseResult
	bytes    int64
	loadedAt time.Time

	fromCache          bool
	etag, lastModified string
	modTime            time.Time
	size               int64

	// tmp is the downloaded body in the cache directory, renamed over the
	// cached copy once the candidate is accepted.
	tmp, cachePath string
}

// commit keeps the downloaded body as the cached copy.
func (c *candidate) commit() {
	if c.tmp == "" {
		return
	}
	if err := os.Rename(c.tmp, c.cachePath); err != nil {
		_ = os.Remove(c.tmp)
	}
	c.tmp = ""
}

// discard drops the downloaded body of a refused candidate.
func (c *candidate) discard() {
	if c.tmp != "" {
		_ = os.Remove(c.tmp)
		c.tmp = ""
	}
}

// loadStatic parses the entries written in the configuration, one per
// line, so they get the same rules and line-numbered reports as a file.
func (m *Manager) loadStatic(i int) *candidate {
	c := &candidate{b: new(Builder), loadedAt: m.now()}
	r := strings.NewReader(strings.Join(m.sources[i].Static, "\n"))
	c.bytes = r.Size()
	_ = parse(r, 0, c.b, m.maxPrefixes, &c.res) // a strings.Reader does not fail
	return c
}

// loadFile reads a Path source. With ifChanged, a file whose time and size
// match the copy in use is not read again and the result is nil, nil.
func (m *Manager) loadFile(ctx context.Context, i int, ifChanged bool) (*candidate, error) {
	path := m.sources[i].Path
	if ifChanged {
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("reading list file: %w", err)
		}
		m.mu.Lock()
		st := m.state[i]
		m.mu.Unlock()
		if fi.ModTime().Equal(st.modTime) && fi.Size() == st.size {
			return nil, nil
		}
	}
	f, err := os.Open(path) // #nosec G304 -- the path is the configured list file
	if err != nil {
		return nil, fmt.Errorf("reading list file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading list file: %w", err)
	}
	c := &candidate{b: new(Builder), modTime: fi.ModTime(), size: fi.Size()}
	if err := m.read(ctx, i, f, c, nil); err != nil {
		return nil, fmt.Errorf("reading list file: %w", err)
	}
	c.loadedAt = m.now()
	return c, nil
}

// cachePath is where source i's last good body is kept. The URL's hash is
// part of the name so that a changed URL never serves the old feed's list.
func (m *Manager) cachePath(i int) string {
	src := m.sources[i]
	sum := sha256.Sum256([]byte(src.URL))
	return filepath.Join(m.cacheDir, slug(src.Name)+"-"+hex.EncodeToString(sum[:8])+".netset")
}

// slug makes a name safe as part of a file name.
func slug(name string) string {
	var sb strings.Builder
	for i, r := range name {
		if i >= 64 {
			break
		}
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || (r == '.' && i > 0)
		if !ok {
			r = '_'
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// loadCache reads source i's cached body. Its LastLoad is the time it was
// downloaded, so a cached copy older than two refresh periods shows stale.
func (m *Manager) loadCache(ctx context.Context, i int) (*candidate, error) {
	if m.cacheDir == "" {
		return nil, errors.New("no cache directory configured")
	}
	f, err := os.Open(m.cachePath(i))
	if errors.Is(err, os.ErrNotExist) {
		return nil, errors.New("no cached copy")
	}
	if err != nil {
		return nil, fmt.Errorf("reading cached copy: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading cached copy: %w", err)
	}
	c := &candidate{b: new(Builder), fromCache: true, loadedAt: fi.ModTime()}
	if err := m.read(ctx, i, f, c, nil); err != nil {
		return nil, fmt.Errorf("reading cached copy: %w", err)
	}
	return c, nil
}

// fetch downloads a URL source. With conditional, the validators of the
// copy in use are sent and a 304 returns nil, nil.
func (m *Manager) fetch(ctx context.Context, i int, conditional bool) (*candidate, error) {
	src := m.sources[i]
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("downloading: %w", redactErr(err))
	}
	if err := m.checkURL(req.URL); err != nil {
		return nil, fmt.Errorf("downloading: %w", err)
	}
	req.Header.Set("User-Agent", userAgent)
	var st sourceState
	if conditional {
		m.mu.Lock()
		st = m.state[i]
		m.mu.Unlock()
		if st.etag != "" {
			req.Header.Set("If-None-Match", st.etag)
		}
		if st.lastModified != "" {
			req.Header.Set("If-Modified-Since", st.lastModified)
		}
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("downloading: %w", redactErr(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified && conditional && (st.etag != "" || st.lastModified != "") {
		if m.cacheDir != "" {
			_ = os.Chtimes(m.cachePath(i), time.Time{}, m.now()) // the cached copy is current as of now
		}
		return nil, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("downloading: unexpected status %s", resp.Status)
	}
	if resp.ContentLength > m.maxBody {
		return nil, fmt.Errorf("downloading: body of %d bytes is over the %d byte limit", resp.ContentLength, m.maxBody)
	}

	c := &candidate{b: new(Builder), etag: resp.Header.Get("ETag"), lastModified: resp.Header.Get("Last-Modified")}
	var cache *cacheWriter
	if m.cacheDir != "" {
		// CreateTemp makes the file 0600: a feed may be a paid one.
		f, err := os.CreateTemp(m.cacheDir, ".download-*")
		if err != nil {
			m.log.Warn("cannot cache blocklist", "name", src.Name, "err", err)
		} else {
			cache = &cacheWriter{f: f}
			c.tmp, c.cachePath = f.Name(), m.cachePath(i)
		}
	}
	err = m.read(ctx, i, resp.Body, c, cache)
	if cache != nil {
		if cerr := cache.close(); cerr != nil && err == nil {
			m.log.Warn("cannot cache blocklist", "name", src.Name, "err", cerr)
			_ = os.Remove(c.tmp)
			c.tmp = ""
		}
	}
	if err != nil {
		c.discard()
		return nil, fmt.Errorf("downloading: %w", redactErr(err))
	}
	c.loadedAt = m.now()
	return c, nil
}

// read streams r through the parser into c, never holding more than the
// parser's line buffer: a 64 MiB list costs its prefixes, not its text.
func (m *Manager) read(ctx context.Context, i int, r io.Reader, c *candidate, cache *cacheWriter) error {
	now := m.now()
	p := &progressReader{
		ctx: ctx, r: io.LimitReader(r, m.maxBody+1), limit: m.maxBody, cache: cache,
		m: m, name: m.sources[i].Name, res: &c.res, last: now,
	}
	err := parse(p, 0, c.b, m.maxPrefixes, &c.res)
	c.bytes = p.n
	return err
}

// progressReader counts, limits, copies to the cache and reports progress
// of one load, and stops it when ctx ends.
type progressReader struct {
	ctx   context.Context
	r     io.Reader
	n     int64
	limit int64
	cache *cacheWriter

	m    *Manager
	name string
	res  *parseResult
	last time.Time
}

var errTooLarge = errors.New("list is larger than the size limit")

func (p *progressReader) Read(b []byte) (int, error) {
	if err := p.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := p.r.Read(b)
	p.n += int64(n)
	if p.n > p.limit {
		return 0, fmt.Errorf("%w of %d bytes", errTooLarge, p.limit)
	}
	if p.cache != nil {
		p.cache.write(b[:n])
	}
	if now := p.m.now(); now.Sub(p.last) >= p.m.progress {
		p.last = now
		p.m.log.Info("loading blocklist", "name", p.name, "bytes", p.n, "prefixes", p.res.added)
	}
	return n, err
}

// cacheWriter copies a download to the cache file. A failing disk must not
// fail the download, so the first write error only stops the copying.
type cacheWriter struct {
	f   *os.File
	err error
}

func (w *cacheWriter) write(b []byte) {
	if w.err == nil {
		_, w.err = w.f.Write(b)
	}
}

func (w *cacheWriter) close() error {
	if err := w.f.Close(); w.err == nil {
		w.err = err
	}
	return w.err
}
