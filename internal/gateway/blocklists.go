package gateway

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/outbound"
	"github.com/jellyguard/jellyguard/internal/shield/ipset"
)

// loadBlockLists builds the block-list manager from shield.block and
// shield.block_lists and loads it: a list that cannot be loaded at all (and
// has no cached copy) stops the start, as a wrong path should; later
// refreshes that fail keep the last good copy.
func (g *Gateway) loadBlockLists(ctx context.Context, o Options) (*ipset.Manager, error) {
	s := g.cfg.Shield
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
		CacheDir: filepath.Join(g.cfg.Data, "blocklists"), Client: outbound.Client(5*time.Minute, s.AllowPrivateFeeds),
		Logger: o.Logger, Guard: outbound.CheckURL,
	})
	if err := m.Start(ctx); err != nil {
		return nil, fmt.Errorf("loading block lists: %w", err)
	}
	return m, nil
}
