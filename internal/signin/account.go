package signin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jellyguard/jellyguard/internal/audit"
	"github.com/jellyguard/jellyguard/internal/factor/recovery"
	"github.com/jellyguard/jellyguard/internal/factor/totp"
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

type pendingTOTP struct {
	secret  string
	expires time.Time
}

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

// BeginTOTP starts (re-)enrolling an authenticator. Re-enrolling needs a
// current code: tokens leak in stream URLs, so a token alone must never be
// enough to change a factor.
func (s *Service) BeginTOTP(ctx context.Context, c Client, code string) (Enrollment, error) {
	v, err := s.user(c)
	if err != nil {
		return Enrollment{}, err
	}
	if s.isEnrolled(ctx, v.UserID) {
		if _, err := s.verifyCurrentFactor(ctx, v.UserID, code, c.IP); err != nil {
			return Enrollment{}, err
		}
	}
	key, err := totp.Generate(s.tf.Issuer, v.UserName)
	if err != nil {
		return Enrollment{}, err
	}
	qr, err := totp.QRSVG(key.URI)
	if err != nil {
		return Enrollment{}, err
	}
	s.mu.Lock()
	s.pending[v.UserID] = pendingTOTP{secret: key.Secret, expires: s.now().Add(15 * time.Minute)}
	s.mu.Unlock()
	return Enrollment{Secret: key.Secret, URI: key.URI, QRSVG: qr}, nil
}

// ConfirmTOTP finishes an enrollment with its first code and returns the
// new recovery codes, shown once.
func (s *Service) ConfirmTOTP(ctx context.Context, c Client, code string) ([]string, error) {
	v, err := s.user(c)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	p, ok := s.pending[v.UserID]
	s.mu.Unlock()
	if !ok || s.now().After(p.expires) {
		return nil, ErrExpired
	}
	if s.throttled(v.UserID, c.IP) {
		return nil, ErrThrottled
	}
	step, ok := totp.Verify(p.secret, code, s.now())
	if !ok {
		return nil, ErrBadCode
	}
	first := !s.isEnrolled(ctx, v.UserID)
	codes, err := s.enroll(ctx, v.UserID, v.UserName, p.secret, step)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	delete(s.pending, v.UserID)
	s.mu.Unlock()
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
	v, err := s.verifiedUser(ctx, c, code)
	if err != nil {
		return err
	}
	d, err := s.ownDevice(ctx, v.UserID, id)
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

func (s *Service) ownDevice(ctx context.Context, userID, id string) (store.Device, error) {
	d, err := s.opt.Store.Device(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && d.UserID != userID) {
		return store.Device{}, ErrNotFound
	}
	return d, err
}

// RevokeDevice removes a device; a token it received is revoked too. Like
// every change on the Setup page it needs a current factor.
func (s *Service) RevokeDevice(ctx context.Context, c Client, code, id string) error {
	v, err := s.verifiedUser(ctx, c, code)
	if err != nil {
		return err
	}
	d, err := s.ownDevice(ctx, v.UserID, id)
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
