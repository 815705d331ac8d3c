package fake

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/testkit"
)

// webHeader is jellyfin-web's Authorization header before login (§10.3).
const webHeader = `MediaBrowser Client="Jellyfin Web", Device="Firefox", DeviceId="dev-1", Version="10.11.11"`

// env is an emulator behind a real loopback HTTP server.
type env struct {
	t   *testing.T
	s   *Server
	ts  *httptest.Server
	log *testkit.Buffer
}

func newEnv(t *testing.T, o Options) *env {
	t.Helper()
	e := &env{t: t, log: &testkit.Buffer{}}
	if o.Log == nil {
		o.Log = e.log
	}
	e.s = New(o)
	e.ts = httptest.NewServer(e.s)
	t.Cleanup(e.ts.Close)
	return e
}

// resp is a finished response with its body read.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %q: %v", r.body, err)
	}
}

// hdr builds headers from "Name: value" lines.
func hdr(lines ...string) http.Header {
	h := http.Header{}
	for _, l := range lines {
		k, v, _ := strings.Cut(l, ":")
		h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	return h
}

// do sends a request through net/http (which keeps the escaped path).
func (e *env) do(method, target string, h http.Header, body string) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.ts.URL+target, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if body != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, b}
}

// raw writes a request line and headers byte for byte, for targets that an
// HTTP client would normalise.
func (e *env) raw(method, target string, h http.Header, body string) resp {
	e.t.Helper()
	conn, err := net.Dial("tcp", e.ts.Listener.Addr().String())
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, target, e.ts.Listener.Addr())
	for k, vs := range h {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	if body != "" {
		fmt.Fprintf(&b, "Content-Type: application/json\r\nContent-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n" + body)
	if _, err := io.WriteString(conn, b.String()); err != nil {
		e.t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	rb, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, rb}
}

// loginBody returns an AuthenticateByName body.
func loginJSON(name, pw string) string {
	b, _ := json.Marshal(map[string]string{"Username": name, "Pw": pw})
	return string(b)
}

// clientHeader is a full client header for a device, with a token if given.
func clientHeader(deviceID, token string) http.Header {
	v := fmt.Sprintf(`MediaBrowser Client="Jellyfin Web", Device="Firefox", DeviceId="%s", Version="10.11.11"`, deviceID)
	if token != "" {
		v += fmt.Sprintf(`, Token="%s"`, token)
	}
	return hdr("Authorization: " + v)
}

// login signs in and returns the token (fails the test on non-200).
func (e *env) login(name, pw, deviceID string) string {
	e.t.Helper()
	r := e.do("POST", "/Users/AuthenticateByName", clientHeader(deviceID, ""), loginJSON(name, pw))
	if r.status != 200 {
		e.t.Fatalf("login %s: status %d body %q", name, r.status, r.body)
	}
	var res struct{ AccessToken string }
	r.json(e.t, &res)
	return res.AccessToken
}

// tokenHeader authenticates with a token only.
func tokenHeader(token string) http.Header {
	return hdr(`Authorization: MediaBrowser Token="` + token + `"`)
}

func newClock() *testkit.Clock {
	return testkit.NewClock(time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC))
}
