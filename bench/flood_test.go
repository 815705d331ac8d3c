package main

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// serveConns accepts on ln and hands every connection to handle until ln
// is closed.
func serveConns(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
	return ln.Addr().String()
}

func TestAcceptOnce(t *testing.T) {
	d, err := acceptDialer("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 512)

	dropping := serveConns(t, func(c net.Conn) { _ = c.Close() })
	if got, err := acceptOnce(d, dropping, buf, 2*time.Second); got != outDropped {
		t.Errorf("closed at accept: %s (%v), want dropped", got, err)
	}

	answering := serveConns(t, func(c net.Conn) {
		defer func() { _ = c.Close() }()
		_, _ = c.Read(make([]byte, 512))
		_, _ = c.Write([]byte("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"))
	})
	if got, err := acceptOnce(d, answering, buf, 2*time.Second); got != outAnswered {
		t.Errorf("answered: %s (%v), want answered", got, err)
	}

	silent := serveConns(t, func(c net.Conn) {
		time.Sleep(time.Second)
		_ = c.Close()
	})
	if got, _ := acceptOnce(d, silent, buf, 100*time.Millisecond); got != outTimeout {
		t.Errorf("silent: %s, want a timeout", got)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	_ = ln.Close()
	if got, _ := acceptOnce(d, closed, buf, time.Second); got != outDialError {
		t.Errorf("nothing listening: %s, want a failed connect", got)
	}
}

func TestOverlap(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	for _, c := range []struct {
		a0, a1, b0, b1, want float64
	}{
		{1, 3, 0, 10, 1},   // the stream within the flood
		{1, 3, 0, 2, 0.5},  // the flood ended halfway
		{1, 3, 5, 10, 0},   // no overlap
		{1, 1, 0, 10, 0},   // empty span
		{0, 4, 1, 2, 0.25}, // the flood within the stream
		{2, 6, 0, 3.5, 0.375},
	} {
		if got := overlap(at(c.a0), at(c.a1), at(c.b0), at(c.b1)); got != c.want {
			t.Errorf("overlap([%v,%v], [%v,%v]) = %v, want %v", c.a0, c.a1, c.b0, c.b1, got, c.want)
		}
	}
}

func TestCPUBetween(t *testing.T) {
	a := cpuStat{0: {busy: 100, steal: 0, total: 200}}
	b := cpuStat{0: {busy: 175, steal: 5, total: 300}}
	got := cpuBetween(a, b, 0)
	if got == nil || got.Busy != 75 || got.Steal != 5 {
		t.Errorf("cpuBetween = %+v, want 75%% busy, 5%% steal", got)
	}
	if cpuBetween(a, b, 1) != nil {
		t.Error("an unknown CPU has a share")
	}
	if s := readCPUStat(); len(s) == 0 {
		t.Log("/proc/stat unreadable here")
	}
}

func TestUpstreamCounters(t *testing.T) {
	srv := httptest.NewServer(newUpstream())
	defer srv.Close()
	get := func(path string, hdr ...string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if len(hdr) == 2 {
			req.Header.Set(hdr[0], hdr[1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}
	get("/Items")
	get("/Items")
	get("/Videos/"+benchItemID+"/stream", "Range", "bytes=0-9")
	get("/System/Info/Public")
	get(countersPath)
	resp, err := http.Get(srv.URL + countersPath)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var c upstreamCounters
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		t.Fatal(err)
	}
	if want := (upstreamCounters{Requests: 4, Items: 2, Streams: 1}); c != want {
		t.Errorf("counters = %+v, want %+v", c, want)
	}
}

// A "Connection: close" seen by get is the server's choice, not the
// client's.
func TestGetSeesServerClose(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/close" {
			w.Header().Set("Connection", "close")
		}
		w.WriteHeader(http.StatusForbidden)
	}))
	defer srv.Close()
	g := &floodGateway{pr: &peer{name: "test", base: srv.URL}}
	for path, want := range map[string]string{"/keep": "", "/close": "close"} {
		code, hdr, err := g.get(t.Context(), path, []string{"X-Forwarded-For: " + floodBannedXFF}, "")
		if err != nil || code != http.StatusForbidden {
			t.Fatalf("GET %s: HTTP %d, %v", path, code, err)
		}
		if got := hdr.Get("Connection"); got != want {
			t.Errorf("GET %s: Connection %q, want %q", path, got, want)
		}
	}
}
