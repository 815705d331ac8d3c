package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/signin"
	"github.com/jellyguard/jellyguard/internal/testutil"
	"github.com/jellyguard/jellyguard/internal/tokens"
)

// backdateSignIn makes the gateway's record of token say it signed in `ago`.
func backdateSignIn(t *testing.T, e *testutil.Env, token string, ago time.Duration) {
	t.Helper()
	st := recorded(t, e, token)
	st.CreatedAt = time.Now().Add(-ago)
	if err := e.Store.PutToken(context.Background(), st); err != nil {
		t.Fatal(err)
	}
}

func mustBegin(t *testing.T, e *testutil.Env, what, token string, body map[string]string) string {
	t.Helper()
	status, b := e.API("totp/begin", token, body)
	var begin struct{ Secret string }
	if status != http.StatusOK || json.Unmarshal(b, &begin) != nil || begin.Secret == "" {
		t.Fatalf("%s: totp/begin: %d %s", what, status, b)
	}
	return begin.Secret
}

// TestTwoFactorFirstAuthenticatorNeedsMoreThanAToken: tokens leak in stream
// URLs, so a token alone does not set up a first authenticator. A session
// that signed in with the password a few minutes ago may; an older one
// needs the password, which the gateway checks with Jellyfin and whose
// session it logs out again.
func TestTwoFactorFirstAuthenticatorNeedsMoreThanAToken(t *testing.T) {
	e, issued := testutil.StartRecording(t, testutil.Options{})
	token := e.MustLogin("alice", "alice-browser")

	mustBegin(t, e, "a fresh session", token, map[string]string{})

	backdateSignIn(t, e, token, 11*time.Minute)
	status, body := e.API("totp/begin", token, map[string]string{})
	mustAPIError(t, "an old session without the password", status, body, http.StatusForbidden, "password_required")
	if !bytes.Contains(body, []byte("Enter your password to set up two-step verification.")) {
		t.Errorf("message %s", body)
	}
	status, body = e.API("totp/begin", token, map[string]string{"code": "123456"})
	mustAPIError(t, "an old session with a code instead", status, body, http.StatusForbidden, "password_required")

	checkDevice := signin.PasswordCheckDevice(tokens.HashOf(token))
	status, body = e.API("totp/begin", token, map[string]string{"password": "not-alices"})
	mustAPIError(t, "a wrong password", status, body, http.StatusBadRequest, "bad_password")
	if n := len(issued.ForDevice(checkDevice)); n != 0 {
		t.Fatalf("Jellyfin issued %d tokens for a wrong password", n)
	}

	secret := mustBegin(t, e, "the right password", token, map[string]string{"password": e.Passwords["alice"]})
	checks := issued.ForDevice(checkDevice)
	if len(checks) != 1 {
		t.Fatalf("the password check signed in %d times, want once", len(checks))
	}
	mustBeLoggedOut(t, e, checks[0], checkDevice, 3*time.Second)
	mustWork(t, e, token) // the check did not end the session that asked

	auth := testutil.NewAuthenticator(secret, 0)
	status, body = e.API("totp/confirm", token, map[string]string{"code": auth.Code(t)})
	if status != http.StatusOK || !bytes.Contains(body, []byte("recoveryCodes")) {
		t.Fatalf("totp/confirm: %d %s", status, body)
	}

	// Re-enrolling still needs a current code: the password is not one.
	status, body = e.API("totp/begin", token, map[string]string{"password": e.Passwords["alice"]})
	mustAPIError(t, "re-enrolling with the password", status, body, http.StatusForbidden, "code_required")
	mustBegin(t, e, "re-enrolling with a code", token, map[string]string{"code": auth.Code(t)})
}

// TestTwoFactorAdoptedTokenNeedsThePassword: a token made behind the
// gateway's back was never seen signing in, however new it is.
func TestTwoFactorAdoptedTokenNeedsThePassword(t *testing.T) {
	e := testutil.Start(t, testutil.Options{})
	body, _ := json.Marshal(map[string]string{"Username": "bob", "Pw": e.Passwords["bob"]})
	req := e.RawFakeRequest(http.MethodPost, "/Users/AuthenticateByName", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", testutil.AuthHeader("bob-direct", ""))
	token := decodeToken(t, e.Do(req))
	mustWork(t, e, token) // adopted

	status, b := e.API("totp/begin", token, map[string]string{})
	mustAPIError(t, "an adopted token", status, b, http.StatusForbidden, "password_required")
	mustBegin(t, e, "an adopted token with the password", token, map[string]string{"password": e.Passwords["bob"]})
	mustWork(t, e, token)
}

// TestTwoFactorQuickConnectSessionNeedsThePassword: a token can approve a
// Quick Connect code, so a session Quick Connect opened proves no more than
// a token and is never fresh enough on its own.
func TestTwoFactorQuickConnectSessionNeedsThePassword(t *testing.T) {
	e := testutil.Start(t, testutil.Options{})
	leaked := e.MustLogin("alice", "alice-phone")
	backdateSignIn(t, e, leaked, time.Hour)

	tv := androidTV("attackers-tv")
	init := e.RawRequest(http.MethodPost, "/QuickConnect/Initiate", nil)
	init.Header.Set("Authorization", tv.header(""))
	var qc struct{ Secret, Code string }
	decodeJSON(t, e.Do(init), &qc)
	authz := e.RawRequest(http.MethodPost, "/QuickConnect/Authorize?code="+qc.Code, nil)
	authz.Header.Set("Authorization", findroid("alice-phone", "Phone").header(leaked))
	if r := e.Do(authz); r.StatusCode != http.StatusOK {
		t.Fatalf("authorize: %d", r.StatusCode)
	}
	redeem := e.RawRequest(http.MethodPost, "/Users/AuthenticateWithQuickConnect", strings.NewReader(`{"Secret":"`+qc.Secret+`"}`))
	redeem.Header.Set("Content-Type", "application/json")
	redeem.Header.Set("Authorization", tv.header(""))
	fresh := mustSignIn(t, "Quick Connect", readAnswer(t, e.Do(redeem)))

	status, b := e.API("totp/begin", fresh, map[string]string{})
	mustAPIError(t, "a new Quick Connect session", status, b, http.StatusForbidden, "password_required")
}
