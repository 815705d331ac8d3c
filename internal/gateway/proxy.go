package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
	"time"

	"github.com/jellyguard/jellyguard/internal/jellyfin"
)

// copyBufferSize is the proxy's copy buffer: 64 KiB is where streaming
// throughput stops improving on these machines (performance.md).
const copyBufferSize = 64 << 10

// NewUpstreamTransport is tuned for one upstream under many clients: enough
// idle connections that each request does not pay a new TCP handshake, large
// buffers, and no transparent compression (the proxy must pass bodies
// through byte for byte). headerTimeout (limits.upstream_header_timeout;
// 0: none) bounds how long Jellyfin may take to start answering, so a
// Jellyfin that accepts connections but never answers cannot hold clients
// for ever; it stops counting once the headers are in, so a stream that
// has started is never cut.
func NewUpstreamTransport(headerTimeout time.Duration) *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: headerTimeout,
		DisableCompression:    true,
		WriteBufferSize:       copyBufferSize,
		ReadBufferSize:        copyBufferSize,
	}
}

type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, copyBufferSize)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

func (g *Gateway) newProxy(transport http.RoundTripper) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite:        g.rewrite,
		Transport:      transport,
		BufferPool:     &bufferPool{},
		ModifyResponse: g.modifyResponse,
		ErrorHandler:   g.proxyError,
		ErrorLog:       slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
	}
}

// rewrite points the request at Jellyfin and tells it who the client is.
// The path is forwarded exactly as the client sent it: the gateway
// classifies, it never rewrites, so Jellyfin routes it as it would alone.
func (g *Gateway) rewrite(pr *httputil.ProxyRequest) {
	sc := scopeFrom(pr.In.Context())
	pr.SetURL(g.cfg.UpstreamURL)
	pr.Out.URL.RawQuery = joinQuery(g.cfg.UpstreamURL.RawQuery, sc.rawQuery)
	h := pr.Out.Header
	h["X-Forwarded-For"] = []string{sc.clientIP}
	h["X-Forwarded-Proto"] = []string{sc.proto}
	if sc.host != "" {
		h["X-Forwarded-Host"] = []string{sc.host}
	}
	if g.guarded(sc.route.Class) || sc.route.Class.IsLogin() || sc.route.Class == jellyfin.ClassWebIndex {
		// Compressed answers could not be checked by the response guard,
		// read by the login interception, or have the script injected.
		delete(h, "Accept-Encoding")
	}
	if len(h["Cookie"]) > 0 {
		stripOwnCookies(pr.Out)
	}
}

// stripOwnCookies keeps the gateway's cookies (trust, challenge) from
// reaching Jellyfin: they are the gateway's business only.
func stripOwnCookies(r *http.Request) {
	cookies := r.Cookies()
	kept := cookies[:0]
	for _, c := range cookies {
		if !strings.HasPrefix(c.Name, "jg_") {
			kept = append(kept, c)
		}
	}
	if len(kept) == len(cookies) {
		return
	}
	r.Header.Del("Cookie")
	for _, c := range kept {
		r.AddCookie(c)
	}
}

func joinQuery(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "&" + b
}

// guarded reports whether responses of a class go through the response
// guard. Logins are handled by the interception; media and static files
// never carry JSON; /Auth/Keys lists API keys to administrators by design.
func (g *Gateway) guarded(c jellyfin.Class) bool {
	switch c {
	case jellyfin.ClassMedia, jellyfin.ClassWeb, jellyfin.ClassWebIndex, jellyfin.ClassAPIKeys:
		return false
	}
	return !c.IsLogin()
}

func (g *Gateway) modifyResponse(resp *http.Response) error {
	sc := scopeFrom(resp.Request.Context())
	if fillEmptyFailure(resp) {
		g.log.Warn("Jellyfin answered with an empty error; told the client it is unreachable",
			"status", resp.StatusCode, "route", sc.route.Class, "ip", sc.client)
		return nil
	}
	ok := resp.StatusCode/100 == 2
	switch {
	case sc.route.Class.IsLogin():
		resp.Header.Del("X-Response-Time-ms")
		return nil
	case sc.route.Class == jellyfin.ClassLogout && sc.hasToken && ok:
		g.tokens.LoggedOut(resp.Request.Context(), sc.identity.Hash)
	case sc.route.Class == jellyfin.ClassWebIndex && ok:
		return g.injectScript(resp)
	case sc.route.Class == jellyfin.ClassQuickConnect && ok && strings.HasSuffix(sc.route.Path, "/quickconnect/initiate"):
		return g.noteQuickConnect(resp)
	case sc.route.Class == jellyfin.ClassQuickConnectAuthorize && ok && sc.hasToken:
		g.signin.NoteQuickConnectAuthorized(resp.Request.Context(), queryValue(resp.Request.URL.RawQuery, "code"), sc.identity, sc.client)
	}
	if g.guarded(sc.route.Class) {
		return g.guardResponse(resp, sc)
	}
	return nil
}

// errWithheld aborts a response the gateway refuses to pass on; the error
// handler has already been told what to answer.
var errWithheld = errors.New("response withheld")

func (g *Gateway) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	var we *withheldError
	switch {
	case errors.As(err, &we):
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(we.status)
		_, _ = w.Write([]byte(we.body))
	case errors.Is(err, context.Canceled) || errors.Is(r.Context().Err(), context.Canceled):
		// The client went away, or its token was revoked: nothing to say.
	default:
		// Jellyfin could not be reached, broke off, or took longer than
		// limits.upstream_header_timeout to start answering: the client
		// hears so, in a form it reads, instead of an empty error.
		sc := scopeFrom(r.Context())
		status := upstreamStatus(err)
		g.log.Warn("Jellyfin did not answer", "status", status, "route", sc.route.Class, "ip", sc.client, "err", err)
		writeUnreachable(w, r, status)
	}
}

// withheldError carries the answer for a response the gateway withholds.
type withheldError struct {
	status int
	body   string
}

func (e *withheldError) Error() string { return errWithheld.Error() }
func (e *withheldError) Unwrap() error { return errWithheld }
