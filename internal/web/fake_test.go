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
)

const (
	goodCode  = "123456"
	goodToken = "0123456789abcdef0123456789abcdef"
)

// fakeService is a Service with fixed answers that records its calls.
type fakeService struct {
	mu         sync.Mutex
	challenges map[string]*ChallengeInfo
	enrolled   bool
	throttled  bool
	failWith   error // returned by every call when set

	calls       []string
	gotID       string // last challenge or device/browser id
	gotRemember bool
	gotClient   Client
}

func newFake() *fakeService {
	return &fakeService{challenges: map[string]*ChallengeInfo{
		"c1": {UserName: "alice", ExpiresAt: time.Now().Add(5 * time.Minute), AttemptsLeft: 3},
	}}
}

var release = Release{
	UserID:      "u1",
	UserName:    "alice",
	AccessToken: "tok-abc",
	ServerID:    "srv1",
	DeviceID:    "dev-1",
	Cookies:     []*http.Cookie{{Name: "jg_trust", Value: "t1", Path: "/", HttpOnly: true}},
}

func (f *fakeService) record(call string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	if f.failWith != nil {
		return f.failWith
	}
	if f.throttled {
		return ErrThrottled
	}
	return nil
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

func (f *fakeService) CompleteChallenge(_ context.Context, id, code string, remember bool, c Client) (Release, error) {
	if err := f.record("CompleteChallenge"); err != nil {
		return Release{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gotID, f.gotRemember, f.gotClient = id, remember, c
	ch, ok := f.challenges[id]
	if !ok {
		return Release{}, ErrExpired
	}
	if code != goodCode {
		ch.AttemptsLeft--
		if ch.AttemptsLeft <= 0 {
			delete(f.challenges, id)
			return Release{}, ErrThrottled
		}
		return Release{}, ErrBadCode
	}
	delete(f.challenges, id)
	return release, nil
}

func (f *fakeService) PasswordLogin(_ context.Context, user, password, code string, remember bool, c Client) (Release, error) {
	if err := f.record("PasswordLogin"); err != nil {
		return Release{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gotRemember, f.gotClient = remember, c
	switch {
	case user != "alice" || password != "secret":
		return Release{}, ErrUnauthorized
	case code == "":
		return Release{}, ErrCodeRequired
	case code != goodCode:
		return Release{}, ErrBadCode
	}
	return release, nil
}

func (f *fakeService) auth(call, token string, c Client) error {
	if err := f.record(call); err != nil {
		return err
	}
	f.mu.Lock()
	f.gotClient = c
	f.mu.Unlock()
	if token != goodToken {
		return ErrUnauthorized
	}
	return nil
}

func (f *fakeService) checkCode(code string) error {
	switch code {
	case goodCode:
		return nil
	case "":
		return ErrCodeRequired
	}
	return ErrBadCode
}

func (f *fakeService) Account(_ context.Context, token string, c Client) (Account, error) {
	if err := f.auth("Account", token, c); err != nil {
		return Account{}, err
	}
	return Account{
		UserID: "u1", UserName: "alice", Enrolled: f.enrolled, Required: true,
		GraceUntil: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), RecoveryLeft: 8,
		TrustedBrowsers: []BrowserInfo{{ID: "b1", UserAgent: "Firefox", IP: "192.0.2.1", Current: true}},
		Devices:         []DeviceInfo{{ID: "d1", Client: "Findroid", DeviceName: "Pixel 8", State: "pending"}},
	}, nil
}

func (f *fakeService) BeginTOTP(_ context.Context, token, code string, c Client) (Enrollment, error) {
	if err := f.auth("BeginTOTP", token, c); err != nil {
		return Enrollment{}, err
	}
	if f.enrolled {
		if err := f.checkCode(code); err != nil {
			return Enrollment{}, err
		}
	}
	return Enrollment{Secret: "JBSWY3DPEHPK3PXP", URI: "otpauth://totp/x:alice?secret=JBSWY3DPEHPK3PXP", QRSVG: "<svg/>"}, nil
}

func (f *fakeService) ConfirmTOTP(_ context.Context, token, code string, c Client) ([]string, error) {
	if err := f.auth("ConfirmTOTP", token, c); err != nil {
		return nil, err
	}
	if err := f.checkCode(code); err != nil {
		return nil, err
	}
	return []string{"aaaa-bbbb", "cccc-dddd"}, nil
}

func (f *fakeService) RegenerateRecovery(_ context.Context, token, code string, c Client) ([]string, error) {
	if err := f.auth("RegenerateRecovery", token, c); err != nil {
		return nil, err
	}
	if err := f.checkCode(code); err != nil {
		return nil, err
	}
	return []string{"eeee-ffff"}, nil
}

func (f *fakeService) DisableTOTP(_ context.Context, token, code string, c Client) error {
	if err := f.auth("DisableTOTP", token, c); err != nil {
		return err
	}
	return f.checkCode(code)
}

func (f *fakeService) ApproveDevice(_ context.Context, token, code, id string, c Client) error {
	if err := f.auth("ApproveDevice", token, c); err != nil {
		return err
	}
	f.mu.Lock()
	f.gotID = id
	f.mu.Unlock()
	return f.checkCode(code)
}

func (f *fakeService) RevokeDevice(_ context.Context, token, id string, c Client) error {
	if err := f.auth("RevokeDevice", token, c); err != nil {
		return err
	}
	f.mu.Lock()
	f.gotID = id
	f.mu.Unlock()
	return nil
}

func (f *fakeService) RevokeBrowser(_ context.Context, token, id string, c Client) error {
	if err := f.auth("RevokeBrowser", token, c); err != nil {
		return err
	}
	f.mu.Lock()
	f.gotID = id
	f.mu.Unlock()
	if id == "gone" {
		return ErrNotFound
	}
	return nil
}

// testOptions are the options the tests use: BaseUrl /jellyfin, HTTPS.
func testOptions() Options {
	return Options{
		BasePath:   "/jellyfin",
		ServerName: "Home Media",
		Issuer:     "Home Media",
		Logger:     slog.New(slog.DiscardHandler),
		ClientFrom: func(*http.Request) Client {
			return Client{IP: netip.MustParseAddr("192.0.2.10"), HTTPS: true}
		},
	}
}

// do sends one request through a handler built on svc and returns the
// recorded response.
func do(t *testing.T, svc Service, r *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	Handler(svc, testOptions()).ServeHTTP(w, r)
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
