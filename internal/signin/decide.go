package signin

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"time"

	"github.com/jellyguard/jellyguard/internal/device"
	"github.com/jellyguard/jellyguard/internal/factor"
	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/store"
)

// Attempt is one sign-in as the gateway read it.
type Attempt struct {
	Route                             string // "login", "legacy-login", "quickconnect"
	Username                          string // as typed (password logins)
	Password                          string // as typed (password logins); Prepare may split it
	Client, Device, DeviceID, Version string
	IP                                netip.Addr
	HTTPS                             bool
	Web                               bool   // tagged by the script injected into jellyfin-web
	Cookie                            string // the trust cookie, if the browser sent one
	QCSecret                          string // Quick Connect: the secret being redeemed
	// Direct: the gateway's own sign-in page; a challenge cannot be
	// answered later, the code must come with the password.
	Direct bool
	// RequireFactor: something about this sign-in (impossible travel) means
	// only a second factor may vouch for it — not the LAN, a trusted
	// browser or an approved device.
	RequireFactor bool

	code     string
	codeKind factor.CodeKind
	splitFor string // user id whose enrollment made Prepare split
	dummy    bool   // a recovery-shaped suffix that no check will hash
}

// Outcome is what becomes of a sign-in Jellyfin accepted.
type Outcome uint8

// Outcomes.
const (
	// OutcomeRelease: pass Jellyfin's answer on; the gateway records the token.
	OutcomeRelease Outcome = iota
	// OutcomeChallenge: the token is withheld in a challenge the web page answers.
	OutcomeChallenge
	// OutcomeDeny: answer exactly as a wrong password; the token is logged out.
	OutcomeDeny
)

// Decision is the answer for one accepted sign-in.
type Decision struct {
	Outcome Outcome
	Factor  string         // Release: what vouched ("" none)
	Cookies []*http.Cookie // to set on the answer
	// ChallengePath is where the web page answers the challenge.
	ChallengePath string
	Reason        string // for the log and the audit trail
}

// Prepare runs before Jellyfin sees a password login. For a user with a
// second factor whose password ends in ";<code>", it returns the password
// without the code (Jellyfin sees it once); everyone else's password goes on
// untouched, so it may contain anything, "horse;314159" included.
func (s *Service) Prepare(ctx context.Context, a *Attempt) string {
	pw, code, kind := factor.SplitCode(a.Password)
	if kind == factor.CodeNone {
		return a.Password
	}
	acct, err := s.opt.Store.AccountByName(ctx, fold(a.Username))
	if err != nil || !s.isEnrolled(ctx, acct.UserID) {
		a.dummy = kind == factor.CodeRecovery
		return a.Password
	}
	a.code, a.codeKind, a.splitFor = code, kind, acct.UserID
	return pw
}

// Failed runs when Jellyfin refused the password: it spends the time a
// recovery-code check would have taken, so a wrong password and a wrong
// code cannot be told apart by timing.
func (s *Service) Failed(ctx context.Context, a *Attempt) {
	if a.dummy || a.codeKind == factor.CodeRecovery {
		s.hash.Dummy(ctx)
	}
}

// Decide runs after Jellyfin accepted the password (or a Quick Connect
// secret) and answered with res. token is the access token Jellyfin issued;
// for Challenge and Deny the service takes care of it.
func (s *Service) Decide(ctx context.Context, a *Attempt, res jellyfin.AuthResult) (Decision, error) {
	userID, admin := res.User.ID, res.User.Policy.IsAdministrator
	s.touchAccount(ctx, userID, res.User.Name, admin)
	if a.code != "" || a.codeKind != factor.CodeNone {
		return s.decideWithCode(ctx, a, res)
	}
	n := s.needOf(ctx, userID, admin)
	if a.RequireFactor {
		n.required, n.grace = true, false
		if n.enrolled && a.Web && !a.Direct {
			return s.challenge(ctx, a, res)
		}
		if n.enrolled {
			return s.deny(ctx, a, res, "second factor needed (impossible travel)")
		}
		return s.deny(ctx, a, res, "impossible travel and no second factor")
	}
	switch {
	case !n.required:
		return Decision{Outcome: OutcomeRelease, Reason: "no second factor needed"}, nil
	case !n.enrolled && n.grace:
		s.log.Warn("signed in without a second factor during the enrollment grace period", "user", res.User.Name)
		return s.bypass(ctx, a, res, "", "enrollment grace period")
	case !n.enrolled:
		return s.deny(ctx, a, res, "a second factor is required but none is enrolled")
	case s.onLAN(a.IP):
		return s.bypass(ctx, a, res, FactorLAN, "LAN bypass")
	}
	if d, ok := s.trustedBrowser(ctx, a, res); ok {
		return d, nil
	}
	if s.approvedDevice(ctx, a, res) {
		return s.bypass(ctx, a, res, FactorDevice, "approved device")
	}
	if a.Route == "quickconnect" {
		return s.decideQuickConnect(ctx, a, res)
	}
	if a.Web && !a.Direct {
		return s.challenge(ctx, a, res)
	}
	if !a.Direct {
		s.recordPending(ctx, a, res)
	}
	return s.deny(ctx, a, res, "second factor needed")
}

// decideWithCode checks the code that came with the password.
func (s *Service) decideWithCode(ctx context.Context, a *Attempt, res jellyfin.AuthResult) (Decision, error) {
	userID := res.User.ID
	if a.splitFor != "" && a.splitFor != userID {
		// The name led to another account (a rename raced): no code
		// of one user vouches for another.
		return s.deny(ctx, a, res, "code for another account")
	}
	if s.throttled(userID, a.IP) {
		return s.deny(ctx, a, res, "too many code attempts")
	}
	name, ok, err := s.checkCode(ctx, userID, a.code, a.codeKind)
	if err != nil {
		s.logoutWithheld(ctx, a, res)
		return Decision{}, err
	}
	if !ok {
		// The gateway audits this like any failed sign-in (one event, as
		// for a wrong password, so the two cost the same).
		return s.deny(ctx, a, res, "wrong code")
	}
	return s.bypass(ctx, a, res, name, "code with the password")
}

// bypass releases the token, recording what vouched for it.
func (s *Service) bypass(ctx context.Context, a *Attempt, res jellyfin.AuthResult, factorName, why string) (Decision, error) {
	s.record(ctx, store.AuditEvent{Kind: "signin.second_factor", UserID: res.User.ID, UserName: res.User.Name,
		IP: a.IP.String(), Detail: fmt.Sprintf("%s (client %q, device %q)", why, a.Client, a.Device)})
	return Decision{Outcome: OutcomeRelease, Factor: factorName, Reason: why}, nil
}

// deny refuses the sign-in as a wrong password would be refused, and logs
// the fresh token out of Jellyfin: nobody will ever hold it.
func (s *Service) deny(ctx context.Context, a *Attempt, res jellyfin.AuthResult, why string) (Decision, error) {
	s.logoutWithheld(ctx, a, res)
	s.log.Info("sign-in refused after a right password", "user", res.User.Name, "ip", a.IP, "why", why)
	return Decision{Outcome: OutcomeDeny, Reason: why}, nil
}

func (s *Service) logoutWithheld(ctx context.Context, _ *Attempt, res jellyfin.AuthResult) {
	if res.AccessToken != "" && s.opt.Tokens != nil {
		go s.opt.Tokens.Logout(context.WithoutCancel(ctx), res.AccessToken)
	}
}

// trustedBrowser lets a browser with a valid trust cookie skip the
// challenge, rotating the cookie so a copied one works at most once.
func (s *Service) trustedBrowser(ctx context.Context, a *Attempt, res jellyfin.AuthResult) (Decision, bool) {
	if a.Cookie == "" {
		return Decision{}, false
	}
	claims, err := device.Decode(s.opt.Keys, a.Cookie, s.now())
	if err != nil {
		return Decision{}, false
	}
	rec, err := s.opt.Store.TrustedBrowser(ctx, claims.ID)
	if err != nil {
		return Decision{}, false
	}
	if ok, why := device.Check(claims, rec, res.User.ID, a.DeviceID, s.now()); !ok {
		s.log.Info("trust cookie not accepted", "user", res.User.Name, "why", why)
		return Decision{}, false
	}
	next := device.NewNonce()
	if ok, err := s.opt.Store.RotateTrustedBrowser(ctx, rec.ID, rec.Nonce, next, s.now()); err != nil || !ok {
		return Decision{}, false
	}
	claims.Nonce = next
	cookie := device.Cookie(device.Encode(s.opt.Keys, claims), claims.Expires, a.HTTPS, s.cookiePath())
	d, _ := s.bypass(ctx, a, res, FactorTrustedBrowser, "trusted browser")
	d.Cookies = []*http.Cookie{cookie}
	return d, true
}

func (s *Service) cookiePath() string {
	if b := s.opt.Config.BaseURL; b != "" {
		return b + "/"
	}
	return "/"
}

// approvedDevice admits a native device the user approved, once, from the
// address prefix it asked from, within the approval window.
func (s *Service) approvedDevice(ctx context.Context, a *Attempt, res jellyfin.AuthResult) bool {
	devs, err := s.opt.Store.Devices(ctx, res.User.ID)
	if err != nil {
		return false
	}
	for _, d := range devs {
		if !device.Admits(d, res.User.ID, a.DeviceID, a.Client, a.IP, s.now()) {
			continue
		}
		d.State = store.DeviceActive
		if res.AccessToken != "" {
			d.TokenHash = hashToken(res.AccessToken)
		}
		if err := s.opt.Store.PutDevice(ctx, d); err != nil {
			s.log.Warn("recording device use failed", "err", err)
			return false
		}
		return true
	}
	return false
}

// recordPending remembers a native device that gave a right password but
// no code, so the user can approve it on the Setup page.
func (s *Service) recordPending(ctx context.Context, a *Attempt, res jellyfin.AuthResult) {
	devs, err := s.opt.Store.Devices(ctx, res.User.ID)
	if err != nil {
		s.log.Warn("reading devices failed", "err", err)
		return
	}
	now := s.now()
	d := store.Device{ID: device.NewID(), CreatedAt: now}
	pending := 0
	for _, x := range devs {
		if x.State != store.DevicePending {
			continue
		}
		if x.DeviceID == a.DeviceID && x.Client == a.Client {
			d = x // the same device asking again: refresh it
			continue
		}
		if pending++; pending >= device.MaxPendingPerUser {
			_ = s.opt.Store.PutDevice(ctx, expire(x, now)) // oldest beyond the cap (newest first)
		}
	}
	d.UserID, d.UserName, d.DeviceID, d.Client, d.DeviceName = res.User.ID, res.User.Name, a.DeviceID, a.Client, a.Device
	d.IP, d.State, d.ExpiresAt = a.IP.String(), store.DevicePending, now.Add(device.PendingTTL)
	if err := s.opt.Store.PutDevice(ctx, d); err != nil {
		s.log.Warn("recording pending device failed", "err", err)
		return
	}
	if s.notices.Allow(res.User.ID) {
		s.log.Warn("a device is waiting for approval", "user", res.User.Name, "client", a.Client, "device", a.Device, "ip", a.IP)
		s.record(ctx, store.AuditEvent{Kind: "device.pending", UserID: res.User.ID, UserName: res.User.Name,
			IP: a.IP.String(), Detail: fmt.Sprintf("%s on %s wants to sign in", a.Client, a.Device)})
	}
}

func expire(d store.Device, now time.Time) store.Device {
	d.ExpiresAt = now
	d.State = store.DeviceRevoked
	return d
}
