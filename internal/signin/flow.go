package signin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jellyguard/jellyguard/internal/audit"
	"github.com/jellyguard/jellyguard/internal/factor"
	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/shield"
	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/tokens"
)

// flight is one sign-in on its way through the flow.
type flight struct {
	a     *Attempt
	start time.Time
	// login is what the shield is told: the address, the user name the
	// budget is kept under, and whether a live trust cookie of that user
	// vouches for the browser.
	login shield.Login
	// userID is who the attempt names before Jellyfin answers ("" when
	// the gateway does not know the name yet).
	userID string
	code   string
	// splitFor is the user whose enrollment made the flow split a code
	// off the password.
	splitFor  string
	res       jellyfin.AuthResult // what Jellyfin answered (or the challenge held)
	challenge *store.Challenge    // DoorChallenge
	status    int                 // Jellyfin's refusal status, for the failure line
	// codeHeld: the code given was not checked, too many were tried.
	codeHeld bool
}

// SignIn runs one sign-in through the flow — admit, ask Jellyfin (through
// the door's Authenticate), verify, decide, and release, challenge or
// refuse — and returns the outcome for the door to answer with. Every door
// calls it; nothing about a sign-in is decided anywhere else.
//
// An error means the door must answer on its own: Jellyfin's answer was
// neither a session nor a refusal of the credentials (the door passes it
// on), or the gateway could not do its part (storage); no session is
// released then.
func (s *Service) SignIn(ctx context.Context, a Attempt) (Outcome, error) {
	f := &flight{a: &a, start: s.now(), login: shield.Login{Addr: a.Client.IP}}
	if s.opt.Admission.Refused(a.Client.IP) {
		return s.refuse(ctx, f, RefuseAddress), nil
	}
	if err := s.identify(ctx, f); err != nil {
		return s.refuse(ctx, f, RefuseExpired), nil //nolint:nilerr // a gone challenge is a refusal, not a failure
	}
	if err := s.opt.Admission.Allow(ctx, f.login); err != nil {
		return s.refuse(ctx, f, RefuseThrottled), nil
	}
	res, err := s.credentials(ctx, f)
	var ce *CredentialsError
	switch {
	case errors.As(err, &ce):
		f.status = ce.Status
		return s.refuse(ctx, f, RefuseCredentials), nil
	case errors.Is(err, ErrCredentials):
		return s.refuse(ctx, f, RefuseCredentials), nil
	case err != nil:
		return Outcome{}, err
	}
	f.res = res
	return s.complete(ctx, f)
}

// identify finds who the attempt names before Jellyfin answers: the typed
// name, the legacy route's id (any spelling), or the challenge's user. The
// shield keeps one failure budget per user, whichever door was used.
func (s *Service) identify(ctx context.Context, f *flight) error {
	a := f.a
	switch a.Door {
	case DoorLogin, DoorPage:
		f.login.User = a.UserName
		if acct, err := s.opt.Store.AccountByName(ctx, Fold(a.UserName)); err == nil {
			f.userID = acct.UserID
		}
	case DoorLegacy:
		f.login.User, f.userID = s.nameOfID(ctx, a.UserRef)
	case DoorChallenge:
		ch, err := s.openChallenge(ctx, a.ChallengeID)
		if err != nil {
			return err
		}
		f.challenge, f.userID, f.login.User = &ch, ch.UserID, ch.UserName
	}
	_, _, f.login.Trusted = s.liveTrustCookie(ctx, a.Client, f.userID)
	return nil
}

// credentials asks Jellyfin, through the door, with the password the flow
// decided to forward: without a "; code" suffix for an enrolled user. A
// challenge answer asks nobody: Jellyfin accepted the password already.
func (s *Service) credentials(ctx context.Context, f *flight) (jellyfin.AuthResult, error) {
	if f.challenge != nil {
		f.code = strings.TrimSpace(f.a.Code)
		return s.withheldResult(*f.challenge)
	}
	ask := f.a.Authenticate
	if ask == nil {
		ask = s.askJellyfin(f.a)
	}
	res, err := ask(ctx, s.splitCode(ctx, f))
	if err == nil && res.AccessToken == "" {
		err = errors.New("jellyfin accepted the sign-in without a token")
	}
	if err == nil && f.a.Door.asksJellyfin() {
		s.pace.observe(s.now().Sub(f.start))
	}
	return res, err
}

// askJellyfin signs the page's user in through Jellyfin's API, as the
// browser itself (jellyfin-web's identity), for doors that have no
// Jellyfin request of their own to forward.
func (s *Service) askJellyfin(a *Attempt) func(context.Context, string) (jellyfin.AuthResult, error) {
	return func(ctx context.Context, password string) (jellyfin.AuthResult, error) {
		if s.opt.Jellyfin == nil {
			return jellyfin.AuthResult{}, errors.New("no Jellyfin client")
		}
		c := a.Client
		id := jellyfin.Identity{Client: c.App, Device: c.DeviceName, DeviceID: c.DeviceID, Version: c.Version}
		res, err := s.opt.Jellyfin.AuthenticateByName(ctx, a.UserName, password, id, c.IP.String())
		switch {
		case errors.Is(err, jellyfin.ErrForbidden):
			return res, &CredentialsError{Status: http.StatusForbidden}
		case errors.Is(err, jellyfin.ErrInvalidToken), errors.Is(err, jellyfin.ErrNotFound):
			return res, &CredentialsError{Status: http.StatusUnauthorized}
		case err != nil:
			return res, fmt.Errorf("asking Jellyfin: %w", err)
		}
		return res, nil
	}
}

// splitCode returns the password to forward. A code comes with the form
// (the sign-in page) or after the last ";" of the password — the latter
// only for a user with a second factor, so everyone else's password goes
// on untouched, "horse;314159" included.
func (s *Service) splitCode(ctx context.Context, f *flight) string {
	a := f.a
	if code := strings.TrimSpace(a.Code); code != "" {
		f.code = code
		return a.Password
	}
	pw, code, kind := factor.SplitCode(a.Password)
	if kind == factor.CodeNone || f.userID == "" || !s.isEnrolled(ctx, f.userID) {
		return a.Password
	}
	f.code, f.splitFor = code, f.userID
	return pw
}

// complete runs what follows Jellyfin's yes: the user's networks, the
// verifiers, decide, and the action decided.
func (s *Service) complete(ctx context.Context, f *flight) (Outcome, error) {
	res := f.res
	if f.challenge == nil {
		s.touchAccount(ctx, res.User.ID, res.User.Name, res.User.Policy.IsAdministrator)
	}
	f.login.User = cmp.Or(res.User.Name, f.login.User)
	if ok, why := s.opt.Admission.UserAllowed(res.User.ID, res.User.Policy.IsAdministrator, f.a.Client.IP); !ok {
		s.log.Info("sign-in refused outside the user's networks", "user", res.User.Name, "ip", f.a.Client.IP, "why", why)
		return s.refuse(ctx, f, RefuseNetwork), nil
	}
	facts, err := s.facts(ctx, f)
	if err != nil {
		s.logoutWithheld(ctx, f)
		return Outcome{}, err
	}
	if f.codeHeld {
		// Held back by the code limits, not the shield's: the shield still
		// counts it, as a failure after a right password.
		l := f.login
		l.PasswordRight = true
		s.opt.Admission.Failed(ctx, l)
		return s.refuse(ctx, f, RefuseThrottled), nil
	}
	d := Decide(facts)
	switch d.Action {
	case Release:
		return s.release(ctx, f, d)
	case Challenge:
		return s.challenge(ctx, f)
	case Pending:
		s.recordPending(ctx, f)
		out := s.refuse(ctx, f, d.Refusal)
		out.Action = Pending
		return out, nil
	}
	return s.refuse(ctx, f, d.Refusal), nil
}

// facts gathers what decide needs: the user's requirement, impossible
// travel, and every verifier's proof.
func (s *Service) facts(ctx context.Context, f *flight) (Facts, error) {
	res, a := f.res, f.a
	n := s.needOf(ctx, res.User.ID, res.User.Policy.IsAdministrator)
	facts := Facts{Door: a.Door, Required: n.required, Enrolled: n.enrolled, Grace: n.grace,
		CanChallenge: a.Client.Web && (a.Door == DoorLogin || a.Door == DoorLegacy)}
	if a.Door != DoorChallenge {
		facts.TravelBlock = s.opt.Admission.Travel(ctx, res.User.ID, res.User.Name, a.Client.IP)
	}
	if f.splitFor != "" && f.splitFor != res.User.ID {
		// The name led to another account (a rename raced): no code of
		// one user vouches for another.
		facts.CodeFailed = true
		return facts, nil
	}
	sub := &Subject{Attempt: a, User: res.User}
	if f.code != "" && n.enrolled {
		sub.Code, sub.CodeKind = f.code, kindOf(f.code)
	}
	if !n.required && sub.Code == "" && !facts.TravelBlock {
		return facts, nil // nothing to verify: the password is enough
	}
	for _, v := range s.registry() {
		p, err := v.Verify(ctx, sub)
		switch {
		case errors.Is(err, errWrongCode):
			facts.CodeFailed = true
		case errors.Is(err, errCodeThrottled):
			facts.CodeFailed, f.codeHeld = true, true
		case err != nil:
			return facts, fmt.Errorf("verifying a sign-in: %w", err)
		case p != nil:
			facts.Proofs = append(facts.Proofs, *p)
		}
	}
	return facts, nil
}

// release hands the session out: the token recorded with how it was
// verified and its audit event (one transaction), the shield told, the
// place remembered, the trust cookie rotated or set. A token that cannot
// be recorded, or whose audit event cannot be, is never released: it is
// logged out and the door answers as for any storage failure.
func (s *Service) release(ctx context.Context, f *flight, d Decision) (Outcome, error) {
	res, a := f.res, f.a
	cm := &commitment{ctx: ctx, token: res.AccessToken}
	if d.Proof != nil && d.Proof.commit != nil {
		if err := d.Proof.commit(cm); errors.Is(err, errReplayed) {
			return s.refuse(ctx, f, RefuseFactorNeeded), nil
		} else if err != nil {
			s.logoutWithheld(ctx, f)
			return Outcome{}, fmt.Errorf("recording what vouched for a sign-in: %w", err)
		}
	}
	source := string(a.Door)
	if f.challenge != nil {
		if _, err := s.opt.Store.TakeChallenge(ctx, f.challenge.ID); err != nil {
			return s.refuse(ctx, f, RefuseExpired), nil // another answer released it first
		}
		source = f.challenge.Source
		cm.cookies = append(cm.cookies, s.challengeCookie("", time.Time{}, a.Client.HTTPS))
	}
	issued := s.issued(f, source, d)
	ev := audit.Event{Kind: audit.SignInSuccess, UserID: res.User.ID, UserName: res.User.Name, IP: a.Client.IP,
		Door: string(a.Door), Client: issued.Client, Device: issued.DeviceName, Factors: d.Factors, Assurance: string(d.Assurance)}
	h, err := s.opt.Tokens.Record(ctx, res.AccessToken, issued, ev)
	if err != nil {
		// A challenge is taken by now: its token is logged out like any
		// other the flow holds.
		f.challenge = nil
		s.logoutWithheld(ctx, f)
		return Outcome{}, fmt.Errorf("recording a released token and its audit event: %w", err)
	}
	s.log.Info("signed in", "user", res.User.Name, "ip", a.Client.IP, "client", issued.Client, "device", issued.DeviceName,
		"via", source, "factors", issued.Factor, "assurance", d.Assurance, "token", h.Short())
	s.opt.Admission.Succeeded(shield.Login{Addr: a.Client.IP, User: res.User.Name})
	s.opt.Admission.RememberPlace(ctx, res.User.ID, a.Client.IP)
	if a.Remember && d.Proof != nil && d.Proof.Kind == ProofFresh {
		if cookie, err := s.trustBrowser(ctx, res.User.ID, issued.DeviceID, a.Client); err == nil {
			cm.cookies = append(cm.cookies, cookie)
		} else {
			s.log.Warn("trusting the browser failed", "err", err)
		}
	}
	return Outcome{Action: Release, Session: res, Factors: d.Factors, Assurance: d.Assurance, Cookies: cm.cookies}, nil
}

// issued describes the released token for the token table.
func (s *Service) issued(f *flight, source string, d Decision) tokens.Issued {
	res, c := f.res, f.a.Client
	is := tokens.Issued{UserID: res.User.ID, UserName: res.User.Name, IsAdmin: res.User.Policy.IsAdministrator,
		DeviceID: cmp.Or(res.SessionInfo.DeviceID, c.DeviceID), Client: cmp.Or(res.SessionInfo.Client, c.App),
		DeviceName: cmp.Or(res.SessionInfo.DeviceName, c.DeviceName), IP: c.IP.String(), Source: source,
		Factor: strings.Join(d.Factors, ","), Assurance: d.Assurance}
	if ch := f.challenge; ch != nil {
		is.DeviceID, is.Client, is.DeviceName = ch.DeviceID, ch.Client, ch.DeviceName
	}
	return is
}

// refuse answers the sign-in exactly like a wrong password: a token
// Jellyfin issued is logged out (nobody will ever hold it), the failure
// line and one audit event are written, the shield counts the failure, and
// the answer waits until refusals take as long as accepted sign-ins.
func (s *Service) refuse(ctx context.Context, f *flight, r Refusal) Outcome {
	a := f.a
	out := Outcome{Action: Refuse, Refusal: r}
	if f.challenge != nil && (r == RefuseBadCode || r == RefuseThrottled) {
		// A held-back answer spends one of the challenge's attempts too.
		out.AttemptsLeft = s.failChallenge(ctx, *f.challenge, a.Client)
	} else {
		s.logoutWithheld(ctx, f)
	}
	reason := r.Reason()
	if r == RefuseCredentials && f.status == http.StatusForbidden {
		reason = "forbidden" // disabled, locked out, no remote access: the admin's log says so
	}
	user := cmp.Or(f.login.User, a.UserName)
	s.failureLine(Failure{IP: a.Client.IP, User: user, Reason: reason, Client: a.Client.App, Device: a.Client.DeviceName})
	s.record(ctx, audit.Event{Kind: audit.SignInFailure, UserID: f.res.User.ID, UserName: user, IP: a.Client.IP,
		Door: string(a.Door), Client: a.Client.App, Device: a.Client.DeviceName, Reason: reason})
	if r != RefuseThrottled && r != RefuseAddress {
		l := f.login
		l.PasswordRight = r.afterPassword()
		s.opt.Admission.Failed(ctx, l)
	}
	s.pace.hold(ctx, f.start)
	return out
}

// logoutWithheld logs out a token Jellyfin issued for a sign-in that is
// not released. A challenge's token is logged out when the challenge
// burns, not on a wrong code.
func (s *Service) logoutWithheld(ctx context.Context, f *flight) {
	if f.challenge != nil {
		if f.res.AccessToken != "" {
			s.burn(ctx, f.challenge.ID, "sign-in refused")
		}
		return
	}
	if f.res.AccessToken != "" && s.opt.Tokens != nil {
		go s.opt.Tokens.Logout(context.WithoutCancel(ctx), f.res.AccessToken)
	}
}
