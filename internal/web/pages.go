package web

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/jellyguard/jellyguard/internal/device"
	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/signin"
)

// layout is what the shared layout needs; every page embeds it.
type layout struct {
	Title      string
	Base       string
	ServerName string
	Scripts    []string // static file names, loaded with defer
	Wide       bool
	TrustDays  int // how long "trust this browser" lasts
}

func (h *handler) layout(title string, scripts ...string) layout {
	return layout{Title: title, Base: h.base, ServerName: h.opts.ServerName, Scripts: scripts, TrustDays: h.opts.TrustDays}
}

type messagePage struct {
	layout
	Text string
	Link string
}

type challengePage struct {
	layout
	Action       string
	UserName     string
	Error        string
	AttemptsLeft int
	ExpiresIn    string
	Remember     bool
	// Recovery: the form asks for a recovery code rather than the
	// authenticator app's; it stays so after a wrong code.
	Recovery bool
	Web      string
}

// challengeForm is what a challenge answer asked for, to show the form
// again the way it was.
type challengeForm struct {
	remember, recovery bool
}

type loginPage struct {
	layout
	Action   string
	UserName string
	Error    string
	Remember bool
	Web      string
}

type handoffPage struct {
	layout
	ServerID, UserID, Token, DeviceID string
	Address                           string // <scheme>://<host><base>, jellyfin-web's ManualAddress
	Target                            string // <base>/web/
}

type setupPage struct {
	layout
	API    string
	Web    string
	Issuer string
}

// challengeID reads the challenge id from its cookie; never from the URL.
func (h *handler) challengeID(r *http.Request) string {
	c, err := r.Cookie(h.cookie)
	if err != nil {
		return ""
	}
	return c.Value
}

func (h *handler) showChallenge(w http.ResponseWriter, r *http.Request) {
	id := h.challengeID(r)
	if id == "" {
		h.challengeGone(w, r)
		return
	}
	info, err := h.svc.Challenge(r.Context(), id)
	if err != nil {
		h.challengeFailed(w, r, err)
		return
	}
	h.renderChallenge(w, http.StatusOK, info, "", challengeForm{})
}

func (h *handler) submitChallenge(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	id := h.challengeID(r)
	if id == "" {
		h.challengeGone(w, r)
		return
	}
	code := normalizeCode(r.PostForm.Get("code"))
	form := challengeForm{remember: checked(r.PostForm.Get("remember")), recovery: r.PostForm.Get("mode") == "recovery"}
	if code == "" {
		msg := "Enter the code from your authenticator app."
		if form.recovery {
			msg = "Enter one of your recovery codes."
		}
		h.challengeAgain(w, r, id, http.StatusBadRequest, msg, form)
		return
	}
	c := h.client(r)
	out, err := h.svc.SignIn(r.Context(), Attempt{Door: signin.DoorChallenge, ChallengeID: id, Code: code, Remember: form.remember, Client: c})
	switch {
	case err != nil:
		h.internalError(w, r, err)
	case out.Released():
		h.handoff(w, r, out, c)
	case out.Refusal != signin.RefuseBadCode && out.Refusal != signin.RefuseThrottled:
		h.challengeFailed(w, r, ErrExpired)
	case out.AttemptsLeft == 0:
		// That was the last attempt: the challenge burned.
		h.clearChallengeCookie(w, c)
		h.message(w, http.StatusTooManyRequests, "Too many wrong codes",
			"This sign-in has ended after too many wrong codes. Go back to "+h.opts.ServerName+" and sign in again.")
	case out.Refusal == signin.RefuseThrottled:
		// Held back, not checked: the challenge still waits, with the
		// attempts it has left.
		h.challengeAgain(w, r, id, http.StatusTooManyRequests,
			"Too many codes were tried in a short time. Wait a minute, then try again.", form)
	default:
		h.challengeAgain(w, r, id, http.StatusBadRequest, "That code didn't work. Check it and try again.", form)
	}
}

// challengeAgain shows the challenge form again with an error and the
// attempts now left.
func (h *handler) challengeAgain(w http.ResponseWriter, r *http.Request, id string, status int, msg string, form challengeForm) {
	info, err := h.svc.Challenge(r.Context(), id)
	if err != nil {
		h.challengeFailed(w, r, err)
		return
	}
	h.renderChallenge(w, status, info, msg, form)
}

func (h *handler) renderChallenge(w http.ResponseWriter, status int, info ChallengeInfo, msg string, form challengeForm) {
	h.render(w, status, "challenge.html", challengePage{
		layout:       h.layout("Two-step verification", "challenge.js"),
		Action:       h.url("challenge"),
		UserName:     info.UserName,
		Error:        msg,
		AttemptsLeft: info.AttemptsLeft,
		ExpiresIn:    expiresIn(info.ExpiresAt, time.Now()),
		Remember:     form.remember,
		Recovery:     form.recovery,
		Web:          h.webURL(),
	})
}

// challengeFailed shows why a challenge cannot go on.
func (h *handler) challengeFailed(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrExpired), errors.Is(err, ErrUnauthorized):
		h.clearChallengeCookie(w, h.client(r))
		h.challengeGone(w, r)
	default:
		h.internalError(w, r, err)
	}
}

func (h *handler) challengeGone(w http.ResponseWriter, _ *http.Request) {
	h.message(w, http.StatusGone, "This sign-in has expired",
		"This sign-in is no longer waiting for a code. Go back to Jellyfin and sign in again.")
}

func (h *handler) clearChallengeCookie(w http.ResponseWriter, c Client) {
	ck := h.opts.ChallengeCookieFor("", c.HTTPS, time.Time{}) //nolint:gosec // G124: see ChallengeCookieFor
	ck.MaxAge = -1
	http.SetCookie(w, ck)
}

func (h *handler) showLogin(w http.ResponseWriter, _ *http.Request) {
	h.renderLogin(w, http.StatusOK, loginPage{})
}

// pageClient is the name the sign-in page's sessions carry in Jellyfin:
// jellyfin-web's, so the hand-off into /web/ lines up.
const pageClient = "Jellyfin Web"

// submitLogin is the sign-in page's door into the flow. Every failure — an
// unknown user, a wrong password, a missing or wrong code, a held-back
// attempt — gets the same answer: the flow paces them all alike.
func (h *handler) submitLogin(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	f := r.PostForm
	user := strings.TrimSpace(f.Get("username"))
	remember := checked(f.Get("remember"))
	again := loginPage{UserName: user, Remember: remember}
	if user == "" {
		again.Error = "Enter your username."
		h.renderLogin(w, http.StatusBadRequest, again)
		return
	}
	c := h.client(r)
	c.DeviceID = strings.TrimSpace(f.Get("device_id"))
	if c.DeviceID == "" || len(c.DeviceID) > 200 {
		c.DeviceID = device.NewID()
	}
	c.App, c.DeviceName, c.Version, c.Web = pageClient, browserName(c.UserAgent), jellyfin.Version, false
	out, err := h.svc.SignIn(r.Context(), Attempt{Door: signin.DoorPage, UserName: user, Password: f.Get("password"),
		Code: normalizeCode(f.Get("code")), Remember: remember, Client: c})
	switch {
	case err != nil:
		h.internalError(w, r, err)
	case out.Released():
		h.handoff(w, r, out, c)
	default:
		again.Error = "That didn't work. Check your username, password and code, then try again."
		h.renderLogin(w, http.StatusUnauthorized, again)
	}
}

// browserName is the "Device" jellyfin-web would report for a user agent.
func browserName(ua string) string {
	for _, b := range []string{"Edg", "Firefox", "Chrome", "Safari"} {
		if strings.Contains(ua, b) {
			if b == "Edg" {
				return "Edge"
			}
			return b
		}
	}
	return "Web Browser"
}

func (h *handler) renderLogin(w http.ResponseWriter, status int, p loginPage) {
	p.layout = h.layout("Sign in", "login.js")
	p.Action = h.url("login")
	p.Web = h.webURL()
	h.render(w, status, "login.html", p)
}

// handoff renders the page that stores the session the way jellyfin-web
// does and then opens jellyfin-web. The outcome's cookies go with it.
func (h *handler) handoff(w http.ResponseWriter, r *http.Request, out Outcome, c Client) {
	rel := out.Session
	for _, ck := range out.Cookies {
		if ck != nil {
			http.SetCookie(w, ck)
		}
	}
	scheme := "http"
	if c.HTTPS {
		scheme = "https"
	}
	target := h.webURL()
	if slices.Contains(out.Factors, signin.FactorGrace) {
		// The user must set up a second factor before the grace period
		// runs out: Setup says so and shows how.
		target = SetupPath(h.base)
	}
	h.render(w, http.StatusOK, "handoff.html", handoffPage{
		layout:   h.layout("Signing in", "handoff.js"),
		ServerID: rel.ServerID,
		UserID:   rel.User.ID,
		Token:    rel.AccessToken,
		DeviceID: cmp.Or(rel.SessionInfo.DeviceID, c.DeviceID),
		Address:  scheme + "://" + r.Host + h.base,
		Target:   target,
	})
}

func (h *handler) showSetup(w http.ResponseWriter, _ *http.Request) {
	p := setupPage{
		layout: h.layout("Two-step verification", "setup.js"),
		API:    h.url("api/"),
		Web:    h.webURL(),
		Issuer: h.opts.Issuer,
	}
	p.Wide = true
	h.render(w, http.StatusOK, "setup.html", p)
}

// parseForm reads a form body; it answers the request itself when it cannot.
func (h *handler) parseForm(w http.ResponseWriter, r *http.Request) bool {
	err := r.ParseForm()
	if err == nil {
		return true
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		h.message(w, http.StatusRequestEntityTooLarge, "Request too large", "The form sent was too large.")
		return false
	}
	h.message(w, http.StatusBadRequest, "Bad request", "The form could not be read.")
	return false
}

// normalizeCode removes the white space people type or paste into codes.
func normalizeCode(s string) string {
	if len(s) > 128 {
		s = s[:128]
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

func checked(v string) bool { return v != "" && v != "0" && v != "false" }

// expiresIn says how long until t, in words; "" when t is zero.
func expiresIn(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := t.Sub(now)
	if d < time.Minute {
		return "in less than a minute"
	}
	m := int(math.Ceil(d.Minutes()))
	if m == 1 {
		return "in 1 minute"
	}
	return fmt.Sprintf("in %d minutes", m)
}
