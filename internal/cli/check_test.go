package cli

import (
	"bytes"
	"context"
	"net"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/jellyguard/jellyguard/internal/jellyfin/fake"
)

// fakeJellyfin serves an emulator configured by opts and network, and returns
// its URL and an API key for it.
func fakeJellyfin(t *testing.T, opts fake.Options, network func(*fake.NetworkConfig)) (string, string) {
	t.Helper()
	srv := fake.New(opts)
	if network != nil {
		srv.UpdateNetwork(network)
	}
	key := srv.AddAPIKey("jellyguard")
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts.URL, key
}

func knownProxies(p ...string) func(*fake.NetworkConfig) {
	return func(n *fake.NetworkConfig) { n.KnownProxies = p }
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		opts    fake.Options
		net     func(*fake.NetworkConfig)
		noKey   bool
		code    int
		want    []string
		notWant []string
	}{
		{
			name: "no known proxies", code: exitError,
			want: []string{"✔ Jellyfin \"Jellyfin Emulator\" answers", "✘ Jellyfin does not trust any proxy",
				"fail2ban", "Fix: Dashboard → Networking → Known proxies: add 127.0.0.1, then restart Jellyfin."},
		},
		{
			name: "gateway is a known proxy", net: knownProxies("127.0.0.1"), code: exitOK,
			want: []string{"✔ Jellyfin trusts the gateway (127.0.0.1", "✔ Jellyfin serves from the root"},
		},
		{
			name: "known proxy CIDR", net: knownProxies("10.0.0.0/8", "127.0.0.0/8"), code: exitOK,
			want: []string{`matching Known proxies entry "127.0.0.0/8"`},
		},
		{
			name: "loopback trusted once any proxy is known", net: knownProxies("192.0.2.1"), code: exitOK,
			want: []string{"✔ the gateway reaches Jellyfin over loopback"},
		},
		{
			name: "no API key", noKey: true, code: exitOK,
			want:    []string{"! cannot check Known proxies without an API key (set api_key)"},
			notWant: []string{"✘"},
		},
		{
			name: "old version", opts: fake.Options{Version: "10.9.11"}, net: knownProxies("127.0.0.1"), code: exitOK,
			want: []string{"! Jellyfin 10.9.11 is untested"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, key := fakeJellyfin(t, tt.opts, tt.net)
			env := map[string]string{"JELLYGUARD_UPSTREAM": url, "JELLYGUARD_API_KEY": key}
			if tt.noKey {
				delete(env, "JELLYGUARD_API_KEY")
			}
			r := runCLIEnv(t, env, "check")
			if r.code != tt.code {
				t.Errorf("exit %d, want %d", r.code, tt.code)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(r.stdout, w) {
					t.Errorf("output has %q", w)
				}
			}
			if t.Failed() {
				t.Logf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			}
		})
	}
}

func TestCheckUnreachableAndInvalid(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "check", "--upstream", "http://"+addr)
	if r.code != exitError || !strings.Contains(r.stdout, "✘ cannot reach Jellyfin at http://"+addr) {
		t.Errorf("unreachable: exit %d\n%s", r.code, r.stdout)
	}

	r = runCLI(t, "check", "--listen", "nonsense", "--log-format", "xml")
	if r.code != exitError || strings.Count(r.stdout, "✘ config: ") != 2 {
		t.Errorf("invalid config: exit %d\n%s", r.code, r.stdout)
	}

	r = runCLI(t, "check")
	if r.code != exitError || !strings.Contains(r.stdout, "✘ no upstream") {
		t.Errorf("no upstream: exit %d\n%s", r.code, r.stdout)
	}
}

func TestCheckBaseURL(t *testing.T) {
	tests := []struct {
		jellyfin, configured string
		fails                bool
	}{
		{"", "", false},
		{"/", "", false},
		{"/jellyfin", "/jellyfin", false},
		{"jellyfin/", "/jellyfin", false},
		{"/jellyfin", "", true},
		{"", "/jellyfin", true},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		r := newReport(&out, false)
		checkBaseURL(r, tt.jellyfin, tt.configured)
		if r.failed != tt.fails {
			t.Errorf("BaseUrl %q vs base_url %q: failed=%v\n%s", tt.jellyfin, tt.configured, r.failed, out.String())
		}
		if tt.fails && !strings.Contains(out.String(), "Fix: set base_url") {
			t.Errorf("no fix given:\n%s", out.String())
		}
	}
}

func TestEntryCovers(t *testing.T) {
	ctx := context.Background()
	addr := netip.MustParseAddr("192.168.1.20")
	for entry, want := range map[string]bool{
		"192.168.1.20":        true,
		"192.168.1.0/24":      true,
		"192.168.2.0/24":      false,
		"::ffff:192.168.1.20": true,
		"10.0.0.1":            false,
		"localhost":           false,
		"not a host name":     false,
	} {
		if got := entryCovers(ctx, entry, addr); got != want {
			t.Errorf("%q covers %s: %v, want %v", entry, addr, got, want)
		}
	}
	if !entryCovers(ctx, "localhost", netip.MustParseAddr("127.0.0.1")) {
		t.Error("host names are resolved")
	}
}

func TestCheckVersion(t *testing.T) {
	for v, untested := range map[string]bool{
		"10.11.11": false, "10.10.7": false, "10.9.11": true, "12.0.0": true, "11.2.0": false, "banana": true,
	} {
		var out bytes.Buffer
		checkVersion(newReport(&out, false), v)
		if got := out.Len() > 0; got != untested {
			t.Errorf("%s: warned=%v, want %v (%q)", v, got, untested, out.String())
		}
	}
}

func TestColorOnlyOnTerminal(t *testing.T) {
	if useColor(&bytes.Buffer{}, mapEnv(nil)) {
		t.Error("colour on a buffer")
	}
	var out bytes.Buffer
	r := newReport(&out, true)
	r.fail("x")
	if !strings.Contains(out.String(), red+"✘"+reset) {
		t.Errorf("coloured marker missing: %q", out.String())
	}
}
