package jellyfin

import (
	"net/http"
	"slices"
	"testing"
	"unsafe"
)

func TestStripOtherCarriers(t *testing.T) {
	const auth = `MediaBrowser Client="c", Device="d", DeviceId="i", Version="v"`
	tests := []struct {
		name      string
		h         http.Header
		query     string
		d         Dialect
		wantQuery string
		wantHdr   http.Header
	}{
		{"nothing to strip", hdr("Authorization", auth+`, Token="t"`), "a=1&b=2", legacy,
			"a=1&b=2", hdr("Authorization", auth+`, Token="t"`)},
		{"query token beside header token", hdr("Authorization", auth+`, Token="t"`), "a=1&ApiKey=bad&b=2", legacy,
			"a=1&b=2", hdr("Authorization", auth+`, Token="t"`)},
		{"same token in the query stays", hdr("Authorization", auth+`, Token="t"`), "ApiKey=t&api_key=t", legacy,
			"ApiKey=t&api_key=t", hdr("Authorization", auth+`, Token="t"`)},
		{"unused emby authorization with a token goes", hdr("Authorization", auth+`, Token="t"`, "X-Emby-Authorization", `MediaBrowser Token="x"`), "", legacy,
			"", hdr("Authorization", auth+`, Token="t"`)},
		{"unused emby authorization without a token stays", hdr("Authorization", auth+`, Token="t"`, "X-Emby-Authorization", auth), "", legacy,
			"", hdr("Authorization", auth+`, Token="t"`, "X-Emby-Authorization", auth)},
		{"selected header kept whole", hdr("Authorization", auth, "Authorization", `MediaBrowser Token="x"`, "X-Emby-Token", "t"), "", legacy,
			"", hdr("Authorization", auth, "Authorization", `MediaBrowser Token="x"`, "X-Emby-Token", "t")},
		{"token headers not chosen go", hdr("Authorization", auth+`, Token="t"`, "X-Emby-Token", "x", "X-Mediabrowser-Token", "y"), "", legacy,
			"", hdr("Authorization", auth+`, Token="t"`)},
		{"legacy headers go when legacy is off", hdr("X-Emby-Token", "x"), "ApiKey=t&api_key=y", noLegacy,
			"ApiKey=t", hdr()},
		{"chosen repeat kept, other key goes", hdr(), "ApiKey=a&apikey=b&api_key=c&Api\u212Aey=d", legacy,
			"ApiKey=a&apikey=b", hdr()},
		{"api_key chosen, empty ApiKey goes", hdr(), "ApiKey=&api_key=c", legacy,
			"api_key=c", hdr()},
		{"repeated copies of the token go", hdr("X-Emby-Token", "t", "X-Mediabrowser-Token", "t", "X-Mediabrowser-Token", "t"), "ApiKey=t&ApiKey=t&api_key=t", legacy,
			"api_key=t", hdr("X-Emby-Token", "t")},
		{"blank repeats go", hdr("X-Emby-Token", "t"), "ApiKey&ApiKey", legacy,
			"", hdr("X-Emby-Token", "t")},
		{"encoded copy of the token stays", hdr("X-Emby-Token", "t"), "ApiKey%3Dt", legacy,
			"ApiKey%3Dt", hdr("X-Emby-Token", "t")},
		{"encoded double copy goes", hdr("X-Emby-Token", "t"), "ApiKey%3Dt%26api_key%3Dt", legacy,
			"", hdr("X-Emby-Token", "t")},
		{"no token: every carrier goes", hdr("X-Emby-Token", "x"), "api_key=y&z=1", noLegacy,
			"z=1", hdr()},
		{"encoded query kept when chosen", hdr(), "api_key%3Dq", legacy,
			"api_key%3Dq", hdr()},
		{"encoded query goes behind a header token", hdr("X-Emby-Token", "t"), "api_key%3Dq", legacy,
			"", hdr("X-Emby-Token", "t")},
		{"encoded pair that would become the only pair goes", hdr(), "api_key=a&ApiKey%3Dq", noLegacy,
			"", hdr()},
		{"empty segments dropped on rewrite", hdr("X-Emby-Token", "t"), "a=1&&ApiKey=x&", legacy,
			"a=1", hdr("X-Emby-Token", "t")},
		{"blank choice strips the rest", hdr("Authorization", `MediaBrowser Token="+"`, "X-Emby-Token", "x"), "ApiKey=y", legacy,
			"", hdr("Authorization", `MediaBrowser Token="+"`)},
		{"variants of the chosen header merged", hdr("X-Emby-Token", "a", "x-emby-token", "a"), "", legacy,
			"", hdr("X-Emby-Token", "a", "X-Emby-Token", "a")},
		{"variants of another header deleted", hdr("X-Emby-Token", "t", "x-mediabrowser-token", "x", "X-MEDIABROWSER-TOKEN", "y"), "", legacy,
			"", hdr("X-Emby-Token", "t")},
		{"10.10 keeps emby authorization", hdr("X-Emby-Authorization", `Emby Token="t"`, "Authorization", `MediaBrowser Token="x"`), "", v1010,
			"", hdr("X-Emby-Authorization", `Emby Token="t"`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.h.Clone()
			before := ParseRequest(h, tt.query, tt.d)
			got := StripOtherCarriers(h, tt.query, tt.d)
			if got != tt.wantQuery {
				t.Errorf("query = %q, want %q", got, tt.wantQuery)
			}
			if !headersEqual(h, tt.wantHdr) {
				t.Errorf("headers = %v, want %v", h, tt.wantHdr)
			}
			if after := ParseRequest(h, got, tt.d); after != before {
				t.Errorf("ParseRequest changed: %+v -> %+v", before, after)
			}
		})
	}
}

func headersEqual(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

func TestStripOtherCarriersNoAllocation(t *testing.T) {
	h := http.Header{}
	h.Set("Authorization", `MediaBrowser Client="Jellyfin Web", Device="Firefox", DeviceId="d", Version="10.11.11", Token="0123456789abcdef0123456789abcdef"`)
	h.Set("Accept", "application/json")
	h.Set("User-Agent", "Mozilla/5.0")
	const q = "Fields=PrimaryImageAspectRatio%2CPath&SortBy=SortName&ImageTypeLimit=1&ParentId=abc&Recursive=true"
	got := StripOtherCarriers(h, q, legacy)
	if got != q || unsafe.StringData(got) != unsafe.StringData(q) {
		t.Fatalf("query rewritten: %q", got)
	}
	allocs := testing.AllocsPerRun(100, func() { StripOtherCarriers(h, q, legacy) })
	if allocs > 0 {
		t.Errorf("StripOtherCarriers allocates %.0f times on a request with nothing to strip", allocs)
	}
}

func BenchmarkStripOtherCarriers(b *testing.B) {
	h := http.Header{}
	h.Set("Authorization", `MediaBrowser Client="Jellyfin Web", Device="Firefox", DeviceId="d", Version="10.11.11", Token="0123456789abcdef0123456789abcdef"`)
	h.Set("Accept", "application/json")
	const q = "Fields=PrimaryImageAspectRatio%2CPath&SortBy=SortName&ImageTypeLimit=1&ParentId=abc&Recursive=true"
	b.ReportAllocs()
	for b.Loop() {
		StripOtherCarriers(h, q, legacy)
	}
}

func BenchmarkParseRequest(b *testing.B) {
	h := http.Header{}
	h.Set("Authorization", `MediaBrowser Client="Jellyfin Web", Device="Firefox", DeviceId="d", Version="10.11.11", Token="0123456789abcdef0123456789abcdef"`)
	b.ReportAllocs()
	for b.Loop() {
		ParseRequest(h, "Fields=Path&ApiKey=x", legacy)
	}
}
