package web

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/jellyguard/jellyguard/internal/signin"
)

// apiRequest is every body the API accepts; each call reads what it needs.
type apiRequest struct {
	Code string `json:"code"`
	ID   string `json:"id"`
	// Password is taken as typed: white space may be part of it.
	Password string `json:"password"`
}

// apiFunc is one API call after the body is read; c.Session is the
// caller's session as the pipeline checked it.
type apiFunc func(ctx context.Context, req apiRequest, c Client) (any, error)

type okJSON struct {
	OK bool `json:"ok"`
}

type accountJSON struct {
	UserID       string        `json:"userId"`
	UserName     string        `json:"userName"`
	Enrolled     bool          `json:"enrolled"`
	Required     bool          `json:"required"`
	GraceUntil   time.Time     `json:"graceUntil,omitzero"`
	RecoveryLeft int           `json:"recoveryLeft"`
	Browsers     []browserJSON `json:"browsers"`
	Devices      []deviceJSON  `json:"devices"`
}

type browserJSON struct {
	ID         string    `json:"id"`
	UserAgent  string    `json:"userAgent"`
	IP         string    `json:"ip"`
	CreatedAt  time.Time `json:"createdAt,omitzero"`
	LastUsedAt time.Time `json:"lastUsedAt,omitzero"`
	ExpiresAt  time.Time `json:"expiresAt,omitzero"`
	Current    bool      `json:"current"`
}

type deviceJSON struct {
	ID         string    `json:"id"`
	Client     string    `json:"client"`
	DeviceName string    `json:"deviceName"`
	IP         string    `json:"ip"`
	State      string    `json:"state"`
	CreatedAt  time.Time `json:"createdAt,omitzero"`
}

type enrollmentJSON struct {
	Secret string `json:"secret"`
	URI    string `json:"uri"`
	QR     string `json:"qr,omitempty"` // data:image/svg+xml;base64,…
	// Issuer is the name the authenticator app lists the account under.
	Issuer string `json:"issuer,omitempty"`
}

type recoveryJSON struct {
	RecoveryCodes []string `json:"recoveryCodes"`
}

type apiErrorJSON struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// errNoID is a request without the id it needs.
var errNoID = errors.New("id missing")

func (h *handler) routeAPI(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/account", h.api(false, h.apiAccount))
	mux.HandleFunc("POST /api/totp/begin", h.api(true, h.apiBegin))
	mux.HandleFunc("POST /api/totp/confirm", h.api(true, h.apiConfirm))
	mux.HandleFunc("POST /api/recovery/regenerate", h.api(true, h.apiRegenerate))
	mux.HandleFunc("POST /api/totp/disable", h.api(true, h.apiDisable))
	mux.HandleFunc("POST /api/devices/approve", h.api(true, h.apiApproveDevice))
	mux.HandleFunc("POST /api/devices/revoke", h.api(true, h.apiRevokeDevice))
	mux.HandleFunc("POST /api/browsers/revoke", h.api(true, h.apiRevokeBrowser))
}

// api wraps an API call: it checks there is a session, reads the JSON
// body when withBody, and writes the result or the error as JSON.
func (h *handler) api(withBody bool, fn apiFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := h.client(r)
		if c.Session.UserID == "" {
			writeAPIError(w, http.StatusUnauthorized, "unauthorized", "Sign in to Jellyfin first.")
			return
		}
		var req apiRequest
		if withBody {
			if status, code, msg := decodeBody(r, &req); status != 0 {
				writeAPIError(w, status, code, msg)
				return
			}
		}
		out, err := fn(r.Context(), req, c)
		if err != nil {
			h.apiFailed(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// decodeBody reads a JSON body into v; an empty body is an empty request.
// It returns a status, error code and message when the body is unusable.
func decodeBody(r *http.Request, v *apiRequest) (int, string, string) {
	err := json.NewDecoder(r.Body).Decode(v)
	var tooBig *http.MaxBytesError
	switch {
	case err == nil, errors.Is(err, io.EOF):
		return 0, "", ""
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, "too_large", "The request is too large."
	default:
		return http.StatusBadRequest, "bad_request", "The request could not be read."
	}
}

func (h *handler) apiFailed(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, errNoID):
		writeAPIError(w, http.StatusBadRequest, "bad_request", "Say which one.")
	case errors.Is(err, ErrBadCode):
		writeAPIError(w, http.StatusBadRequest, "bad_code", "That code didn't work. Check it and try again.")
	case errors.Is(err, ErrExpired):
		writeAPIError(w, http.StatusBadRequest, "expired", "This has expired. Start again.")
	case errors.Is(err, ErrUnauthorized):
		writeAPIError(w, http.StatusUnauthorized, "unauthorized", "Sign in to Jellyfin again, then reload this page.")
	case errors.Is(err, ErrCodeRequired):
		writeAPIError(w, http.StatusForbidden, "code_required", "Enter a current code from your authenticator app to make this change.")
	case errors.Is(err, signin.ErrPasswordRequired):
		writeAPIError(w, http.StatusForbidden, "password_required", "Enter your password to set up two-step verification.")
	case errors.Is(err, signin.ErrBadPassword):
		writeAPIError(w, http.StatusBadRequest, "bad_password", "That password didn't work. Check it and try again.")
	case errors.Is(err, ErrThrottled):
		writeAPIError(w, http.StatusTooManyRequests, "throttled", "Too many attempts. Wait a few minutes, then try again.")
	case errors.Is(err, ErrNotFound):
		writeAPIError(w, http.StatusNotFound, "not_found", "That is gone already. Reload the page.")
	default:
		h.log.ErrorContext(r.Context(), "gateway API call failed", "path", r.URL.Path, "err", err)
		writeAPIError(w, http.StatusInternalServerError, "internal", "Something went wrong. Try again in a moment.")
	}
}

func (h *handler) apiAccount(ctx context.Context, _ apiRequest, c Client) (any, error) {
	a, err := h.svc.Account(ctx, c)
	if err != nil {
		return nil, err
	}
	out := accountJSON{
		UserID:       a.UserID,
		UserName:     a.UserName,
		Enrolled:     a.Enrolled,
		Required:     a.Required,
		GraceUntil:   a.GraceUntil,
		RecoveryLeft: a.RecoveryLeft,
		Browsers:     make([]browserJSON, 0, len(a.TrustedBrowsers)),
		Devices:      make([]deviceJSON, 0, len(a.Devices)),
	}
	for _, b := range a.TrustedBrowsers {
		out.Browsers = append(out.Browsers, browserJSON(b))
	}
	for _, d := range a.Devices {
		out.Devices = append(out.Devices, deviceJSON(d))
	}
	return out, nil
}

func (h *handler) apiBegin(ctx context.Context, req apiRequest, c Client) (any, error) {
	e, err := h.svc.BeginTOTP(ctx, c, normalizeCode(req.Code), req.Password)
	if err != nil {
		return nil, err
	}
	out := enrollmentJSON{Secret: e.Secret, URI: e.URI, Issuer: e.Issuer}
	if e.QRSVG != "" {
		out.QR = "data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString([]byte(e.QRSVG))
	}
	return out, nil
}

func (h *handler) apiConfirm(ctx context.Context, req apiRequest, c Client) (any, error) {
	codes, err := h.svc.ConfirmTOTP(ctx, c, normalizeCode(req.Code))
	if err != nil {
		return nil, err
	}
	return recoveryJSON{RecoveryCodes: codes}, nil
}

func (h *handler) apiRegenerate(ctx context.Context, req apiRequest, c Client) (any, error) {
	codes, err := h.svc.RegenerateRecovery(ctx, c, normalizeCode(req.Code))
	if err != nil {
		return nil, err
	}
	return recoveryJSON{RecoveryCodes: codes}, nil
}

func (h *handler) apiDisable(ctx context.Context, req apiRequest, c Client) (any, error) {
	return okJSON{true}, h.svc.DisableTOTP(ctx, c, normalizeCode(req.Code))
}

func (h *handler) apiApproveDevice(ctx context.Context, req apiRequest, c Client) (any, error) {
	if req.ID == "" {
		return nil, errNoID
	}
	return okJSON{true}, h.svc.ApproveDevice(ctx, c, normalizeCode(req.Code), req.ID)
}

func (h *handler) apiRevokeDevice(ctx context.Context, req apiRequest, c Client) (any, error) {
	if req.ID == "" {
		return nil, errNoID
	}
	return okJSON{true}, h.svc.RevokeDevice(ctx, c, normalizeCode(req.Code), req.ID)
}

func (h *handler) apiRevokeBrowser(ctx context.Context, req apiRequest, c Client) (any, error) {
	if req.ID == "" {
		return nil, errNoID
	}
	return okJSON{true}, h.svc.RevokeBrowser(ctx, c, normalizeCode(req.Code), req.ID)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	hd := w.Header()
	hd.Set("Content-Type", "application/json; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeAPIError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, apiErrorJSON{Error: code, Message: msg})
}
