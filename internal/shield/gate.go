package shield

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/outbound"
	"github.com/jellyguard/jellyguard/internal/shield/geo"
	"github.com/jellyguard/jellyguard/internal/shield/ipset"
)

// Gate is the whole network policy, as every door and the request pipeline
// ask it: the shield's throttles, bans and allow lists, the block lists,
// and the geo policy. Blocks and Geo may be nil (nothing configured, or an
// admin command that serves nobody).
type Gate struct {
	*Shield
	Blocks *ipset.Manager
	Geo    *geo.Policy
	// LAN is shield.lan: a refused country never refuses it.
	LAN config.Networks
}

// Refused reports whether a may not reach Jellyfin at all: banned,
// block-listed, outside allow_only, or in a refused country. Exempt
// networks never are.
func (g *Gate) Refused(a netip.Addr) bool {
	if g.Exempt(a) {
		return false
	}
	return g.BannedOrListed(a) || !g.Reachable(a) || (g.Geo.CountryRefused(a, Key(a)) && !g.OnLAN(a))
}

// BannedOrListed reports whether a is banned or on a block list (exempt
// networks never are): what the listener drops before reading a request.
func (g *Gate) BannedOrListed(a netip.Addr) bool {
	if g.Exempt(a) {
		return false
	}
	if _, banned := g.Banned(a); banned {
		return true
	}
	if g.Blocks == nil {
		return false
	}
	_, listed := g.Blocks.Lookup(a)
	return listed
}

// OnLAN reports whether a is in shield.lan.
func (g *Gate) OnLAN(a netip.Addr) bool { return g.LAN.Contains(a) }

// Travel judges a sign-in Jellyfin accepted against the user's last place;
// true means only a fresh factor may vouch for it (travel_action: block).
func (g *Gate) Travel(ctx context.Context, userID, userName string, a netip.Addr) bool {
	return g.Geo.Judge(ctx, userID, userName, a)
}

// RememberPlace stores a released sign-in's place as the user's last.
func (g *Gate) RememberPlace(ctx context.Context, userID string, a netip.Addr) {
	g.Geo.Remember(ctx, userID, a)
}

// LoadBlockLists builds the block-list manager from shield.block and
// shield.block_lists and loads it: a list that cannot be loaded at all (and
// has no cached copy) stops the start, as a wrong path should; later
// refreshes that fail keep the last good copy.
func LoadBlockLists(ctx context.Context, cfg *config.Config, log *slog.Logger) (*ipset.Manager, error) {
	s := cfg.Shield
	var sources []ipset.Source
	if len(s.Block) > 0 {
		sources = append(sources, ipset.Source{Name: "shield.block", Static: s.Block})
	}
	for _, entry := range s.BlockLists {
		b, err := config.ParseBlockList(entry)
		if err != nil {
			return nil, fmt.Errorf("shield.block_lists: %w", err)
		}
		sources = append(sources, ipset.Source{Name: b.Name, URL: b.URL, Path: b.Path, Refresh: s.BlockRefresh})
	}
	m := ipset.NewManager(sources, ipset.Options{
		CacheDir: filepath.Join(cfg.Data, "blocklists"), Client: outbound.Client(5*time.Minute, s.AllowPrivateFeeds),
		Logger: log, Guard: outbound.CheckURL,
	})
	if err := m.Start(ctx); err != nil {
		return nil, fmt.Errorf("loading block lists: %w", err)
	}
	return m, nil
}
