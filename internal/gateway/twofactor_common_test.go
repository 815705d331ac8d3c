package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/testkit"
	"github.com/jellyguard/jellyguard/internal/testutil"
	"github.com/jellyguard/jellyguard/internal/tokens"
)

// jellyfinFailure is the body of every refused sign-in.
const jellyfinFailure = "Error processing request."

// challengePage is where the web client answers a challenge.
const challengePage = "/jellyguard/challenge"

// app is how a client names itself in its MediaBrowser header.
type app struct{ client, device, deviceID, version string }

func (a app) header(token string) string {
	h := fmt.Sprintf(`MediaBrowser Client="%s", Device="%s", DeviceId="%s", Version="%s"`, a.client, a.device, a.deviceID, a.version)
	if token != "" {
		h += fmt.Sprintf(`, Token="%s"`, token)
	}
	return h
}

// findroid is a native Android app: it has no second-factor screen.
func findroid(deviceID, device string) app {
	return app{client: "Findroid", device: device, deviceID: deviceID, version: "0.15.2"}
}

func androidTV(deviceID string) app {
	return app{client: "Jellyfin Android TV", device: "Living room TV", deviceID: deviceID, version: "0.18.11"}
}

// answer is a sign-in answer as the client saw it.
type answer struct {
	status int
	body   []byte
	header http.Header
	token  string
}

func readAnswer(t testing.TB, resp *http.Response) answer {
	t.Helper()
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, body: b, header: resp.Header}
	var res struct{ AccessToken string }
	if json.Unmarshal(b, &res) == nil {
		a.token = res.AccessToken
	}
	return a
}

// nativeLogin signs in as an app without a second-factor screen would:
// AuthenticateByName, no web tag.
func nativeLogin(t testing.TB, e *testutil.Env, user, password string, a app) answer {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"Username": user, "Pw": password})
	req := e.RawRequest(http.MethodPost, "/Users/AuthenticateByName", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", a.header(""))
	return readAnswer(t, e.Do(req))
}

// mustRefuse checks that a sign-in got the one refusal every failure gets,
// with no token anywhere in it.
func mustRefuse(t testing.TB, what string, a answer) {
	t.Helper()
	if a.status != http.StatusUnauthorized {
		t.Fatalf("%s: status %d, want 401: %s", what, a.status, a.body)
	}
	if string(a.body) != jellyfinFailure {
		t.Fatalf("%s: body %q, want %q", what, a.body, jellyfinFailure)
	}
	if a.token != "" || bytes.Contains(bytes.ToLower(a.body), []byte("accesstoken")) {
		t.Fatalf("%s: a token came back", what)
	}
}

// mustSignIn checks that a sign-in was released and returns its token.
func mustSignIn(t *testing.T, what string, a answer) string {
	t.Helper()
	if a.status != http.StatusOK || a.token == "" {
		t.Fatalf("%s: status %d, token %q: %s", what, a.status, a.token, a.body)
	}
	return a.token
}

// recorded returns the gateway's record of a token it released.
func recorded(t *testing.T, e *testutil.Env, token string) store.Token {
	t.Helper()
	st, err := e.Store.Token(context.Background(), tokens.HashOf(token))
	if err != nil {
		t.Fatalf("token not recorded: %v", err)
	}
	return st
}

func mustFactor(t *testing.T, e *testutil.Env, token, want string) {
	t.Helper()
	if got := recorded(t, e, token).Factor; got != want {
		t.Fatalf("recorded factor %q, want %q", got, want)
	}
}

// mustWork checks that token is usable through the gateway.
func mustWork(t *testing.T, e *testutil.Env, token string) {
	t.Helper()
	if status, body := e.Get("/Users/Me", token); status != http.StatusOK {
		t.Fatalf("/Users/Me with the token: %d %s", status, body)
	}
}

// mustFail checks that token is refused through the gateway.
func mustFail(t *testing.T, e *testutil.Env, token string) {
	t.Helper()
	if status, _ := e.Get("/Users/Me", token); status != http.StatusUnauthorized {
		t.Fatalf("/Users/Me with the token: %d, want 401", status)
	}
}

// mustBeLoggedOut waits (bounded) until Jellyfin no longer knows token and
// has no session left for its device.
func mustBeLoggedOut(t *testing.T, e *testutil.Env, token, deviceID string, limit time.Duration) {
	t.Helper()
	ok := testkit.Eventually(limit, func() bool {
		if e.Fake.TokenValid(token) {
			return false
		}
		for _, s := range e.Fake.Sessions() {
			if s.DeviceID == deviceID {
				return false
			}
		}
		return true
	})
	if !ok {
		t.Fatalf("the token Jellyfin issued for %s is still live after %s", deviceID, limit)
	}
}

// enrollAlice signs alice in (no factor yet) and enrolls TOTP through the
// Setup API with that session.
func enrollAlice(t testing.TB, e *testutil.Env) (string, *testutil.Authenticator, []string) {
	t.Helper()
	token := e.MustLogin("alice", "alice-setup")
	auth, codes := e.EnrollTOTP(token)
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes, want 10", len(codes))
	}
	for _, c := range codes {
		if !regexp.MustCompile(`^[0-9A-Z]{5}-[0-9A-Z]{5}$`).MatchString(c) {
			t.Fatalf("recovery code %q is not XXXXX-XXXXX", c)
		}
	}
	return token, auth, codes
}

// accountJSON is GET api/account.
type accountJSON struct {
	UserID       string `json:"userId"`
	UserName     string `json:"userName"`
	Enrolled     bool   `json:"enrolled"`
	Required     bool   `json:"required"`
	RecoveryLeft int    `json:"recoveryLeft"`
	Browsers     []struct {
		ID      string `json:"id"`
		Current bool   `json:"current"`
	} `json:"browsers"`
	Devices []struct {
		ID         string `json:"id"`
		Client     string `json:"client"`
		DeviceName string `json:"deviceName"`
		IP         string `json:"ip"`
		State      string `json:"state"`
	} `json:"devices"`
}

func account(t *testing.T, e *testutil.Env, token string) accountJSON {
	t.Helper()
	status, body := e.API("account", token, nil)
	var a accountJSON
	if status != http.StatusOK || json.Unmarshal(body, &a) != nil {
		t.Fatalf("api/account: %d %s", status, body)
	}
	return a
}

// mustAPIError checks an API call's status and error code.
func mustAPIError(t *testing.T, what string, status int, body []byte, wantStatus int, wantCode string) {
	t.Helper()
	var res struct{ Error string }
	_ = json.Unmarshal(body, &res)
	if status != wantStatus || res.Error != wantCode {
		t.Fatalf("%s: %d %s, want %d %q", what, status, body, wantStatus, wantCode)
	}
}

var dataAttr = regexp.MustCompile(`data-([a-z-]+)="([^"]*)"`)

// handoff reads the data attributes of the hand-off page's #handoff
// element; the test fails when the page is not a hand-off.
func handoff(t *testing.T, body []byte) map[string]string {
	t.Helper()
	page := string(body)
	i := strings.Index(page, `id="handoff"`)
	if i < 0 {
		t.Fatalf("not a hand-off page: %s", page)
	}
	end := strings.Index(page[i:], ">")
	if end < 0 {
		t.Fatalf("hand-off element not closed: %s", page)
	}
	attrs := map[string]string{}
	for _, m := range dataAttr.FindAllStringSubmatch(page[i:i+end], -1) {
		attrs[m[1]] = html.UnescapeString(m[2])
	}
	return attrs
}

// cookieNamed returns the cookie a response set, or nil.
func cookieNamed(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// mustBrowserCookie checks the rules every gateway cookie follows.
func mustBrowserCookie(t *testing.T, resp *http.Response, name string) *http.Cookie {
	t.Helper()
	c := cookieNamed(resp, name)
	if c == nil || c.Value == "" {
		t.Fatalf("no %s cookie set: %q", name, resp.Header.Values("Set-Cookie"))
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Fatalf("%s cookie is not HttpOnly and SameSite=Strict: %s", name, c.Raw)
	}
	return c
}

// headerNames lists the header names of an answer, Date left out.
func headerNames(h http.Header) []string {
	var names []string
	for k := range h {
		if k != "Date" {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	return names
}

// passWeb takes a browser through a whole web sign-in with a challenge:
// the tagged login, the challenge page, the right code. It returns the
// released token and the hand-off answer.
func passWeb(t *testing.T, br *testutil.Browser, user, password, code string, remember bool) (string, *http.Response) {
	t.Helper()
	login := readAnswer(t, br.Login(user, password))
	if login.status != http.StatusUnauthorized || login.header.Get("X-Jellyguard-Challenge") != challengePage {
		t.Fatalf("web login: %d, challenge header %q", login.status, login.header.Get("X-Jellyguard-Challenge"))
	}
	form := map[string][]string{"code": {code}}
	if remember {
		form["remember"] = []string{"1"}
	}
	resp := br.PostForm(challengePage, form)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("challenge answer: %d %s", resp.StatusCode, body)
	}
	token := handoff(t, body)["token"]
	if token == "" {
		t.Fatalf("hand-off without a token: %s", body)
	}
	return token, resp
}
