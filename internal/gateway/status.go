package gateway

import (
	"context"
	"encoding/json"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jellyguard/jellyguard/internal/shield"
	"github.com/jellyguard/jellyguard/internal/shield/geo"
	"github.com/jellyguard/jellyguard/internal/shield/ipset"
)

// StatusKey is the store setting where a running gateway leaves its
// detectors' state for `jellyguard check` and the console.
const StatusKey = "status.gateway"

// Status is what a running gateway reports about itself: every detector
// proves it is alive (a GeoIP database that never matched, a block list
// that is empty or stale, a DNS name that never resolved are shown, not
// silent), and where its traffic seems to come from.
type Status struct {
	At         time.Time            `json:"at"`
	Version    string               `json:"version"`
	Shield     shield.Status        `json:"shield"`
	BlockLists []ipset.SourceStatus `json:"blockLists"`
	GeoIP      *geo.Status          `json:"geoip,omitempty"`
	Names      []shield.NameStatus  `json:"names"`
	Traffic    TrafficStatus        `json:"traffic"`
}

// TrafficStatus samples client addresses: if nearly everything comes from
// one private address, a proxy in front is probably not in trusted_proxies
// and everyone looks local.
type TrafficStatus struct {
	Sampled    int64   `json:"sampled"`
	TopAddr    string  `json:"topAddr"`
	TopShare   float64 `json:"topShare"`
	TopPrivate bool    `json:"topPrivate"`
}

// trafficSampler counts every 32nd request's client address.
type trafficSampler struct {
	n      atomic.Uint64
	mu     sync.Mutex
	counts map[netip.Addr]int64
	total  int64
}

func newTrafficSampler() *trafficSampler { return &trafficSampler{counts: map[netip.Addr]int64{}} }

func (t *trafficSampler) observe(a netip.Addr) {
	if t.n.Add(1)%32 != 0 {
		return
	}
	t.mu.Lock()
	if len(t.counts) < 1024 || t.counts[a] > 0 {
		t.counts[a]++
	}
	t.total++
	t.mu.Unlock()
}

func (t *trafficSampler) status() TrafficStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := TrafficStatus{Sampled: t.total}
	var top netip.Addr
	var most int64
	for a, n := range t.counts {
		if n > most {
			top, most = a, n
		}
	}
	if t.total > 0 && top.IsValid() {
		s.TopAddr, s.TopShare = top.String(), float64(most)/float64(t.total)
		s.TopPrivate = top.IsPrivate() || top.IsLoopback()
	}
	return s
}

// status collects the gateway's state.
func (g *Gateway) status() Status {
	s := Status{At: time.Now().UTC(), Version: Version, Shield: g.gate.Status(),
		Names: g.gate.AllowStatus(), Traffic: g.traffic.status()}
	if g.gate.Blocks != nil {
		s.BlockLists = g.gate.Blocks.Status()
	}
	if g.gate.Geo != nil {
		st := g.gate.Geo.DB.Status()
		s.GeoIP = &st
	}
	return s
}

// reportStatus writes the status to the store every interval until ctx
// ends.
func (g *Gateway) reportStatus(ctx context.Context, every time.Duration) {
	write := func() {
		data, err := json.Marshal(g.status())
		if err == nil {
			err = g.store.PutSetting(context.WithoutCancel(ctx), StatusKey, string(data))
		}
		if err != nil && ctx.Err() == nil {
			g.log.Warn("writing the gateway status failed", "err", err)
		}
	}
	write()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			write()
		}
	}
}
