package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// The Jellyfin stand-in: the handful of routes the benchmark drives, served
// by Go's http.Server with its default settings, so that "direct" is a fast
// upstream and the cost of whatever sits in front of it shows.

const (
	// streamSize is the size of every /Videos/{id}/stream body.
	streamSize = 1 << 30
	// loginWork is how long a login keeps the CPU busy, standing in for
	// Jellyfin's password hashing.
	loginWork = time.Millisecond
	// benchServerID is the stand-in's ServerId.
	benchServerID = "6a1b2c3d4e5f40718293a4b5c6d7e8f9"
	// benchUserID is the one user every token belongs to.
	benchUserID = "0f1e2d3c4b5a49687766554433221100"
)

// runUpstream serves the stand-in on addr until SIGTERM or SIGINT. It prints
// "listening <addr>" on standard output once it accepts connections, so the
// parent can pass port 0 and learn the port.
func runUpstream(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("upstream: %w", err)
	}
	// Default settings on purpose: the direct baseline is a plain Go server.
	srv := &http.Server{Handler: newUpstream()}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Printf("listening %s\n", ln.Addr())
	select {
	case err := <-errc:
		return fmt.Errorf("upstream: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	return nil
}

// newUpstream returns the stand-in's handler.
func newUpstream() http.Handler {
	items := itemsJSON()
	info := mustJSON(map[string]any{
		"LocalAddress": "http://127.0.0.1:8096", "ServerName": "bench", "Version": "10.11.11",
		"ProductName": "Jellyfin Server", "OperatingSystem": "", "Id": benchServerID, "StartupWizardCompleted": true,
	})
	me := mustJSON(map[string]any{"Id": benchUserID, "Name": "bench", "ServerId": benchServerID,
		"Policy": map[string]any{"IsAdministrator": false, "IsDisabled": false}})

	// Counters of the requests served, read at countersPath: the banned
	// flood checks with them that no refused request reached Jellyfin.
	var total, itemReqs, streams atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+countersPath, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, mustJSON(upstreamCounters{Requests: total.Load(), Items: itemReqs.Load(), Streams: streams.Load()}))
	})
	mux.HandleFunc("GET /Items", func(w http.ResponseWriter, _ *http.Request) {
		itemReqs.Add(1)
		writeJSON(w, http.StatusOK, items)
	})
	mux.HandleFunc("GET /Videos/{id}/stream", func(w http.ResponseWriter, r *http.Request) {
		streams.Add(1)
		w.Header().Set("Content-Type", "video/mp4")
		http.ServeContent(w, r, "", time.Time{}, &patternReader{size: streamSize})
	})
	mux.HandleFunc("POST /Users/AuthenticateByName", authenticateByName)
	mux.HandleFunc("GET /Users/Me", func(w http.ResponseWriter, r *http.Request) {
		if requestToken(r) == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		writeJSON(w, http.StatusOK, me)
	})
	mux.HandleFunc("/System/Info/Public", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, info)
	})
	mux.HandleFunc("POST /Sessions/Logout", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /Auth/Keys", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, []byte(`{"Items":[],"TotalRecordCount":0,"StartIndex":0}`))
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != countersPath {
			total.Add(1)
		}
		mux.ServeHTTP(w, r)
	})
}

// countersPath is where the stand-in tells how many requests it served.
// Only the benchmark reads it, directly (never through a proxy).
const countersPath = "/_bench/counters"

// upstreamCounters are the requests the stand-in served, counters aside.
type upstreamCounters struct {
	Requests int64 `json:"requests"`
	Items    int64 `json:"items"`   // of which GET /Items
	Streams  int64 `json:"streams"` // of which /Videos/{id}/stream
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// itemsJSON is a fixed item list of about 2 KB, shaped like Jellyfin's
// /Items answer.
func itemsJSON() []byte {
	type item struct {
		Name           string
		ServerID       string `json:"ServerId"`
		ID             string `json:"Id"`
		Type           string
		ProductionYear int
		RunTimeTicks   int64
		IsFolder       bool
		MediaType      string
	}
	var list struct {
		Items            []item
		TotalRecordCount int
		StartIndex       int
	}
	for i := 0; ; i++ {
		sum := sha256.Sum256([]byte("item" + strconv.Itoa(i)))
		list.Items = append(list.Items, item{
			Name: fmt.Sprintf("Bench Movie %d", i+1), ServerID: benchServerID, ID: hex.EncodeToString(sum[:16]),
			Type: "Movie", ProductionYear: 1990 + i, RunTimeTicks: 72000000000 + int64(i)*600000000, MediaType: "Video",
		})
		list.TotalRecordCount = len(list.Items)
		if b := mustJSON(list); len(b) >= 1900 {
			return b
		}
	}
}

// authenticateByName stands in for Jellyfin's login: it checks the
// MediaBrowser header the way Jellyfin does (400 without Client, Device,
// DeviceId and Version), works for about a millisecond, and answers an
// AuthenticationResult with a fresh token.
func authenticateByName(w http.ResponseWriter, r *http.Request) {
	var body struct{ Username, Pw string }
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&body); err != nil || strings.TrimSpace(body.Username) == "" {
		http.Error(w, "Error processing request.", http.StatusBadRequest)
		return
	}
	params := mediaBrowserParams(r.Header.Get("Authorization"))
	for _, k := range []string{"Client", "Device", "DeviceId", "Version"} {
		if params[k] == "" {
			http.Error(w, "Error processing request.", http.StatusBadRequest)
			return
		}
	}
	busy(loginWork, body.Pw)
	token := newHex()
	now := time.Now().UTC().Format(time.RFC3339Nano)
	res := map[string]any{
		"User": map[string]any{
			"Name": body.Username, "ServerId": benchServerID, "Id": benchUserID, "HasPassword": true,
			"HasConfiguredPassword": true, "LastLoginDate": now, "LastActivityDate": now,
			"Policy": map[string]any{"IsAdministrator": false, "IsDisabled": false, "EnableRemoteAccess": true},
		},
		"SessionInfo": map[string]any{
			"Id": newHex(), "UserId": benchUserID, "UserName": body.Username, "Client": params["Client"],
			"DeviceName": params["Device"], "DeviceId": params["DeviceId"], "ApplicationVersion": params["Version"],
			"RemoteEndPoint": r.Header.Get("X-Forwarded-For"), "LastActivityDate": now, "IsActive": true,
			"ServerId": benchServerID, "AdditionalUsers": []any{}, "PlayableMediaTypes": []any{}, "SupportedCommands": []any{},
		},
		"AccessToken": token,
		"ServerId":    benchServerID,
	}
	writeJSON(w, http.StatusOK, mustJSON(res))
}

// busy keeps the CPU working for d, as password hashing does.
func busy(d time.Duration, seed string) {
	sum := sha256.Sum256([]byte(seed))
	for start := time.Now(); time.Since(start) < d; {
		for range 64 {
			sum = sha256.Sum256(sum[:])
		}
	}
}

func newHex() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// mediaBrowserParams reads the key="value" pairs of an
// `Authorization: MediaBrowser …` header.
func mediaBrowserParams(h string) map[string]string {
	out := map[string]string{}
	scheme, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "MediaBrowser") {
		return out
	}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		out[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	return out
}

// requestToken finds a token in the places the benchmark sends one.
func requestToken(r *http.Request) string {
	if t := mediaBrowserParams(r.Header.Get("Authorization"))["Token"]; t != "" {
		return t
	}
	if t := r.Header.Get("X-Emby-Token"); t != "" {
		return t
	}
	return r.URL.Query().Get("api_key")
}

// pattern is the repeating content of generated streams: pseudo-random so
// that nothing on the way can compress it.
var pattern = func() []byte {
	b := make([]byte, 64<<10)
	seed := sha256.Sum256([]byte("jellyguard bench stream"))
	for i := 0; i < len(b); i += len(seed) {
		seed = sha256.Sum256(seed[:])
		copy(b[i:], seed[:])
	}
	return b
}()

// patternReader is an io.ReadSeeker over size bytes of pattern, repeated:
// a large file without the memory.
type patternReader struct {
	size, off int64
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.off >= p.size {
		return 0, io.EOF
	}
	if rem := p.size - p.off; int64(len(b)) > rem {
		b = b[:rem]
	}
	n := 0
	for n < len(b) {
		n += copy(b[n:], pattern[(p.off+int64(n))%int64(len(pattern)):])
	}
	p.off += int64(n)
	return n, nil
}

func (p *patternReader) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = p.off + offset
	case io.SeekEnd:
		abs = p.size + offset
	default:
		return 0, errors.New("seek: invalid whence")
	}
	if abs < 0 {
		return 0, errors.New("seek: negative position")
	}
	p.off = abs
	return abs, nil
}

// readListening reads the "listening <addr>" line a child prints.
func readListening(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("reading the upstream's address: %w", err)
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if !ok {
		return "", fmt.Errorf("unexpected upstream output %q", line)
	}
	return addr, nil
}
