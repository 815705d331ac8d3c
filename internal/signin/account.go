package signin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"
	"unicode"

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

// Enrollment is a TOTP secret being set up. Issuer is the name the
// authenticator app lists the account under.
type Enrollment struct{ Secret, URI, QRSVG, Issuer string }

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
	issuer := s.issuer(ctx)
	key, err := totp.Generate(issuer, v.UserName)
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
	return Enrollment{Secret: key.Secret, URI: key.URI, QRSVG: qr, Issuer: issuer}, nil
}

// DefaultIssuer is the issuer when two_factor.issuer is empty and Jellyfin
// cannot be asked for its server name.
const DefaultIssuer = "Jellyfin"

const (
	// issuerFresh is how long Jellyfin's server name is used before it is
	// asked again: an admin who renames the server sees the new name in
	// the next enrollment without a restart.
	issuerFresh = 10 * time.Minute
	// issuerRetry is how soon a failed lookup is tried again.
	issuerRetry = time.Minute
	// issuerWait bounds one lookup: an enrollment must not hang on it.
	issuerWait = 3 * time.Second
)

// issuerCache keeps Jellyfin's server name for the issuer.
type issuerCache struct {
	mu      sync.Mutex
	name    string // "" until a lookup succeeded
	checked time.Time
}

// issuer is the name authenticator apps list the account under: the
// configured two_factor.issuer, or else Jellyfin's server name, which is
// what people call their server (its ServerName in /System/Info/Public,
// asked at most every issuerFresh), or else DefaultIssuer when Jellyfin
// cannot be asked. A name that never answered is not cached for long, so
// a Jellyfin that was down at the first enrollment is asked again soon.
func (s *Service) issuer(ctx context.Context) string {
	if s.tf.Issuer != "" {
		return s.tf.Issuer
	}
	c := &s.issuers
	now := s.now()
	c.mu.Lock()
	name, checked := c.name, c.checked
	c.mu.Unlock()
	fresh := issuerRetry
	if name != "" {
		fresh = issuerFresh
	}
	if !checked.IsZero() && now.Sub(checked) < fresh {
		return cmp.Or(name, DefaultIssuer)
	}
	if s.opt.Jellyfin != nil {
		lctx, cancel := context.WithTimeout(ctx, issuerWait)
		info, err := s.opt.Jellyfin.PublicInfo(lctx)
		cancel()
		if err == nil {
			name = issuerName(info.ServerName)
		} else {
			s.log.Warn("asking Jellyfin for its server name failed; the authenticator app lists the account under "+
				cmp.Or(name, DefaultIssuer), "err", err)
		}
	}
	c.mu.Lock()
	c.name, c.checked = name, now
	c.mu.Unlock()
	return cmp.Or(name, DefaultIssuer)
}

// issuerName turns a server name into an issuer: a colon would split the
// otpauth label (and two_factor.issuer refuses one), control characters
// have no place in an app's list, and runs of white space are one space.
func issuerName(serverName string) string {
	clean := strings.Map(func(r rune) rune {
		if r == ':' || unicode.IsControl(r) {
			return ' '
		}
		return r
	}, serverName)
	return strings.Join(strings.Fields(clean), " ")
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
	note := "authenticator re-enrolled"
	if first {
		note = "authenticator enrolled"
	}
	codes, err := s.enroll(ctx, enrollment{userID: v.UserID, userName: v.UserName, secret: string(secretKey),
		usedStep: step, pending: true, event: audit.Event{Kind: audit.FactorEnrolled, UserID: v.UserID,
			UserName: v.UserName, IP: c.IP, Note: note}})
	if err != nil {
		return nil, err
	}
	if first {
		s.noteFirstEnrollment(ctx, v.UserID, v.UserName, c)
	}
	return codes, nil
}

// enrollment is a confirmed TOTP secret to store, with what goes with it.
type enrollment struct {
	userID, userName string
	secret           string
	// usedStep is the time step of the code that confirmed the secret,
	// never to be accepted again; -1 when no code did (the command line).
	usedStep int64
	// pending: the enrollment completes a pending one, deleted with it.
	pending bool
	event   audit.Event
}

// enroll stores a confirmed TOTP secret and fresh recovery codes, and
// returns the codes. The secret is sealed and the codes slowly hashed
// first; then one transaction stores the enrollment, its used step, the
// codes and the audit event (and deletes the pending enrollment), so an
// interruption at any moment leaves either the old factor and codes or
// the new ones, never the new secret beside the old codes.
func (s *Service) enroll(ctx context.Context, e enrollment) ([]string, error) {
	sealed, err := s.opt.Keys.Seal([]byte(e.secret), totpAAD(e.userID))
	if err != nil {
		return nil, fmt.Errorf("sealing TOTP secret: %w", err)
	}
	codes, recs, err := s.newRecoveryCodes(ctx, e.userID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	t := store.TOTP{UserID: e.userID, UserName: e.userName, Sealed: sealed, Confirmed: true, CreatedAt: now, ConfirmedAt: now}
	err = s.commit(ctx, func(w store.Writer) error {
		if err := w.PutTOTP(ctx, t); err != nil {
			return err
		}
		if e.usedStep >= 0 {
			if _, err := w.UseTOTPStep(ctx, e.userID, e.usedStep); err != nil {
				return err
			}
		}
		if err := w.ReplaceRecoveryCodes(ctx, e.userID, recs); err != nil {
			return err
		}
		if e.pending {
			return w.DeletePendingEnrollment(ctx, e.userID)
		}
		return nil
	}, e.event)
	if err != nil {
		return nil, fmt.Errorf("storing the enrollment of %s: %w", e.userName, err)
	}
	s.forgetEnrollment(e.userID)
	return codes, nil
}

// newRecoveryCodes makes a fresh set of recovery codes and their slow
// hashes, before any transaction: hashing takes long, and a transaction
// holds every other writer up.
func (s *Service) newRecoveryCodes(ctx context.Context, userID string) ([]string, []store.RecoveryCode, error) {
	codes, err := recovery.Generate(RecoveryCodeCount)
	if err != nil {
		return nil, nil, err
	}
	recs := make([]store.RecoveryCode, len(codes))
	for i, code := range codes {
		h, err := s.hash.Hash(ctx, userID, code)
		if err != nil {
			return nil, nil, fmt.Errorf("hashing recovery code: %w", err)
		}
		recs[i] = store.RecoveryCode{UserID: userID, Hint: recovery.Hint(code), Hash: h}
	}
	return codes, recs, nil
}

// commit stores a change together with its audit events in one
// transaction (audit.Log.Commit). Without an audit log the change still
// commits whole.
func (s *Service) commit(ctx context.Context, change func(store.Writer) error, events ...audit.Event) error {
	if s.opt.Audit == nil {
		_, err := s.opt.Store.Audited(ctx, nil, nil, change)
		return err
	}
	return s.opt.Audit.Commit(ctx, change, events...)
}

// noteFirstEnrollment logs a user's first factor set up while the account
// is still new to the gateway.
func (s *Service) noteFirstEnrollment(ctx context.Context, userID, userName string, c Client) {
	if n := s.needOf(ctx, userID, false); n.account.FirstSeenAt.Add(s.tf.GracePeriod).After(s.now()) {
		// Notifications come later; the log line and the audit trail
		// tell the user and the admin now.
		s.log.Warn("first second-factor enrollment", "user", userName, "ip", c.IP)
	}
}

// RegenerateRecovery replaces the recovery codes (needs a current code).
// The new codes are hashed first; the codes and the audit event are then
// stored in one transaction.
func (s *Service) RegenerateRecovery(ctx context.Context, c Client, code string) ([]string, error) {
	v, err := s.verifiedUser(ctx, c, code)
	if err != nil {
		return nil, err
	}
	codes, recs, err := s.newRecoveryCodes(ctx, v.UserID)
	if err != nil {
		return nil, err
	}
	err = s.commit(ctx, func(w store.Writer) error { return w.ReplaceRecoveryCodes(ctx, v.UserID, recs) },
		audit.Event{Kind: audit.RecoveryRenewed, UserID: v.UserID, UserName: v.UserName, IP: c.IP})
	if err != nil {
		return nil, fmt.Errorf("storing new recovery codes: %w", err)
	}
	return codes, nil
}

// DisableTOTP removes the user's second factor (needs a current code): the
// authenticator, the recovery codes and the audit event in one
// transaction.
func (s *Service) DisableTOTP(ctx context.Context, c Client, code string) error {
	v, err := s.verifiedUser(ctx, c, code)
	if err != nil {
		return err
	}
	err = s.commit(ctx, func(w store.Writer) error {
		if err := w.DeleteTOTP(ctx, v.UserID); err != nil {
			return err
		}
		return w.ReplaceRecoveryCodes(ctx, v.UserID, nil)
	}, audit.Event{Kind: audit.FactorDisabled, UserID: v.UserID, UserName: v.UserName, IP: c.IP})
	if err != nil {
		return fmt.Errorf("disabling two-step verification: %w", err)
	}
	s.forgetEnrollment(v.UserID)
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
