package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/jellyguard/jellyguard/internal/audit"
	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/tokens"
)

// maxLoginResponse bounds the login answer the gateway reads to record its
// token (an AuthenticationResult is a few KiB).
const maxLoginResponse = 1 << 20

// jellyfinError is the body Jellyfin sends with every exception status.
const jellyfinError = "Error processing request."

// loginRequest is what the gateway read from a login request.
type loginRequest struct {
	username string
	info     jellyfin.AuthInfo
}

// loginBody is AuthenticateUserByName. encoding/json matches keys without
// regard to case, as Jellyfin does; the last duplicate wins in both.
type loginBody struct {
	Username *string `json:"Username"`
	Pw       *string `json:"Pw,omitempty"`
}

// prepareLogin reads the login request and replaces its body with one the
// gateway wrote itself, so Jellyfin sees exactly what the gateway decided
// on. It answers the client itself and returns false when the request is
// malformed.
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
	sc.login.info = jellyfin.ParseRequest(r.Header, r.URL.RawQuery, g.dialect)
	if sc.route.Class == jellyfin.ClassLogin {
		if body, err = g.rewriteLoginBody(body, sc); err != nil {
			g.log.Info("refused an unreadable login body", "ip", sc.client, "err", err)
			writeJellyfinError(w, http.StatusBadRequest)
			return false
		}
		r.Header.Set("Content-Type", "application/json")
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.TransferEncoding = nil
	r.Header.Del("Content-Length")
	return true
}

func (g *Gateway) rewriteLoginBody(body []byte, sc *scope) ([]byte, error) {
	var lb loginBody
	if err := json.Unmarshal(body, &lb); err != nil {
		return nil, fmt.Errorf("decoding login body: %w", err)
	}
	if lb.Username != nil {
		sc.login.username = *lb.Username
	}
	return json.Marshal(lb)
}

func writeJellyfinError(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, jellyfinError)
}

// loginResponse records the token of a successful login before the client
// sees it, and logs failures in the documented line.
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
		if err := g.loginSucceeded(resp, sc, body); err != nil {
			return err
		}
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		g.loginFailed(resp, sc)
	}
	setBody(resp, body)
	return nil
}

func setBody(resp *http.Response, body []byte) {
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	resp.TransferEncoding = nil
}

var loginSources = map[jellyfin.Class]string{
	jellyfin.ClassLogin:             "login",
	jellyfin.ClassLoginQuickConnect: "quickconnect",
	jellyfin.ClassLoginLegacy:       "legacy-login",
}

// loginSucceeded records the released token. A token the gateway cannot
// record is never released: it is logged out and the client gets an error.
func (g *Gateway) loginSucceeded(resp *http.Response, sc *scope, body []byte) error {
	if !bytes.Contains(body, tokenKey) {
		return nil
	}
	ctx := resp.Request.Context()
	res, err := jellyfin.ParseAuthResult(body)
	if err != nil || res.AccessToken == "" {
		g.reportWithheld(ctx, sc, body)
		return &withheldError{status: http.StatusBadGateway, body: jellyfinError}
	}
	issued := tokens.Issued{
		UserID: res.User.ID, UserName: res.User.Name, IsAdmin: res.User.Policy.IsAdministrator,
		DeviceID: res.SessionInfo.DeviceID, Client: res.SessionInfo.Client, DeviceName: res.SessionInfo.DeviceName,
		IP: sc.client.String(), Source: loginSources[sc.route.Class],
	}
	h, err := g.tokens.Record(ctx, res.AccessToken, issued)
	if err != nil {
		g.log.Error("recording a token failed; withholding it", "user", res.User.Name, "err", err)
		go g.tokens.Logout(ctx, res.AccessToken)
		return &withheldError{status: http.StatusServiceUnavailable, body: jellyfinError}
	}
	g.log.Info("signed in", "user", res.User.Name, "ip", sc.client, "client", issued.Client,
		"device", issued.DeviceName, "via", issued.Source, "token", h.Short())
	g.record(ctx, store.AuditEvent{Kind: audit.SignInSuccess, UserID: res.User.ID, UserName: res.User.Name,
		IP: sc.client.String(), Detail: fmt.Sprintf("via %s, client %q, device %q", issued.Source, issued.Client, issued.DeviceName)})
	return nil
}

// loginFailed writes the documented failure line and an audit event.
func (g *Gateway) loginFailed(resp *http.Response, sc *scope) {
	if sc.route.Class == jellyfin.ClassLoginQuickConnect {
		return // an unknown or expired Quick Connect secret is not a password guess
	}
	user := sc.login.username
	if sc.route.Class == jellyfin.ClassLoginLegacy {
		user = sc.route.UserID
	}
	reason := "invalid_credentials"
	if resp.StatusCode == http.StatusForbidden {
		reason = "forbidden"
	}
	g.failures.write(failure{ip: sc.client, user: user, reason: reason, status: resp.StatusCode,
		client: sc.login.info.Client, device: sc.login.info.Device})
	g.record(resp.Request.Context(), store.AuditEvent{Kind: audit.SignInFailure, UserName: user,
		IP: sc.client.String(), Detail: fmt.Sprintf("%s (HTTP %d), client %q", reason, resp.StatusCode, sc.login.info.Client)})
}
