package signin

import (
	"context"
	"sync"
	"time"

	"github.com/jellyguard/jellyguard/internal/jellyfin"
)

// idNames maps Jellyfin user ids to names for the legacy route, which
// names its user by id: its failures must be charged to the same budget
// as the user's AuthenticateByName failures. Jellyfin's user list is asked
// at most once a minute.
type idNames struct {
	mu      sync.Mutex
	byID    map[string]string
	fetched time.Time
}

// nameOfID returns the user name the shield keeps a budget under for the
// legacy route's {id}, and the id in Jellyfin's form. Every spelling of one
// id ("N", dashed, braced, parenthesised, any case) names one user.
func (s *Service) nameOfID(ctx context.Context, ref string) (name, userID string) {
	id, ok := jellyfin.ParseID(ref)
	if !ok {
		return "id:" + ref, "" // Jellyfin refuses it before any password check
	}
	if acct, err := s.opt.Store.Account(ctx, id); err == nil {
		return acct.UserName, id
	}
	if name := s.jellyfinName(ctx, id); name != "" {
		return name, id
	}
	return "id:" + id, id
}

// jellyfinName looks id up in Jellyfin's user list (with the API key).
func (s *Service) jellyfinName(ctx context.Context, id string) string {
	if s.opt.Jellyfin == nil {
		return ""
	}
	n := &s.names
	n.mu.Lock()
	defer n.mu.Unlock()
	if name, ok := n.byID[id]; ok || s.now().Sub(n.fetched) < time.Minute {
		return name
	}
	n.fetched = s.now()
	users, err := s.opt.Jellyfin.Users(ctx)
	if err != nil {
		s.log.Warn("listing Jellyfin's users failed", "err", err)
		return ""
	}
	n.byID = make(map[string]string, len(users))
	for _, u := range users {
		if uid, ok := jellyfin.ParseID(u.ID); ok {
			n.byID[uid] = u.Name
		}
	}
	return n.byID[id]
}
