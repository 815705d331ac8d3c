package signin

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/tokens"
)

// qcLifetime is Jellyfin's: a request lives 10 minutes, and its answer can
// be redeemed for a while after authorisation.
const qcLifetime = 11 * time.Minute

// NoteQuickConnect records a request Jellyfin opened (the answer of
// /QuickConnect/Initiate passed through the gateway). It is kept in the
// store, by the secret's SHA-256 only, because the TV may redeem the
// secret through another replica than the one that saw it opened. A
// request that cannot be recorded is logged, not refused: without its
// record it simply cannot stand in for a second factor.
func (s *Service) NoteQuickConnect(ctx context.Context, secret, code string) {
	if secret == "" || code == "" {
		return
	}
	now := s.now()
	r := store.QuickConnectRequest{SecretHash: sha256.Sum256([]byte(secret)), Code: code,
		CreatedAt: now, ExpiresAt: now.Add(qcLifetime)}
	if err := s.opt.Store.PutQuickConnect(ctx, r); err != nil {
		s.log.Warn("recording a Quick Connect request failed", "err", err)
	}
}

// NoteQuickConnectAuthorized records that code was authorised through the
// gateway by the session v from ip (Jellyfin answered 2xx). Jellyfin keeps
// one request per code, so the approval goes to the newest open request
// with that code.
func (s *Service) NoteQuickConnectAuthorized(ctx context.Context, code string, v tokens.Verdict, ip netip.Addr) {
	if code == "" || v.UserID == "" {
		return
	}
	now := s.now()
	by := store.QuickConnectApproval{UserID: v.UserID, UserName: v.UserName, IsAdmin: v.IsAdmin,
		Assurance: v.Assurance, At: now}
	if ip.IsValid() {
		by.IP = ip.String()
	}
	ok, err := s.opt.Store.AuthorizeQuickConnect(ctx, code, by, now)
	switch {
	case err != nil:
		s.log.Warn("recording a Quick Connect approval failed", "user", v.UserName, "err", err)
	case !ok:
		// Opened before the gateway saw it, expired, or already approved:
		// the redemption is judged without an approval.
		s.log.Info("Quick Connect approval matched no open request", "user", v.UserName, "ip", ip)
	}
}

// quickConnectApprover returns who authorised the request being redeemed
// with secret, if someone did through the gateway and it has not expired.
func (s *Service) quickConnectApprover(ctx context.Context, secret string) (store.QuickConnectApproval, bool, error) {
	if secret == "" {
		return store.QuickConnectApproval{}, false, nil
	}
	r, err := s.opt.Store.QuickConnect(ctx, sha256.Sum256([]byte(secret)), s.now())
	if errors.Is(err, store.ErrNotFound) {
		return store.QuickConnectApproval{}, false, nil
	}
	if err != nil {
		return store.QuickConnectApproval{}, false, fmt.Errorf("reading the Quick Connect request: %w", err)
	}
	if !r.Authorized() {
		return store.QuickConnectApproval{}, false, nil
	}
	return r.Approval, true, nil
}
