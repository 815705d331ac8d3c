package fake

import (
	"regexp"
	"testing"
	"time"
)

// qcResult is the part of QuickConnectResult the tests read.
type qcResult struct {
	Authenticated bool
	Secret, Code  string
	DeviceID      string `json:"DeviceId"`
	AppName       string
}

// initiate starts a Quick Connect request as a TV app would.
func (e *env) initiate(deviceID string) qcResult {
	e.t.Helper()
	r := e.do("POST", "/QuickConnect/Initiate", clientHeader(deviceID, ""), "")
	if r.status != 200 {
		e.t.Fatalf("initiate: %d %s", r.status, r.body)
	}
	var q qcResult
	r.json(e.t, &q)
	return q
}

// TestQuickConnectFlow_Section4 is the gateway recipe of §4.2: an API key
// authorises a code for another user, and the secret redeems repeatedly
// for the same token.
func TestQuickConnectFlow_Section4(t *testing.T) {
	e := newEnv(t, Options{})
	alice := e.s.AddUser("alice", "pw", false)
	key := e.s.AddAPIKey("gateway")
	if r := e.do("GET", "/QuickConnect/Enabled", nil, ""); string(r.body) != "true" {
		t.Fatalf("enabled: %s", r.body)
	}
	q := e.initiate("tv-1")
	if !regexp.MustCompile(`^[0-9A-F]{64}$`).MatchString(q.Secret) || !regexp.MustCompile(`^[1-9][0-9]{5}$`).MatchString(q.Code) {
		t.Fatalf("secret %q code %q", q.Secret, q.Code)
	}
	if r := e.do("GET", "/QuickConnect/Connect?Secret="+q.Secret, nil, ""); r.status != 200 {
		t.Fatalf("connect: %d", r.status)
	}
	r := e.do("POST", "/QuickConnect/Authorize?code="+q.Code+"&userId="+alice.ID, hdr("X-Emby-Token: "+key), "")
	if r.status != 200 || string(r.body) != "true" {
		t.Fatalf("authorize: %d %s", r.status, r.body)
	}
	var state qcResult
	e.do("GET", "/QuickConnect/Connect?secret="+q.Secret, nil, "").json(t, &state)
	if !state.Authenticated {
		t.Fatal("state must be authenticated")
	}
	var first, second struct {
		AccessToken string
		User        struct {
			ID string `json:"Id"`
		}
	}
	e.do("POST", "/Users/AuthenticateWithQuickConnect", nil, `{"secret":"`+q.Secret+`"}`).json(t, &first)
	e.do("POST", "/Users/AuthenticateWithQuickConnect", nil, `{"Secret":"`+q.Secret+`"}`).json(t, &second)
	if first.AccessToken == "" || first.AccessToken != second.AccessToken || first.User.ID != alice.ID {
		t.Fatalf("redemptions: %+v %+v", first, second)
	}
	if r := e.do("GET", "/Users/Me", tokenHeader(first.AccessToken), ""); r.status != 200 {
		t.Fatalf("minted token: %d", r.status)
	}
	var sessions []struct{ DeviceID, Client string }
	for _, se := range e.s.Sessions() {
		sessions = append(sessions, struct{ DeviceID, Client string }{se.DeviceID, se.Client})
	}
	if len(sessions) != 1 || sessions[0].DeviceID != "tv-1" || sessions[0].Client != "Jellyfin Web" {
		t.Fatalf("session bound to the initiating device: %+v", sessions)
	}
}

// TestQuickConnectAuthorizeRules_Section4_1 covers who may authorise what.
func TestQuickConnectAuthorizeRules_Section4_1(t *testing.T) {
	e := newEnv(t, Options{})
	alice := e.s.AddUser("alice", "pw", false)
	bob := e.s.AddUser("bob", "pw", false)
	e.s.AddUser("admin", "pw", true)
	key := e.s.AddAPIKey("gateway")
	aliceTok := e.login("alice", "pw", "a")
	adminTok := e.login("admin", "pw", "b")

	cases := []struct {
		name, query string
		token       string
		want        int
	}{
		{"no token", "", "", 401},
		{"non-admin for another user", "&userId=" + bob.ID, aliceTok, 403},
		{"non-admin for themself", "&userId=" + alice.ID, aliceTok, 200},
		{"non-admin implicit self", "", aliceTok, 200},
		{"admin for another user", "&userId=" + bob.ID, adminTok, 200},
		{"api key without userId", "", key, 400},
		{"api key for unknown user", "&userId=" + newGUID(), key, 400},
		{"api key for a user", "&userId=" + bob.ID, key, 200},
		{"malformed userId", "&userId=nope", key, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := e.initiate("dev-" + tc.name)
			h := hdr()
			if tc.token != "" {
				h = tokenHeader(tc.token)
			}
			r := e.do("POST", "/QuickConnect/Authorize?code="+q.Code+tc.query, h, "")
			if r.status != tc.want {
				t.Fatalf("status %d, want %d (%s)", r.status, tc.want, r.body)
			}
		})
	}
	if r := e.do("POST", "/QuickConnect/Authorize?code=000000&userId="+bob.ID, tokenHeader(key), ""); r.status != 404 {
		t.Fatalf("unknown code: %d", r.status)
	}
	q := e.initiate("twice")
	e.do("POST", "/QuickConnect/Authorize?code="+q.Code+"&userId="+bob.ID, tokenHeader(key), "")
	if r := e.do("POST", "/QuickConnect/Authorize?code="+q.Code+"&userId="+bob.ID, tokenHeader(key), ""); r.status != 500 {
		t.Fatalf("already authorised: %d, want 500", r.status)
	}
}

// TestQuickConnectDirectSemantics_Section4_1: AuthenticateDirect ignores
// the disabled flag (the token is minted but useless) and revokes the
// user's older tokens of that DeviceId.
func TestQuickConnectDirectSemantics_Section4_1(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddUser("alice", "pw", false)
	dora := e.s.AddUser("dora", "pw", false)
	_ = e.s.UpdatePolicy("dora", func(p *Policy) { p.IsDisabled = true })
	key := e.s.AddAPIKey("gateway")
	q := e.initiate("tv")
	if r := e.do("POST", "/QuickConnect/Authorize?code="+q.Code+"&userId="+dora.ID, tokenHeader(key), ""); r.status != 200 {
		t.Fatalf("authorize disabled user: %d", r.status)
	}
	var res struct{ AccessToken string }
	e.do("POST", "/Users/AuthenticateWithQuickConnect", nil, `{"Secret":"`+q.Secret+`"}`).json(t, &res)
	if r := e.do("GET", "/System/Info", tokenHeader(res.AccessToken), ""); r.status != 401 {
		t.Fatalf("disabled user's token: %d, want 401", r.status)
	}
	if r := e.do("GET", "/System/Info/Public", tokenHeader(res.AccessToken), ""); r.status != 200 {
		t.Fatalf("anonymous endpoints ignore the failed token: %d", r.status)
	}
	old := e.login("alice", "pw", "tv2")
	alice, _ := e.s.User("alice")
	q2 := e.initiate("tv2")
	e.do("POST", "/QuickConnect/Authorize?code="+q2.Code+"&userId="+alice.ID, tokenHeader(key), "")
	if e.s.TokenValid(old) {
		t.Fatal("same-DeviceId token must be revoked")
	}
}

// TestQuickConnectDisabledAndErrors_Section4 covers 400 before 401, the
// disabled answers and unknown secrets.
func TestQuickConnectDisabledAndErrors_Section4(t *testing.T) {
	e := newEnv(t, Options{})
	if r := e.do("POST", "/QuickConnect/Initiate", hdr(`Authorization: MediaBrowser Client="x", Device="y", Version="1"`), ""); r.status != 400 {
		t.Fatalf("initiate without DeviceId: %d", r.status)
	}
	if r := e.do("GET", "/QuickConnect/Initiate", clientHeader("d", ""), ""); r.status != 200 {
		t.Fatalf("obsolete GET initiate: %d", r.status)
	}
	if r := e.do("GET", "/QuickConnect/Connect?secret=nope", nil, ""); r.status != 404 {
		t.Fatalf("unknown secret: %d", r.status)
	}
	if r := e.do("POST", "/Users/AuthenticateWithQuickConnect", nil, `{"Secret":"nope"}`); r.status != 404 {
		t.Fatalf("unknown secret redemption: %d", r.status)
	}
	e.s.UpdateServerConfig(func(c *ServerConfig) { c.QuickConnectAvailable = false })
	if r := e.do("POST", "/QuickConnect/Initiate", hdr(`Authorization: MediaBrowser Client="x"`), ""); r.status != 400 {
		t.Fatalf("missing fields are checked before the enabled switch: %d", r.status)
	}
	if r := e.do("POST", "/QuickConnect/Initiate", clientHeader("d", ""), ""); r.status != 401 {
		t.Fatalf("disabled initiate: %d", r.status)
	}
	if r := e.do("GET", "/QuickConnect/Enabled", nil, ""); string(r.body) != "false" {
		t.Fatalf("enabled: %s", r.body)
	}
	if r := e.do("POST", "/Users/AuthenticateWithQuickConnect", nil, `{"Secret":"x"}`); r.status != 401 {
		t.Fatalf("disabled redemption: %d", r.status)
	}
}

// TestQuickConnectExpiry_Section4: requests expire after ten minutes;
// authorised secrets redeem for ten minutes after authorisation.
func TestQuickConnectExpiry_Section4(t *testing.T) {
	clock := newClock()
	e := newEnv(t, Options{Now: clock.Now})
	alice := e.s.AddUser("alice", "pw", false)
	key := e.s.AddAPIKey("gateway")
	q := e.initiate("tv")
	clock.Advance(10*time.Minute + time.Second)
	if r := e.do("GET", "/QuickConnect/Connect?secret="+q.Secret, nil, ""); r.status != 404 {
		t.Fatalf("expired request: %d", r.status)
	}
	q = e.initiate("tv")
	e.do("POST", "/QuickConnect/Authorize?code="+q.Code+"&userId="+alice.ID, tokenHeader(key), "")
	clock.Advance(9 * time.Minute)
	if r := e.do("POST", "/Users/AuthenticateWithQuickConnect", nil, `{"Secret":"`+q.Secret+`"}`); r.status != 200 {
		t.Fatalf("redeem at 9 min: %d", r.status)
	}
	clock.Advance(2 * time.Minute)
	if r := e.do("POST", "/Users/AuthenticateWithQuickConnect", nil, `{"Secret":"`+q.Secret+`"}`); r.status != 404 {
		t.Fatalf("redeem at 11 min: %d", r.status)
	}
}
