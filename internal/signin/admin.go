package signin

import (
	"context"
	"fmt"

	"github.com/jellyguard/jellyguard/internal/audit"
	"github.com/jellyguard/jellyguard/internal/factor/recovery"
	"github.com/jellyguard/jellyguard/internal/factor/totp"
	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/tokens"
)

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
	key, err := totp.Generate(s.issuer(ctx), acct.UserName)
	if err != nil {
		return Enrolled{}, err
	}
	s.touchAccount(ctx, acct.UserID, acct.UserName, acct.IsAdmin)
	codes, err := s.enroll(ctx, enrollment{userID: acct.UserID, userName: acct.UserName, secret: key.Secret, usedStep: -1,
		event: audit.Event{Kind: audit.FactorEnrolled, UserID: acct.UserID, UserName: acct.UserName,
			Note: "authenticator enrolled", By: "the command line"}})
	if err != nil {
		return Enrolled{}, err
	}
	return Enrolled{UserID: acct.UserID, UserName: acct.UserName, URI: key.URI, RecoveryCodes: codes}, nil
}

// Reset wipes a user's second factor, trusted browsers and devices (break
// glass), revoking the tokens those browsers and devices hold. The wipe and
// its audit event commit in one transaction; each revocation that follows
// commits on its own, with its own event, so an interruption between them
// leaves the factor wiped (and audited) and some of those tokens active.
func (s *Service) Reset(ctx context.Context, acct store.Account, by string) error {
	browsers, _ := s.opt.Store.TrustedBrowsers(ctx, acct.UserID)
	devices, _ := s.opt.Store.Devices(ctx, acct.UserID)
	err := s.commit(ctx, func(w store.Writer) error { return w.ResetUser(ctx, acct.UserID) },
		audit.Event{Kind: audit.UserReset, UserID: acct.UserID, UserName: acct.UserName,
			Note: "second factor, trusted browsers and devices wiped", By: by})
	if err != nil {
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
	return nil
}

// SetRequirement records an administrator's decision for one user.
func (s *Service) SetRequirement(ctx context.Context, acct store.Account, r store.Requirement, by string) error {
	acct.Requirement, acct.UpdatedAt = r, s.now()
	if acct.FirstSeenAt.IsZero() {
		acct.FirstSeenAt = s.now()
	}
	acct.NameFolded = Fold(acct.UserName)
	if err := s.opt.Store.PutAccount(ctx, acct); err != nil {
		return err
	}
	what := map[store.Requirement]string{store.RequireAlways: "required", store.RequireNever: "exempted", store.RequireDefault: "default"}[r]
	s.record(ctx, audit.Event{Kind: audit.UserRequirement, UserID: acct.UserID, UserName: acct.UserName,
		Note: "second factor " + what, By: by})
	return nil
}

// RecoveryText is the downloadable text of recovery codes.
func (s *Service) RecoveryText(account string, codes []string) string {
	return recovery.Text(s.issuer(context.Background()), account, codes, s.now())
}
