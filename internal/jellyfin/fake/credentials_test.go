package fake

import (
	"maps"
	"net/http"
	"strings"
	"testing"
)

// TestGetParts_Section2_3 pins every row of the §2.3 table plus the
// client dialects of clients.md §2.
func TestGetParts_Section2_3(t *testing.T) {
	cases := []struct {
		name, in string
		want     map[string]string
	}{
		{"all five quoted", `Client="Jellyfin Web", Device="Firefox", DeviceId="abc", Version="10.11.11", Token="t"`,
			map[string]string{"Client": "Jellyfin Web", "Device": "Firefox", "DeviceId": "abc", "Version": "10.11.11", "Token": "t"}},
		{"comma inside quotes", `x="123,123",   y="123"`, map[string]string{"x": "123,123", "y": "123"}},
		{"unquoted", `Token=abc, Client=x`, map[string]string{"Token": "abc", "Client": "x"}},
		{"url decoded with plus", `Device="My+Phone%20X"`, map[string]string{"Device": "My Phone X"}},
		{"space after equals keeps quote", `Token= "abc"`, map[string]string{"Token": ` "abc`}},
		{"space before comma keeps quote", `Token="abc" , Client="x"`, map[string]string{"Token": `abc" `, "Client": "x"}},
		{"unquoted value with equals loses key", `DeviceId=abc==, Token="t"`, map[string]string{"Token": "t"}},
		{"keys are case-sensitive", `token="t"`, map[string]string{"token": "t"}},
		{"last duplicate wins", `Token="a", Token="b"`, map[string]string{"Token": "b"}},
		{"empty token", `Token=""`, map[string]string{"Token": ""}},
		{"no space after comma", `Device="x",DeviceId="y"`, map[string]string{"Device": "x", "DeviceId": "y"}},
		{"token first", `Token="", Client="Fladder"`, map[string]string{"Token": "", "Client": "Fladder"}},
		{"utf8 escapes", `Device="caf%C3%A9"`, map[string]string{"Device": "café"}},
		{"invalid utf8 escape", `Device="%FF"`, map[string]string{"Device": "\uFFFD"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := GetParts(tc.in)
			if !maps.Equal(got, tc.want) {
				t.Fatalf("GetParts(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestReadCreds_Section2_2 pins the header choice and token order.
func TestReadCreds_Section2_2(t *testing.T) {
	legacy := credentialRules{legacy: true}
	strict := credentialRules{}
	old := credentialRules{prec1010: true}
	cases := []struct {
		name  string
		h     http.Header
		query string
		rules credentialRules
		want  string
	}{
		{"authorization token", hdr(`Authorization: MediaBrowser Token="a"`), "", legacy, "a"},
		{"x-emby-authorization when authorization absent", hdr(`X-Emby-Authorization: MediaBrowser Token="b"`), "", legacy, "b"},
		{"x-emby-authorization ignored without legacy", hdr(`X-Emby-Authorization: MediaBrowser Token="b"`), "", strict, ""},
		{"bearer blocks x-emby-authorization", hdr(`Authorization: Bearer x`, `X-Emby-Authorization: MediaBrowser Token="b"`), "", legacy, ""},
		{"emby scheme with legacy", hdr(`Authorization: Emby Token="c"`), "", legacy, "c"},
		{"emby scheme without legacy", hdr(`Authorization: Emby Token="c"`), "", strict, ""},
		{"scheme any case", hdr(`Authorization: mediabrowser Token="c"`), "", strict, "c"},
		{"no space means no header", hdr(`Authorization: MediaBrowser`), "", legacy, ""},
		{"only first authorization value", hdr(`Authorization: MediaBrowser Client="x"`, `Authorization: MediaBrowser Token="z"`), "", legacy, ""},
		{"x-emby-token", hdr(`X-Emby-Token: d`), "", legacy, "d"},
		{"x-emby-token without legacy", hdr(`X-Emby-Token: d`), "", strict, ""},
		{"x-mediabrowser-token", hdr(`X-MediaBrowser-Token: e`), "", legacy, "e"},
		{"x-emby-token before x-mediabrowser-token", hdr(`X-MediaBrowser-Token: e`, `X-Emby-Token: d`), "", legacy, "d"},
		{"empty Token falls through", hdr(`Authorization: MediaBrowser Token=""`, `X-Emby-Token: d`), "", legacy, "d"},
		{"header token before query", hdr(`X-Emby-Token: d`), "ApiKey=q", legacy, "d"},
		{"ApiKey", nil, "ApiKey=q", strict, "q"},
		{"apikey any case", nil, "apikey=q", strict, "q"},
		{"ApiKey before api_key", nil, "api_key=r&ApiKey=q", legacy, "q"},
		{"api_key with legacy", nil, "api_key=r", legacy, "r"},
		{"api_key without legacy", nil, "api_key=r", strict, ""},
		{"repeated ApiKey joined", nil, "ApiKey=a&ApiKey=b", strict, "a,b"},
		{"repeated header joined", hdr(`X-Emby-Token: a`, `X-Emby-Token: b`), "", legacy, "a,b"},
		{"10.10 reads x-emby-authorization first", hdr(`Authorization: MediaBrowser Token="a"`, `X-Emby-Authorization: MediaBrowser Token="b"`), "", old, "b"},
		{"10.10 falls back to authorization", hdr(`Authorization: MediaBrowser Token="a"`), "", old, "a"},
		{"10.10 legacy sources always on", hdr(`X-MediaBrowser-Token: e`), "", old, "e"},
		{"10.10 accepts Emby scheme", hdr(`X-Emby-Authorization: Emby Token="b"`), "", old, "b"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.h == nil {
				tc.h = http.Header{}
			}
			got := readCreds(tc.h, parseQuery(tc.query), tc.rules)
			if got.token != tc.want {
				t.Fatalf("token = %q, want %q", got.token, tc.want)
			}
		})
	}
}

// TestWhitespaceTokenIsNoToken_Section2_4: a blank Token stops the
// fallback chain but counts as no token (HasToken uses IsNullOrWhiteSpace).
func TestWhitespaceTokenIsNoToken_Section2_4(t *testing.T) {
	c := readCreds(hdr(`Authorization: MediaBrowser Token=" "`, `X-Emby-Token: d`), parseQuery(""), credentialRules{legacy: true})
	if c.token != " " || c.hasToken() {
		t.Fatalf("token %q hasToken %v, want blank and false", c.token, c.hasToken())
	}
}

// TestTokenPrecedenceOverHTTP_Section2_2 checks the same rules end to end
// against GET /System/Info (200 valid token, 401 otherwise).
func TestTokenPrecedenceOverHTTP_Section2_2(t *testing.T) {
	legacyOff := false
	cases := []struct {
		name string
		o    Options
		h    []string
		q    string
		want int
	}{
		{"authorization", Options{}, []string{`Authorization: MediaBrowser Token="%s"`}, "", 200},
		{"x-emby-authorization", Options{}, []string{`X-Emby-Authorization: MediaBrowser Token="%s"`}, "", 200},
		{"bearer blocks x-emby-authorization", Options{}, []string{`Authorization: Bearer x`, `X-Emby-Authorization: MediaBrowser Token="%s"`}, "", 401},
		{"x-emby-authorization legacy off", Options{Legacy: &legacyOff}, []string{`X-Emby-Authorization: MediaBrowser Token="%s"`}, "", 401},
		{"x-emby-token legacy off", Options{Legacy: &legacyOff}, []string{`X-Emby-Token: %s`}, "", 401},
		{"ApiKey legacy off", Options{Legacy: &legacyOff}, nil, "?ApiKey=%s", 200},
		{"api_key legacy off", Options{Legacy: &legacyOff}, nil, "?api_key=%s", 401},
		{"api_key legacy on", Options{}, nil, "?api_key=%s", 200},
		{"ApiKey twice matches nothing", Options{}, nil, "?ApiKey=%s&ApiKey=%s", 401},
		{"wrong case token", Options{}, []string{`X-Emby-Token: UPPER%s`}, "", 401},
		{"10.10 x-emby-authorization first", Options{Precedence1010: true},
			[]string{`Authorization: MediaBrowser Token="bad"`, `X-Emby-Authorization: MediaBrowser Token="%s"`}, "", 200},
		{"10.10 legacy sources on", Options{Precedence1010: true, Legacy: &legacyOff}, []string{`X-MediaBrowser-Token: %s`}, "", 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.o)
			e.s.AddUser("alice", "pw", false)
			tok := e.login("alice", "pw", "dev-1")
			h := http.Header{}
			for _, l := range tc.h {
				k, v := splitHeaderLine(l)
				h.Add(k, sprintfToken(v, tok))
			}
			r := e.do("GET", "/System/Info"+sprintfToken(tc.q, tok), h, "")
			if r.status != tc.want {
				t.Fatalf("status %d, want %d", r.status, tc.want)
			}
		})
	}
}

func splitHeaderLine(l string) (string, string) {
	h := hdr(l)
	for k, v := range h {
		return k, v[0]
	}
	return "", ""
}

func sprintfToken(format, tok string) string {
	return strings.ReplaceAll(format, "%s", tok)
}
