package outbound

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"testing"
	"time"
)

func TestAllowed(t *testing.T) {
	for s, want := range map[string]bool{
		"8.8.8.8": true, "2606:4700::1": true, "10.1.2.3": false, "192.168.0.1": false, "172.16.5.5": false,
		"127.0.0.1": false, "::1": false, "169.254.169.254": false, "fe80::1": false, "100.64.1.1": false,
		"0.0.0.0": false, "::ffff:10.0.0.1": false, "224.0.0.1": false, "fd00::1": false,
	} {
		if got := Allowed(netip.MustParseAddr(s)); got != want {
			t.Errorf("Allowed(%s) = %v", s, got)
		}
	}
}

func TestClientRefusesInternalTargetsAtDialTime(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	defer srv.Close()
	_, err := Client(5*time.Second, false).Get(srv.URL)
	if !errors.Is(err, ErrForbidden) {
		t.Fatalf("loopback target: %v", err)
	}
	// "localhost" resolves to loopback: the dialed address is what counts.
	u, _ := url.Parse(srv.URL)
	_, err = Client(5*time.Second, false).Get("http://localhost:" + u.Port())
	if !errors.Is(err, ErrForbidden) {
		t.Fatalf("a name resolving to loopback: %v", err)
	}
	resp, err := Client(5*time.Second, true).Get(srv.URL)
	if err != nil {
		t.Fatalf("allowed private target: %v", err)
	}
	_ = resp.Body.Close()
	for _, bad := range []string{"file:///etc/passwd", "ftp://x/", "https://user:pw@example.com/"} {
		u, _ := url.Parse(bad)
		if CheckURL(u) == nil {
			t.Errorf("CheckURL(%s) accepted", bad)
		}
	}
}
