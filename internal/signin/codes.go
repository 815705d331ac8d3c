package signin

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/jellyguard/jellyguard/internal/factor"
	"github.com/jellyguard/jellyguard/internal/factor/recovery"
	"github.com/jellyguard/jellyguard/internal/factor/totp"
	"github.com/jellyguard/jellyguard/internal/shield"
	"github.com/jellyguard/jellyguard/internal/store"
)

// kindOf tells what a typed code is by its shape.
func kindOf(code string) factor.CodeKind {
	if _, c, k := factor.SplitCode(";" + code); k != factor.CodeNone && c == code {
		return k
	}
	return factor.CodeNone
}

// throttled counts a code attempt against the user and the address and
// reports whether either is over its limit.
func (s *Service) throttled(userID string, ip netip.Addr) bool {
	return !s.userLimit.Allow(userID) || !s.ipLimit.Allow(shield.Key(ip).String())
}

// checkCode verifies a TOTP or recovery code of userID. A TOTP step is
// accepted once; a recovery code is marked used the moment it matches,
// whatever happens next. It returns the factor name on success.
func (s *Service) checkCode(ctx context.Context, userID, code string, kind factor.CodeKind) (string, bool, error) {
	switch kind {
	case factor.CodeTOTP:
		ok, err := s.checkTOTP(ctx, userID, code)
		return FactorTOTP, ok, err
	case factor.CodeRecovery:
		ok, err := s.checkRecovery(ctx, userID, code)
		return FactorRecovery, ok, err
	}
	return "", false, nil
}

func (s *Service) checkTOTP(ctx context.Context, userID, code string) (bool, error) {
	t, err := s.opt.Store.TOTP(ctx, userID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !t.Confirmed) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading enrollment: %w", err)
	}
	secretKey, err := s.opt.Keys.Open(t.Sealed, totpAAD(userID))
	if err != nil {
		return false, fmt.Errorf("opening TOTP secret: %w", err)
	}
	step, ok := totp.Verify(string(secretKey), code, s.now())
	if !ok {
		return false, nil
	}
	fresh, err := s.opt.Store.UseTOTPStep(ctx, userID, step)
	if err != nil {
		return false, fmt.Errorf("recording TOTP step: %w", err)
	}
	return fresh, nil
}

func totpAAD(userID string) []byte { return []byte("totp:" + userID) }

// checkRecovery hashes exactly one candidate in the common case (the hint
// narrows ten codes to one), and runs a dummy hash when there is none, so
// the time taken says nothing about what was stored.
func (s *Service) checkRecovery(ctx context.Context, userID, typed string) (bool, error) {
	code, ok := recovery.Normalize(typed)
	if !ok {
		s.hash.Dummy(ctx, userID)
		return false, nil
	}
	codes, err := s.opt.Store.RecoveryCodes(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("reading recovery codes: %w", err)
	}
	hint, tried := recovery.Hint(code), false
	for _, c := range codes {
		if c.Hint != hint || !c.UsedAt.IsZero() {
			continue
		}
		tried = true
		match, err := s.hash.Verify(ctx, userID, code, c.Hash)
		if err != nil {
			return false, fmt.Errorf("checking recovery code: %w", err)
		}
		if match {
			return s.opt.Store.UseRecoveryCode(ctx, c.ID, s.now())
		}
	}
	if !tried {
		s.hash.Dummy(ctx, userID)
	}
	return false, nil
}

// verifyCurrentFactor is the check every factor change needs: a current
// TOTP or recovery code of the user, throttled like any other attempt.
func (s *Service) verifyCurrentFactor(ctx context.Context, userID, code string, ip netip.Addr) (string, error) {
	if code == "" {
		return "", ErrCodeRequired
	}
	if s.throttled(userID, ip) {
		return "", ErrThrottled
	}
	name, ok, err := s.checkCode(ctx, userID, code, kindOf(code))
	if err != nil {
		return "", err
	}
	if !ok {
		return "", ErrBadCode
	}
	return name, nil
}
