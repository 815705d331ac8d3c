package gateway

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestClientAddrWalksTrustedProxiesFromTheRight(t *testing.T) {
	trusted := newPrefixSet([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")})
	cases := []struct {
		name     string
		peer     string
		xff      []string
		want     string
		viaProxy bool
	}{
		{"no proxy configured header ignored", "203.0.113.9:5000", []string{"1.2.3.4"}, "203.0.113.9", false},
		{"untrusted peer header ignored", "198.51.100.1:5000", []string{"1.2.3.4"}, "198.51.100.1", false},
		{"trusted peer one hop", "10.0.0.2:5000", []string{"203.0.113.7"}, "203.0.113.7", true},
		{"spoofed left entries ignored", "10.0.0.2:5000", []string{"6.6.6.6, 203.0.113.7"}, "203.0.113.7", true},
		{"chain of trusted proxies", "10.0.0.2:5000", []string{"203.0.113.7, 10.1.1.1, 10.2.2.2"}, "203.0.113.7", true},
		{"repeated header lines", "10.0.0.2:5000", []string{"6.6.6.6", "203.0.113.7, 10.9.9.9"}, "203.0.113.7", true},
		{"only trusted hops", "10.0.0.2:5000", []string{"10.3.3.3"}, "10.3.3.3", true},
		{"garbage stops the walk at the last good hop", "10.0.0.2:5000", []string{"1.1.1.1, garbage"}, "10.0.0.2", true},
		{"no header", "10.0.0.2:5000", nil, "10.0.0.2", true},
		{"ipv4-mapped peer", "[::ffff:10.0.0.2]:5000", []string{"203.0.113.7"}, "203.0.113.7", true},
		{"ipv6 peer and hop with port", "[2001:db8::1]:443", []string{"[2001:db8:1::5]:1234, 198.51.100.4:80"}, "198.51.100.4", true},
		{"bracketed v6 hop", "10.0.0.2:1", []string{"[2a00::1]"}, "2a00::1", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			set := trusted
			if c.name == "no proxy configured header ignored" {
				set = nil
			}
			r, _ := http.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.peer
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			got, via := clientAddr(r, set)
			if got.String() != c.want || via != c.viaProxy {
				t.Fatalf("clientAddr = %v, %v; want %v, %v", got, via, c.want, c.viaProxy)
			}
		})
	}
}

func TestForwardedProtoAndHostBelievedOnlyFromTrustedProxies(t *testing.T) {
	r, _ := http.NewRequest("GET", "http://media.example.com/", nil)
	r.Header.Set("X-Forwarded-Proto", "https")
	r.Header.Set("X-Forwarded-Host", "evil.example")
	if got := forwardedProto(r, false); got != "http" {
		t.Errorf("untrusted proto = %q", got)
	}
	if got := forwardedHost(r, false); got != "media.example.com" {
		t.Errorf("untrusted host = %q", got)
	}
	if got := forwardedProto(r, true); got != "https" {
		t.Errorf("trusted proto = %q", got)
	}
	r.Header.Set("X-Forwarded-Proto", "javascript")
	if got := forwardedProto(r, true); got != "http" {
		t.Errorf("bogus proto accepted: %q", got)
	}
}

func TestCountKeyGroupsIPv6By64(t *testing.T) {
	a := CountKey(netip.MustParseAddr("2001:db8:1:2:aaaa::1"))
	b := CountKey(netip.MustParseAddr("2001:db8:1:2:bbbb::9"))
	c := CountKey(netip.MustParseAddr("2001:db8:1:3::1"))
	if a != b || a == c {
		t.Fatalf("CountKey: %s %s %s", a, b, c)
	}
	if got := CountKey(netip.MustParseAddr("203.0.113.7")); got != "203.0.113.7" {
		t.Fatalf("v4 key %s", got)
	}
}

func FuzzClientAddr(f *testing.F) {
	f.Add("10.0.0.2:80", "1.2.3.4, 10.0.0.1")
	f.Add("[::1]:1", "[::1], garbage,,")
	f.Add("x", "")
	trusted := newPrefixSet([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")})
	f.Fuzz(func(t *testing.T, peer, xff string) {
		r, _ := http.NewRequest("GET", "/", nil)
		r.RemoteAddr = peer
		r.Header.Set("X-Forwarded-For", xff)
		got, via := clientAddr(r, trusted)
		if !via && got != peerAddr(r) {
			t.Fatalf("untrusted peer but client %v != peer", got)
		}
		if via && got.IsValid() && got != peerAddr(r) && !containsHop(xff, got) {
			t.Fatalf("client %v is neither the peer nor a hop of %q", got, xff)
		}
	})
}

func containsHop(xff string, a netip.Addr) bool {
	for _, h := range splitHops(xff) {
		if b, ok := parseHop(h); ok && b == a {
			return true
		}
	}
	return false
}

func splitHops(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}
