package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jellyguard/jellyguard/internal/audit"
	"github.com/jellyguard/jellyguard/internal/shield/geo"
	"github.com/jellyguard/jellyguard/internal/store"
)

// geoPolicy applies the country lists and watches users' sign-in places for
// impossible travel.
type geoPolicy struct {
	db     *geo.DB
	allow  []string
	deny   []string
	travel geo.Travel
	block  bool

	mu    sync.Mutex
	cache map[netip.Prefix]string // country by address key
}

func (g *Gateway) loadGeo(o Options) error {
	s := g.cfg.Shield
	if s.GeoIPCity == "" && s.GeoIPASN == "" {
		return nil
	}
	db, err := geo.Open(s.GeoIPCity, s.GeoIPASN, geo.Options{Logger: o.Logger})
	if err != nil {
		return fmt.Errorf("opening the GeoIP database: %w", err)
	}
	g.geo = &geoPolicy{db: db, allow: s.AllowCountries, deny: s.DenyCountries,
		travel: geo.Travel{MaxSpeedKmh: float64(s.TravelSpeedKmh)}, block: s.TravelAction == "block",
		cache: map[netip.Prefix]string{}}
	return nil
}

// countryRefused reports whether the country lists refuse a. The database
// is asked once per address (IPv6 per /64) and the answer kept.
func (p *geoPolicy) countryRefused(a netip.Addr, key netip.Prefix) bool {
	if p == nil || (len(p.allow) == 0 && len(p.deny) == 0) {
		return false
	}
	p.mu.Lock()
	c, ok := p.cache[key]
	p.mu.Unlock()
	if !ok {
		place, _ := p.db.Lookup(a)
		c = strings.ToUpper(place.Country)
		p.mu.Lock()
		if len(p.cache) > 100000 {
			p.cache = map[netip.Prefix]string{}
		}
		p.cache[key] = c
		p.mu.Unlock()
	}
	if c == "" {
		return false // unknown addresses pass: a database gap is no reason to lock people out
	}
	return slices.Contains(p.deny, c) || (len(p.allow) > 0 && !slices.Contains(p.allow, c))
}

// travelRecord is what the gateway remembers of a user's sign-ins.
type travelRecord struct {
	Last      *geo.SignIn `json:"last,omitempty"`
	Countries []string    `json:"countries,omitempty"`
	ASNs      []uint      `json:"asns,omitempty"`
}

func travelKey(userID string) string { return "travel:" + userID }

// judgeTravel compares a sign-in Jellyfin accepted with the user's last
// one. It audits impossible travel and new countries or networks, and
// reports whether (in block mode) the sign-in must pass a second factor.
func (g *Gateway) judgeTravel(ctx context.Context, userID, userName string, addr netip.Addr) (requireFactor bool) {
	if g.geo == nil {
		return false
	}
	place, ok := g.geo.db.Lookup(addr)
	if !ok {
		return false
	}
	rec := g.travelRecord(ctx, userID)
	cur := geo.SignIn{At: time.Now(), Place: place}
	v := g.geo.travel.Judge(rec.Last, geo.Seen{Countries: rec.Countries, ASNs: rec.ASNs}, cur)
	if v.Impossible {
		g.log.Warn("impossible travel", "user", userName, "ip", addr, "km", int(v.DistanceKm), "hours", v.Hours,
			"kmh", int(v.SpeedKmh), "from", placeName(rec.Last.Place), "to", placeName(place))
		g.record(ctx, audit.Event{Kind: audit.SignInTravel, UserID: userID, UserName: userName, IP: addr,
			Note: fmt.Sprintf("%s → %s: %.0f km in %.1f h (%.0f km/h)", placeName(rec.Last.Place), placeName(place), v.DistanceKm, v.Hours, v.SpeedKmh)})
	}
	if v.NewCountry || v.NewASN {
		g.record(ctx, audit.Event{Kind: audit.SignInNewPlace, UserID: userID, UserName: userName, IP: addr,
			Note: fmt.Sprintf("first sign-in from %s (AS%d %s)", placeName(place), place.ASN, place.Org)})
	}
	return v.Impossible && g.geo.block
}

// rememberPlace stores a released sign-in's place as the user's last.
func (g *Gateway) rememberPlace(ctx context.Context, userID string, addr netip.Addr) {
	if g.geo == nil {
		return
	}
	place, ok := g.geo.db.Lookup(addr)
	if !ok {
		return
	}
	rec := g.travelRecord(ctx, userID)
	rec.Last = &geo.SignIn{At: time.Now(), Place: place}
	if place.Country != "" && !slices.Contains(rec.Countries, place.Country) {
		rec.Countries = append(rec.Countries, place.Country)
	}
	if place.ASN != 0 && !slices.Contains(rec.ASNs, place.ASN) {
		rec.ASNs = append(rec.ASNs, place.ASN)
	}
	data, _ := json.Marshal(rec)
	if err := g.store.PutSetting(ctx, travelKey(userID), string(data)); err != nil {
		g.log.Warn("remembering a sign-in place failed", "err", err)
	}
}

func (g *Gateway) travelRecord(ctx context.Context, userID string) travelRecord {
	var rec travelRecord
	raw, err := g.store.Setting(ctx, travelKey(userID))
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			g.log.Warn("reading a user's sign-in places failed", "err", err)
		}
		return rec
	}
	_ = json.Unmarshal([]byte(raw), &rec)
	return rec
}

func placeName(p geo.Place) string {
	switch {
	case p.City != "" && p.Country != "":
		return p.City + ", " + p.Country
	case p.Country != "":
		return p.Country
	}
	return "an unknown place"
}
