package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // G505: RFC 6238 TOTP is HMAC-SHA-1, as authenticator apps compute it
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

const (
	// challengeTTL is the challenge lifetime the expiry test gives the demo
	// (JELLYGUARD_TWO_FACTOR_CHALLENGE_TTL).
	challengeTTL = 3 * time.Second
	// expiryMargin is how much later than challengeTTL the emulator may
	// still show the withheld session (the gateway sweeps once a second).
	expiryMargin = 3 * time.Second
	// logoutDeadline bounds how long a refused sign-in's token may stay
	// live in the emulator.
	logoutDeadline = 3 * time.Second
)

// enrollment is what `jellyguard user totp` printed.
type enrollment struct {
	URI           string
	Secret        string // base32, as in the URI
	RecoveryCodes []string
}

var recoveryCode = regexp.MustCompile(`^[0-9A-Z]{5}-[0-9A-Z]{5}$`)

// enrollTOTP runs `jellyguard user totp <user> --config <demo config>`
// against the running demo and parses the otpauth:// URI and the recovery
// codes it prints.
func enrollTOTP(t *testing.T, d *demo, user string) enrollment {
	t.Helper()
	res := runCLI(t, "user", "totp", user, "--config", d.Config)
	if res.code != 0 {
		t.Fatalf("jellyguard user totp %s: exit %d\nstdout: %s\nstderr: %s", user, res.code, res.stdout, res.stderr)
	}
	var e enrollment
	for _, line := range strings.Split(res.stdout, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "otpauth://"):
			e.URI = line
		case recoveryCode.MatchString(line):
			e.RecoveryCodes = append(e.RecoveryCodes, line)
		}
	}
	u, err := url.Parse(e.URI)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" {
		t.Fatalf("jellyguard user totp %s: no otpauth://totp/ URI (%v) in:\n%s", user, err, res.stdout)
	}
	q := u.Query()
	e.Secret = q.Get("secret")
	if _, err := decodeSecret(e.Secret); err != nil || e.Secret == "" {
		t.Fatalf("jellyguard user totp %s: secret %q in %s is not base32: %v", user, e.Secret, e.URI, err)
	}
	for k, want := range map[string]string{"algorithm": "SHA1", "digits": "6", "period": "30"} {
		if got := q.Get(k); got != "" && got != want {
			t.Fatalf("jellyguard user totp %s: %s=%s in %s; the test computes RFC 6238 SHA1/6/30", user, k, got, e.URI)
		}
	}
	if len(e.RecoveryCodes) != 10 {
		t.Fatalf("jellyguard user totp %s: %d recovery codes (XXXXX-XXXXX), want 10:\n%s", user, len(e.RecoveryCodes), res.stdout)
	}
	return e
}

func decodeSecret(s string) ([]byte, error) {
	return base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(strings.TrimRight(s, "=")))
}

// totpAt is the RFC 6238 code (HMAC-SHA-1, 6 digits, 30 s steps) for now.
func totpAt(t *testing.T, secret string, now time.Time) string {
	t.Helper()
	key, err := decodeSecret(secret)
	if err != nil {
		t.Fatalf("TOTP secret %q: %v", secret, err)
	}
	var counter [8]byte
	binary.BigEndian.PutUint64(counter[:], uint64(now.Unix()/30)) //nolint:gosec // G115: the clock is after 1970
	mac := hmac.New(sha1.New, key)
	mac.Write(counter[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	return fmt.Sprintf("%06d", (binary.BigEndian.Uint32(sum[off:])&0x7fffffff)%1000000)
}

func randomID(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b)
}

// emulatorKey reads the API key the demo gave its emulator (and the gateway).
func emulatorKey(t *testing.T, d *demo) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(d.Data, "jellyfin-api-key"))
	if err != nil {
		t.Fatalf("reading the demo's API key: %v", err)
	}
	key := strings.TrimSpace(string(raw))
	if key == "" {
		t.Fatal("the demo's jellyfin-api-key file is empty")
	}
	return key
}

// emulatorSession is the part of a SessionInfo the tests read.
type emulatorSession struct {
	UserName string `json:"UserName"`
	DeviceID string `json:"DeviceId"`
	Client   string `json:"Client"`
}

// liveAtEmulator asks the emulator directly (with the API key, so the
// gateway cannot hide anything) which sessions it has for deviceID, and how
// many access tokens (GET /Devices rows, one per token) that device holds.
func liveAtEmulator(t *testing.T, d *demo, key, deviceID string) (sessions []emulatorSession, tokens int) {
	t.Helper()
	resp, body := get(t, d.Jellyfin+"/Sessions?deviceId="+url.QueryEscape(deviceID), key, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /Sessions at the emulator: %d; body: %.300s", resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, &sessions); err != nil {
		t.Fatalf("GET /Sessions at the emulator: %v; body: %.300s", err, body)
	}
	resp, body = get(t, d.Jellyfin+"/Devices", key, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /Devices at the emulator: %d; body: %.300s", resp.StatusCode, body)
	}
	var devices struct {
		Items []struct {
			ID string `json:"Id"`
		} `json:"Items"`
	}
	if err := json.Unmarshal(body, &devices); err != nil {
		t.Fatalf("GET /Devices at the emulator: %v; body: %.300s", err, body)
	}
	for _, dev := range devices.Items {
		if strings.EqualFold(dev.ID, deviceID) {
			tokens++
		}
	}
	return sessions, tokens
}

// waitLoggedOut polls the emulator until deviceID has neither a session
// nor a token, or until deadline. It returns how long that took and whether
// it happened.
func waitLoggedOut(t *testing.T, d *demo, key, deviceID string, since, deadline time.Time) (time.Duration, bool) {
	t.Helper()
	for {
		sessions, tokens := liveAtEmulator(t, d, key, deviceID)
		if len(sessions) == 0 && tokens == 0 {
			return time.Since(since), true
		}
		if time.Now().After(deadline) {
			t.Logf("emulator still has device %s: %d token(s), sessions %+v", deviceID, tokens, sessions)
			return time.Since(since), false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// assertNoLiveToken checks that a refused sign-in from deviceID left no
// token in Jellyfin: the gateway logged out whatever the emulator issued,
// so no token for it can work through the gateway either.
func assertNoLiveToken(t *testing.T, d *demo, key, deviceID, what string) {
	t.Helper()
	start := time.Now()
	took, ok := waitLoggedOut(t, d, key, deviceID, start, start.Add(logoutDeadline))
	if !ok {
		t.Errorf("%s: the emulator still holds a session or token for device %s %v later; the token Jellyfin issued was not logged out",
			what, deviceID, logoutDeadline)
		return
	}
	t.Logf("%s: no session or token for device %s at the emulator (checked after %v)", what, deviceID, took.Round(time.Millisecond))
}

// assertRefused checks an SDK sign-in that must fail exactly like a wrong
// password: ok=false, status 401 at the sign-in step, no token.
func assertRefused(t *testing.T, what string, res sdkSignIn) {
	t.Helper()
	if res.OK || res.Status != http.StatusUnauthorized || res.Step != "signin" || res.Token != "" {
		t.Errorf("%s: ok=%v status=%d step=%q token=%q, want {ok:false, status:401, step:signin} and no token",
			what, res.OK, res.Status, res.Step, res.Token)
	}
}

// assertWorks checks an SDK sign-in that must succeed: a 32-hex token that
// listed items, and that works for /Users/Me through the gateway.
func assertWorks(t *testing.T, d *demo, what, user string, res sdkSignIn) {
	t.Helper()
	if !res.OK || res.Status != http.StatusOK || !hex32.MatchString(res.Token) {
		t.Errorf("%s: ok=%v status=%d step=%q token=%q, want ok with 200 and a 32-hex token", what, res.OK, res.Status, res.Step, res.Token)
		return
	}
	if res.Items <= 0 {
		t.Errorf("%s: the token listed %d items, want > 0", what, res.Items)
	}
	code, body := usersMe(t, d.Gateway, res.Token)
	var me struct{ Name string }
	_ = json.Unmarshal(body, &me)
	if code != http.StatusOK || me.Name != user {
		t.Errorf("%s: GET /Users/Me through the gateway with the token: %d Name=%q, want 200 %s; body: %.300s", what, code, me.Name, user, body)
	}
}

func TestSDKTwoFactorPasswordOnlyGetsNoToken(t *testing.T) {
	d := startDemo(t)
	key := emulatorKey(t, d)
	enrollTOTP(t, d, "alice")
	pw := d.password(t, "alice")

	device := randomID(t, "e2e-2fa-pw-only-")
	start := time.Now()
	res := signIn(t, d.Gateway, "alice", pw, device)
	t.Logf("@jellyfin/sdk sign-in of alice (TOTP enrolled) with only the password from new device %s: %v, %+v",
		device, time.Since(start).Round(time.Millisecond), res)
	assertRefused(t, "password only, new device", res)
	assertNoLiveToken(t, d, key, device, "password only, new device")

	// The answer is the one a wrong password gets, and holds no token.
	wrong := signIn(t, d.Gateway, "alice", pw+"-wrong", randomID(t, "e2e-2fa-wrong-"))
	assertRefused(t, "wrong password", wrong)
	gw, err := url.Parse(d.Gateway)
	if err != nil {
		t.Fatal(err)
	}
	raw := func(password, device string) (int, []byte) {
		body, err := json.Marshal(map[string]string{"Username": "alice", "Pw": password})
		if err != nil {
			t.Fatal(err)
		}
		return rawLogin(t, gw.Host, "/Users/AuthenticateByName", `MediaBrowser Client="e2e", Device="d", DeviceId="`+device+`", Version="1"`, body)
	}
	rawDevice := randomID(t, "e2e-2fa-raw-")
	pwCode, pwBody := raw(pw, rawDevice)
	wrongCode, wrongBody := raw(pw+"-wrong", randomID(t, "e2e-2fa-raw-wrong-"))
	t.Logf("raw POST, password only: %d %q; wrong password: %d %q", pwCode, pwBody, wrongCode, wrongBody)
	if pwCode != http.StatusUnauthorized || bytes.Contains(bytes.ToLower(pwBody), []byte("accesstoken")) {
		t.Errorf("raw POST /Users/AuthenticateByName with only alice's password: %d %q, want 401 without an AccessToken", pwCode, pwBody)
	}
	if pwCode != wrongCode || !bytes.Equal(pwBody, wrongBody) {
		t.Errorf("password only gave %d %q, a wrong password %d %q: want the same answer", pwCode, pwBody, wrongCode, wrongBody)
	}
	assertNoLiveToken(t, d, key, rawDevice, "raw POST, password only")

	// A user without a second factor is not affected.
	assertWorks(t, d, "bob (no second factor), password only", "bob", signIn(t, d.Gateway, "bob", d.password(t, "bob"), ""))
}

// TestSDKSemicolonPasswordWithoutTwoFactor: with a TOTP user on the
// gateway, a user without a second factor whose password looks like
// "password;code" signs in with it unchanged.
func TestSDKSemicolonPasswordWithoutTwoFactor(t *testing.T) {
	d := startDemo(t)
	key := emulatorKey(t, d)
	enrollTOTP(t, d, "alice")

	bob := signIn(t, d.Gateway, "bob", d.password(t, "bob"), "")
	assertWorks(t, d, "bob (no second factor), password only", "bob", bob)
	// A TOTP-shaped and a recovery-code-shaped suffix.
	for _, pw := range []string{"horse;314159", "tide;7K2QF-9XW3M"} {
		setPassword(t, d, key, bob.UserID, pw)
		res := signIn(t, d.Gateway, "bob", pw, randomID(t, "e2e-semicolon-"))
		t.Logf("bob (no second factor) with the password %q: ok=%v status=%d", pw, res.OK, res.Status)
		assertWorks(t, d, fmt.Sprintf("bob (no second factor) with the password %q", pw), "bob", res)
		prefix, _, _ := strings.Cut(pw, ";")
		assertRefused(t, fmt.Sprintf("bob with only %q, the part before ;", prefix),
			signIn(t, d.Gateway, "bob", prefix, randomID(t, "e2e-semicolon-")))
	}
}

// setPassword sets a user's password at the emulator directly, as an
// administrator (the API key) does in Jellyfin's dashboard.
func setPassword(t *testing.T, d *demo, key, userID, password string) {
	t.Helper()
	body, err := json.Marshal(map[string]string{"NewPw": password})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Jellyfin+"/Users/Password?userId="+url.QueryEscape(userID), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", `MediaBrowser Token="`+key+`"`)
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("POST /Users/Password at the emulator: %v", err)
	}
	respBody, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /Users/Password?userId=%s at the emulator: %d, want 204; body: %.300s", userID, resp.StatusCode, respBody)
	}
}

func TestSDKTwoFactorPasswordSemicolonCode(t *testing.T) {
	d := startDemo(t)
	key := emulatorKey(t, d)
	e := enrollTOTP(t, d, "alice")
	pw := d.password(t, "alice")

	code := totpAt(t, e.Secret, time.Now())
	withCode := pw + ";" + code
	res := signIn(t, d.Gateway, "alice", withCode, randomID(t, "e2e-2fa-code-"))
	t.Logf("password;<current code>: ok=%v status=%d items=%d", res.OK, res.Status, res.Items)
	assertWorks(t, d, "password;<current code>", "alice", res)

	replayDevice := randomID(t, "e2e-2fa-replay-")
	replay := signIn(t, d.Gateway, "alice", withCode, replayDevice)
	t.Logf("the same password;code again: ok=%v status=%d", replay.OK, replay.Status)
	assertRefused(t, "the same password;<code> again", replay)
	assertNoLiveToken(t, d, key, replayDevice, "the same password;<code> again")

	rc := e.RecoveryCodes[3]
	recovered := signIn(t, d.Gateway, "alice", pw+";"+rc, randomID(t, "e2e-2fa-recovery-"))
	t.Logf("password;<recovery code %s>: ok=%v status=%d items=%d", rc, recovered.OK, recovered.Status, recovered.Items)
	assertWorks(t, d, "password;<recovery code>", "alice", recovered)

	for _, spelling := range []string{rc, strings.ToLower(strings.ReplaceAll(rc, "-", ""))} {
		dev := randomID(t, "e2e-2fa-recovery-again-")
		again := signIn(t, d.Gateway, "alice", pw+";"+spelling, dev)
		t.Logf("password;%s (used recovery code) again: ok=%v status=%d", spelling, again.OK, again.Status)
		assertRefused(t, "a used recovery code ("+spelling+")", again)
		assertNoLiveToken(t, d, key, dev, "a used recovery code ("+spelling+")")
	}

	// Another, unused recovery code still works: only the used one is spent.
	assertWorks(t, d, "password;<another recovery code>", "alice",
		signIn(t, d.Gateway, "alice", pw+";"+e.RecoveryCodes[7], randomID(t, "e2e-2fa-recovery-2-")))
}

// webLogin is jellyfin-web's sign-in fetch as the script the gateway
// injects sends it: the raw MediaBrowser header and X-Jellyguard-Web: 1.
func webLogin(t *testing.T, d *demo, user, password, deviceID string) (*http.Response, []byte) {
	t.Helper()
	return postLogin(t, d, "/Users/authenticatebyname", user, password, map[string]string{
		"Authorization":    `MediaBrowser Client="Jellyfin Web", Device="Chrome", DeviceId="` + deviceID + `", Version="10.11.11"`,
		"Accept":           "application/json",
		"X-Jellyguard-Web": "1",
	})
}

// postLogin posts {"Username","Pw"} to path on the gateway with the given
// headers and returns the answer (body read and closed).
func postLogin(t *testing.T, d *demo, path, user, password string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	body, err := json.Marshal(map[string]string{"Username": user, "Pw": password})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Gateway+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	respBody, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("POST %s: reading the body: %v", path, err)
	}
	return resp, respBody
}

func TestWebChallengeExpiresAndLogsOut(t *testing.T) {
	d := startDemoEnv(t, []string{"JELLYGUARD_TWO_FACTOR_CHALLENGE_TTL=" + challengeTTL.String()})
	key := emulatorKey(t, d)
	e := enrollTOTP(t, d, "alice")

	device := randomID(t, "e2e-expiry-")
	resp, body := webLogin(t, d, "alice", d.password(t, "alice"), device)
	answered := time.Now()
	to := resp.Header.Get("X-Jellyguard-Challenge")
	t.Logf("web sign-in of alice: %d, X-Jellyguard-Challenge %q, body %q", resp.StatusCode, to, body)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("web sign-in of a TOTP user: status %d, want 401 with a challenge; body: %.300s", resp.StatusCode, body)
	}
	if !strings.HasPrefix(to, "/") || strings.HasPrefix(to, "//") {
		t.Fatalf("web sign-in: X-Jellyguard-Challenge %q, want a same-origin path", to)
	}
	if bytes.Contains(bytes.ToLower(body), []byte("accesstoken")) {
		t.Fatalf("web sign-in: the 401 carries an AccessToken: %s", body)
	}
	var challenge *http.Cookie
	for _, c := range resp.Cookies() {
		if c.HttpOnly && c.Value != "" {
			challenge = c
		}
	}
	if challenge == nil {
		t.Fatalf("web sign-in: no HttpOnly cookie binds the challenge to the browser; Set-Cookie: %q", resp.Header.Values("Set-Cookie"))
	}

	// The withheld token is a live session in Jellyfin until the challenge
	// expires.
	sessions, tokens := liveAtEmulator(t, d, key, device)
	if len(sessions) != 1 || sessions[0].UserName != "alice" || tokens != 1 {
		t.Fatalf("right after the challenge the emulator has %d token(s) and sessions %+v for device %s; want alice's withheld session",
			tokens, sessions, device)
	}
	t.Logf("withheld session at the emulator: %+v", sessions[0])

	took, ok := waitLoggedOut(t, d, key, device, answered, answered.Add(challengeTTL+expiryMargin))
	if !ok {
		t.Fatalf("the challenge lifetime is %v, but %v after the 401 the emulator still shows alice's withheld session", challengeTTL, took.Round(time.Millisecond))
	}
	t.Logf("the emulator shows the withheld session logged out %v after the 401 (challenge lifetime %v)", took.Round(time.Millisecond), challengeTTL)
	if took < challengeTTL-time.Second {
		t.Errorf("the withheld session ended %v after the 401, well before the %v lifetime: it was not the expiry that logged it out", took, challengeTTL)
	}

	// The expired challenge cannot be answered any more, even with a right code.
	form := url.Values{"code": {totpAt(t, e.Secret, time.Now())}}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Gateway+to, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", d.Gateway)
	req.AddCookie(&http.Cookie{Name: challenge.Name, Value: challenge.Value})
	late, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s after expiry: %v", to, err)
	}
	lateBody, _ := io.ReadAll(io.LimitReader(late.Body, 1<<20))
	_ = late.Body.Close()
	t.Logf("answering the expired challenge with a right code: %d", late.StatusCode)
	if bytes.Contains(lateBody, []byte(`id="handoff"`)) || bytes.Contains(lateBody, []byte("data-token")) {
		t.Errorf("POST %s with a right code after expiry signed the browser in (%d): %.500s", to, late.StatusCode, lateBody)
	}
	if _, tokens := liveAtEmulator(t, d, key, device); tokens != 0 {
		t.Errorf("after answering the expired challenge the emulator has %d token(s) for device %s", tokens, device)
	}
}
