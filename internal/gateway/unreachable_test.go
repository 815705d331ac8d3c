package gateway_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/testkit"
	"github.com/jellyguard/jellyguard/internal/testutil"
)

// refusingJellyfin is an address where nothing listens.
func refusingJellyfin(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "http://" + addr
}

// gatewayBefore starts the gateway in front of the Jellyfin at upstream.
func gatewayBefore(t *testing.T, upstream string, headerTimeout time.Duration) *testutil.Env {
	t.Helper()
	return testutil.Start(t, testutil.Options{Upstream: http.NotFoundHandler(), NoAPIKey: true,
		Configure: func(c *config.Config) {
			c.Upstream = upstream
			c.Limits.UpstreamHeaderTimeout = headerTimeout
		}})
}

// gotAnswer is what the client got.
type gotAnswer struct {
	status      int
	contentType string
	body        string
	took        time.Duration
}

func askGateway(t *testing.T, e *testutil.Env, method, path, accept string, body []byte) gotAnswer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req := e.RawRequest(method, path, rd)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", testutil.AuthHeader("unreachable-test", ""))
	}
	start := time.Now()
	resp := e.Do(req)
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading: %v", method, path, err)
	}
	return gotAnswer{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: string(b), took: time.Since(start)}
}

var unreachableLogin = []byte(`{"Username":"alice","Pw":"alice-password"}`)

// checkUnreachable checks that a is the unreachable answer with status, in
// the form accept asks for.
func checkUnreachable(t *testing.T, what string, a gotAnswer, status int, accept string) {
	t.Helper()
	if a.status != status {
		t.Errorf("%s: status %d, want %d (body %q)", what, a.status, status, a.body)
		return
	}
	switch {
	case strings.Contains(accept, "text/html"):
		if !strings.HasPrefix(a.contentType, "text/html") || !strings.Contains(a.body, "<h1>Jellyfin is unreachable</h1>") {
			t.Errorf("%s: %s %q, want the HTML page", what, a.contentType, a.body)
		}
		for _, external := range []string{"src=", "<link", "url(", "@import", "http://", "https://"} {
			if strings.Contains(a.body, external) {
				t.Errorf("%s: the page loads something (%q) from a server that is not answering", what, external)
			}
		}
		if !strings.Contains(a.body, "--bg:#101010") {
			t.Errorf("%s: the page is not dark by default", what)
		}
	case strings.Contains(accept, "json"):
		var got struct{ Error, Message string }
		if err := json.Unmarshal([]byte(a.body), &got); err != nil || !strings.HasPrefix(a.contentType, "application/json") {
			t.Errorf("%s: %s %q is not JSON: %v", what, a.contentType, a.body, err)
		}
		if got.Error != "jellyfin_unreachable" || !strings.HasPrefix(got.Message, "Jellyfin is unreachable") {
			t.Errorf("%s: %+v", what, got)
		}
	default:
		if !strings.HasPrefix(a.contentType, "text/plain") || !strings.HasPrefix(a.body, "Jellyfin is unreachable") {
			t.Errorf("%s: %s %q, want the plain-text message", what, a.contentType, a.body)
		}
	}
}

const (
	acceptBrowser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	acceptJSON    = "application/json, text/plain, */*"
)

func TestHungJellyfinAnswers504WithinTheHeaderTimeout(t *testing.T) {
	const timeout = 400 * time.Millisecond
	e := gatewayBefore(t, testkit.HangingServer(t), timeout)
	for _, tt := range []struct {
		what, method, path, accept string
		body                       []byte
	}{
		{"API, JSON client", "GET", "/System/Info/Public", acceptJSON, nil},
		{"web client, browser", "GET", "/web/index.html", acceptBrowser, nil},
		{"stream, no Accept", "GET", "/Videos/1/stream", "", nil},
		{"login, JSON client", "POST", "/Users/AuthenticateByName", acceptJSON, unreachableLogin},
	} {
		a := askGateway(t, e, tt.method, tt.path, tt.accept, tt.body)
		checkUnreachable(t, tt.what, a, http.StatusGatewayTimeout, tt.accept)
		if a.took < timeout || a.took > timeout+3*time.Second {
			t.Errorf("%s: answered after %v, want just over the %v timeout", tt.what, a.took, timeout)
		}
		if !strings.Contains(a.body, "did not start answering in time") {
			t.Errorf("%s: body %q does not say Jellyfin took too long", tt.what, a.body)
		}
	}
	if !strings.Contains(e.Logs.String(), "timeout awaiting response headers") {
		t.Errorf("the log does not say why:\n%s", e.Logs)
	}
}

func TestRefusedJellyfinAnswers502InTheClientsForm(t *testing.T) {
	e := gatewayBefore(t, refusingJellyfin(t), time.Minute)
	for _, accept := range []string{acceptBrowser, acceptJSON, "application/json", "", "*/*", "text/plain",
		"application/json;q=0.5, text/html;q=0.9"} {
		for _, tt := range []struct {
			what, method, path string
			body               []byte
		}{
			{"API", "GET", "/Items", nil},
			{"login", "POST", "/Users/AuthenticateByName", unreachableLogin},
			{"legacy login path", "POST", "/emby/Users/authenticatebyname", unreachableLogin},
		} {
			a := askGateway(t, e, tt.method, tt.path, accept, tt.body)
			checkUnreachable(t, fmt.Sprintf("%s with Accept %q", tt.what, accept), a, http.StatusBadGateway, accept)
			if !strings.Contains(a.body, "could not connect") {
				t.Errorf("%s: body %q does not say the gateway could not connect", tt.what, a.body)
			}
		}
	}
	if a := askGateway(t, e, "HEAD", "/Items", acceptJSON, nil); a.status != http.StatusBadGateway || a.body != "" {
		t.Errorf("HEAD: %d %q", a.status, a.body)
	}
}

func TestEmptyErrorFromJellyfinIsExplained(t *testing.T) {
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("case") {
		case "empty":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "empty-chunked":
			w.WriteHeader(http.StatusBadGateway)
			w.(http.Flusher).Flush() // no length: the gateway has to look
		case "said":
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "Jellyfin is starting up")
		}
	})
	e := testutil.Start(t, testutil.Options{Upstream: upstream, NoAPIKey: true})
	checkUnreachable(t, "empty 503", askGateway(t, e, "GET", "/System/Info/Public?case=empty", acceptBrowser, nil),
		http.StatusServiceUnavailable, acceptBrowser)
	checkUnreachable(t, "empty 502 of unknown length", askGateway(t, e, "GET", "/System/Info/Public?case=empty-chunked", acceptJSON, nil),
		http.StatusBadGateway, acceptJSON)
	if a := askGateway(t, e, "GET", "/System/Info/Public?case=said", acceptJSON, nil); a.status != 503 || a.body != "Jellyfin is starting up" {
		t.Errorf("a 503 that says something was changed: %d %q", a.status, a.body)
	}
}

func TestStartedAnswerOutlivesTheHeaderTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(timeout / 3) // slow to start, but within the timeout
		w.Header().Set("Content-Type", "video/mp2t")
		for i := range 4 {
			_, _ = fmt.Fprintf(w, "chunk %d\n", i)
			w.(http.Flusher).Flush()
			time.Sleep(timeout) // each pause as long as the whole timeout
		}
	})
	e := testutil.Start(t, testutil.Options{Upstream: upstream, NoAPIKey: true, Configure: func(c *config.Config) {
		c.Limits.UpstreamHeaderTimeout = timeout
	}})
	resp := e.Do(e.RawRequest("GET", "/Videos/1/stream", nil))
	defer func() { _ = resp.Body.Close() }()
	sc := bufio.NewScanner(resp.Body)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if resp.StatusCode != 200 || len(lines) != 4 {
		t.Fatalf("status %d, got %q, err %v", resp.StatusCode, lines, sc.Err())
	}
}

// TestTokenCheckWhileJellyfinIsDownSaysSo: a token the gateway must ask
// Jellyfin about, asked while Jellyfin is down, gets the unreachable answer
// rather than an empty 503.
func TestTokenCheckWhileJellyfinIsDownSaysSo(t *testing.T) {
	e := testutil.Start(t, testutil.Options{Upstream: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})})
	req := e.RawRequest(http.MethodGet, "/Users/Me", nil)
	req.Header.Set("Authorization", `MediaBrowser Token="0123456789abcdef0123456789abcdef"`)
	req.Header.Set("Accept", "application/json")
	resp := e.Do(req)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), `"error":"jellyfin_unreachable"`) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}
