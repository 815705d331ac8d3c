package fake

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func (e *env) wsURL(target string) string {
	return "ws" + strings.TrimPrefix(e.ts.URL, "http") + target
}

// TestWebSocketRefused_Section9: no token, an invalid token or a disabled
// user → 403 "Error processing request.", on any path.
func TestWebSocketRefused_Section9(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddUser("dora", "pw", false)
	tok := e.login("dora", "pw", "d")
	_ = e.s.UpdatePolicy("dora", func(p *Policy) { p.IsDisabled = true })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, target := range []string{"/socket", "/socket?api_key=nope", "/any/path?deviceId=x", "/socket?ApiKey=" + tok} {
		_, res, err := websocket.Dial(ctx, e.wsURL(target), nil)
		if err == nil || res == nil || res.StatusCode != http.StatusForbidden {
			t.Fatalf("%s: err=%v res=%v", target, err, res)
		}
	}
	if !strings.Contains(e.log.String(), `Error processing request: "Token is required". URL "GET" "/socket".`) {
		t.Fatalf("missing ERR line:\n%s", e.log.String())
	}
}

// TestWebSocketKeepAlive_Section9: a token in api_key (jellyfin-web), in
// ApiKey (SDK) or in the Authorization header is accepted; the server sends
// ForceKeepAlive(60) and answers KeepAlive.
func TestWebSocketKeepAlive_Section9(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddUser("alice", "pw", false)
	tok := e.login("alice", "pw", "web-dev")
	cases := []struct {
		name, target string
		h            http.Header
	}{
		{"api_key", "/socket?api_key=" + tok + "&deviceId=web-dev", nil},
		{"ApiKey", "/socket?ApiKey=" + tok, nil},
		{"header", "/socket", tokenHeader(tok)},
		{"any path", "/emby/whatever?api_key=" + tok, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			conn, res, err := websocket.Dial(ctx, e.wsURL(tc.target), &websocket.DialOptions{HTTPHeader: tc.h})
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer func() { _ = conn.CloseNow() }()
			if res.Header.Get("X-Response-Time-ms") == "" {
				t.Error("101 without X-Response-Time-ms")
			}
			var first map[string]any
			readJSON(ctx, t, conn, &first)
			if first["MessageType"] != "ForceKeepAlive" || first["Data"] != float64(60) || !hex32.MatchString(first["MessageId"].(string)) {
				t.Fatalf("first message %v", first)
			}
			if err := conn.Write(ctx, websocket.MessageText, []byte(`{"MessageType":"KeepAlive"}`)); err != nil {
				t.Fatal(err)
			}
			var reply map[string]any
			readJSON(ctx, t, conn, &reply)
			if reply["MessageType"] != "KeepAlive" || !hex32.MatchString(reply["MessageId"].(string)) {
				t.Fatalf("reply %v", reply)
			}
			_ = conn.Close(websocket.StatusNormalClosure, "")
		})
	}
}

func readJSON(ctx context.Context, t *testing.T, conn *websocket.Conn, v any) {
	t.Helper()
	_, data, err := conn.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decode %q: %v", data, err)
	}
}
