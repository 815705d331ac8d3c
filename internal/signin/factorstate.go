package signin

import (
	"context"
	"time"

	"github.com/jellyguard/jellyguard/internal/store"
)

// FactorState is where a user stands with the second factor, as an
// administrator's user list shows it. It is read from the same rules a
// sign-in is decided by, so the list never says "exempt" of a user the
// gateway would challenge.
type FactorState struct {
	// Enrolled: a confirmed authenticator or unused recovery codes.
	Enrolled bool
	// Exempt: an administrator exempted the user ("user exempt").
	Exempt bool
	// Required: the user must pass a second factor.
	Required bool
	// Grace: required, not enrolled, and still let in without one.
	Grace bool
	// GraceUntil is when Grace ends; zero while it has not started (the
	// grace period runs from the user's first sign-in through the gateway).
	GraceUntil time.Time
}

// FactorState returns the second-factor standing of a user; isAdmin is
// whether Jellyfin makes them an administrator (two_factor.require:
// admins).
func (s *Service) FactorState(ctx context.Context, userID string, isAdmin bool) FactorState {
	n := s.needOf(ctx, userID, isAdmin)
	st := FactorState{Enrolled: n.enrolled, Exempt: n.account.Requirement == store.RequireNever,
		Required: n.required, Grace: n.grace}
	if n.grace && !n.account.FirstSeenAt.IsZero() {
		st.GraceUntil = n.account.FirstSeenAt.Add(s.tf.GracePeriod)
	}
	return st
}
