package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/jellyguard/jellyguard/internal/audit"
	"github.com/jellyguard/jellyguard/internal/device"
	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/shield"
	"github.com/jellyguard/jellyguard/internal/signin"
	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/tokens"
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

// loginRequest is what the gateway read from a login request.
type loginRequest struct {
	start    time.Time
	shield   shield.Login
	username string
	info     jellyfin.AuthInfo
	attempt  *signin.Attempt
}

// loginBody is AuthenticateUserByName. encoding/json matches keys without
// regard to case, as Jellyfin does; the last duplicate wins in both.
type loginBody struct {
	Username *string `json:"Username"`
	Pw       *string `json:"Pw,omitempty"`
}

var loginSources = map[jellyfin.Class]string{
	jellyfin.ClassLogin:             "login",
	jellyfin.ClassLoginQuickConnect: "quickconnect",
	jellyfin.ClassLoginLegacy:       "legacy-login",
}

// prepareLogin reads the login request and replaces its body with one the
// gateway wrote itself, so Jellyfin sees exactly what the gateway decided
// on (a "password;code" of an enrolled user reaches Jellyfin without the
// code). It answers the client itself and returns false when the request
// is malformed.
func (g *Gateway) prepareLogin(w http.ResponseWriter, r *http.Request, sc *scope) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(g.cfg.Limits.LoginBody)))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJellyfinError(w, http.StatusRequestEntityTooLarge)
		} else {
			writeJellyfinError(w, http.StatusBadRequest)
		}
		return false
	}
	sc.login.start = time.Now()
	sc.login.info = jellyfin.ParseRequest(r.Header, r.URL.RawQuery, g.dialect)
	sc.login.attempt = g.newAttempt(r, sc)
	switch sc.route.Class {
	case jellyfin.ClassLogin:
		if body, err = g.rewriteLoginBody(r, body, sc); err != nil {
			g.log.Info("refused an unreadable login body", "ip", sc.client, "err", err)
			writeJellyfinError(w, http.StatusBadRequest)
			return false
		}
		r.Header.Set("Content-Type", "application/json")
	case jellyfin.ClassLoginQuickConnect:
		var qc struct{ Secret string }
		_ = json.Unmarshal(body, &qc)
		sc.login.attempt.QCSecret = qc.Secret
	}
	sc.login.shield = g.shieldLogin(r, sc)
	if err := g.shield.Allow(r.Context(), sc.login.shield); err != nil {
		g.loginFailed(r.Context(), sc, "throttled", http.StatusUnauthorized)
		g.pace.hold(r.Context(), sc.login.start)
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, jellyfinError)
		return false
	}
	r.Header.Del(webTagHeader)
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.TransferEncoding = nil
	r.Header.Del("Content-Length")
	return true
}

func (g *Gateway) newAttempt(r *http.Request, sc *scope) *signin.Attempt {
	info := sc.login.info
	a := &signin.Attempt{Route: loginSources[sc.route.Class], Client: info.Client, Device: info.Device,
		DeviceID: info.DeviceID, Version: info.Version, IP: sc.client, HTTPS: sc.proto == "https",
		Web: r.Header.Get(webTagHeader) == "1"}
	if c, err := r.Cookie(device.CookieName); err == nil {
		a.Cookie = c.Value
	}
	return a
}

func (g *Gateway) rewriteLoginBody(r *http.Request, body []byte, sc *scope) ([]byte, error) {
	var lb loginBody
	if err := json.Unmarshal(body, &lb); err != nil {
		return nil, fmt.Errorf("decoding login body: %w", err)
	}
	if lb.Username != nil {
		sc.login.username = *lb.Username
	}
	if lb.Pw != nil {
		a := sc.login.attempt
		a.Username, a.Password = sc.login.username, *lb.Pw
		forward := g.signin.Prepare(r.Context(), a)
		lb.Pw = &forward
	}
	return json.Marshal(lb)
}

func writeJellyfinError(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, jellyfinError)
}

// loginResponse decides on a login Jellyfin answered, before the client
// sees anything: release (recording the token), challenge, or refuse.
func (g *Gateway) loginResponse(resp *http.Response, sc *scope) error {
	resp.Header.Del("X-Response-Time-ms")
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxLoginResponse+1))
	_ = resp.Body.Close()
	if err != nil {
		return fmt.Errorf("reading login response: %w", err)
	}
	if len(body) > maxLoginResponse {
		return &withheldError{status: http.StatusBadGateway, body: jellyfinError}
	}
	switch {
	case resp.StatusCode/100 == 2:
		if bytes.Contains(body, tokenKey) {
			return g.loginAccepted(resp, sc, body)
		}
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		g.signin.Failed(resp.Request.Context(), sc.login.attempt)
		g.loginFailed(resp.Request.Context(), sc, reasonFor(resp.StatusCode), resp.StatusCode)
		if sc.route.Class != jellyfin.ClassLoginQuickConnect {
			g.shield.Failed(resp.Request.Context(), sc.login.shield)
		}
		if resp.StatusCode == http.StatusUnauthorized {
			setLoginFailure(resp)
			g.pace.hold(resp.Request.Context(), sc.login.start)
			return nil
		}
	}
	setBody(resp, body)
	return nil
}

func reasonFor(status int) string {
	if status == http.StatusForbidden {
		return "forbidden"
	}
	return "invalid_credentials"
}

// setLoginFailure makes resp the one answer every failed sign-in gets — a
// wrong password, an unknown user, a wrong code, a withheld token — so none
// can be told from another by status, headers or body.
func setLoginFailure(resp *http.Response) {
	resp.StatusCode, resp.Status = http.StatusUnauthorized, "401 Unauthorized"
	resp.Header = http.Header{"Content-Type": {"text/plain"}}
	setBody(resp, []byte(jellyfinError))
}

func setBody(resp *http.Response, body []byte) {
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	resp.TransferEncoding = nil
}

// loginAccepted handles a login Jellyfin accepted. A token the gateway
// cannot record is never released: it is logged out and the client gets an
// error.
func (g *Gateway) loginAccepted(resp *http.Response, sc *scope, body []byte) error {
	ctx := resp.Request.Context()
	res, err := jellyfin.ParseAuthResult(body)
	if err != nil || res.AccessToken == "" {
		g.reportWithheld(ctx, sc, body)
		return &withheldError{status: http.StatusBadGateway, body: jellyfinError}
	}
	if ok, why := g.shield.UserAllowed(res.User.ID, res.User.Policy.IsAdministrator, sc.client); !ok {
		g.log.Info("sign-in refused outside the user's networks", "user", res.User.Name, "ip", sc.client, "why", why)
		go g.tokens.Logout(ctx, res.AccessToken)
		g.loginFailed(ctx, sc, "network", http.StatusUnauthorized)
		setLoginFailure(resp)
		return nil
	}
	sc.login.attempt.RequireFactor = g.judgeTravel(ctx, sc, res)
	d, err := g.signin.Decide(ctx, sc.login.attempt, res)
	if sc.route.Class != jellyfin.ClassLoginQuickConnect {
		g.pace.observe(time.Since(sc.login.start))
	}
	if err != nil {
		g.log.Error("deciding on a sign-in failed; withholding it", "user", res.User.Name, "err", err)
		return &withheldError{status: http.StatusServiceUnavailable, body: jellyfinError}
	}
	switch d.Outcome {
	case signin.OutcomeChallenge:
		setLoginFailure(resp)
		resp.Header.Set(challengeHeader, d.ChallengePath)
	case signin.OutcomeDeny:
		g.loginFailed(ctx, sc, "second_factor", http.StatusUnauthorized)
		l := sc.login.shield
		l.PasswordRight = true
		g.shield.Failed(ctx, l)
		setLoginFailure(resp)
		g.pace.hold(ctx, sc.login.start)
	default:
		if err := g.release(resp, sc, res, d.Factor); err != nil {
			return err
		}
		g.shield.Succeeded(shield.Login{Addr: sc.client, User: firstNonEmpty(sc.login.username, res.User.Name)})
		g.recent.touch(sc.client, time.Now())
		g.rememberPlace(ctx, sc, res.User.ID)
		setBody(resp, body)
	}
	for _, c := range d.Cookies {
		resp.Header.Add("Set-Cookie", c.String())
	}
	return nil
}

// release records the token before the client sees it.
func (g *Gateway) release(resp *http.Response, sc *scope, res jellyfin.AuthResult, factorName string) error {
	ctx := resp.Request.Context()
	info := sc.login.info
	issued := tokens.Issued{
		UserID: res.User.ID, UserName: res.User.Name, IsAdmin: res.User.Policy.IsAdministrator,
		DeviceID: firstNonEmpty(res.SessionInfo.DeviceID, info.DeviceID), Client: firstNonEmpty(res.SessionInfo.Client, info.Client),
		DeviceName: firstNonEmpty(res.SessionInfo.DeviceName, info.Device), IP: sc.clientIP,
		Source: loginSources[sc.route.Class], Factor: factorName,
	}
	h, err := g.tokens.Record(ctx, res.AccessToken, issued)
	if err != nil {
		g.log.Error("recording a token failed; withholding it", "user", res.User.Name, "err", err)
		go g.tokens.Logout(ctx, res.AccessToken)
		return &withheldError{status: http.StatusServiceUnavailable, body: jellyfinError}
	}
	g.log.Info("signed in", "user", res.User.Name, "ip", sc.client, "client", issued.Client,
		"device", issued.DeviceName, "via", issued.Source, "factor", factorName, "token", h.Short())
	g.record(ctx, store.AuditEvent{Kind: audit.SignInSuccess, UserID: res.User.ID, UserName: res.User.Name,
		IP: sc.clientIP, Detail: fmt.Sprintf("via %s, client %q, device %q, second factor %q", issued.Source, issued.Client, issued.DeviceName, factorName)})
	return nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// loginFailed writes the documented failure line and an audit event.
func (g *Gateway) loginFailed(ctx context.Context, sc *scope, reason string, status int) {
	if sc.route.Class == jellyfin.ClassLoginQuickConnect && reason != "second_factor" && reason != "throttled" {
		return // an unknown or expired Quick Connect secret is not a password guess
	}
	user := sc.login.username
	if sc.route.Class == jellyfin.ClassLoginLegacy {
		user = sc.route.UserID
	}
	g.failures.write(failure{ip: sc.client, user: user, reason: reason, status: status,
		client: sc.login.info.Client, device: sc.login.info.Device})
	g.record(ctx, store.AuditEvent{Kind: audit.SignInFailure, UserName: user,
		IP: sc.clientIP, Detail: fmt.Sprintf("%s (HTTP %d), client %q", reason, status, sc.login.info.Client)})
}
