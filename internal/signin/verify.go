package signin

import (
	"context"
	"errors"
	"net/http"

	"github.com/jellyguard/jellyguard/internal/device"
	"github.com/jellyguard/jellyguard/internal/factor"
	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/store"
)

// Factor names recorded on released tokens (store.Token.Factor).
const (
	FactorTOTP           = "totp"
	FactorRecovery       = "recovery"
	FactorTrustedBrowser = "trusted-browser"
	FactorDevice         = "device"
	FactorQuickConnect   = "quickconnect"
	FactorLAN            = "lan"
	// FactorGrace marks a session released without a factor because the
	// user's enrollment grace period still runs.
	FactorGrace = "grace"
)

// A Verifier is one way, beyond Jellyfin's password, to vouch for a
// sign-in. The flow asks every verifier in the registry; each returns its
// proof, nil when it has nothing to say, or errWrongCode when the user gave
// it something and it was wrong. Passkeys, e-mailed codes, app passwords
// and SSO plug in as further verifiers.
type Verifier interface {
	Verify(ctx context.Context, sub *Subject) (*Proof, error)
}

// errWrongCode: the user gave this verifier a code and it was wrong.
var errWrongCode = errors.New("wrong code")

// errCodeThrottled: the user gave a code, but too many were tried lately,
// so it was not checked. The sign-in is refused as held back, not as a
// wrong code: a right code typed then must not be called wrong.
var errCodeThrottled = errors.New("too many codes tried")

// Subject is a sign-in Jellyfin accepted, as the verifiers see it.
type Subject struct {
	Attempt *Attempt
	User    jellyfin.AuthUser
	// Code is the one-time code given with the sign-in ("" none), and
	// CodeKind its shape.
	Code     string
	CodeKind factor.CodeKind
}

// commitment is what a proof's commit may change when the sign-in is
// released.
type commitment struct {
	ctx     context.Context
	token   string // the session being released
	cookies []*http.Cookie
}

// registry is the verifiers in the order they are asked. Codes come first:
// a wrong code refuses the sign-in whatever else would have vouched.
func (s *Service) registry() []Verifier {
	return []Verifier{
		codeVerifier{s}, lanVerifier{s}, trustedBrowserVerifier{s}, approvedDeviceVerifier{s}, quickConnectVerifier{s},
	}
}

// codeVerifier checks a TOTP or recovery code given with the sign-in.
type codeVerifier struct{ s *Service }

func (v codeVerifier) Verify(ctx context.Context, sub *Subject) (*Proof, error) {
	if sub.Code == "" {
		return nil, nil
	}
	if sub.CodeKind == factor.CodeNone {
		return nil, errWrongCode
	}
	if v.s.throttled(sub.User.ID, sub.Attempt.Client.IP) {
		return nil, errCodeThrottled
	}
	name, ok, err := v.s.checkCode(ctx, sub.User.ID, sub.Code, sub.CodeKind)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errWrongCode
	}
	return &Proof{Factor: name, Kind: ProofFresh, Assurance: store.AssuranceTwoFactor}, nil
}

// lanVerifier vouches for sign-ins from two_factor.lan_bypass: the place,
// not a factor, so the session is recorded as LAN-verified only.
type lanVerifier struct{ s *Service }

func (v lanVerifier) Verify(_ context.Context, sub *Subject) (*Proof, error) {
	if !v.s.onLAN(sub.Attempt.Client.IP) {
		return nil, nil
	}
	return &Proof{Factor: FactorLAN, Kind: ProofPlace, Assurance: store.AssuranceLAN}, nil
}

// trustedBrowserVerifier lets a browser whose trust cookie belongs to this
// user, is bound to its device and whose server-side record is live skip
// the challenge. The cookie rotates on release, so a copied one works at
// most once.
type trustedBrowserVerifier struct{ s *Service }

func (v trustedBrowserVerifier) Verify(ctx context.Context, sub *Subject) (*Proof, error) {
	c := sub.Attempt.Client
	claims, rec, ok := v.s.liveTrustCookie(ctx, c, sub.User.ID)
	if !ok {
		return nil, nil
	}
	if ok, why := device.Check(claims, rec, sub.User.ID, c.DeviceID, v.s.now()); !ok {
		v.s.log.Info("trust cookie not accepted", "user", sub.User.Name, "why", why)
		return nil, nil
	}
	commit := func(cm *commitment) error {
		next := device.NewNonce()
		ok, err := v.s.opt.Store.RotateTrustedBrowser(cm.ctx, rec.ID, rec.Nonce, next, v.s.now())
		if err != nil {
			return err
		}
		if !ok {
			return errReplayed
		}
		claims.Nonce = next
		cm.cookies = append(cm.cookies, device.Cookie(device.Encode(v.s.opt.Keys, claims), claims.Expires, c.HTTPS, v.s.cookiePath()))
		return nil
	}
	return &Proof{Factor: FactorTrustedBrowser, Kind: ProofRemembered, Assurance: store.AssuranceTwoFactor, commit: commit}, nil
}

// errReplayed: a trust cookie was used twice at once; the second use loses.
var errReplayed = errors.New("trust cookie already used")

// liveTrustCookie returns the claims and record of a trust cookie that
// belongs to userID and whose record is neither revoked nor expired.
func (s *Service) liveTrustCookie(ctx context.Context, c Client, userID string) (device.Claims, store.TrustedBrowser, bool) {
	if c.TrustCookie == "" || userID == "" {
		return device.Claims{}, store.TrustedBrowser{}, false
	}
	claims, err := device.Decode(s.opt.Keys, c.TrustCookie, s.now())
	if err != nil || claims.UserID != userID {
		return device.Claims{}, store.TrustedBrowser{}, false
	}
	rec, err := s.opt.Store.TrustedBrowser(ctx, claims.ID)
	if err != nil || rec.UserID != userID || !rec.RevokedAt.IsZero() || !s.now().Before(rec.ExpiresAt) {
		return device.Claims{}, store.TrustedBrowser{}, false
	}
	return claims, rec, true
}

// approvedDeviceVerifier admits a native device the user approved, once,
// from the address prefix it asked from, within the approval window.
type approvedDeviceVerifier struct{ s *Service }

func (v approvedDeviceVerifier) Verify(ctx context.Context, sub *Subject) (*Proof, error) {
	c := sub.Attempt.Client
	devs, err := v.s.opt.Store.Devices(ctx, sub.User.ID)
	if err != nil {
		return nil, err
	}
	for _, d := range devs {
		if !device.Admits(d, sub.User.ID, c.DeviceID, c.App, c.IP, v.s.now()) {
			continue
		}
		commit := func(cm *commitment) error {
			d.State = store.DeviceActive
			if cm.token != "" {
				d.TokenHash = hashToken(cm.token)
			}
			return v.s.opt.Store.PutDevice(cm.ctx, d)
		}
		return &Proof{Factor: FactorDevice, Kind: ProofRemembered, Assurance: store.AssuranceTwoFactor, commit: commit}, nil
	}
	return nil, nil
}

// quickConnectVerifier vouches for a Quick Connect redemption whose code a
// session that passed a factor approved through the gateway: the user's
// own, or an administrator's.
type quickConnectVerifier struct{ s *Service }

func (v quickConnectVerifier) Verify(ctx context.Context, sub *Subject) (*Proof, error) {
	if sub.Attempt.Door != DoorQuickConnect {
		return nil, nil
	}
	by, ok, err := v.s.quickConnectApprover(ctx, sub.Attempt.QCSecret)
	if err != nil {
		return nil, err
	}
	if !ok || !by.Assurance.PassedFactor() || (by.UserID != sub.User.ID && !by.IsAdmin) {
		return nil, nil
	}
	return &Proof{Factor: FactorQuickConnect, Kind: ProofApproval, Assurance: store.AssuranceTwoFactor}, nil
}
