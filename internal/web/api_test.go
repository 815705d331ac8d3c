package web

import (
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/jellyguard/jellyguard/internal/tokens"
)

func decodeJSON(t *testing.T, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("not JSON: %v: %s", err, body)
	}
	return m
}

func TestAPIRejectsMissingToken(t *testing.T) {
	reqs := map[string]*http.Request{
		"account": get("/jellyfin/jellyguard/api/account"),
		"begin":   postForm("/jellyfin/jellyguard/api/totp/begin", "{}"),
		"revoke":  postForm("/jellyfin/jellyguard/api/browsers/revoke", `{"id":"b1","code":"123456"}`),
	}
	unknown := get("/jellyfin/jellyguard/api/account")
	unknown.Header.Set("X-Emby-Token", "not-a-token")
	reqs["unknown token"] = unknown
	for name, r := range reqs {
		t.Run(name, func(t *testing.T) {
			svc := newFake()
			w := do(t, svc, r)
			checkUnauthorized(t, w)
			if len(svc.calls) != 0 {
				t.Errorf("service called: %v", svc.calls)
			}
		})
	}
	// Without a pipeline to say whose session a request carries, the API
	// answers nobody: it reads no token itself, in the headers or the query.
	t.Run("default client has no session", func(t *testing.T) {
		svc := newFake()
		r := get("/jellyguard/api/account?api_key=" + goodToken + "&ApiKey=" + goodToken)
		r.Header.Set("Authorization", `MediaBrowser Token="`+goodToken+`"`)
		r.Header.Set("X-Emby-Token", goodToken)
		checkUnauthorized(t, doWith(t, svc, Options{Logger: slog.New(slog.DiscardHandler)}, r))
		if len(svc.calls) != 0 {
			t.Errorf("service called: %v", svc.calls)
		}
	})
}

func checkUnauthorized(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	if m := decodeJSON(t, w.Body.String()); m["error"] != "unauthorized" || m["message"] == "" {
		t.Errorf("body %v", m)
	}
}

// TestAPIUsesThePipelinesSession checks that the caller is whoever the
// pipeline (Options.ClientFrom) says, and nobody else.
func TestAPIUsesThePipelinesSession(t *testing.T) {
	pipeline := func(v tokens.Verdict) Options {
		o := testOptions()
		o.ClientFrom = func(*http.Request) Client {
			return Client{IP: netip.MustParseAddr("198.51.100.7"), HTTPS: true, DeviceID: "dev-9", Session: v}
		}
		return o
	}
	t.Run("session without a token in the request", func(t *testing.T) {
		svc := newFake()
		v := tokens.Verdict{Status: tokens.Active, UserID: "u2", UserName: "bob"}
		w := doWith(t, svc, pipeline(v), get("/jellyfin/jellyguard/api/account"))
		if w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		if m := decodeJSON(t, w.Body.String()); m["userId"] != "u2" || m["userName"] != "bob" {
			t.Errorf("account %v", m)
		}
		c := svc.gotClient
		if c.Session != v || c.IP.String() != "198.51.100.7" || c.DeviceID != "dev-9" || !c.HTTPS {
			t.Errorf("client %+v", c)
		}
		if c.UserAgent != "Mozilla/5.0 (Android 14) Firefox/140.0" {
			t.Errorf("user agent %q, want the request's", c.UserAgent)
		}
	})
	t.Run("token in the request without a session", func(t *testing.T) {
		svc := newFake()
		r := postJSON("/jellyfin/jellyguard/api/totp/disable", `{"code":"123456"}`)
		r.Header.Set("X-Emby-Token", goodToken)
		checkUnauthorized(t, doWith(t, svc, pipeline(tokens.Verdict{}), r))
		if len(svc.calls) != 0 {
			t.Errorf("service called: %v", svc.calls)
		}
	})
	t.Run("session the service refuses", func(t *testing.T) {
		svc := newFake()
		v := tokens.Verdict{Status: tokens.Revoked, UserID: "u1", UserName: "alice"}
		w := doWith(t, svc, pipeline(v), get("/jellyfin/jellyguard/api/account"))
		checkUnauthorized(t, w)
		if !svc.called("Account") {
			t.Errorf("service not asked: %v", svc.calls)
		}
	})
	t.Run("every call gets the session", func(t *testing.T) {
		for _, path := range []string{"totp/begin", "totp/confirm", "recovery/regenerate", "totp/disable",
			"devices/approve", "devices/revoke", "browsers/revoke"} {
			svc := newFake()
			w := do(t, svc, postJSON("/jellyfin/jellyguard/api/"+path, `{"id":"x1","code":"123456"}`))
			if w.Code != http.StatusOK {
				t.Errorf("%s: status %d: %s", path, w.Code, w.Body)
			}
			if svc.gotClient.Session != goodSession {
				t.Errorf("%s: session %+v", path, svc.gotClient.Session)
			}
		}
	})
}

func TestAPIAccount(t *testing.T) {
	for name, set := range map[string]func(http.Header){
		"authorization": func(h http.Header) { h.Set("Authorization", `MediaBrowser Token="`+goodToken+`"`) },
		"x-emby-token":  func(h http.Header) { h.Set("X-Emby-Token", goodToken) },
	} {
		t.Run(name, func(t *testing.T) {
			r := get("/jellyfin/jellyguard/api/account")
			set(r.Header)
			w := do(t, newFake(), r)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Error("account is cacheable")
			}
			m := decodeJSON(t, w.Body.String())
			if m["userId"] != "u1" || m["userName"] != "alice" || m["required"] != true || m["graceUntil"] != "2030-01-02T03:04:05Z" {
				t.Errorf("account %v", m)
			}
			browsers, _ := m["browsers"].([]any)
			devices, _ := m["devices"].([]any)
			if len(browsers) != 1 || len(devices) != 1 {
				t.Fatalf("lists %v %v", browsers, devices)
			}
			if b := browsers[0].(map[string]any); b["id"] != "b1" || b["current"] != true {
				t.Errorf("browser %v", b)
			}
			if _, ok := browsers[0].(map[string]any)["createdAt"]; ok {
				t.Error("zero time should be left out")
			}
			if d := devices[0].(map[string]any); d["state"] != "pending" || d["deviceName"] != "Pixel 8" {
				t.Errorf("device %v", d)
			}
		})
	}
}

func TestAPICalls(t *testing.T) {
	tests := []struct {
		name, path, body string
		enrolled         bool
		status           int
		want             string // JSON field that must be present, or the error code
		call             string
	}{
		{"begin", "totp/begin", ``, false, 200, "qr", "BeginTOTP"},
		{"begin needs code when enrolled", "totp/begin", `{}`, true, 403, "code_required", "BeginTOTP"},
		{"re-enroll", "totp/begin", `{"code":"123456"}`, true, 200, "secret", "BeginTOTP"},
		{"confirm", "totp/confirm", `{"code":"123 456"}`, false, 200, "recoveryCodes", "ConfirmTOTP"},
		{"confirm bad code", "totp/confirm", `{"code":"000000"}`, false, 400, "bad_code", "ConfirmTOTP"},
		{"regenerate", "recovery/regenerate", `{"code":"123456"}`, true, 200, "recoveryCodes", "RegenerateRecovery"},
		{"disable", "totp/disable", `{"code":"123456"}`, true, 200, "ok", "DisableTOTP"},
		{"disable without code", "totp/disable", `{}`, true, 403, "code_required", "DisableTOTP"},
		{"approve", "devices/approve", `{"id":"d1","code":"123456"}`, true, 200, "ok", "ApproveDevice"},
		{"approve without id", "devices/approve", `{"code":"123456"}`, true, 400, "bad_request", ""},
		{"revoke device", "devices/revoke", `{"id":"d1","code":"123456"}`, true, 200, "ok", "RevokeDevice"},
		{"revoke device without code", "devices/revoke", `{"id":"d1"}`, true, 403, "code_required", "RevokeDevice"},
		{"revoke device without id", "devices/revoke", `{"code":"123456"}`, true, 400, "bad_request", ""},
		{"revoke browser", "browsers/revoke", `{"id":"b1","code":"123456"}`, true, 200, "ok", "RevokeBrowser"},
		{"revoke browser without code", "browsers/revoke", `{"id":"b1"}`, true, 403, "code_required", "RevokeBrowser"},
		{"revoke browser bad code", "browsers/revoke", `{"id":"b1","code":"000000"}`, true, 400, "bad_code", "RevokeBrowser"},
		{"revoke browser without id", "browsers/revoke", `{"code":"123456"}`, true, 400, "bad_request", ""},
		{"revoke a browser that is gone", "browsers/revoke", `{"id":"gone","code":"123456"}`, true, 404, "not_found", "RevokeBrowser"},
		{"bad JSON", "browsers/revoke", `{"id":`, true, 400, "bad_request", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newFake()
			svc.enrolled = tt.enrolled
			w := do(t, svc, postJSON("/jellyfin/jellyguard/api/"+tt.path, tt.body))
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			m := decodeJSON(t, w.Body.String())
			if tt.status == 200 {
				if _, ok := m[tt.want]; !ok {
					t.Errorf("no %q in %v", tt.want, m)
				}
			} else if m["error"] != tt.want || m["message"] == "" {
				t.Errorf("error %v, want %q", m, tt.want)
			}
			if tt.call != "" && !svc.called(tt.call) {
				t.Errorf("%s not called: %v", tt.call, svc.calls)
			}
			if tt.call == "" && len(svc.calls) != 0 {
				t.Errorf("service called: %v", svc.calls)
			}
		})
	}
}

func TestAPIBeginReturnsQRDataURL(t *testing.T) {
	w := do(t, newFake(), postJSON("/jellyfin/jellyguard/api/totp/begin", `{}`))
	m := decodeJSON(t, w.Body.String())
	qr, _ := m["qr"].(string)
	data, ok := strings.CutPrefix(qr, "data:image/svg+xml;base64,")
	if !ok {
		t.Fatalf("qr = %q", qr)
	}
	if svg, err := base64.StdEncoding.DecodeString(data); err != nil || string(svg) != "<svg/>" {
		t.Errorf("qr decodes to %q, %v", svg, err)
	}
	if m["secret"] != "JBSWY3DPEHPK3PXP" || !strings.HasPrefix(m["uri"].(string), "otpauth://") {
		t.Errorf("enrollment %v", m)
	}
	// The page says which name the app lists the account under: the
	// enrollment's own, Jellyfin's server name by default.
	if m["issuer"] != "Living Room" {
		t.Errorf("issuer %v, want the enrollment's", m["issuer"])
	}
}

func TestAPIIDsReachService(t *testing.T) {
	for _, path := range []string{"devices/approve", "devices/revoke", "browsers/revoke"} {
		svc := newFake()
		do(t, svc, postJSON("/jellyfin/jellyguard/api/"+path, `{"id":"d1","code":"123456"}`))
		if svc.gotID != "d1" {
			t.Errorf("%s: id %q", path, svc.gotID)
		}
	}
}

// TestAPICodesReachService checks that every call that takes a code gets
// it, with the white space people type taken out.
func TestAPICodesReachService(t *testing.T) {
	for _, path := range []string{"totp/begin", "totp/confirm", "recovery/regenerate", "totp/disable",
		"devices/approve", "devices/revoke", "browsers/revoke"} {
		svc := newFake()
		svc.enrolled = true
		w := do(t, svc, postJSON("/jellyfin/jellyguard/api/"+path, `{"id":"d1","code":" 123 456\t"}`))
		if w.Code != http.StatusOK {
			t.Errorf("%s: status %d: %s", path, w.Code, w.Body)
		}
		if svc.gotCode != goodCode {
			t.Errorf("%s: code %q, want %q", path, svc.gotCode, goodCode)
		}
	}
}

func TestAPIThrottled(t *testing.T) {
	svc := newFake()
	svc.throttled = true
	w := do(t, svc, postJSON("/jellyfin/jellyguard/api/totp/confirm", `{"code":"123456"}`))
	if w.Code != http.StatusTooManyRequests || decodeJSON(t, w.Body.String())["error"] != "throttled" {
		t.Fatalf("status %d", w.Code)
	}
}

func TestAPIBodyLimit(t *testing.T) {
	body := `{"code":"` + strings.Repeat("1", bodyLimit) + `"}`
	svc := newFake()
	w := do(t, svc, postJSON("/jellyfin/jellyguard/api/totp/confirm", body))
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d", w.Code)
	}
	if decodeJSON(t, w.Body.String())["error"] != "too_large" {
		t.Errorf("body %s", w.Body)
	}
	if len(svc.calls) != 0 {
		t.Errorf("service called: %v", svc.calls)
	}

	// Just under the limit is fine.
	body = `{"code":"123456","id":"` + strings.Repeat("x", bodyLimit-40) + `"}`
	if w := do(t, newFake(), postJSON("/jellyfin/jellyguard/api/devices/revoke", body)); w.Code != http.StatusOK {
		t.Errorf("status %d under the limit", w.Code)
	}
}

func TestAPIMethods(t *testing.T) {
	r := get("/jellyfin/jellyguard/api/totp/disable")
	r.Header.Set("X-Emby-Token", goodToken)
	if w := do(t, newFake(), r); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET on a POST route: status %d", w.Code)
	}
}
