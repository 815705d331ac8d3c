package jellyfin

import (
	"net/http"
	"strings"
	"testing"
)

func FuzzClassify(f *testing.F) {
	seeds := []struct{ method, path, base string }{
		{"POST", "/Users/AuthenticateByName", ""},
		{"POST", "/emby/%2555sers/AuthenticateByName", ""},
		{"POST", "/web/%2e%2e/Users/AuthenticateByName", ""},
		{"POST", "/x%2Fy/../Users/AuthenticateByName", ""},
		{"POST", "/jellyguard%2F..%2FUsers/AuthenticateByName", ""},
		{"GET", "/JELLYFIN/emby//users/./authenticatebyname/", "/jellyfin"},
		{"GET", "/%252e%252e/Users/AuthenticateByName", ""},
		{"GET", "/Items/1/Images/Primary", "jellyfin/"},
		{"HEAD", "/Videos/1/hls/p/0.ts", ""},
		{"GET", "/a\x00b/%00/%2F%2f/..%2F", "/a/b"},
		{"GET", "/U%C5%BFers/Authent%C4%B1cateByName", ""},
		{"GET", "", ""},
		{"GET", "%", "%2F"},
		{"0", "Users/AuthentiCAteBYNAme", "0"}, // outside the base: not a login
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.base)
	}
	f.Fuzz(func(t *testing.T, method, path, base string) {
		r := Classify(method, path, base)
		checkNormalPath(t, r.Path)
		if r.Path == "/users/authenticatebyname" && r.Class != ClassLogin && r.Class != ClassOutsideBase {
			t.Fatalf("Classify(%q, %q) = %v for the login path", path, base, r.Class)
		}
		if r.Class == ClassLoginLegacy && r.UserID == "" {
			t.Fatalf("legacy login without a user id: %q", path)
		}
		// The same login behind the /emby prefix is still a login (a path
		// that is itself prefixed or percent-encoded reads differently once
		// Jellyfin decodes it again).
		lower := strings.ToLower(path)
		if r.Class.IsLogin() && base == "" && !strings.ContainsAny(path, "%\x00") &&
			!strings.Contains(lower, "emby") && !strings.Contains(lower, "mediabrowser") {
			if e := Classify(method, "/emby"+ensureSlash(path), base); !e.Class.IsLogin() {
				t.Fatalf("%q is a login but /emby%s is %v", path, path, e.Class)
			}
		}
		np, _ := NormalizePath(path, base)
		if np != r.Path {
			t.Fatalf("NormalizePath = %q, Classify path = %q", np, r.Path)
		}
	})
}

// checkNormalPath asserts the shape of a normalised path.
func checkNormalPath(t *testing.T, p string) {
	t.Helper()
	switch {
	case !strings.HasPrefix(p, "/"):
		t.Fatalf("path %q does not start with /", p)
	case strings.Contains(p, "//"), strings.Contains(p, "/./"), strings.Contains(p, "/../"),
		strings.HasSuffix(p, "/."), strings.HasSuffix(p, "/.."):
		t.Fatalf("path %q is not normalised", p)
	case len(p) > 1 && strings.HasSuffix(p, "/"):
		t.Fatalf("path %q keeps a trailing slash", p)
	case strings.ContainsFunc(p, func(r rune) bool { return 'A' <= r && r <= 'Z' }):
		t.Fatalf("path %q has upper-case letters", p)
	}
}

func FuzzParseParts(f *testing.F) {
	for _, s := range []string{
		`Client="Jellyfin Web", Device="Firefox", DeviceId="abc", Version="10.11.11", Token="t"`,
		`x="123,123",   y="123"`, `Token= "abc"`, `Token="abc" , Client="x"`, `DeviceId=abc==, Token="t"`,
		`Token=,abc`, `"unterminated, Token=x`, `Device="My+Phone%20X%E2%82"`, ``, `,,,===""`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		parts := ParseParts(s)
		last := map[string]string{}
		scanParts(s, func(k, v string) { last[k] = v })
		if len(last) != len(parts) {
			t.Fatalf("ParseParts and scanParts disagree on %q", s)
		}
		for k, v := range parts {
			if last[k] != v {
				t.Fatalf("ParseParts(%q)[%q] = %q, scan says %q", s, k, v, last[k])
			}
			if k != strings.TrimSpace(k) {
				t.Fatalf("key %q not trimmed", k)
			}
		}
	})
}

func FuzzAuthHeader(f *testing.F) {
	f.Add("Jellyfin Web", `My "Phone", 2`, "a=b==", "10.11.11", "tok")
	f.Add("", "", "", "", "")
	f.Fuzz(func(t *testing.T, client, device, id, version, token string) {
		for _, s := range []string{client, device, id, version, token} {
			if strings.ToValidUTF8(s, "") != s {
				t.Skip("the decoder repairs ill-formed UTF-8")
			}
		}
		p := ParseParts(strings.TrimPrefix(AuthHeader(client, device, id, version, token), "MediaBrowser "))
		if p["Client"] != client || p["Device"] != device || p["DeviceId"] != id || p["Version"] != version || p["Token"] != token {
			t.Fatalf("round trip lost a field: %q", p)
		}
	})
}

func FuzzParseRequest(f *testing.F) {
	f.Add(`MediaBrowser Token="a"`, `Emby Token="b"`, "c", "d", "ApiKey=e&api_key=f", uint8(0))
	f.Add(`Bearer x`, `MediaBrowser Token="b"`, "", "", "api_key%3Dq", uint8(1))
	f.Add(``, `MediaBrowser Client="x", Token=+`, " ", "d", "ApiKey&ApiKey=b", uint8(7))
	f.Add(`MediaBrowser Token=,abc`, ``, "c", "", "x=1&ApiKey%3Da%26ApiKey%3Db", uint8(12))
	f.Add(`mediabrowser token="x", Token="y"`, `EMBY Token="z"`, "", "c", "Api\u212Aey=a&Ap%C4%B1_key=b", uint8(31))
	f.Add("", "0", "0", "0", "ApiKeY&ApiKeY", uint8('['))          // blank repeats join to ","
	f.Add("", "MediABrowser Token=0 ", "0", "0", "0", uint8('\a')) // a value keeps trailing spaces
	f.Fuzz(func(t *testing.T, auth, embyAuth, embyToken, mbToken, query string, flags uint8) {
		h := fuzzHeader(flags, auth, embyAuth, embyToken, mbToken)
		d := Dialect{Legacy: flags&1 != 0, V1010: flags&2 != 0}
		info := ParseRequest(h, query, d)
		carriers := Carriers(h, query)
		if info.Token != "" && !hasToken(carriers, info.Token) {
			t.Fatalf("token %q not among carriers %+v", info.Token, carriers)
		}
		if (info.Token == "") != (info.Source == SourceNone) {
			t.Fatalf("token %q with source %v", info.Token, info.Source)
		}
		dec := decide(scanHeaders(h), query, d)
		stripped := h.Clone()
		q := StripOtherCarriers(stripped, query, d)
		if after := ParseRequest(stripped, q, d); after != info {
			t.Fatalf("stripping changed what Jellyfin reads: %+v -> %+v (query %q -> %q)", info, after, query, q)
		}
		// What may remain: the chosen carrier, copies of its token, and the
		// selected authorization header, which is kept whole (Jellyfin reads
		// its first value only; the gateway checked the others).
		selected := SourceAuthorization
		if dec.selected == hdrEmbyAuthorization {
			selected = SourceEmbyAuthorization
		}
		for _, c := range Carriers(stripped, q) {
			if c.Token != info.Token && c.Source != dec.source && (dec.selected == "" || c.Source != selected) {
				t.Fatalf("carrier %+v survived beside the chosen %v %q", c, dec.source, info.Token)
			}
		}
	})
}

// fuzzHeader builds a header map from fuzz input: flag 4 repeats each
// header, flag 8 adds lower-case keys, flag 16 upper-case ones.
func fuzzHeader(flags uint8, auth, embyAuth, embyToken, mbToken string) http.Header {
	h := http.Header{}
	put := func(name, v string) {
		if v == "" && flags&4 == 0 {
			return
		}
		h[http.CanonicalHeaderKey(name)] = append(h[http.CanonicalHeaderKey(name)], v)
		if flags&4 != 0 {
			h[http.CanonicalHeaderKey(name)] = append(h[http.CanonicalHeaderKey(name)], v+"x")
		}
		if flags&8 != 0 {
			h[strings.ToLower(name)] = append(h[strings.ToLower(name)], v)
		}
		if flags&16 != 0 {
			h[strings.ToUpper(name)] = append(h[strings.ToUpper(name)], "y"+v)
		}
	}
	put("Authorization", auth)
	put("X-Emby-Authorization", embyAuth)
	put("X-Emby-Token", embyToken)
	put("X-MediaBrowser-Token", mbToken)
	return h
}

func hasToken(cs []Carrier, tok string) bool {
	for _, c := range cs {
		if c.Token == tok {
			return true
		}
	}
	return false
}
