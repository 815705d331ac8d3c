package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jellyguard/jellyguard/internal/device"
	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/signin"
)

// maxLoginResponse bounds the login answer the gateway reads to record its
// token (an AuthenticationResult is a few KiB).
const maxLoginResponse = 1 << 20

// jellyfinError is the body Jellyfin sends with every exception status.
const jellyfinError = "Error processing request."

// webTagHeader is set by the script injected into jellyfin-web on its login
// request: that client can be sent to the challenge page.
const webTagHeader = "X-Jellyguard-Web"

// challengeHeader tells the injected script where the challenge page is.
const challengeHeader = "X-Jellyguard-Challenge"

// loginBody is AuthenticateUserByName. encoding/json matches keys without
// regard to case, as Jellyfin does; the last duplicate wins in both.
type loginBody struct {
	Username *string `json:"Username"`
	Pw       *string `json:"Pw,omitempty"`
}

var loginDoors = map[jellyfin.Class]signin.Door{
	jellyfin.ClassLogin:             signin.DoorLogin,
	jellyfin.ClassLoginQuickConnect: signin.DoorQuickConnect,
	jellyfin.ClassLoginLegacy:       signin.DoorLegacy,
}

// errPassOn: Jellyfin answered a login with something that is neither a
// session nor a refusal of the credentials (a 400 for a missing field, a
// 404 for an unknown Quick Connect secret, Jellyfin down): the client gets
// it as it is.
var errPassOn = errors.New("jellyfin's answer is passed on")

// errUnreadableSession: Jellyfin answered with a session the gateway could
// not read, so it could not record it; the answer is withheld.
var errUnreadableSession = errors.New("unreadable login answer")

// serveLogin is the door of Jellyfin's login routes: it reads the attempt,
// hands it to the sign-in flow (which asks Jellyfin through forward), and
// turns the outcome into the answer a Jellyfin client understands. The body
// Jellyfin sees is one the gateway wrote itself, so Jellyfin sees exactly
// what the flow decided on ("password;code" of an enrolled user reaches it
// without the code).
func (g *Gateway) serveLogin(w http.ResponseWriter, r *http.Request, sc *scope) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(g.cfg.Limits.LoginBody)))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJellyfinError(w, http.StatusRequestEntityTooLarge)
		} else {
			writeJellyfinError(w, http.StatusBadRequest)
		}
		return
	}
	fw := &loginForward{g: g, r: r, sc: sc, body: body}
	a, err := fw.attempt()
	if err != nil {
		g.log.Info("refused an unreadable login body", "ip", sc.client, "err", err)
		writeJellyfinError(w, http.StatusBadRequest)
		return
	}
	out, err := g.signin.SignIn(r.Context(), a)
	switch {
	case errors.Is(err, errPassOn):
		fw.answer.writeTo(w)
		return
	case errors.Is(err, errUnreadableSession):
		writeJellyfinError(w, http.StatusBadGateway)
		return
	case err != nil:
		g.log.Error("a sign-in could not be completed; withholding it", "ip", sc.client, "err", err)
		writeJellyfinError(w, http.StatusServiceUnavailable)
		return
	}
	for _, c := range out.Cookies {
		http.SetCookie(w, c)
	}
	switch out.Action {
	case signin.Release:
		g.recent.touch(sc.client, time.Now()) // media right after sign-in may come without the token
		g.pointToSetup(w, a, out)
		fw.answer.writeTo(w)
	case signin.Challenge:
		w.Header().Set(challengeHeader, out.ChallengePath)
		writeJellyfinError(w, http.StatusUnauthorized)
	default:
		writeJellyfinError(w, http.StatusUnauthorized)
	}
}

// loginForward turns one login request into an attempt and carries the
// password the flow decided on to Jellyfin.
type loginForward struct {
	g      *Gateway
	r      *http.Request
	sc     *scope
	body   []byte
	login  loginBody
	answer *capturedAnswer
}

// attempt reads what the client sent.
func (f *loginForward) attempt() (signin.Attempt, error) {
	r, sc := f.r, f.sc
	info := jellyfin.ParseRequest(r.Header, r.URL.RawQuery, f.g.dialect)
	a := signin.Attempt{Door: loginDoors[sc.route.Class], Authenticate: f.authenticate,
		Client: signin.Client{IP: sc.client, HTTPS: sc.proto == "https", UserAgent: r.UserAgent(), DeviceID: info.DeviceID,
			App: info.Client, DeviceName: info.Device, Version: info.Version, Web: r.Header.Get(webTagHeader) == "1"}}
	if c, err := r.Cookie(device.CookieName); err == nil {
		a.Client.TrustCookie = c.Value
	}
	switch sc.route.Class {
	case jellyfin.ClassLogin:
		if err := json.Unmarshal(f.body, &f.login); err != nil {
			return a, fmt.Errorf("decoding login body: %w", err)
		}
		if f.login.Username != nil {
			a.UserName = *f.login.Username
		}
		if f.login.Pw != nil {
			a.Password = *f.login.Pw
		}
	case jellyfin.ClassLoginLegacy:
		a.UserRef, a.Password = sc.route.UserID, queryValue(sc.rawQuery, "pw")
	case jellyfin.ClassLoginQuickConnect:
		var qc struct{ Secret string }
		_ = json.Unmarshal(f.body, &qc)
		a.QCSecret = qc.Secret
	}
	return a, nil
}

// authenticate sends the login to Jellyfin with password, through the
// proxy (so it carries the same forwarding headers as every request), and
// reads Jellyfin's answer whole.
func (f *loginForward) authenticate(ctx context.Context, password string) (jellyfin.AuthResult, error) {
	req := f.r.Clone(ctx)
	req.Header.Del(webTagHeader)
	body := f.body
	switch f.sc.route.Class {
	case jellyfin.ClassLogin:
		lb := f.login
		if lb.Pw != nil || password != "" {
			lb.Pw = &password
		}
		body, _ = json.Marshal(lb)
		req.Header.Set("Content-Type", "application/json")
	case jellyfin.ClassLoginLegacy:
		if password != queryValue(f.sc.rawQuery, "pw") {
			f.sc.rawQuery = replaceQueryValue(f.sc.rawQuery, "pw", password)
		}
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength, req.TransferEncoding = int64(len(body)), nil
	req.Header.Del("Content-Length")
	f.answer = &capturedAnswer{header: http.Header{}, limit: maxLoginResponse}
	f.g.proxy.ServeHTTP(f.answer, req)
	if f.answer.status == 0 {
		// The proxy gave up without an answer (the sign-in was cancelled
		// while Jellyfin had not answered): never pass on an empty 502.
		writeUnreachable(f.answer, req, http.StatusBadGateway)
	}
	return f.g.readLoginAnswer(ctx, f.sc, f.answer)
}

// readLoginAnswer tells a session from a refusal from anything else.
func (g *Gateway) readLoginAnswer(ctx context.Context, sc *scope, ans *capturedAnswer) (jellyfin.AuthResult, error) {
	switch {
	case ans.overflow:
		return jellyfin.AuthResult{}, errUnreadableSession
	case ans.status/100 == 2 && bytes.Contains(ans.body.Bytes(), tokenKey):
		res, err := jellyfin.ParseAuthResult(ans.body.Bytes())
		if err != nil || res.AccessToken == "" {
			g.reportWithheld(ctx, sc, ans.body.Bytes())
			return res, errUnreadableSession
		}
		return res, nil
	case sc.route.Class != jellyfin.ClassLoginQuickConnect && (ans.status == http.StatusUnauthorized || ans.status == http.StatusForbidden),
		sc.route.Class == jellyfin.ClassLoginLegacy && ans.status == http.StatusNotFound: // an unknown user id
		return jellyfin.AuthResult{}, &signin.CredentialsError{Status: ans.status}
	}
	return jellyfin.AuthResult{}, errPassOn
}

// capturedAnswer is Jellyfin's answer to a login, held until the flow has
// decided what the client gets.
type capturedAnswer struct {
	header   http.Header
	status   int
	body     bytes.Buffer
	limit    int
	overflow bool
}

func (c *capturedAnswer) Header() http.Header { return c.header }

func (c *capturedAnswer) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

func (c *capturedAnswer) Write(p []byte) (int, error) {
	c.WriteHeader(http.StatusOK)
	if c.body.Len()+len(p) > c.limit {
		c.overflow = true
		return 0, errors.New("login answer too large")
	}
	return c.body.Write(p)
}

// writeTo passes the answer on, without Jellyfin's timing header.
func (c *capturedAnswer) writeTo(w http.ResponseWriter) {
	h := w.Header()
	for k, v := range c.header {
		h[k] = v
	}
	h.Del("X-Response-Time-ms")
	h.Set("Content-Length", strconv.Itoa(c.body.Len()))
	status := c.status
	if status == 0 {
		status = http.StatusBadGateway
	}
	w.WriteHeader(status)
	_, _ = w.Write(c.body.Bytes())
}

func writeJellyfinError(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Content-Length", strconv.Itoa(len(jellyfinError)))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, jellyfinError)
}

// replaceQueryValue sets every value of key (case-insensitive, as ASP.NET
// reads query keys) in rawQuery to value, leaving the rest byte for byte.
func replaceQueryValue(rawQuery, key, value string) string {
	pairs := strings.Split(rawQuery, "&")
	for i, pair := range pairs {
		k, _, _ := strings.Cut(pair, "=")
		if uk, err := url.QueryUnescape(k); err == nil && strings.EqualFold(uk, key) {
			pairs[i] = k + "=" + url.QueryEscape(value)
		}
	}
	return strings.Join(pairs, "&")
}
