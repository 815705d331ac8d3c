package signin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jellyguard/jellyguard/internal/device"
	"github.com/jellyguard/jellyguard/internal/factor"
	"github.com/jellyguard/jellyguard/internal/factor/recovery"
	"github.com/jellyguard/jellyguard/internal/factor/totp"
	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/tokens"
)

// directClient is the identity of sessions made by the gateway's own
// sign-in page: jellyfin-web's, so the hand-off into /web/ lines up.
const directClient = "Jellyfin Web"

// PasswordLogin signs in on the gateway's own page: name, password and, for
// users who need one, a code in the same form (a challenge cannot be
// answered later there). The wrong-password answer and the wrong-code answer
// are the same error.
func (s *Service) PasswordLogin(ctx context.Context, user, password, code string, remember bool, c Client) (Release, error) {
	if s.opt.Jellyfin == nil {
		return Release{}, errors.New("no Jellyfin client")
	}
	deviceID := c.DeviceID
	if deviceID == "" || len(deviceID) > 200 {
		deviceID = device.NewID()
	}
	id := jellyfin.Identity{Client: directClient, Device: browserName(c.UserAgent), DeviceID: deviceID, Version: jellyfin.Version}
	if s.opt.Throttle != nil {
		if err := s.opt.Throttle(ctx, c.IP, user); err != nil {
			s.failureLine(c.IP, user, "throttled", directClient)
			return Release{}, ErrBadCode
		}
	}
	res, err := s.opt.Jellyfin.AuthenticateByName(ctx, user, password, id, c.IP.String())
	if errors.Is(err, jellyfin.ErrInvalidToken) || errors.Is(err, jellyfin.ErrForbidden) || errors.Is(err, jellyfin.ErrNotFound) {
		if kindOf(strings.TrimSpace(code)) == factor.CodeRecovery {
			s.hash.Dummy(ctx)
		}
		s.failureLine(c.IP, user, "invalid_credentials", directClient)
		return Release{}, ErrBadCode
	}
	if err != nil {
		return Release{}, err
	}
	a := &Attempt{Route: "login", Username: user, Client: id.Client, Device: id.Device, DeviceID: deviceID,
		Version: id.Version, IP: c.IP, HTTPS: c.HTTPS, Cookie: c.TrustCookie, Direct: true}
	if code = strings.TrimSpace(code); code != "" {
		a.code, a.codeKind = code, kindOf(code)
		if a.codeKind == factor.CodeNone {
			return Release{}, s.denyDirect(ctx, a, res)
		}
	}
	d, err := s.Decide(ctx, a, res)
	if err != nil {
		return Release{}, err
	}
	if d.Outcome != OutcomeRelease {
		if a.code == "" && d.Reason == "second factor needed" {
			return Release{}, ErrCodeRequired
		}
		s.failureLine(c.IP, user, "second_factor", directClient)
		return Release{}, ErrBadCode
	}
	return s.releaseDirect(ctx, a, res, d, remember, c)
}

func (s *Service) denyDirect(ctx context.Context, a *Attempt, res jellyfin.AuthResult) error {
	_, _ = s.deny(ctx, a, res, "unreadable code")
	return ErrBadCode
}

func (s *Service) releaseDirect(ctx context.Context, a *Attempt, res jellyfin.AuthResult, d Decision, remember bool, c Client) (Release, error) {
	_, err := s.opt.Tokens.Record(ctx, res.AccessToken, tokens.Issued{UserID: res.User.ID, UserName: res.User.Name,
		IsAdmin: res.User.Policy.IsAdministrator, DeviceID: a.DeviceID, Client: a.Client, DeviceName: a.Device,
		IP: c.IP.String(), Source: "login-page", Factor: d.Factor})
	if err != nil {
		s.opt.Tokens.Logout(ctx, res.AccessToken)
		return Release{}, fmt.Errorf("recording token: %w", err)
	}
	rel := Release{UserID: res.User.ID, UserName: res.User.Name, AccessToken: res.AccessToken, ServerID: res.ServerID,
		DeviceID: a.DeviceID, Cookies: d.Cookies}
	if s.opt.Succeeded != nil {
		s.opt.Succeeded(c.IP, a.Username)
	}
	if remember && d.Factor != "" && d.Factor != FactorTrustedBrowser {
		if cookie, err := s.trustBrowser(ctx, res.User.ID, a.DeviceID, c); err == nil {
			rel.Cookies = append(rel.Cookies, cookie)
		}
	}
	return rel, nil
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

// Enrolled is the result of an enrollment made from the command line.
type Enrolled struct {
	UserID, UserName string
	URI              string
	RecoveryCodes    []string
}

// EnrollFromCLI enrolls (or re-enrolls) TOTP for a user without a code:
// break glass for an administrator with access to the data directory, and
// scripted setups. The user must be known (signed in through the gateway
// once, or found in Jellyfin by the caller).
func (s *Service) EnrollFromCLI(ctx context.Context, acct store.Account) (Enrolled, error) {
	key, err := totp.Generate(s.tf.Issuer, acct.UserName)
	if err != nil {
		return Enrolled{}, err
	}
	s.touchAccount(ctx, acct.UserID, acct.UserName, acct.IsAdmin)
	codes, err := s.enroll(ctx, acct.UserID, acct.UserName, key.Secret, -1)
	if err != nil {
		return Enrolled{}, err
	}
	s.record(ctx, store.AuditEvent{Kind: "factor.enrolled", UserID: acct.UserID, UserName: acct.UserName,
		Detail: "authenticator enrolled from the command line"})
	return Enrolled{UserID: acct.UserID, UserName: acct.UserName, URI: key.URI, RecoveryCodes: codes}, nil
}

// Reset wipes a user's second factor, trusted browsers and devices (break
// glass), revoking the tokens those browsers and devices hold.
func (s *Service) Reset(ctx context.Context, acct store.Account, by string) error {
	browsers, _ := s.opt.Store.TrustedBrowsers(ctx, acct.UserID)
	devices, _ := s.opt.Store.Devices(ctx, acct.UserID)
	if err := s.opt.Store.ResetUser(ctx, acct.UserID); err != nil {
		return fmt.Errorf("resetting %s: %w", acct.UserName, err)
	}
	s.forgetEnrollment(acct.UserID)
	for _, b := range browsers {
		s.revokeDeviceTokens(ctx, acct.UserID, b.DeviceID, "reset by "+by)
	}
	for _, d := range devices {
		if d.TokenHash != ([32]byte{}) {
			_, _ = s.opt.Tokens.Revoke(ctx, tokens.Hash(d.TokenHash), "reset by "+by)
		}
	}
	s.record(ctx, store.AuditEvent{Kind: "user.reset", UserID: acct.UserID, UserName: acct.UserName,
		Detail: "second factor, trusted browsers and devices wiped by " + by})
	return nil
}

// SetRequirement records an administrator's decision for one user.
func (s *Service) SetRequirement(ctx context.Context, acct store.Account, r store.Requirement, by string) error {
	acct.Requirement, acct.UpdatedAt = r, s.now()
	if acct.FirstSeenAt.IsZero() {
		acct.FirstSeenAt = s.now()
	}
	acct.NameFolded = fold(acct.UserName)
	if err := s.opt.Store.PutAccount(ctx, acct); err != nil {
		return err
	}
	what := map[store.Requirement]string{store.RequireAlways: "required", store.RequireNever: "exempted", store.RequireDefault: "default"}[r]
	s.record(ctx, store.AuditEvent{Kind: "user.requirement", UserID: acct.UserID, UserName: acct.UserName,
		Detail: fmt.Sprintf("second factor %s by %s", what, by)})
	return nil
}

// RecoveryText is the downloadable text of recovery codes.
func (s *Service) RecoveryText(account string, codes []string) string {
	return recovery.Text(s.tf.Issuer, account, codes, s.now())
}
