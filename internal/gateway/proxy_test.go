package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/jellyfin/fake"
	"github.com/jellyguard/jellyguard/internal/testutil"
	"github.com/jellyguard/jellyguard/internal/tokens"
)

func firstItem(t *testing.T, e *testutil.Env) fake.ItemInfo {
	t.Helper()
	items := e.Fake.Items()
	for _, it := range items {
		if it.StreamSize > 0 {
			return it
		}
	}
	t.Fatal("the emulator has no streamable item")
	return fake.ItemInfo{}
}

func TestRangedStreamPassesThrough(t *testing.T) {
	e := testutil.Start(t, testutil.Options{})
	it := firstItem(t, e)
	const from, to = 536870912, 536870912 + 65535
	req := e.RawRequest("GET", "/Videos/"+it.ID+"/stream.mkv?static=true", nil)
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", from, to))
	resp := e.Do(req)
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != 206 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if want := fmt.Sprintf("bytes %d-%d/%d", from, to, it.StreamSize); resp.Header.Get("Content-Range") != want {
		t.Fatalf("Content-Range %q, want %q", resp.Header.Get("Content-Range"), want)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil || len(body) != to-from+1 {
		t.Fatalf("read %d bytes: %v", len(body), err)
	}
	for i, b := range body {
		if b != fake.StreamByte(int64(from+i)) {
			t.Fatalf("byte %d differs", from+i)
		}
	}
	// If-Range with a stale validator: the whole stream, 200.
	req = e.RawRequest("HEAD", "/Videos/"+it.ID+"/stream", nil)
	req.Header.Set("Range", "bytes=0-10")
	req.Header.Set("If-Range", `"stale"`)
	resp2 := e.Do(req)
	_ = resp2.Body.Close()
	if resp2.StatusCode != 200 {
		t.Fatalf("If-Range mismatch: %d", resp2.StatusCode)
	}
}

func TestSlowStreamsAreNeverCut(t *testing.T) {
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp2t")
		for i := range 3 {
			_, _ = fmt.Fprintf(w, "chunk %d\n", i)
			w.(http.Flusher).Flush()
			time.Sleep(700 * time.Millisecond)
		}
	})
	e := testutil.Start(t, testutil.Options{Upstream: upstream, NoAPIKey: true, Configure: func(c *config.Config) {
		c.Limits.ReadHeaderTimeout = 300 * time.Millisecond
		c.Limits.IdleTimeout = 300 * time.Millisecond
		// The stream runs far longer than Jellyfin may take to start
		// answering: that bound must not cut it.
		c.Limits.UpstreamHeaderTimeout = 300 * time.Millisecond
	}})
	resp := e.Do(e.RawRequest("GET", "/Videos/1/stream", nil))
	defer func() { _ = resp.Body.Close() }()
	sc := bufio.NewScanner(resp.Body)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) != 3 {
		t.Fatalf("got %q, err %v", lines, sc.Err())
	}
}

func TestWebSocketRoundTripsAndDiesWithItsToken(t *testing.T) {
	e := testutil.Start(t, testutil.Options{})
	tok := e.MustLogin("alice", "alice-browser")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	wsURL := strings.Replace(e.URL, "http", "ws", 1) + "/socket?api_key=" + tok + "&deviceId=alice-browser"
	conn, resp, err := websocket.Dial(ctx, wsURL, nil)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	defer func() { _ = conn.CloseNow() }()
	msg := readMessage(ctx, t, conn)
	if msg["MessageType"] != "ForceKeepAlive" {
		t.Fatalf("first message %v", msg)
	}
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"MessageType":"KeepAlive"}`)); err != nil {
		t.Fatal(err)
	}
	if msg := readMessage(ctx, t, conn); msg["MessageType"] != "KeepAlive" {
		t.Fatalf("answer %v", msg)
	}
	if _, err := e.App.Tokens.Revoke(ctx, tokens.HashOf(tok), "test"); err != nil {
		t.Fatal(err)
	}
	readCtx, readCancel := context.WithTimeout(ctx, 5*time.Second)
	defer readCancel()
	if _, _, err := conn.Read(readCtx); err == nil || readCtx.Err() != nil {
		t.Fatalf("socket still open after revocation (err %v)", err)
	}
	// Without a token Jellyfin refuses the upgrade.
	_, resp, err = websocket.Dial(ctx, strings.Replace(e.URL, "http", "ws", 1)+"/socket", nil)
	if err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("token-less socket: %v %v", err, resp)
	}
}

func readMessage(ctx context.Context, t *testing.T, conn *websocket.Conn) map[string]any {
	t.Helper()
	_, data, err := conn.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRevocationCutsAnOpenStream(t *testing.T) {
	e := testutil.Start(t, testutil.Options{})
	it := firstItem(t, e)
	tok := e.MustLogin("bob", "bob-tv")
	resp := e.Do(e.RawRequest("GET", "/Videos/"+it.ID+"/stream?ApiKey="+tok, nil))
	defer func() { _ = resp.Body.Close() }()
	if _, err := io.ReadFull(resp.Body, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.App.Tokens.Revoke(context.Background(), tokens.HashOf(tok), "test"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, resp.Body)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the stream ended cleanly; it should have been cut")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stream kept flowing after revocation")
	}
}

func TestHLSPlaylistToSegmentsThroughTheGateway(t *testing.T) {
	e := testutil.Start(t, testutil.Options{})
	it := firstItem(t, e)
	tok := e.MustLogin("alice", "alice-web")
	status, master := e.Get("/Videos/"+it.ID+"/master.m3u8?MediaSourceId="+it.ID+"&ApiKey="+tok, "")
	if status != 200 {
		t.Fatalf("master: %d", status)
	}
	variant := firstURI(master)
	if !strings.Contains(variant, "ApiKey="+tok) {
		t.Fatalf("variant %q lost the ApiKey", variant)
	}
	status, media := e.Get("/Videos/"+it.ID+"/"+variant, "")
	if status != 200 {
		t.Fatalf("variant playlist: %d", status)
	}
	segment := firstURI(media)
	status, data := e.Get("/Videos/"+it.ID+"/"+segment, "")
	if status != 200 || len(data) == 0 {
		t.Fatalf("segment %q: %d, %d bytes", segment, status, len(data))
	}
}

func firstURI(playlist string) string {
	for _, l := range strings.Split(playlist, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			return l
		}
	}
	return ""
}

func TestResponseGuardWithholdsTokensFromUnexpectedRoutes(t *testing.T) {
	const leaked = "0123456789abcdef0123456789abcdef"
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/Plugins/Sso/Callback":
			w.Header().Set("Content-Type", "application/json")
			_, _ = fmt.Fprintf(w, `{"User":{"Id":"x"},"AccessToken":"%s","ServerId":"s"}`, leaked)
		case "/Plugins/Big/Export":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, strings.Repeat(" ", 200<<10))
			w.(http.Flusher).Flush()
			_, _ = fmt.Fprintf(w, `{"accessToken":"%s"}`, leaked)
		case "/Auth/Keys":
			w.Header().Set("Content-Type", "application/json")
			_, _ = fmt.Fprintf(w, `{"Items":[{"AccessToken":"%s","AppName":"sonarr"}]}`, leaked)
		case "/Users/Me":
			_, _ = io.WriteString(w, `{"Id":"0123456789abcdef0123456789abcdef","Name":"admin"}`)
		}
	})
	e := testutil.Start(t, testutil.Options{Upstream: upstream, NoAPIKey: true})
	status, body := e.Get("/Plugins/Sso/Callback", "")
	if status != 502 || strings.Contains(body, leaked) {
		t.Fatalf("small response: %d %q", status, body)
	}
	resp := e.Do(e.RawRequest("GET", "/Plugins/Big/Export", nil))
	data, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err == nil || strings.Contains(string(data), leaked) {
		t.Fatalf("streamed response: err %v, token leaked %v", err, strings.Contains(string(data), leaked))
	}
	if len(e.Logs.Lines("withheld a response")) != 2 {
		t.Fatalf("withheld responses not logged:\n%s", e.Logs.String())
	}
	if status, body := e.Get("/Auth/Keys", strings.Repeat("c", 32)); status != 200 || !strings.Contains(body, leaked) {
		t.Fatalf("/Auth/Keys is an administrator's list of API keys and must pass: %d", status)
	}
}

func TestClientAddressReachesJellyfin(t *testing.T) {
	e := testutil.Start(t, testutil.Options{Configure: func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.1"} }})
	req := e.RawRequest("POST", "/Users/AuthenticateByName", strings.NewReader(`{"Username":"alice","Pw":"alice-password"}`))
	req.Header.Set("Authorization", testutil.AuthHeader("xff-dev", ""))
	req.Header.Set("X-Forwarded-For", "6.6.6.6, 198.51.100.23")
	tok := decodeToken(t, e.Do(req))
	for _, s := range e.Fake.Sessions() {
		if s.Token == tok && s.RemoteEndPoint != "198.51.100.23" {
			t.Fatalf("Jellyfin saw %q, want the client behind the trusted proxy", s.RemoteEndPoint)
		}
	}
	st, err := e.Store.Token(context.Background(), tokens.HashOf(tok))
	if err != nil || st.IP != "198.51.100.23" {
		t.Fatalf("recorded %+v %v", st, err)
	}
}
