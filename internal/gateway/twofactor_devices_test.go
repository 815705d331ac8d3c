package gateway_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/testutil"
)

// TestTwoFactorPendingDeviceApprovedWithCodeSignsInOnce: a refused app
// waits on the Setup page; approving it needs a current code; the next
// sign-in from that device id passes, another device id does not, and
// removing the device revokes the token it received.
func TestTwoFactorPendingDeviceApprovedWithCodeSignsInOnce(t *testing.T) {
	e := testutil.Start(t, testutil.Options{})
	setup, auth, _ := enrollAlice(t, e)
	pw := e.Passwords["alice"]
	phone := findroid("findroid-approve", "Pixel 8")

	mustRefuse(t, "new device", nativeLogin(t, e, "alice", pw, phone))
	id := ""
	for _, d := range account(t, e, setup).Devices {
		if d.State == "pending" && d.DeviceName == "Pixel 8" {
			id = d.ID
		}
	}
	if id == "" {
		t.Fatal("the refused device is not pending")
	}

	status, body := e.API("devices/approve", setup, map[string]string{"id": id})
	mustAPIError(t, "approve without a code", status, body, http.StatusForbidden, "code_required")
	status, body = e.API("devices/approve", setup, map[string]string{"id": id, "code": auth.Wrong(t)})
	mustAPIError(t, "approve with a wrong code", status, body, http.StatusBadRequest, "bad_code")
	mustRefuse(t, "not approved yet", nativeLogin(t, e, "alice", pw, phone))
	if status, body := e.API("devices/approve", setup, map[string]string{"id": id, "code": auth.Code(t)}); status != http.StatusOK {
		t.Fatalf("approve: %d %s", status, body)
	}

	mustRefuse(t, "another device id", nativeLogin(t, e, "alice", pw, findroid("findroid-other", "Pixel 9")))
	tok := mustSignIn(t, "approved device", nativeLogin(t, e, "alice", pw, phone))
	mustWork(t, e, tok)
	mustFactor(t, e, tok, "device")

	status, body = e.API("devices/revoke", setup, map[string]string{"id": id})
	mustAPIError(t, "remove without a code", status, body, http.StatusForbidden, "code_required")
	if status, body := e.API("devices/revoke", setup, map[string]string{"id": id, "code": auth.Code(t)}); status != http.StatusOK {
		t.Fatalf("devices/revoke: %d %s", status, body)
	}
	mustFail(t, e, tok)
}

// TestTwoFactorChangingAFactorNeedsACurrentFactor: a token alone (they leak
// in stream URLs) cannot re-enroll or disable the authenticator, and an API
// key is nobody.
func TestTwoFactorChangingAFactorNeedsACurrentFactor(t *testing.T) {
	e := testutil.Start(t, testutil.Options{})
	setup, auth, _ := enrollAlice(t, e)

	status, body := e.API("totp/begin", setup, map[string]string{})
	mustAPIError(t, "re-enroll without a code", status, body, http.StatusForbidden, "code_required")
	status, body = e.API("recovery/regenerate", setup, map[string]string{})
	mustAPIError(t, "new recovery codes without a code", status, body, http.StatusForbidden, "code_required")
	status, body = e.API("totp/disable", setup, map[string]string{"code": auth.Wrong(t)})
	mustAPIError(t, "disable with a wrong code", status, body, http.StatusBadRequest, "bad_code")

	key := e.Fake.AddAPIKey("sonarr")
	if status, _ := e.Get("/System/Info", key); status != http.StatusOK {
		t.Fatalf("the API key does not work through the gateway: %d", status)
	}
	status, body = e.API("totp/disable", key, map[string]string{"code": auth.Code(t)})
	mustAPIError(t, "disable with an API key", status, body, http.StatusUnauthorized, "unauthorized")

	if !account(t, e, setup).Enrolled {
		t.Fatal("the authenticator is gone")
	}
	if status, body := e.API("totp/disable", setup, map[string]string{"code": auth.Code(t)}); status != http.StatusOK {
		t.Fatalf("disable with a current code: %d %s", status, body)
	}
	if account(t, e, setup).Enrolled {
		t.Fatal("disable with a current code left the authenticator in place")
	}
}

// TestTwoFactorQuickConnectNeedsAVerifiedAuthoriser: a TV's Quick Connect
// session is released only when the code was authorised by a session that
// passed a second factor.
func TestTwoFactorQuickConnectNeedsAVerifiedAuthoriser(t *testing.T) {
	e, issued := testutil.StartRecording(t, testutil.Options{})
	unverified, auth, _ := enrollAlice(t, e) // released before alice had a factor
	mustFactor(t, e, unverified, "")

	quickConnect := func(tv app, authoriser string) answer {
		t.Helper()
		init := e.RawRequest(http.MethodPost, "/QuickConnect/Initiate", nil)
		init.Header.Set("Authorization", tv.header(""))
		var qc struct{ Secret, Code string }
		decodeJSON(t, e.Do(init), &qc)
		if qc.Secret == "" || qc.Code == "" {
			t.Fatal("Quick Connect did not start")
		}
		authz := e.RawRequest(http.MethodPost, "/QuickConnect/Authorize?code="+qc.Code, nil)
		authz.Header.Set("Authorization", findroid("alice-phone", "Phone").header(authoriser))
		authzResp := e.Do(authz)
		_ = authzResp.Body.Close()
		if authzResp.StatusCode != http.StatusOK {
			t.Fatalf("authorize: %d", authzResp.StatusCode)
		}
		redeem := e.RawRequest(http.MethodPost, "/Users/AuthenticateWithQuickConnect", strings.NewReader(`{"Secret":"`+qc.Secret+`"}`))
		redeem.Header.Set("Content-Type", "application/json")
		redeem.Header.Set("Authorization", tv.header(""))
		return readAnswer(t, e.Do(redeem))
	}

	tv1 := androidTV("tv-unverified")
	mustRefuse(t, "authorised by an unverified session", quickConnect(tv1, unverified))
	mustBeLoggedOut(t, e, issued.Last(t, tv1.deviceID), tv1.deviceID, 3*time.Second)

	verified := mustSignIn(t, "password;code", nativeLogin(t, e, "alice", e.Passwords["alice"]+";"+auth.Code(t), findroid("alice-phone-2", "Phone")))
	mustFactor(t, e, verified, "totp")
	tv2 := androidTV("tv-verified")
	tok := mustSignIn(t, "authorised by a verified session", quickConnect(tv2, verified))
	mustWork(t, e, tok)
	if st := recorded(t, e, tok); st.Factor != "quickconnect" || st.UserName != "alice" || st.Source != "quickconnect" {
		t.Fatalf("recorded %+v", st)
	}
}
