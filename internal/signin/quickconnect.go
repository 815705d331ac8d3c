package signin

import (
	"time"

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

// quickConnectApprover returns the session that authorised the request
// being redeemed with secret, if one did through the gateway.
func (s *Service) quickConnectApprover(secret string) (tokens.Verdict, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.qc[secret]
	if r == nil || !r.authorized || s.now().After(r.expires) {
		return tokens.Verdict{}, false
	}
	return r.authorizer, true
}
