package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/signin"
	"github.com/jellyguard/jellyguard/internal/tokens"
)

const (
	goodCode  = "123456"
	goodToken = "0123456789abcdef0123456789abcdef"
)

// goodSession is the verdict the test pipeline (testOptions' ClientFrom)
// finds for goodToken.
var goodSession = tokens.Verdict{Status: tokens.Active, UserID: "u1", UserName: "alice"}

// fakeService is a Service with fixed answers that records its calls.
type fakeService struct {
	mu         sync.Mutex
	challenges map[string]*ChallengeInfo
	users      map[string]string // name → password; every user here needs a code
	enrolled   bool
	throttled  bool
	stale      bool  // the session signed in too long ago to begin without the password
	failWith   error // returned by every call when set
	// signIn, when set, answers SignIn instead of the fake's own flow.
	signIn func(Attempt) (Outcome, error)
	// session is what a released sign-in carries.
	session jellyfin.AuthResult

	calls       []string
	gotID       string // last challenge or device/browser id
	gotCode     string // last code an account call got
	gotPassword string // last password BeginTOTP got
	gotAttempt  Attempt
	gotOutcome  Outcome // last outcome SignIn returned
	gotRemember bool
	gotClient   Client
}

func newFake() *fakeService {
	return &fakeService{
		challenges: map[string]*ChallengeInfo{
			"c1": {UserName: "alice", ExpiresAt: time.Now().Add(5 * time.Minute), AttemptsLeft: 3},
		},
		users:   map[string]string{"alice": "secret"},
		session: releasedSession(),
	}
}

// releasedSession is the session the fake releases: Jellyfin's answer.
func releasedSession() jellyfin.AuthResult {
	var s jellyfin.AuthResult
	s.AccessToken, s.ServerID = "tok-abc", "srv1"
	s.User.ID, s.User.Name = "u1", "alice"
	s.SessionInfo.DeviceID = "dev-1"
	return s
}

// trustCookie is the cookie every released sign-in sets.
var trustCookie = &http.Cookie{Name: "jg_trust", Value: "t1", Path: "/", HttpOnly: true}

func (f *fakeService) record(call string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	return f.failWith
}

func (f *fakeService) called(call string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if c == call {
			return true
		}
	}
	return false
}

func (f *fakeService) Challenge(_ context.Context, id string) (ChallengeInfo, error) {
	if err := f.record("Challenge"); err != nil {
		return ChallengeInfo{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gotID = id
	ch, ok := f.challenges[id]
	if !ok {
		return ChallengeInfo{}, ErrExpired
	}
	return *ch, nil
}

// SignIn is a small model of the flow: the sign-in page's users all need a
// code; a challenge burns after its last wrong code.
func (f *fakeService) SignIn(_ context.Context, a Attempt) (Outcome, error) {
	if err := f.record("SignIn"); err != nil {
		return Outcome{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gotAttempt, f.gotRemember, f.gotClient = a, a.Remember, a.Client
	var out Outcome
	if f.signIn != nil {
		var err error
		out, err = f.signIn(a)
		f.gotOutcome = out
		return out, err
	}
	switch a.Door {
	case signin.DoorPage:
		out = f.pageSignIn(a)
	case signin.DoorChallenge:
		out = f.challengeSignIn(a)
	default:
		out = Outcome{Action: signin.Refuse, Refusal: signin.RefuseCredentials}
	}
	f.gotOutcome = out
	return out, nil
}

func (f *fakeService) pageSignIn(a Attempt) Outcome {
	password, known := f.users[a.UserName]
	switch {
	case f.throttled:
		return refused(signin.RefuseThrottled)
	case !known || a.Password != password:
		return refused(signin.RefuseCredentials)
	case a.Code == "":
		return refused(signin.RefuseFactorNeeded)
	case a.Code != goodCode:
		return refused(signin.RefuseBadCode)
	}
	return Outcome{Action: signin.Release, Session: f.session, Cookies: []*http.Cookie{trustCookie}}
}

func (f *fakeService) challengeSignIn(a Attempt) Outcome {
	ch, ok := f.challenges[a.ChallengeID]
	if !ok {
		return refused(signin.RefuseExpired)
	}
	if f.throttled || a.Code != goodCode {
		// A held-back answer spends an attempt like a wrong one.
		ch.AttemptsLeft--
		if ch.AttemptsLeft <= 0 {
			delete(f.challenges, a.ChallengeID)
		}
		out := refused(signin.RefuseBadCode)
		if f.throttled {
			out.Refusal = signin.RefuseThrottled
		}
		out.AttemptsLeft = max(ch.AttemptsLeft, 0)
		return out
	}
	delete(f.challenges, a.ChallengeID)
	// The flow clears the challenge cookie with the release.
	gone := testOptions().ChallengeCookieFor("", a.Client.HTTPS, time.Time{})
	gone.MaxAge = -1
	return Outcome{Action: signin.Release, Session: f.session, Cookies: []*http.Cookie{trustCookie, gone}}
}

func refused(r signin.Refusal) Outcome { return Outcome{Action: signin.Refuse, Refusal: r} }

// auth is the real service's check of the caller's session.
func (f *fakeService) auth(call string, c Client) error {
	if err := f.record(call); err != nil {
		return err
	}
	f.mu.Lock()
	f.gotClient = c
	f.mu.Unlock()
	if c.Session.Status != tokens.Active || c.Session.UserID == "" {
		return ErrUnauthorized
	}
	if f.throttled {
		return ErrThrottled
	}
	return nil
}

func (f *fakeService) checkCode(code string) error {
	f.mu.Lock()
	f.gotCode = code
	f.mu.Unlock()
	switch code {
	case goodCode:
		return nil
	case "":
		return ErrCodeRequired
	}
	return ErrBadCode
}

func (f *fakeService) Account(_ context.Context, c Client) (Account, error) {
	if err := f.auth("Account", c); err != nil {
		return Account{}, err
	}
	return Account{
		UserID: c.Session.UserID, UserName: c.Session.UserName, Enrolled: f.enrolled, Required: true,
		GraceUntil: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), RecoveryLeft: 8,
		TrustedBrowsers: []BrowserInfo{{ID: "b1", UserAgent: "Firefox", IP: "192.0.2.1", Current: true}},
		Devices:         []DeviceInfo{{ID: "d1", Client: "Findroid", DeviceName: "Pixel 8", State: "pending"}},
	}, nil
}

func (f *fakeService) BeginTOTP(_ context.Context, c Client, code, password string) (Enrollment, error) {
	if err := f.auth("BeginTOTP", c); err != nil {
		return Enrollment{}, err
	}
	f.mu.Lock()
	f.gotPassword = password
	f.mu.Unlock()
	switch {
	case f.enrolled:
		if err := f.checkCode(code); err != nil {
			return Enrollment{}, err
		}
	case !f.stale:
	case password == "":
		return Enrollment{}, signin.ErrPasswordRequired
	case password != f.users[c.Session.UserName]:
		return Enrollment{}, signin.ErrBadPassword
	}
	return Enrollment{Secret: "JBSWY3DPEHPK3PXP", URI: "otpauth://totp/x:alice?secret=JBSWY3DPEHPK3PXP", QRSVG: "<svg/>",
		Issuer: "Living Room"}, nil
}

func (f *fakeService) ConfirmTOTP(_ context.Context, c Client, code string) ([]string, error) {
	if err := f.auth("ConfirmTOTP", c); err != nil {
		return nil, err
	}
	if err := f.checkCode(code); err != nil {
		return nil, err
	}
	return []string{"aaaa-bbbb", "cccc-dddd"}, nil
}

func (f *fakeService) RegenerateRecovery(_ context.Context, c Client, code string) ([]string, error) {
	if err := f.auth("RegenerateRecovery", c); err != nil {
		return nil, err
	}
	if err := f.checkCode(code); err != nil {
		return nil, err
	}
	return []string{"eeee-ffff"}, nil
}

func (f *fakeService) DisableTOTP(_ context.Context, c Client, code string) error {
	if err := f.auth("DisableTOTP", c); err != nil {
		return err
	}
	return f.checkCode(code)
}

func (f *fakeService) ApproveDevice(_ context.Context, c Client, code, id string) error {
	if err := f.auth("ApproveDevice", c); err != nil {
		return err
	}
	f.mu.Lock()
	f.gotID = id
	f.mu.Unlock()
	return f.checkCode(code)
}

func (f *fakeService) RevokeDevice(_ context.Context, c Client, code, id string) error {
	if err := f.auth("RevokeDevice", c); err != nil {
		return err
	}
	f.mu.Lock()
	f.gotID = id
	f.mu.Unlock()
	return f.checkCode(code)
}

func (f *fakeService) RevokeBrowser(_ context.Context, c Client, code, id string) error {
	if err := f.auth("RevokeBrowser", c); err != nil {
		return err
	}
	f.mu.Lock()
	f.gotID = id
	f.mu.Unlock()
	if err := f.checkCode(code); err != nil {
		return err
	}
	if id == "gone" {
		return ErrNotFound
	}
	return nil
}

// testOptions are the options the tests use: BaseUrl /jellyfin, HTTPS. The
// pipeline they stand in for finds goodSession for goodToken in the
// request's headers (never in the query), and no session otherwise.
func testOptions() Options {
	return Options{
		BasePath:   "/jellyfin",
		ServerName: "Home Media",
		Issuer:     "Home Media",
		Logger:     slog.New(slog.DiscardHandler),
		ClientFrom: func(r *http.Request) Client {
			c := Client{IP: netip.MustParseAddr("192.0.2.10"), HTTPS: true}
			switch jellyfin.ParseRequest(r.Header, "", jellyfin.DefaultDialect()).Token {
			case "":
			case goodToken:
				c.Session = goodSession
			default:
				c.Session = tokens.Verdict{Status: tokens.Invalid}
			}
			return c
		},
	}
}

// do sends one request through a handler built on svc and returns the
// recorded response.
func do(t *testing.T, svc Service, r *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	return doWith(t, svc, testOptions(), r)
}

// doWith is do with other options.
func doWith(t *testing.T, svc Service, opts Options, r *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	Handler(svc, opts).ServeHTTP(w, r)
	return w
}

func get(target string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://media.example.com"+target, nil)
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.Header.Set("User-Agent", "Mozilla/5.0 (Android 14) Firefox/140.0")
	return r
}

func postForm(target, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "https://media.example.com"+target, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.Header.Set("User-Agent", "Mozilla/5.0 (Android 14) Firefox/140.0")
	r.Header.Set("Origin", "https://media.example.com")
	return r
}

func postJSON(target, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "https://media.example.com"+target, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.Header.Set("Authorization", `MediaBrowser Client="Jellyfin Web", Token="`+goodToken+`"`)
	return r
}

func withChallenge(r *http.Request, id string) *http.Request {
	r.AddCookie(&http.Cookie{Name: DefaultChallengeCookie, Value: id})
	return r
}
