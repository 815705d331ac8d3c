package signin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/jellyguard/jellyguard/internal/audit"
	"github.com/jellyguard/jellyguard/internal/factor/recovery"
	"github.com/jellyguard/jellyguard/internal/factor/totp"
	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/shield"
	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/tokens"
)

// RecoveryCodeCount is how many recovery codes a user gets.
const RecoveryCodeCount = 10

// Account is what the Setup page shows a user about themself.
type Account struct {
	UserID, UserName string
	Enrolled         bool
	Required         bool
	GraceUntil       time.Time
	RecoveryLeft     int
	TrustedBrowsers  []BrowserInfo
	Devices          []DeviceInfo
}

// BrowserInfo describes a trusted browser.
type BrowserInfo struct {
	ID, UserAgent, IP                string
	CreatedAt, LastUsedAt, ExpiresAt time.Time
	Current                          bool
}

// DeviceInfo describes a native device.
type DeviceInfo struct {
	ID, Client, DeviceName, IP, State string
	CreatedAt                         time.Time
}

// Enrollment is a TOTP secret being set up.
type Enrollment struct{ Secret, URI, QRSVG string }

// Errors of setting up a first authenticator.
var (
	// ErrPasswordRequired: the session did not sign in with the password
	// recently, so the password is needed to set up a first authenticator.
	ErrPasswordRequired = errors.New("enter your password to set up two-step verification")
	// ErrBadPassword: Jellyfin refused the password given for a change.
	ErrBadPassword = errors.New("that password is not right")
)

// pendingLifetime is how long an enrollment waits for its first code.
const pendingLifetime = 15 * time.Minute

// passwordFresh is how long after signing in with the password a session
// may set up a first authenticator without typing the password again.
const passwordFresh = 10 * time.Minute

// user is who the pipeline found the request's session belongs to. Only
// user sessions the token table lets through count: an API key is nobody.
func (s *Service) user(c Client) (tokens.Verdict, error) {
	v := c.Session
	if v.Status != tokens.Active || v.UserID == "" {
		return tokens.Verdict{}, ErrUnauthorized
	}
	return v, nil
}

// Account returns the Setup page's view of the token's user.
func (s *Service) Account(ctx context.Context, c Client) (Account, error) {
	v, err := s.user(c)
	if err != nil {
		return Account{}, err
	}
	s.touchAccount(ctx, v.UserID, v.UserName, v.IsAdmin)
	n := s.needOf(ctx, v.UserID, v.IsAdmin)
	a := Account{UserID: v.UserID, UserName: v.UserName, Enrolled: n.enrolled, Required: n.required}
	if n.required && !n.enrolled {
		a.GraceUntil = n.account.FirstSeenAt.Add(s.tf.GracePeriod)
	}
	codes, _ := s.opt.Store.RecoveryCodes(ctx, v.UserID)
	for _, rc := range codes {
		if rc.UsedAt.IsZero() {
			a.RecoveryLeft++
		}
	}
	a.TrustedBrowsers = s.browsers(ctx, v.UserID, c)
	a.Devices = s.devices(ctx, v.UserID)
	return a, nil
}

func (s *Service) browsers(ctx context.Context, userID string, c Client) []BrowserInfo {
	recs, _ := s.opt.Store.TrustedBrowsers(ctx, userID)
	var out []BrowserInfo
	for _, b := range recs {
		if !b.RevokedAt.IsZero() || !s.now().Before(b.ExpiresAt) {
			continue
		}
		out = append(out, BrowserInfo{ID: b.ID, UserAgent: b.UserAgent, IP: b.IP, CreatedAt: b.CreatedAt,
			LastUsedAt: b.LastUsedAt, ExpiresAt: b.ExpiresAt, Current: c.DeviceID != "" && c.DeviceID == b.DeviceID})
	}
	return out
}

func (s *Service) devices(ctx context.Context, userID string) []DeviceInfo {
	recs, _ := s.opt.Store.Devices(ctx, userID)
	var out []DeviceInfo
	for _, d := range recs {
		if d.State == store.DeviceRevoked || (d.State != store.DeviceActive && !s.now().Before(d.ExpiresAt)) {
			continue
		}
		out = append(out, DeviceInfo{ID: d.ID, Client: d.Client, DeviceName: d.DeviceName, IP: d.IP,
			State: string(d.State), CreatedAt: d.CreatedAt})
	}
	return out
}

// BeginTOTP starts (re-)enrolling an authenticator. Tokens leak in stream
// URLs, so a token alone must never be enough to change a factor:
// re-enrolling needs a current code, and a first enrollment needs a session
// that signed in with the password within passwordFresh or the password
// itself (ErrPasswordRequired when neither is there). Otherwise whoever
// found a token could tie the account to their own authenticator and lock
// its owner out.
func (s *Service) BeginTOTP(ctx context.Context, c Client, code, password string) (Enrollment, error) {
	v, err := s.user(c)
	if err != nil {
		return Enrollment{}, err
	}
	if s.isEnrolled(ctx, v.UserID) {
		if _, err := s.verifyCurrentFactor(ctx, v.UserID, code, c.IP); err != nil {
			return Enrollment{}, err
		}
	} else if err := s.knowsPassword(ctx, v, c, password); err != nil {
		return Enrollment{}, err
	}
	key, err := totp.Generate(s.tf.Issuer, v.UserName)
	if err != nil {
		return Enrollment{}, fmt.Errorf("generating TOTP secret: %w", err)
	}
	qr, err := totp.QRSVG(key.URI)
	if err != nil {
		return Enrollment{}, fmt.Errorf("drawing QR code: %w", err)
	}
	sealed, err := s.opt.Keys.Seal([]byte(key.Secret), pendingAAD(v.UserID))
	if err != nil {
		return Enrollment{}, fmt.Errorf("sealing pending TOTP secret: %w", err)
	}
	p := store.PendingEnrollment{UserID: v.UserID, Sealed: sealed, ExpiresAt: s.now().Add(pendingLifetime)}
	if err := s.opt.Store.PutPendingEnrollment(ctx, p); err != nil {
		return Enrollment{}, fmt.Errorf("storing pending enrollment: %w", err)
	}
	return Enrollment{Secret: key.Secret, URI: key.URI, QRSVG: qr}, nil
}

// pendingAAD binds a sealed pending secret to its user: a row moved to
// another user's enrollment does not open.
func pendingAAD(userID string) []byte { return []byte("pending-totp:" + userID) }

// knowsPassword checks that the holder of session v knows more than the
// token: the session signed in with the password within passwordFresh, or
// password is the user's password now.
func (s *Service) knowsPassword(ctx context.Context, v tokens.Verdict, c Client, password string) error {
	fresh, err := s.signedInRecently(ctx, v)
	if err != nil {
		return err
	}
	if fresh {
		return nil
	}
	if password == "" {
		return ErrPasswordRequired
	}
	return s.checkPassword(ctx, v, c, password)
}

// signedInRecently reports whether session v signed in with the password
// within passwordFresh. It is decided on the token's stored record, which
// every replica shares; a session no password opened (Quick Connect, an
// adopted token) never counts, since a token could have opened it.
func (s *Service) signedInRecently(ctx context.Context, v tokens.Verdict) (bool, error) {
	if v.SignedInAt.IsZero() {
		return false, nil
	}
	st, err := s.opt.Store.Token(ctx, v.Hash)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading the session's record: %w", err)
	}
	switch Door(st.Source) {
	case DoorLogin, DoorLegacy, DoorPage:
	default:
		return false, nil
	}
	at := v.SignedInAt
	if st.CreatedAt.Before(at) {
		at = st.CreatedAt
	}
	return s.now().Before(at.Add(passwordFresh)), nil
}

// checkPassword asks Jellyfin whether password is the session user's, the
// way a sign-in would, and logs the session that sign-in opened out again.
// It is throttled and counted like any sign-in: a stolen token must not
// become a way to guess the password.
func (s *Service) checkPassword(ctx context.Context, v tokens.Verdict, c Client, password string) error {
	if s.opt.Jellyfin == nil {
		return errors.New("checking a password: no Jellyfin client")
	}
	login := shield.Login{Addr: c.IP, User: v.UserName}
	if s.throttled(v.UserID, c.IP) || s.opt.Admission.Allow(ctx, login) != nil {
		return ErrThrottled
	}
	id := s.checkIdentity(ctx, v, c)
	res, err := s.opt.Jellyfin.AuthenticateByName(ctx, v.UserName, password, id, clientAddr(c.IP))
	if res.AccessToken != "" {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		if lerr := s.opt.Jellyfin.Logout(lctx, res.AccessToken); lerr != nil {
			s.log.Warn("logging out the password check's session failed", "user", v.UserName, "err", lerr)
		}
		cancel()
	}
	switch {
	case err == nil && sameUser(res.User.ID, v.UserID):
		s.opt.Admission.Succeeded(login)
		return nil
	case err == nil, errors.Is(err, jellyfin.ErrInvalidToken), errors.Is(err, jellyfin.ErrForbidden):
		// A wrong password, or the name now belongs to someone else.
		reason := RefuseCredentials.Reason()
		s.failureLine(Failure{IP: c.IP, User: v.UserName, Reason: reason, Client: id.Client, Device: id.Device})
		s.record(ctx, audit.Event{Kind: audit.SignInFailure, UserID: v.UserID, UserName: v.UserName, IP: c.IP,
			Client: id.Client, Device: id.Device, Reason: reason, Note: "password check before setting up two-step verification"})
		s.opt.Admission.Failed(ctx, login)
		return ErrBadPassword
	default:
		return fmt.Errorf("checking the password with Jellyfin: %w", err)
	}
}

// checkIdentity is the client the password check signs in as: the
// session's own app and device names, so Jellyfin's activity log reads
// plainly, under a device id of its own. Jellyfin logs out every token of
// the user with the DeviceId it signs in, so reusing the session's would
// end the very session asking.
func (s *Service) checkIdentity(ctx context.Context, v tokens.Verdict, c Client) jellyfin.Identity {
	id := jellyfin.Identity{Client: c.App, Device: c.DeviceName, Version: c.Version}
	if st, err := s.opt.Store.Token(ctx, v.Hash); err == nil {
		id.Client, id.Device = cmp.Or(st.Client, id.Client), cmp.Or(st.DeviceName, id.Device)
	}
	id.Client, id.Device = cmp.Or(id.Client, "jellyguard"), cmp.Or(id.Device, "jellyguard")
	id.Version = cmp.Or(id.Version, jellyfin.Version)
	id.DeviceID = PasswordCheckDevice(v.Hash)
	return id
}

// PasswordCheckDevice is the Jellyfin DeviceId a password check for the
// session with token hash h signs in with: one per session, so checks of
// two sessions of one user never end each other's.
func PasswordCheckDevice(h tokens.Hash) string { return "jellyguard-check-" + h.Short() }

// sameUser reports whether two Jellyfin user ids, in whatever spelling,
// name one user.
func sameUser(a, b string) bool {
	x, okA := jellyfin.ParseID(a)
	y, okB := jellyfin.ParseID(b)
	return okA && okB && x == y
}

// clientAddr is the client's address as Jellyfin should see it, or "".
func clientAddr(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// ConfirmTOTP finishes an enrollment with its first code and returns the
// new recovery codes, shown once. The enrollment may have begun on another
// replica: it is read from the store.
func (s *Service) ConfirmTOTP(ctx context.Context, c Client, code string) ([]string, error) {
	v, err := s.user(c)
	if err != nil {
		return nil, err
	}
	p, err := s.opt.Store.PendingEnrollment(ctx, v.UserID, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrExpired
	}
	if err != nil {
		return nil, fmt.Errorf("reading pending enrollment: %w", err)
	}
	if s.throttled(v.UserID, c.IP) {
		return nil, ErrThrottled
	}
	secretKey, err := s.opt.Keys.Open(p.Sealed, pendingAAD(v.UserID))
	if err != nil {
		return nil, fmt.Errorf("opening pending TOTP secret: %w", err)
	}
	step, ok := totp.Verify(string(secretKey), code, s.now())
	if !ok {
		return nil, ErrBadCode
	}
	first := !s.isEnrolled(ctx, v.UserID)
	codes, err := s.enroll(ctx, v.UserID, v.UserName, string(secretKey), step)
	if err != nil {
		return nil, err
	}
	if err := s.opt.Store.DeletePendingEnrollment(ctx, v.UserID); err != nil {
		// The enrollment is stored; the leftover expires on its own.
		s.log.Warn("deleting a confirmed pending enrollment failed", "user", v.UserName, "err", err)
	}
	s.noteEnrollment(ctx, v.UserID, v.UserName, first, c)
	return codes, nil
}

// enroll stores a confirmed TOTP secret and fresh recovery codes.
func (s *Service) enroll(ctx context.Context, userID, userName, secretKey string, usedStep int64) ([]string, error) {
	sealed, err := s.opt.Keys.Seal([]byte(secretKey), totpAAD(userID))
	if err != nil {
		return nil, fmt.Errorf("sealing TOTP secret: %w", err)
	}
	now := s.now()
	t := store.TOTP{UserID: userID, UserName: userName, Sealed: sealed, Confirmed: true, CreatedAt: now, ConfirmedAt: now}
	if err := s.opt.Store.PutTOTP(ctx, t); err != nil {
		return nil, fmt.Errorf("storing enrollment: %w", err)
	}
	if usedStep >= 0 {
		if _, err := s.opt.Store.UseTOTPStep(ctx, userID, usedStep); err != nil {
			return nil, fmt.Errorf("recording TOTP step: %w", err)
		}
	}
	s.forgetEnrollment(userID)
	return s.newRecoveryCodes(ctx, userID)
}

func (s *Service) newRecoveryCodes(ctx context.Context, userID string) ([]string, error) {
	codes, err := recovery.Generate(RecoveryCodeCount)
	if err != nil {
		return nil, err
	}
	recs := make([]store.RecoveryCode, len(codes))
	for i, code := range codes {
		h, err := s.hash.Hash(ctx, userID, code)
		if err != nil {
			return nil, fmt.Errorf("hashing recovery code: %w", err)
		}
		recs[i] = store.RecoveryCode{UserID: userID, Hint: recovery.Hint(code), Hash: h}
	}
	if err := s.opt.Store.ReplaceRecoveryCodes(ctx, userID, recs); err != nil {
		return nil, fmt.Errorf("storing recovery codes: %w", err)
	}
	return codes, nil
}

func (s *Service) noteEnrollment(ctx context.Context, userID, userName string, first bool, c Client) {
	detail := "authenticator re-enrolled"
	if first {
		detail = "authenticator enrolled"
		if n := s.needOf(ctx, userID, false); n.account.FirstSeenAt.Add(s.tf.GracePeriod).After(s.now()) {
			// Notifications come later; the log line and the audit trail
			// tell the user and the admin now.
			s.log.Warn("first second-factor enrollment", "user", userName, "ip", c.IP)
		}
	}
	s.record(ctx, audit.Event{Kind: audit.FactorEnrolled, UserID: userID, UserName: userName, IP: c.IP, Note: detail})
}

// RegenerateRecovery replaces the recovery codes (needs a current code).
func (s *Service) RegenerateRecovery(ctx context.Context, c Client, code string) ([]string, error) {
	v, err := s.verifiedUser(ctx, c, code)
	if err != nil {
		return nil, err
	}
	codes, err := s.newRecoveryCodes(ctx, v.UserID)
	if err == nil {
		s.record(ctx, audit.Event{Kind: audit.RecoveryRenewed, UserID: v.UserID, UserName: v.UserName, IP: c.IP})
	}
	return codes, err
}

// DisableTOTP removes the user's second factor (needs a current code).
func (s *Service) DisableTOTP(ctx context.Context, c Client, code string) error {
	v, err := s.verifiedUser(ctx, c, code)
	if err != nil {
		return err
	}
	if err := s.opt.Store.DeleteTOTP(ctx, v.UserID); err != nil {
		return err
	}
	if err := s.opt.Store.ReplaceRecoveryCodes(ctx, v.UserID, nil); err != nil {
		return err
	}
	s.forgetEnrollment(v.UserID)
	s.record(ctx, audit.Event{Kind: audit.FactorDisabled, UserID: v.UserID, UserName: v.UserName, IP: c.IP})
	return nil
}

// verifiedUser is user plus a current factor.
func (s *Service) verifiedUser(ctx context.Context, c Client, code string) (tokens.Verdict, error) {
	v, err := s.user(c)
	if err != nil {
		return v, err
	}
	if !s.isEnrolled(ctx, v.UserID) {
		return v, ErrNotFound
	}
	_, err = s.verifyCurrentFactor(ctx, v.UserID, code, c.IP)
	return v, err
}

// ApproveDevice approves a pending device of the user (needs a current
// code): its next sign-in, from the same address prefix within the approval
// window, passes without a code.
func (s *Service) ApproveDevice(ctx context.Context, c Client, code, id string) error {
	v, d, err := s.verifiedDevice(ctx, c, code, id)
	if err != nil {
		return err
	}
	if d.State != store.DevicePending {
		return ErrNotFound
	}
	now := s.now()
	d.State, d.ApprovedAt, d.ExpiresAt = store.DeviceApproved, now, now.Add(s.tf.DeviceApproval)
	if err := s.opt.Store.PutDevice(ctx, d); err != nil {
		return err
	}
	s.record(ctx, audit.Event{Kind: audit.DeviceApproved, UserID: v.UserID, UserName: v.UserName, IP: c.IP,
		Client: d.Client, Device: d.DeviceName})
	return nil
}

// verifiedDevice is verifiedUser plus one of that user's devices.
func (s *Service) verifiedDevice(ctx context.Context, c Client, code, id string) (tokens.Verdict, store.Device, error) {
	v, err := s.verifiedUser(ctx, c, code)
	if err != nil {
		return v, store.Device{}, err
	}
	d, err := s.opt.Store.Device(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && d.UserID != v.UserID) {
		return v, store.Device{}, ErrNotFound
	}
	return v, d, err
}

// RevokeDevice removes a device; a token it received is revoked too. Like
// every change on the Setup page it needs a current factor.
func (s *Service) RevokeDevice(ctx context.Context, c Client, code, id string) error {
	v, d, err := s.verifiedDevice(ctx, c, code, id)
	if err != nil {
		return err
	}
	d.State = store.DeviceRevoked
	if err := s.opt.Store.PutDevice(ctx, d); err != nil {
		return err
	}
	if d.TokenHash != ([32]byte{}) {
		if _, err := s.opt.Tokens.Revoke(ctx, tokens.Hash(d.TokenHash), "device removed by "+v.UserName); err != nil {
			s.log.Warn("revoking a removed device's token failed", "err", err)
		}
	}
	s.record(ctx, audit.Event{Kind: audit.DeviceRevoked, UserID: v.UserID, UserName: v.UserName, IP: c.IP,
		Client: d.Client, Device: d.DeviceName})
	return nil
}

// RevokeBrowser ends a trusted browser and revokes the tokens it holds
// (needs a current factor).
func (s *Service) RevokeBrowser(ctx context.Context, c Client, code, id string) error {
	v, err := s.verifiedUser(ctx, c, code)
	if err != nil {
		return err
	}
	b, err := s.opt.Store.TrustedBrowser(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && b.UserID != v.UserID) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	if err := s.opt.Store.RevokeTrustedBrowser(ctx, id, s.now()); err != nil {
		return err
	}
	s.revokeDeviceTokens(ctx, v.UserID, b.DeviceID, "trusted browser revoked by "+v.UserName)
	s.record(ctx, audit.Event{Kind: audit.BrowserRevoked, UserID: v.UserID, UserName: v.UserName, IP: c.IP,
		Note: truncate(b.UserAgent, 80)})
	return nil
}

// revokeDeviceTokens revokes every active token of a user on one device.
func (s *Service) revokeDeviceTokens(ctx context.Context, userID, deviceID, by string) {
	if deviceID == "" {
		return
	}
	toks, err := s.opt.Store.Tokens(ctx, store.TokenFilter{UserID: userID})
	if err != nil {
		return
	}
	for _, t := range toks {
		if t.DeviceID == deviceID && !t.Revoked() {
			if _, err := s.opt.Tokens.Revoke(ctx, tokens.Hash(t.Hash), by); err != nil {
				s.log.Warn("revoking a token failed", "err", err)
			}
		}
	}
}
