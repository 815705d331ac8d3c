package jellyfin

import (
	"net/http"
	"slices"
	"testing"
)

// hdr builds a header map as given, without canonicalising keys, so tests
// can also hand the functions what a hand-built map holds.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h[kv[i]] = append(h[kv[i]], kv[i+1])
	}
	return h
}

var (
	legacy   = Dialect{Legacy: true}
	noLegacy = Dialect{}
	v1010    = Dialect{V1010: true}
)

func TestDefaultDialect(t *testing.T) {
	if d := DefaultDialect(); !d.Legacy || d.V1010 {
		t.Errorf("DefaultDialect() = %+v, want 10.11 with legacy on", d)
	}
}

func TestParseRequestPrecedence(t *testing.T) {
	const web = `MediaBrowser Client="Jellyfin Web", Device="Firefox", DeviceId="d1", Version="10.11.11"`
	tests := []struct {
		name    string
		h       http.Header
		query   string
		d       Dialect
		wantTok string
		wantSrc Source
		wantHdr string
	}{
		{"nothing", hdr(), "", legacy, "", SourceNone, ""},
		{"authorization token", hdr("Authorization", web+`, Token="t1"`), "", legacy, "t1", SourceAuthorization, "Authorization"},
		{"emby authorization when authorization absent", hdr("X-Emby-Authorization", web+`, Token="t2"`), "", legacy, "t2", SourceEmbyAuthorization, "X-Emby-Authorization"},
		{"authorization wins over emby authorization", hdr("Authorization", web+`, Token="t1"`, "X-Emby-Authorization", web+`, Token="t2"`), "", legacy, "t1", SourceAuthorization, "Authorization"},
		{"bearer authorization hides emby authorization", hdr("Authorization", "Bearer abc", "X-Emby-Authorization", web+`, Token="t2"`), "", legacy, "", SourceNone, ""},
		{"empty authorization falls through", hdr("Authorization", "", "X-Emby-Authorization", web+`, Token="t2"`), "", legacy, "t2", SourceEmbyAuthorization, "X-Emby-Authorization"},
		{"emby authorization ignored without legacy", hdr("X-Emby-Authorization", web+`, Token="t2"`), "", noLegacy, "", SourceNone, ""},
		{"emby scheme with legacy", hdr("Authorization", `Emby Token="t1"`), "", legacy, "t1", SourceAuthorization, "Authorization"},
		{"emby scheme without legacy", hdr("Authorization", `Emby Token="t1"`), "", noLegacy, "", SourceNone, ""},
		{"scheme any case", hdr("Authorization", `mediabrowser Token="t1"`), "", noLegacy, "t1", SourceAuthorization, "Authorization"},
		{"no space, no scheme", hdr("Authorization", `MediaBrowser`), "ApiKey=q", legacy, "q", SourceQueryAPIKey, ""},
		{"token key case-sensitive", hdr("Authorization", web+`, token="t1"`), "", legacy, "", SourceNone, "Authorization"},
		{"empty token falls through", hdr("Authorization", web+`, Token=""`, "X-Emby-Token", "t3"), "", legacy, "t3", SourceEmbyToken, "Authorization"},
		{"x-emby-token", hdr("X-Emby-Token", "t3"), "", legacy, "t3", SourceEmbyToken, ""},
		{"x-emby-token ignored without legacy", hdr("X-Emby-Token", "t3"), "", noLegacy, "", SourceNone, ""},
		{"x-mediabrowser-token", hdr("X-Mediabrowser-Token", "t4"), "", legacy, "t4", SourceMediaBrowserToken, ""},
		{"emby token before mediabrowser token", hdr("X-Emby-Token", "t3", "X-Mediabrowser-Token", "t4"), "", legacy, "t3", SourceEmbyToken, ""},
		{"header before query", hdr("X-Emby-Token", "t3"), "ApiKey=q", legacy, "t3", SourceEmbyToken, ""},
		{"apikey", hdr(), "ApiKey=q", legacy, "q", SourceQueryAPIKey, ""},
		{"apikey any case", hdr(), "aPiKeY=q", noLegacy, "q", SourceQueryAPIKey, ""},
		{"apikey before api_key", hdr(), "api_key=l&ApiKey=q", legacy, "q", SourceQueryAPIKey, ""},
		{"api_key", hdr(), "api_key=l", legacy, "l", SourceQueryLegacyAPIKey, ""},
		{"API_KEY", hdr(), "API_KEY=l", legacy, "l", SourceQueryLegacyAPIKey, ""},
		{"api_key ignored without legacy", hdr(), "api_key=l", noLegacy, "", SourceNone, ""},
		{"empty apikey falls through", hdr(), "ApiKey=&api_key=l", legacy, "l", SourceQueryLegacyAPIKey, ""},
		{"blank token ends the search", hdr("Authorization", `MediaBrowser Token=" "`, "X-Emby-Token", "t3"), "", legacy, "", SourceNone, "Authorization"},
		{"decoded plus is a blank token", hdr("Authorization", `MediaBrowser Token=+`, "X-Emby-Token", "t3"), "", legacy, "", SourceNone, "Authorization"},
		{"10.10 reads emby authorization first", hdr("Authorization", web+`, Token="t1"`, "X-Emby-Authorization", web+`, Token="t2"`), "", v1010, "t2", SourceEmbyAuthorization, "X-Emby-Authorization"},
		{"10.10 falls back to authorization", hdr("Authorization", web+`, Token="t1"`), "", v1010, "t1", SourceAuthorization, "Authorization"},
		{"10.10 legacy sources always on", hdr("X-Emby-Token", "t3"), "api_key=l", v1010, "t3", SourceEmbyToken, ""},
		{"10.10 emby scheme", hdr("X-Emby-Authorization", `Emby Token="t2"`), "", v1010, "t2", SourceEmbyAuthorization, "X-Emby-Authorization"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseRequest(tt.h, tt.query, tt.d)
			if got.Token != tt.wantTok || got.Source != tt.wantSrc || got.Header != tt.wantHdr {
				t.Errorf("ParseRequest = token %q source %v header %q, want %q %v %q",
					got.Token, got.Source, got.Header, tt.wantTok, tt.wantSrc, tt.wantHdr)
			}
		})
	}
}

func TestParseRequestPlusHeaderToken(t *testing.T) {
	// X-Emby-Token is taken as sent: "+" is a (useless) token, not a space.
	got := ParseRequest(hdr("X-Emby-Token", "+"), "", legacy)
	if got.Token != "+" || got.Source != SourceEmbyToken {
		t.Errorf("got %+v", got)
	}
}

func TestParseRequestFields(t *testing.T) {
	h := hdr("Authorization", `MediaBrowser Client="Jellyfin%20Web", Device="Pixel+7", DeviceId="abc==", Version="10.11.11"`)
	got := ParseRequest(h, "", legacy)
	want := AuthInfo{Client: "Jellyfin Web", Device: "Pixel 7", DeviceID: "abc==", Version: "10.11.11", Header: "Authorization"}
	if got != want {
		t.Errorf("ParseRequest = %+v, want %+v", got, want)
	}
	// Fields come from the header Jellyfin selected even when the token
	// comes from elsewhere.
	h = hdr("X-Emby-Authorization", `MediaBrowser Client="Kodi", DeviceId="k"`, "X-Mediabrowser-Token", "t4")
	got = ParseRequest(h, "", legacy)
	want = AuthInfo{Client: "Kodi", DeviceID: "k", Token: "t4", Source: SourceMediaBrowserToken, Header: "X-Emby-Authorization"}
	if got != want {
		t.Errorf("ParseRequest = %+v, want %+v", got, want)
	}
}

func TestParseRequestRepeats(t *testing.T) {
	tests := []struct {
		name    string
		h       http.Header
		query   string
		wantTok string
		wantSrc Source
	}{
		{"repeated x-emby-token joins", hdr("X-Emby-Token", "a", "X-Emby-Token", "b"), "", "a,b", SourceEmbyToken},
		{"repeated empty x-emby-token is not empty", hdr("X-Emby-Token", "", "X-Emby-Token", ""), "ApiKey=q", ",", SourceEmbyToken},
		{"repeated apikey joins", hdr(), "ApiKey=a&ApiKey=b", "a,b", SourceQueryAPIKey},
		{"apikey keys of any case join", hdr(), "apikey=a&APIKEY=b", "a,b", SourceQueryAPIKey},
		{"empty repeat joins too", hdr(), "ApiKey&ApiKey=b", ",b", SourceQueryAPIKey},
		{"only the first authorization value", hdr("Authorization", `MediaBrowser Client="x"`, "Authorization", `MediaBrowser Token="t1"`), "", "", SourceNone},
		{"non-canonical header keys merge", hdr("X-Emby-Token", "a", "x-emby-token", "b"), "", "a,b", SourceEmbyToken},
		{"non-canonical authorization", hdr("authorization", `MediaBrowser Token="t1"`), "", "t1", SourceAuthorization},
		{"merged keys in byte order", hdr("x-emby-token", "b", "X-EMBY-TOKEN", "a"), "", "a,b", SourceEmbyToken},
		{"values trimmed like Kestrel", hdr("Authorization", " \tMediaBrowser Token=\"t1\" "), "", "t1", SourceAuthorization},
		{"token header trimmed", hdr("X-Emby-Token", " t3\t"), "", "t3", SourceEmbyToken},
		{"blank after trimming is empty", hdr("Authorization", "  ", "X-Emby-Authorization", `MediaBrowser Token="t2"`), "", "t2", SourceEmbyAuthorization},
		{"empty first authorization still selects it", hdr("Authorization", "", "Authorization", `MediaBrowser Token="t1"`, "X-Emby-Authorization", `MediaBrowser Token="t2"`), "", "", SourceNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseRequest(tt.h, tt.query, legacy)
			if got.Token != tt.wantTok || got.Source != tt.wantSrc {
				t.Errorf("ParseRequest = %q %v, want %q %v", got.Token, got.Source, tt.wantTok, tt.wantSrc)
			}
		})
	}
}

func TestParseRequestQuery(t *testing.T) {
	tests := []struct {
		name    string
		query   string
		d       Dialect
		wantTok string
		wantSrc Source
	}{
		{"semicolon is not a separator", "x=1;ApiKey=q", legacy, "", SourceNone},
		{"plus is a space", "ApiKey=a+b", legacy, "a b", SourceQueryAPIKey},
		{"escapes decoded", "Api%4Bey=%61b", legacy, "ab", SourceQueryAPIKey},
		{"encoded underscore", "api%5Fkey=l", legacy, "l", SourceQueryLegacyAPIKey},
		{"invalid escape kept", "ApiKey=%zz", legacy, "%zz", SourceQueryAPIKey},
		{"ill-formed utf-8 kept escaped", "ApiKey=%FFa", legacy, "%FFa", SourceQueryAPIKey},
		{"empty segments skipped", "&&ApiKey=q&&", legacy, "q", SourceQueryAPIKey},
		{"value keeps later equals", "ApiKey=a=b", legacy, "a=b", SourceQueryAPIKey},
		{"leading question mark is part of the key", "?ApiKey=q", legacy, "", SourceNone},
		{"kelvin sign is not k to .NET", "Api\u212Aey=q", legacy, "", SourceNone},
		{"dotless i is not i to .NET", "Ap\u0131Key=q", legacy, "", SourceNone},
		{"key with space", "ApiKey%20=q", legacy, "", SourceNone},
		// UrlDecodeQueryFeature: a wholly encoded query is re-parsed with
		// case-sensitive keys and read by the WebSocket handler.
		{"encoded query", "api_key%3Dq", legacy, "q", SourceQueryLegacyAPIKey},
		{"encoded query apikey", "ApiKey%3Dq%26deviceId%3Dd", noLegacy, "q", SourceQueryAPIKey},
		{"encoded query with empty value", "ApiKey%3Dq=", legacy, "q", SourceQueryAPIKey},
		{"encoded query keys case-sensitive", "apikey%3Dq", legacy, "", SourceNone},
		{"encoded query repeated key joins", "ApiKey%3Da%26ApiKey%3Db", legacy, "a,b", SourceQueryAPIKey},
		{"encoded query values not decoded again", "ApiKey%3Da%2520b", legacy, "a%20b", SourceQueryAPIKey},
		{"encoded query needs a single pair", "api_key%3Dq&x=1", legacy, "", SourceNone},
		{"encoded query needs an empty value", "api_key%3Dq=v", legacy, "", SourceNone},
		{"encoded query ignores legacy key without legacy", "api_key%3Dq", noLegacy, "", SourceNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseRequest(hdr(), tt.query, tt.d)
			if got.Token != tt.wantTok || got.Source != tt.wantSrc {
				t.Errorf("ParseRequest(%q) = %q %v, want %q %v", tt.query, got.Token, got.Source, tt.wantTok, tt.wantSrc)
			}
		})
	}
}

func TestSourceString(t *testing.T) {
	tests := map[Source]string{
		SourceNone: "none", SourceAuthorization: "Authorization", SourceEmbyAuthorization: "X-Emby-Authorization",
		SourceEmbyToken: "X-Emby-Token", SourceMediaBrowserToken: "X-MediaBrowser-Token",
		SourceQueryAPIKey: "ApiKey", SourceQueryLegacyAPIKey: "api_key", Source(99): "unknown",
	}
	for s, want := range tests {
		if got := s.String(); got != want {
			t.Errorf("Source(%d).String() = %q, want %q", s, got, want)
		}
	}
}

func TestAuthHeaderRoundTrip(t *testing.T) {
	tests := []struct{ client, device, id, version, token string }{
		{"jellyguard", "jellyguard", "jellyguard-gateway", "0.1.0", "abc"},
		{"Jellyfin Web", `My "Phone", 2`, "a=b==", "10.11.11", ""},
		{"x+y%z", "é 😀", "id,with,commas", `"`, "t o k"},
	}
	for _, tt := range tests {
		v := AuthHeader(tt.client, tt.device, tt.id, tt.version, tt.token)
		got := ParseRequest(hdr("Authorization", v), "", noLegacy)
		want := AuthInfo{Client: tt.client, Device: tt.device, DeviceID: tt.id, Version: tt.version, Header: "Authorization"}
		if tt.token != "" {
			want.Token, want.Source = tt.token, SourceAuthorization
		}
		if got != want {
			t.Errorf("AuthHeader round trip: %s\n got %+v\nwant %+v", v, got, want)
		}
	}
	const want = `MediaBrowser Client="Jellyfin%20Web", Device="Firefox", DeviceId="d", Version="1", Token="t"`
	if got := AuthHeader("Jellyfin Web", "Firefox", "d", "1", "t"); got != want {
		t.Errorf("AuthHeader = %s, want %s", got, want)
	}
}

func carrierTokens(cs []Carrier) []string {
	var toks []string
	for _, c := range cs {
		toks = append(toks, c.Source.String()+"="+c.Token)
	}
	return toks
}

func TestCarriers(t *testing.T) {
	tests := []struct {
		name  string
		h     http.Header
		query string
		want  []string
	}{
		{"none", hdr("Authorization", `MediaBrowser Client="x", Token=""`), "x=1", nil},
		{"every source", hdr("Authorization", `MediaBrowser Token="a"`, "X-Emby-Authorization", `Emby Token="b"`,
			"X-Emby-Token", "c", "X-Mediabrowser-Token", "d"), "ApiKey=e&api_key=f",
			[]string{"Authorization=a", "X-Emby-Authorization=b", "X-Emby-Token=c", "X-MediaBrowser-Token=d", "ApiKey=e", "api_key=f"}},
		{"every value and the joined one", hdr("X-Emby-Token", "a", "X-Emby-Token", "b"), "",
			[]string{"X-Emby-Token=a", "X-Emby-Token=b", "X-Emby-Token=a,b"}},
		{"joined query", hdr(), "ApiKey=a&apikey=b", []string{"ApiKey=a", "ApiKey=b", "ApiKey=a,b"}},
		{"every token key in a header", hdr("Authorization", `MediaBrowser Token="bad", token="x", Token="good"`), "",
			[]string{"Authorization=bad", "Authorization=x", "Authorization=good"}},
		{"second authorization value", hdr("Authorization", `MediaBrowser Client="x"`, "Authorization", `MediaBrowser Token="t"`), "",
			[]string{"Authorization=t"}},
		{"ignored emby authorization", hdr("Authorization", "Bearer zzz", "X-Emby-Authorization", `MediaBrowser Token="t"`), "",
			[]string{"X-Emby-Authorization=t"}},
		{"loose scheme", hdr("Authorization", " EMBY\tToken=t"), "", []string{"Authorization=t"}},
		{"blank tokens skipped", hdr("Authorization", `MediaBrowser Token=" "`, "X-Emby-Token", " "), "ApiKey=+", nil},
		{"loose query keys", hdr(), "Api\u212Aey=a&Ap%C4%B1_key=b", []string{"ApiKey=a", "api_key=b"}},
		{"encoded query", hdr(), "api_key%3Dq", []string{"api_key=q"}},
		{"encoded pair among others", hdr(), "x=1&ApiKey%3Da%26ApiKey%3Db", []string{"ApiKey=a", "ApiKey=b"}},
		{"encoded joined", hdr(), "ApiKey%3Da%26ApiKey%3Db", []string{"ApiKey=a", "ApiKey=b", "ApiKey=a,b"}},
		{"non-canonical keys", hdr("x-emby-token", "a"), "", []string{"X-Emby-Token=a"}},
		{"trimmed values", hdr("Authorization", `MediaBrowser Token=x `, "X-Emby-Token", " y "), "", []string{"Authorization=x", "X-Emby-Token=y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := carrierTokens(Carriers(tt.h, tt.query)); !slices.Equal(got, tt.want) {
				t.Errorf("Carriers = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCarrierNames(t *testing.T) {
	cs := Carriers(hdr("x-emby-token", "a"), "APIKEY=b")
	if len(cs) != 2 || cs[0].Name != "x-emby-token" || cs[1].Name != "APIKEY" {
		t.Errorf("Carriers names = %+v", cs)
	}
}

func TestCarriersCoverParseRequest(t *testing.T) {
	// Every request in the precedence tests: the token ParseRequest picks is
	// always among the carriers.
	reqs := []struct {
		h http.Header
		q string
	}{
		{hdr("X-Emby-Token", "a", "X-Emby-Token", "b"), ""},
		{hdr("X-Emby-Token", "", "X-Emby-Token", "x"), ""},
		{hdr(), "ApiKey&ApiKey=b"},
		{hdr(), "ApiKey%3Da%26ApiKey%3Db"},
		{hdr("Authorization", `MediaBrowser Token=,abc`), ""},
		{hdr("authorization", `MediaBrowser Token="t"`, "Authorization", `MediaBrowser Token="u"`), ""},
	}
	for _, r := range reqs {
		for _, d := range []Dialect{legacy, noLegacy, v1010} {
			info := ParseRequest(r.h, r.q, d)
			if info.Token == "" {
				continue
			}
			found := false
			for _, c := range Carriers(r.h, r.q) {
				found = found || c.Token == info.Token
			}
			if !found {
				t.Errorf("token %q of %v %q (%+v) not among carriers", info.Token, r.h, r.q, d)
			}
		}
	}
}
