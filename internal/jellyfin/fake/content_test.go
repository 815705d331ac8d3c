package fake

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"image/png"
	"io"
	"strings"
	"testing"
)

// movie returns the first movie of the demo library.
func movie(t *testing.T, s *Server) ItemInfo {
	t.Helper()
	for _, it := range s.Items() {
		if it.StreamSize > 0 && it.Name != "Movies" {
			return it
		}
	}
	t.Fatal("no movie")
	return ItemInfo{}
}

// TestWebIndex_Section10_1: index.html is served with no-cache, /web/ is
// the same page, and gzip is applied on plain HTTP when asked for.
func TestWebIndex_Section10_1(t *testing.T) {
	e := newEnv(t, Options{})
	for _, target := range []string{"/web/index.html", "/web/", "/WEB/", "/emby/web/index.html"} {
		r := e.raw("GET", target, nil, "")
		if r.status != 200 || string(r.body) != IndexHTML || r.header.Get("Cache-Control") != "no-cache" {
			t.Fatalf("%s: %d %q cache=%q", target, r.status, r.body, r.header.Get("Cache-Control"))
		}
	}
	r := e.raw("GET", "/web/index.html", hdr("Accept-Encoding: gzip, deflate, br"), "")
	if r.header.Get("Content-Encoding") != "gzip" || !strings.Contains(r.header.Get("Vary"), "Accept-Encoding") {
		t.Fatalf("compression headers: %v", r.header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if string(plain) != IndexHTML {
		t.Fatalf("gunzipped %q", plain)
	}
	if r := e.raw("GET", "/web/index.html", hdr("Accept-Encoding: gzip", "X-Forwarded-Proto: https"), ""); r.header.Get("Content-Encoding") != "gzip" {
		t.Fatal("forwarded proto is ignored without known proxies, so this is still plain HTTP and must be compressed")
	}
	e.s.UpdateNetwork(func(n *NetworkConfig) { n.KnownProxies = []string{"127.0.0.1"} })
	if r := e.raw("GET", "/web/index.html", hdr("Accept-Encoding: gzip", "X-Forwarded-Proto: https"), ""); r.header.Get("Content-Encoding") != "" {
		t.Fatal("no compression for HTTPS (EnableForHttps is off)")
	}
	if r := e.raw("GET", "/web", nil, ""); r.status != 301 || !strings.HasSuffix(r.header.Get("Location"), "/web/") {
		t.Fatalf("/web: %d %q", r.status, r.header.Get("Location"))
	}
	if r := e.raw("GET", "/web/main.jellyfin.bundle.js", nil, ""); r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("bundle: %d %v", r.status, r.header)
	}
	if r := e.raw("GET", "/web/INDEX.html", nil, ""); r.status != 404 {
		t.Fatalf("file names are case-sensitive: %d", r.status)
	}
}

// TestJSONCompression_Section10_1: API JSON is compressed too, so a
// gateway that rewrites bodies must strip Accept-Encoding.
func TestJSONCompression_Section10_1(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.raw("GET", "/System/Info/Public", hdr("Accept-Encoding: gzip"), "")
	if r.header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("headers %v", r.header)
	}
	if r := e.raw("GET", "/System/Info/Public", hdr("Accept-Encoding: gzip;q=0"), ""); r.header.Get("Content-Encoding") != "" {
		t.Fatal("q=0 refuses gzip")
	}
}

// TestStreamRanges_Section12: Accept-Ranges, 206 with the right bytes,
// If-Range with a stale validator → 200 full, 416 beyond the end.
func TestStreamRanges_Section12(t *testing.T) {
	e := newEnv(t, Options{StreamSize: 10 << 20})
	m := movie(t, e.s)
	url := "/Videos/" + m.ID + "/stream.mp4?Static=true"
	head := e.raw("HEAD", url, nil, "")
	if head.status != 200 || head.header.Get("Accept-Ranges") != "bytes" || head.header.Get("Content-Length") != fmt.Sprint(10<<20) {
		t.Fatalf("HEAD: %d %v", head.status, head.header)
	}
	etag := head.header.Get("ETag")
	r := e.raw("GET", url, hdr("Range: bytes=1000003-1000999"), "")
	if r.status != 206 || r.header.Get("Content-Range") != fmt.Sprintf("bytes 1000003-1000999/%d", 10<<20) || len(r.body) != 997 {
		t.Fatalf("range: %d %v len %d", r.status, r.header, len(r.body))
	}
	for i, b := range r.body {
		if b != StreamByte(1000003+int64(i)) {
			t.Fatalf("byte %d wrong", 1000003+i)
		}
	}
	if r := e.raw("GET", url, hdr("Range: bytes=0-9", "If-Range: "+etag), ""); r.status != 206 {
		t.Fatalf("If-Range match: %d", r.status)
	}
	if r := e.raw("GET", url, hdr("Range: bytes=0-9", `If-Range: "stale"`), ""); r.status != 200 || len(r.body) != 10<<20 {
		t.Fatalf("If-Range mismatch: %d len %d", r.status, len(r.body))
	}
	if r := e.raw("GET", url, hdr(fmt.Sprintf("Range: bytes=%d-", 10<<20)), ""); r.status != 416 {
		t.Fatalf("beyond end: %d", r.status)
	}
	if r := e.raw("GET", "/Videos/"+newGUID()+"/stream", nil, ""); r.status != 404 {
		t.Fatalf("unknown item: %d", r.status)
	}
}

// TestStreamReaderIsCheap: the default 1 GiB stream seeks without reading.
func TestStreamReaderIsCheap(t *testing.T) {
	r := &streamReader{size: DefaultStreamSize}
	if _, err := r.Seek(DefaultStreamSize-16, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := r.Read(buf)
	if n != 16 || buf[0] != StreamByte(DefaultStreamSize-16) || buf[15] != StreamByte(DefaultStreamSize-1) {
		t.Fatalf("tail read n=%d", n)
	}
	p := make([]byte, 37)
	fillStream(p, 5)
	for i, b := range p {
		if b != StreamByte(5+int64(i)) {
			t.Fatalf("fillStream offset %d", i)
		}
	}
}

// TestHLSQueryPropagation_Section12: the master playlist's variant and the
// main playlist's segment URLs carry the request's query, ApiKey included,
// and the authenticated segment route accepts it.
func TestHLSQueryPropagation_Section12(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddUser("alice", "pw", false)
	tok := e.login("alice", "pw", "d")
	m := movie(t, e.s)
	q := "DeviceId=d&MediaSourceId=" + m.ID + "&SegmentContainer=ts&ApiKey=" + tok
	base := "/Videos/" + m.ID + "/"
	if r := e.raw("GET", base+"master.m3u8?DeviceId=d", nil, ""); r.status != 401 {
		t.Fatalf("master without token: %d", r.status)
	}
	master := e.raw("GET", base+"master.m3u8?"+q, nil, "")
	if master.status != 200 || !strings.Contains(string(master.body), "\nmain.m3u8?"+q+"\n") {
		t.Fatalf("master: %d\n%s", master.status, master.body)
	}
	main := e.raw("GET", base+"main.m3u8?"+q, nil, "")
	wantSeg := "hls1/main/0.ts?" + q + "&runtimeTicks=0&actualSegmentLengthTicks="
	if main.status != 200 || !strings.Contains(string(main.body), wantSeg) || !strings.HasSuffix(string(main.body), "#EXT-X-ENDLIST\n") {
		t.Fatalf("main: %d\n%s", main.status, main.body)
	}
	seg := e.raw("GET", base+"hls1/main/1.ts?"+q+"&runtimeTicks=60000000", nil, "")
	if seg.status != 200 || len(seg.body) != hlsSegmentSize || seg.body[0] != StreamByte(hlsSegmentSize) {
		t.Fatalf("segment: %d len %d", seg.status, len(seg.body))
	}
	if r := e.raw("GET", base+"hls1/main/1.ts", nil, ""); r.status != 401 {
		t.Fatalf("hls1 without token: %d", r.status)
	}
	if r := e.raw("GET", base+"hls/abc/1.ts", nil, ""); r.status != 200 {
		t.Fatalf("anonymous hls route: %d", r.status)
	}
}

// TestPlaybackInfo_Section12: TranscodingUrl carries ApiKey=<token>.
func TestPlaybackInfo_Section12(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddUser("alice", "pw", false)
	tok := e.login("alice", "pw", "d")
	m := movie(t, e.s)
	var res struct {
		MediaSources []struct {
			TranscodingURL string `json:"TranscodingUrl"`
		}
		PlaySessionID string `json:"PlaySessionId"`
	}
	r := e.do("POST", "/Items/"+m.ID+"/PlaybackInfo", tokenHeader(tok), `{}`)
	r.json(t, &res)
	if len(res.MediaSources) != 1 || !strings.Contains(res.MediaSources[0].TranscodingURL, "&ApiKey="+tok) ||
		!strings.HasPrefix(res.MediaSources[0].TranscodingURL, "/videos/"+m.ID+"/master.m3u8?") || !hex32.MatchString(res.PlaySessionID) {
		t.Fatalf("playback info: %s", r.body)
	}
	if r := e.do("POST", "/Items/"+m.ID+"/PlaybackInfo", nil, `{}`); r.status != 401 {
		t.Fatalf("anonymous: %d", r.status)
	}
	if r := e.do("POST", "/Sessions/Capabilities/Full", tokenHeader(tok), `{}`); r.status != 204 {
		t.Fatalf("capabilities: %d", r.status)
	}
}

// TestItems_Section12 covers listing, views, single items and images.
func TestItems_Section12(t *testing.T) {
	e := newEnv(t, Options{})
	alice := e.s.AddUser("alice", "pw", false)
	bob := e.s.AddUser("bob", "pw", false)
	tok := e.login("alice", "pw", "d")
	key := e.s.AddAPIKey("k")
	var views struct {
		Items []struct {
			ID                   string `json:"Id"`
			Name, Type, ServerID string
			ImageTags            map[string]string
		}
		TotalRecordCount int
	}
	e.do("GET", "/UserViews?userId="+alice.ID, tokenHeader(tok), "").json(t, &views)
	if views.TotalRecordCount != 1 || views.Items[0].Type != "CollectionFolder" {
		t.Fatalf("views: %+v", views)
	}
	var movies struct {
		Items            []struct{ Name, Type string }
		TotalRecordCount int
		StartIndex       int
	}
	e.do("GET", "/Items?userId="+alice.ID+"&parentId="+views.Items[0].ID, tokenHeader(tok), "").json(t, &movies)
	if movies.TotalRecordCount != 3 || movies.Items[0].Type != "Movie" {
		t.Fatalf("movies: %+v", movies)
	}
	e.do("GET", "/Users/"+alice.ID+"/Items?Recursive=true&IncludeItemTypes=Movie&Limit=2", tokenHeader(tok), "").json(t, &movies)
	if movies.TotalRecordCount != 3 || len(movies.Items) != 2 {
		t.Fatalf("legacy route with paging: %+v", movies)
	}
	if r := e.do("GET", "/Items?userId="+bob.ID, tokenHeader(tok), ""); r.status != 403 {
		t.Fatalf("another user's items: %d", r.status)
	}
	if r := e.do("GET", "/Items?recursive=true", tokenHeader(key), ""); r.status != 200 {
		t.Fatalf("api key without user: %d", r.status)
	}
	m := movie(t, e.s)
	if r := e.do("GET", "/Items/"+m.ID, tokenHeader(key), ""); r.status != 400 {
		t.Fatalf("api key item without userId: %d", r.status)
	}
	if r := e.do("GET", "/Items/"+m.ID, tokenHeader(tok), ""); r.status != 200 {
		t.Fatalf("item: %d", r.status)
	}
	img := e.raw("GET", "/Items/"+m.ID+"/Images/Primary", nil, "")
	if img.status != 200 || img.header.Get("Content-Type") != "image/png" {
		t.Fatalf("image: %d %v", img.status, img.header)
	}
	if _, err := png.Decode(bytes.NewReader(img.body)); err != nil {
		t.Fatalf("png: %v", err)
	}
	if r := e.raw("HEAD", "/items/"+m.ID+"/images/backdrop/0", nil, ""); r.status != 200 {
		t.Fatalf("HEAD backdrop: %d", r.status)
	}
	if r := e.raw("GET", "/Items/"+m.ID+"/Images/Logo", nil, ""); r.status != 404 {
		t.Fatalf("missing image: %d", r.status)
	}
	if r := e.raw("GET", "/Items/"+m.ID+"/Images/Nope", nil, ""); r.status != 400 {
		t.Fatalf("bad image type: %d", r.status)
	}
}
