package web

import (
	"net/http"
	"testing"
)

// TestAPIBeginAsksForThePassword checks how totp/begin answers when a first
// enrollment needs the password: a clear 403 to ask for it, a 400 when it
// is wrong, and the enrollment once it is right.
func TestAPIBeginAsksForThePassword(t *testing.T) {
	tests := []struct {
		name           string
		stale          bool
		enrolled       bool
		body           string
		status         int
		want           string // JSON field that must be present, or the error code
		wantMsg        string
		wantPasswordIn string
	}{
		{name: "fresh session", body: `{}`, status: 200, want: "secret"},
		{name: "old session", stale: true, body: `{}`, status: 403, want: "password_required",
			wantMsg: "Enter your password to set up two-step verification."},
		{name: "empty password", stale: true, body: `{"password":""}`, status: 403, want: "password_required"},
		{name: "wrong password", stale: true, body: `{"password":"guess"}`, status: 400, want: "bad_password",
			wantMsg: "That password didn't work. Check it and try again.", wantPasswordIn: "guess"},
		{name: "right password", stale: true, body: `{"password":"secret"}`, status: 200, want: "qr", wantPasswordIn: "secret"},
		{name: "password taken as typed", stale: true, body: `{"password":" secret "}`, status: 400, want: "bad_password",
			wantPasswordIn: " secret "},
		{name: "a password is no current code", enrolled: true, body: `{"password":"secret"}`, status: 403, want: "code_required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newFake()
			svc.stale, svc.enrolled = tt.stale, tt.enrolled
			w := do(t, svc, postJSON("/jellyfin/jellyguard/api/totp/begin", tt.body))
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			m := decodeJSON(t, w.Body.String())
			if tt.status == http.StatusOK {
				if _, ok := m[tt.want]; !ok {
					t.Errorf("no %q in %v", tt.want, m)
				}
			} else if m["error"] != tt.want || m["message"] == "" {
				t.Errorf("error %v, want %q", m, tt.want)
			}
			if tt.wantMsg != "" && m["message"] != tt.wantMsg {
				t.Errorf("message %q, want %q", m["message"], tt.wantMsg)
			}
			if tt.wantPasswordIn != "" && svc.gotPassword != tt.wantPasswordIn {
				t.Errorf("service got password %q, want %q", svc.gotPassword, tt.wantPasswordIn)
			}
		})
	}
}

// TestAPIPasswordReachesOnlyBegin checks that a password in the body of
// another call changes nothing: only setting up a first authenticator
// takes one.
func TestAPIPasswordReachesOnlyBegin(t *testing.T) {
	for _, path := range []string{"totp/disable", "recovery/regenerate", "devices/revoke", "browsers/revoke"} {
		svc := newFake()
		svc.enrolled = true
		w := do(t, svc, postJSON("/jellyfin/jellyguard/api/"+path, `{"id":"d1","password":"secret"}`))
		if w.Code != http.StatusForbidden {
			t.Errorf("%s with a password and no code: status %d, want 403: %s", path, w.Code, w.Body)
		}
		if m := decodeJSON(t, w.Body.String()); m["error"] != "code_required" {
			t.Errorf("%s: %v", path, m)
		}
	}
}
