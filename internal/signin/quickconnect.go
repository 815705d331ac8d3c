package signin

import (
	"context"
	"time"

	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/tokens"
)

// qcRequest links a Quick Connect secret (what the TV redeems) to its code
// (what a signed-in user authorises), and remembers who authorised it
// through the gateway.
type qcRequest struct {
	code       string
	expires    time.Time
	authorizer tokens.Verdict // zero until authorised through the gateway
	authorized bool
}

// qcLifetime is Jellyfin's: a request lives 10 minutes, and its answer can
// be redeemed for a while after authorisation.
const qcLifetime = 11 * time.Minute

// NoteQuickConnect records a request Jellyfin opened (the answer of
// /QuickConnect/Initiate passed through the gateway).
func (s *Service) NoteQuickConnect(secret, code string) {
	if secret == "" || code == "" {
		return
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, r := range s.qc {
		if now.After(r.expires) {
			delete(s.qc, k)
		}
	}
	if len(s.qc) < 10000 {
		s.qc[secret] = &qcRequest{code: code, expires: now.Add(qcLifetime)}
	}
}

// NoteQuickConnectAuthorized records that code was authorised through the
// gateway by the session v (Jellyfin answered 2xx).
func (s *Service) NoteQuickConnectAuthorized(code string, v tokens.Verdict) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.qc {
		if r.code == code && !r.authorized {
			r.authorized, r.authorizer = true, v
		}
	}
}

// decideQuickConnect releases a Quick Connect session of a user who needs a
// second factor only when the code was authorised through the gateway by a
// verified session of that user or of an administrator.
func (s *Service) decideQuickConnect(ctx context.Context, a *Attempt, res jellyfin.AuthResult) (Decision, error) {
	s.mu.Lock()
	r := s.qc[a.QCSecret]
	s.mu.Unlock()
	if r != nil && r.authorized && r.authorizer.Verified() &&
		(r.authorizer.UserID == res.User.ID || r.authorizer.IsAdmin) {
		return s.bypass(ctx, a, res, FactorQuickConnect, "Quick Connect authorised by "+r.authorizer.UserName)
	}
	return s.deny(ctx, a, res, "Quick Connect not authorised by a verified session")
}
