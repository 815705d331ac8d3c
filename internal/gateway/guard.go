package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/jellyguard/jellyguard/internal/audit"
	"github.com/jellyguard/jellyguard/internal/jellyfin"
)

// tokenKey is the part of Jellyfin's "AccessToken" JSON key that its
// PascalCase and camelCase profiles share, closing quote included.
var tokenKey = []byte(`ccessToken"`)

// smallBody is the largest response the guard reads whole before answering,
// so that a withheld response becomes a clean error rather than a cut
// connection.
const smallBody = 64 << 10

// guardResponse is the response guard: a 2xx answer that carries an access
// token and did not pass through the login interception is withheld, so a
// route the classifier missed can never hand out a token.
func (g *Gateway) guardResponse(resp *http.Response, sc *scope) error {
	if resp.StatusCode/100 != 2 || resp.Request.Method == http.MethodHead || !scannable(resp.Header.Get("Content-Type")) {
		return nil
	}
	if resp.ContentLength >= 0 && resp.ContentLength <= smallBody {
		return g.guardWhole(resp, sc)
	}
	resp.Body = &scanReader{r: resp.Body, onHit: func() { g.reportWithheld(resp.Request.Context(), sc, nil) }}
	return nil
}

// guardWhole reads a response of known small size into a pooled buffer,
// checks it, and hands the buffer on as the body (returned to the pool when
// the proxy closes it): the common small JSON answer costs no allocation.
func (g *Gateway) guardWhole(resp *http.Response, sc *scope) error {
	buf := smallBodies.Get().(*[]byte)
	body := (*buf)[:resp.ContentLength]
	_, err := io.ReadFull(resp.Body, body)
	_ = resp.Body.Close()
	if err != nil {
		smallBodies.Put(buf)
		return err
	}
	if bytes.Contains(body, tokenKey) {
		g.reportWithheld(resp.Request.Context(), sc, bytes.Clone(body))
		smallBodies.Put(buf)
		return &withheldError{status: http.StatusBadGateway, body: "jellyguard withheld a response that carried an access token.\n"}
	}
	resp.Body = &pooledBody{Reader: bytes.NewReader(body), buf: buf}
	return nil
}

// smallBodies holds the buffers of guardWhole.
var smallBodies = sync.Pool{New: func() any { b := make([]byte, smallBody); return &b }}

// pooledBody is a response body read from a pooled buffer.
type pooledBody struct {
	*bytes.Reader
	buf *[]byte
}

func (p *pooledBody) Close() error {
	if p.buf != nil {
		p.Reset(nil)
		smallBodies.Put(p.buf)
		p.buf = nil
	}
	return nil
}

// reportWithheld logs and audits a withheld response and, when the token can
// be read from it, logs that token out: nobody will ever hold it.
func (g *Gateway) reportWithheld(ctx context.Context, sc *scope, body []byte) {
	g.log.Error("withheld a response that carried an access token", "route", sc.route.Class, "path", sc.route.Path, "ip", sc.client)
	if g.audit != nil {
		if _, err := g.audit.Write(ctx, audit.Event{Kind: audit.TokenWithheld, IP: sc.client,
			Note: "response of " + strconv.Quote(sc.route.Path) + " carried an access token"}); err != nil {
			g.log.Error("writing audit event failed", "err", err)
		}
	}
	if res, err := jellyfin.ParseAuthResult(body); err == nil && res.AccessToken != "" {
		go g.tokens.Logout(context.WithoutCancel(ctx), res.AccessToken)
	}
}

// scannable reports whether a content type may carry JSON: media, images,
// fonts and binary downloads are skipped (scanning a film would cost CPU and
// find nothing).
func scannable(contentType string) bool {
	ct := strings.ToLower(contentType)
	for _, skip := range []string{"video/", "audio/", "image/", "font/", "application/octet-stream", "application/vnd.apple.mpegurl", "application/x-mpegurl"} {
		if strings.HasPrefix(ct, skip) {
			return false
		}
	}
	return true
}

// errTokenInStream cuts a streamed response in which a token appeared.
var errTokenInStream = errors.New("access token in streamed response")

// scanReader passes a large or unsized body through while looking for the
// token key; on a hit it stops before the key's value leaves the gateway, so
// the connection is cut with the token unsent.
type scanReader struct {
	r     io.ReadCloser
	tail  [len(`ccessToken"`) - 1]byte
	ntail int
	hit   bool
	onHit func()
}

func (s *scanReader) Read(p []byte) (int, error) {
	if s.hit {
		return 0, errTokenInStream
	}
	n, err := s.r.Read(p)
	if n == 0 {
		return n, err
	}
	if cut, found := s.find(p[:n]); found {
		s.hit = true
		s.onHit()
		return cut, errTokenInStream
	}
	s.remember(p[:n])
	return n, err
}

// find returns how many bytes of chunk may still be passed on when the key
// starts in it or straddles the previous chunk.
func (s *scanReader) find(chunk []byte) (int, bool) {
	if i := bytes.Index(chunk, tokenKey); i >= 0 {
		return i, true
	}
	if s.ntail == 0 {
		return 0, false
	}
	var edge [2 * (len(`ccessToken"`) - 1)]byte
	n := copy(edge[:], s.tail[:s.ntail])
	n += copy(edge[n:], chunk[:min(len(chunk), len(tokenKey)-1)])
	if bytes.Contains(edge[:n], tokenKey) {
		return 0, true
	}
	return 0, false
}

func (s *scanReader) remember(chunk []byte) {
	if len(chunk) >= len(s.tail) {
		s.ntail = copy(s.tail[:], chunk[len(chunk)-len(s.tail):])
		return
	}
	keep := min(s.ntail, len(s.tail)-len(chunk))
	copy(s.tail[:], s.tail[s.ntail-keep:s.ntail])
	s.ntail = keep + copy(s.tail[keep:], chunk)
}

func (s *scanReader) Close() error { return s.r.Close() }
