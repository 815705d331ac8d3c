package gateway

import (
	"context"
	"net/netip"
	"time"

	"github.com/jellyguard/jellyguard/internal/shield"
	"github.com/jellyguard/jellyguard/internal/signin"
)

// admission is the gateway's network policy as the sign-in flow asks it:
// the shield, the block lists, the geo policy, and the recent-session
// addresses media gating reads.
type admission struct{ g *Gateway }

var _ signin.Admission = admission{}

func (a admission) Refused(addr netip.Addr) bool { return a.g.addressRefused(addr) }

func (a admission) Allow(ctx context.Context, l shield.Login) error { return a.g.shield.Allow(ctx, l) }

func (a admission) Failed(ctx context.Context, l shield.Login) { a.g.shield.Failed(ctx, l) }

func (a admission) Succeeded(l shield.Login) {
	a.g.shield.Succeeded(l)
	a.g.recent.touch(l.Addr, time.Now())
}

func (a admission) UserAllowed(userID string, admin bool, addr netip.Addr) (bool, string) {
	return a.g.shield.UserAllowed(userID, admin, addr)
}

func (a admission) Travel(ctx context.Context, userID, userName string, addr netip.Addr) bool {
	return a.g.judgeTravel(ctx, userID, userName, addr)
}

func (a admission) RememberPlace(ctx context.Context, userID string, addr netip.Addr) {
	a.g.rememberPlace(ctx, userID, addr)
}
