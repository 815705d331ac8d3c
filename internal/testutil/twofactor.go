package testutil

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/factor/totp"
	"github.com/jellyguard/jellyguard/internal/jellyfin"
)

// Issued records every access token the emulator put into a sign-in answer
// (AuthenticateByName, the legacy route, AuthenticateWithQuickConnect)
// before the gateway decided on it, by the session's DeviceId. Tests use it
// to find tokens the gateway withheld from the client.
type Issued struct {
	mu       sync.Mutex
	byDevice map[string][]string
}

// ForDevice returns the tokens issued for deviceID, oldest first.
func (is *Issued) ForDevice(deviceID string) []string {
	is.mu.Lock()
	defer is.mu.Unlock()
	return append([]string(nil), is.byDevice[deviceID]...)
}

// Last returns the newest token issued for deviceID; the test fails when
// there is none.
func (is *Issued) Last(t testing.TB, deviceID string) string {
	t.Helper()
	toks := is.ForDevice(deviceID)
	if len(toks) == 0 {
		t.Fatalf("the emulator issued no token for device %q", deviceID)
	}
	return toks[len(toks)-1]
}

func (is *Issued) add(deviceID, token string) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.byDevice[deviceID] = append(is.byDevice[deviceID], token)
}

// tap passes every request to next; sign-in answers are buffered on the
// way back so that their tokens can be recorded. Nothing else is buffered.
func (is *Issued) tap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.Contains(strings.ToLower(r.URL.Path), "/authenticate") {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		var res struct {
			AccessToken string
			SessionInfo struct {
				DeviceID string `json:"DeviceId"`
			}
		}
		if json.Unmarshal(body, &res) == nil && res.AccessToken != "" {
			dev := res.SessionInfo.DeviceID
			if dev == "" {
				dev = jellyfin.ParseRequest(r.Header, r.URL.RawQuery, jellyfin.DefaultDialect()).DeviceID
			}
			is.add(dev, res.AccessToken)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	})
}

// StartRecording is Start with the emulator behind a tap that records the
// tokens it issues on sign-in. o.Upstream must be nil.
func StartRecording(t testing.TB, o Options) (*Env, *Issued) {
	t.Helper()
	if o.Upstream != nil {
		t.Fatal("StartRecording runs the emulator itself")
	}
	is := &Issued{byDevice: map[string][]string{}}
	o.Wrap = is.tap
	return Start(t, o), is
}

// Authenticator plays an authenticator app for one enrolled user. The
// gateway accepts a TOTP time step once and only if it is later than the
// last one it accepted, within one step either side of now; Code hands out
// the next such step, waiting for time to move on when the window is used
// up.
type Authenticator struct {
	Secret string
	mu     sync.Mutex
	last   int64 // the last step handed out or accepted
}

// NewAuthenticator returns an authenticator for secret whose steps up to
// and including used are spent.
func NewAuthenticator(secret string, used int64) *Authenticator {
	return &Authenticator{Secret: secret, last: used}
}

// Code returns a code for a step the gateway has not accepted yet.
func (a *Authenticator) Code(t testing.TB) string {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	for {
		now := time.Now()
		cur := totp.Step(now)
		left := time.Duration(cur+1)*totp.Period - time.Duration(now.UnixNano())
		step := max(a.last+1, cur-1)
		if step == cur-1 && left < 3*time.Second {
			// The previous step drops out of the window when this one
			// ends: too close to use it.
			step = cur
		}
		if step <= cur+1 {
			a.last = step
			return a.at(t, step)
		}
		time.Sleep(left + 50*time.Millisecond)
	}
}

// Wrong returns six digits that are not a valid code anywhere in the
// window the gateway accepts.
func (a *Authenticator) Wrong(t testing.TB) string {
	t.Helper()
	cur := totp.Step(time.Now())
	valid := map[string]bool{}
	for s := cur - 2; s <= cur+2; s++ {
		valid[a.at(t, s)] = true
	}
	for n := 0; ; n++ {
		c := fmt.Sprintf("%06d", (n*7919+123457)%1000000)
		if !valid[c] {
			return c
		}
	}
}

func (a *Authenticator) at(t testing.TB, step int64) string {
	t.Helper()
	code, err := totp.Code(a.Secret, time.Unix(step*int64(totp.Period/time.Second), 0))
	if err != nil {
		t.Fatalf("computing a code: %v", err)
	}
	return code
}

// API calls the gateway's JSON API at <base>/jellyguard/api/<path> with the
// Jellyfin token in a MediaBrowser header (none when token is empty) and
// body as JSON (none when nil). It returns the status and the body.
func (e *Env) API(path, token string, body any) (int, []byte) {
	e.t.Helper()
	method, rd := http.MethodGet, io.Reader(nil)
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		method, rd = http.MethodPost, bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.URL+e.Config.BaseURL+"/jellyguard/api/"+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", fmt.Sprintf(`MediaBrowser Token="%s"`, token))
	}
	resp := e.Do(req)
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// EnrollTOTP enrolls the owner of token the way the Setup page does: begin,
// then confirm with the first code. It returns the authenticator and the
// recovery codes.
func (e *Env) EnrollTOTP(token string) (*Authenticator, []string) {
	e.t.Helper()
	status, body := e.API("totp/begin", token, map[string]string{})
	var begin struct{ Secret, URI string }
	if status != http.StatusOK || json.Unmarshal(body, &begin) != nil || begin.Secret == "" {
		e.t.Fatalf("totp/begin: %d %s", status, body)
	}
	if !strings.HasPrefix(begin.URI, "otpauth://totp/") {
		e.t.Fatalf("totp/begin URI %q", begin.URI)
	}
	a := NewAuthenticator(begin.Secret, 0)
	status, body = e.API("totp/confirm", token, map[string]string{"code": a.Code(e.t)})
	var confirm struct{ RecoveryCodes []string }
	if status != http.StatusOK || json.Unmarshal(body, &confirm) != nil {
		e.t.Fatalf("totp/confirm: %d %s", status, body)
	}
	return a, confirm.RecoveryCodes
}

// Browser is a web browser running jellyfin-web through the gateway: one
// cookie jar, one jellyfin-web device id, and a record of every status the
// gateway answered it with.
type Browser struct {
	e        *Env
	DeviceID string
	Jar      *cookiejar.Jar
	client   *http.Client

	mu       sync.Mutex
	statuses []int
	headers  http.Header // sent with every request (a proxy's X-Forwarded-For)
}

// SetHeader sends a header with every later request, as a reverse proxy in
// front of the gateway would add it.
func (b *Browser) SetHeader(name, value string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.headers == nil {
		b.headers = http.Header{}
	}
	b.headers.Set(name, value)
}

// NewBrowser returns a browser with an empty cookie jar.
func (e *Env) NewBrowser(deviceID string) *Browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	b := &Browser{e: e, DeviceID: deviceID, Jar: jar}
	b.client = &http.Client{Jar: jar, Timeout: Client.Timeout, CheckRedirect: Client.CheckRedirect,
		Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := http.DefaultTransport.RoundTrip(r)
			if err == nil {
				b.mu.Lock()
				b.statuses = append(b.statuses, resp.StatusCode)
				b.mu.Unlock()
			}
			return resp, err
		})}
	return b
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Count returns how many answers had status.
func (b *Browser) Count(status int) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, s := range b.statuses {
		if s == status {
			n++
		}
	}
	return n
}

// Answers returns how many answers the browser received.
func (b *Browser) Answers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.statuses)
}

// Do sends req (a path relative to the gateway is made absolute) as this
// browser: with its cookies, and with Sec-Fetch-Site: same-origin as a
// browser sends for the page's own requests.
func (b *Browser) Do(req *http.Request) *http.Response {
	b.e.t.Helper()
	if req.Header.Get("Sec-Fetch-Site") == "" {
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return resp
}

// Login sends jellyfin-web's password sign-in as the injected script tags
// it (X-Jellyguard-Web: 1).
func (b *Browser) Login(user, password string) *http.Response {
	b.e.t.Helper()
	body, _ := json.Marshal(map[string]string{"Username": user, "Pw": password})
	req := b.request(http.MethodPost, "/Users/AuthenticateByName", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", AuthHeader(b.DeviceID, ""))
	req.Header.Set("X-Jellyguard-Web", "1")
	return b.Do(req)
}

// Get fetches path (relative to the gateway).
func (b *Browser) Get(path string) *http.Response {
	b.e.t.Helper()
	return b.Do(b.request(http.MethodGet, path, nil))
}

// PostForm submits a form to path (relative to the gateway).
func (b *Browser) PostForm(path string, form url.Values) *http.Response {
	b.e.t.Helper()
	req := b.request(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.Do(req)
}

func (b *Browser) request(method, path string, body io.Reader) *http.Request {
	b.e.t.Helper()
	req, err := http.NewRequest(method, b.e.URL+path, body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	b.mu.Lock()
	for k, v := range b.headers {
		req.Header[k] = v
	}
	b.mu.Unlock()
	return req
}

// Cookie returns the cookie the jar would send to path, or nil.
func (b *Browser) Cookie(path, name string) *http.Cookie {
	b.e.t.Helper()
	u, err := url.Parse(b.e.URL + path)
	if err != nil {
		b.e.t.Fatal(err)
	}
	for _, c := range b.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// SetCookie puts a cookie for the gateway's root into the jar, as if a
// response had set it.
func (b *Browser) SetCookie(name, value string) {
	b.e.t.Helper()
	u, err := url.Parse(b.e.URL + "/")
	if err != nil {
		b.e.t.Fatal(err)
	}
	// Not Secure: the test gateway speaks plain HTTP on loopback, and a jar
	// does not send Secure cookies there.
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode} //nolint:gosec // see above
	b.Jar.SetCookies(u, []*http.Cookie{c})
}
