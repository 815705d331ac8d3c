package main

// In-process benchmarks of one signed-in small GET (/Items, ~2 KB JSON):
//
//	go test -run x -bench . ./bench
//	go test -run x -bench Pipeline -cpuprofile cpu.prof ./bench && go tool pprof -top cpu.prof
//
// Two families:
//   - Direct, ReverseProxy, Pipeline: a real HTTP client, servers and
//     loopback sockets, all in this process — the whole round trip.
//   - ReverseProxyHandler, PipelineHandler: the handler called directly, the
//     upstream an in-memory transport — only the proxy's own work, which is
//     what a profile should show.
//
// The Pipeline benchmarks report their speed relative to the others run in
// the same invocation when those ran before them: xdirect and xproxy are
// throughput ratios as in performance.md (higher is better); ns/op-over-proxy
// is what the gateway's checks add to a plain ReverseProxy. They report;
// they never fail because the machine is busy.

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/app"
	"github.com/jellyguard/jellyguard/internal/config"
)

// nsPerOp remembers each benchmark's speed so that later ones can report
// ratios to it.
var nsPerOp sync.Map // name → float64

func record(b *testing.B, name string) {
	if b.N > 0 {
		nsPerOp.Store(name, float64(b.Elapsed().Nanoseconds())/float64(b.N))
	}
}

// reportRatios reports base's ns/op over this benchmark's for each base
// that ran earlier in this invocation.
func reportRatios(b *testing.B, bases map[string]string) {
	if b.N == 0 {
		return
	}
	mine := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	var missing []string
	for unit, base := range bases {
		v, ok := nsPerOp.Load(base)
		if !ok {
			missing = append(missing, base)
			continue
		}
		if unit == "ns/op-over-proxy" {
			b.ReportMetric(mine-v.(float64), unit)
		} else {
			b.ReportMetric(v.(float64)/mine, unit)
		}
	}
	if len(missing) > 0 && !profiling() {
		b.Logf("no ratio to %s: run it in the same invocation (-bench .)", strings.Join(missing, ", "))
	}
}

func profiling() bool {
	f := flag.Lookup("test.cpuprofile")
	return f != nil && f.Value.String() != ""
}

// benchGateway is a gateway as `jellyguard serve` builds it — SQLite store,
// data key, audit log, every check at its default — over transport, and the
// Authorization header of a session it released.
func benchGateway(b *testing.B, upstream string, transport http.RoundTripper) (http.Handler, string) {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	cfg := config.Default()
	cfg.Upstream = upstream
	cfg.Data = dir
	cfg.Listen = "127.0.0.1:0"
	cfg.Log.Level = "warn"
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	parts, err := app.Open(ctx, app.Options{Config: &cfg, Logger: log, LogWriter: io.Discard, Serve: true, Transport: transport})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = parts.Close() })
	h := parts.Gateway.Handler()

	req := httptest.NewRequest(http.MethodPost, "/Users/AuthenticateByName", strings.NewReader(`{"Username":"bench","Pw":"bench"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", loginHeader("bench-device"))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("sign-in through the gateway: HTTP %d: %s", rec.Code, rec.Body)
	}
	var res struct{ AccessToken string }
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || res.AccessToken == "" {
		b.Fatalf("sign-in through the gateway: no token in %q", rec.Body)
	}
	return h, fmt.Sprintf("MediaBrowser Token=%q", res.AccessToken)
}

// benchTransport is tuned like the gateway's own upstream transport, so
// that the plain ReverseProxy baseline is performance.md's "tuned" row.
func benchTransport() *http.Transport {
	return &http.Transport{
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		WriteBufferSize:     64 << 10,
		ReadBufferSize:      64 << 10,
	}
}

type pooledBuffers struct{ p sync.Pool }

func (b *pooledBuffers) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 64<<10)
}

func (b *pooledBuffers) Put(buf []byte) { b.p.Put(&buf) }

// plainProxy is httputil.ReverseProxy alone: no checks.
func plainProxy(target string, transport http.RoundTripper) http.Handler {
	u, err := url.Parse(target)
	if err != nil {
		panic(err)
	}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.SetXForwarded()
		},
		Transport:  transport,
		BufferPool: &pooledBuffers{},
	}
}

// --- Over loopback: client, proxy and upstream servers in this process.

func loopbackGET(b *testing.B, name, url, auth string) {
	b.Helper()
	client := &http.Client{Transport: benchTransport()}
	b.Cleanup(client.CloseIdleConnections)
	want := int64(len(itemsJSON()))
	get := func() (int, int64, error) {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			return 0, 0, err
		}
		req.Header.Set("Authorization", auth)
		resp, err := client.Do(req)
		if err != nil {
			return 0, 0, err
		}
		n, err := io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode, n, err
	}
	if code, n, err := get(); err != nil || code != http.StatusOK || n != want {
		b.Fatalf("GET %s: HTTP %d, %d bytes, %v", url, code, n, err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if code, _, err := get(); err != nil || code != http.StatusOK {
			b.Fatalf("GET %s: HTTP %d, %v", url, code, err)
		}
	}
	record(b, name)
}

func BenchmarkDirect(b *testing.B) {
	up := httptest.NewServer(newUpstream())
	defer up.Close()
	loopbackGET(b, "Direct", up.URL+"/Items", `MediaBrowser Token="0123456789abcdef0123456789abcdef"`)
}

func BenchmarkReverseProxy(b *testing.B) {
	up := httptest.NewServer(newUpstream())
	defer up.Close()
	px := httptest.NewServer(plainProxy(up.URL, benchTransport()))
	defer px.Close()
	loopbackGET(b, "ReverseProxy", px.URL+"/Items", `MediaBrowser Token="0123456789abcdef0123456789abcdef"`)
}

func BenchmarkPipeline(b *testing.B) {
	up := httptest.NewServer(newUpstream())
	defer up.Close()
	h, auth := benchGateway(b, up.URL, nil)
	gw := httptest.NewServer(h)
	defer gw.Close()
	loopbackGET(b, "Pipeline", gw.URL+"/Items", auth)
	reportRatios(b, map[string]string{"xdirect": "Direct", "xproxy": "ReverseProxy"})
}

// --- In memory: the handler alone, the upstream behind a RoundTripper
// that calls its handler without sockets.

// memTransport is an upstream in memory: GET /Items is answered from a
// prepared body, as cheaply as a response can be made, so that a profile
// shows the proxy's work and not the fixture's; anything else (the sign-in)
// goes to the stand-in's handler.
type memTransport struct {
	h     http.Handler
	items []byte
}

func newMemTransport() memTransport {
	return memTransport{h: newUpstream(), items: itemsJSON()}
}

func (t memTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		defer func() { _ = req.Body.Close() }()
	}
	if req.Method == http.MethodGet && req.URL.Path == "/Items" {
		return &http.Response{
			Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{
				"Content-Type":   {"application/json; charset=utf-8"},
				"Content-Length": {strconv.Itoa(len(t.items))},
			},
			Body: io.NopCloser(bytes.NewReader(t.items)), ContentLength: int64(len(t.items)), Request: req,
		}, nil
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// discardWriter is a reusable ResponseWriter that keeps only the status
// and the byte count.
type discardWriter struct {
	h    http.Header
	code int
	n    int64
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *discardWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.n += int64(len(p))
	return len(p), nil
}

func (w *discardWriter) reset() {
	clear(w.h)
	w.code, w.n = 0, 0
}

func handlerGET(b *testing.B, name string, h http.Handler, auth string) {
	b.Helper()
	req := httptest.NewRequest(http.MethodGet, "/Items", nil)
	req.Header.Set("Authorization", auth)
	w := &discardWriter{h: http.Header{}}
	want := int64(len(itemsJSON()))
	h.ServeHTTP(w, req)
	if w.code != http.StatusOK || w.n != want {
		b.Fatalf("GET /Items: HTTP %d, %d bytes", w.code, w.n)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w.reset()
		h.ServeHTTP(w, req)
		if w.code != http.StatusOK {
			b.Fatalf("GET /Items: HTTP %d", w.code)
		}
	}
	record(b, name)
}

// memUpstream is the in-memory upstream's base URL; the host is never
// dialled.
const memUpstream = "http://jellyfin.invalid:8096"

func BenchmarkReverseProxyHandler(b *testing.B) {
	handlerGET(b, "ReverseProxyHandler", plainProxy(memUpstream, newMemTransport()),
		`MediaBrowser Token="0123456789abcdef0123456789abcdef"`)
}

func BenchmarkPipelineHandler(b *testing.B) {
	h, auth := benchGateway(b, memUpstream, newMemTransport())
	handlerGET(b, "PipelineHandler", h, auth)
	reportRatios(b, map[string]string{"xproxy": "ReverseProxyHandler", "ns/op-over-proxy": "ReverseProxyHandler"})
}
