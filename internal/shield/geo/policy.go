package geo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jellyguard/jellyguard/internal/audit"
	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/store"
)

// Settings is where the policy keeps each user's sign-in places.
type Settings interface {
	Setting(ctx context.Context, key string) (string, error)
	PutSetting(ctx context.Context, key, value string) error
}

// Policy applies the country lists and watches users' sign-in places for
// impossible travel and first sign-ins from a new country or network.
type Policy struct {
	DB     *DB
	allow  []string
	deny   []string
	travel Travel
	block  bool
	st     Settings
	audit  *audit.Log
	log    *slog.Logger

	mu    sync.Mutex
	cache map[netip.Prefix]string // country by address key
}

// OpenPolicy opens the configured databases; nil (and no error) when
// shield.geoip_city and shield.geoip_asn are both unset.
func OpenPolicy(cfg config.ShieldConfig, st Settings, log *audit.Log, logger *slog.Logger) (*Policy, error) {
	if cfg.GeoIPCity == "" && cfg.GeoIPASN == "" {
		return nil, nil
	}
	db, err := Open(cfg.GeoIPCity, cfg.GeoIPASN, Options{Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("opening the GeoIP database: %w", err)
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Policy{DB: db, allow: cfg.AllowCountries, deny: cfg.DenyCountries,
		travel: Travel{MaxSpeedKmh: float64(cfg.TravelSpeedKmh)}, block: cfg.TravelAction == "block",
		st: st, audit: log, log: logger, cache: map[netip.Prefix]string{}}, nil
}

// CountryRefused reports whether the country lists refuse a. The database
// is asked once per address key (IPv6 per /64) and the answer kept.
func (p *Policy) CountryRefused(a netip.Addr, key netip.Prefix) bool {
	if p == nil || (len(p.allow) == 0 && len(p.deny) == 0) {
		return false
	}
	p.mu.Lock()
	c, ok := p.cache[key]
	p.mu.Unlock()
	if !ok {
		place, _ := p.DB.Lookup(a)
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

// travelRecord is what the policy remembers of a user's sign-ins.
type travelRecord struct {
	Last      *SignIn  `json:"last,omitempty"`
	Countries []string `json:"countries,omitempty"`
	ASNs      []uint   `json:"asns,omitempty"`
}

func travelKey(userID string) string { return "travel:" + userID }

// Judge compares a sign-in Jellyfin accepted with the user's last one. It
// audits impossible travel and new countries or networks, and reports
// whether (in block mode) the sign-in must pass a second factor.
func (p *Policy) Judge(ctx context.Context, userID, userName string, addr netip.Addr) (requireFactor bool) {
	if p == nil {
		return false
	}
	place, ok := p.DB.Lookup(addr)
	if !ok {
		return false
	}
	rec := p.record(ctx, userID)
	v := p.travel.Judge(rec.Last, Seen{Countries: rec.Countries, ASNs: rec.ASNs}, SignIn{At: time.Now(), Place: place})
	if v.Impossible {
		p.log.Warn("impossible travel", "user", userName, "ip", addr, "km", int(v.DistanceKm), "hours", v.Hours,
			"kmh", int(v.SpeedKmh), "from", placeName(rec.Last.Place), "to", placeName(place))
		p.write(ctx, audit.Event{Kind: audit.SignInTravel, UserID: userID, UserName: userName, IP: addr,
			Note: fmt.Sprintf("%s → %s: %.0f km in %.1f h (%.0f km/h)", placeName(rec.Last.Place), placeName(place), v.DistanceKm, v.Hours, v.SpeedKmh)})
	}
	if v.NewCountry || v.NewASN {
		p.write(ctx, audit.Event{Kind: audit.SignInNewPlace, UserID: userID, UserName: userName, IP: addr,
			Note: fmt.Sprintf("first sign-in from %s (AS%d %s)", placeName(place), place.ASN, place.Org)})
	}
	return v.Impossible && p.block
}

// Remember stores a released sign-in's place as the user's last.
func (p *Policy) Remember(ctx context.Context, userID string, addr netip.Addr) {
	if p == nil {
		return
	}
	place, ok := p.DB.Lookup(addr)
	if !ok {
		return
	}
	rec := p.record(ctx, userID)
	rec.Last = &SignIn{At: time.Now(), Place: place}
	if place.Country != "" && !slices.Contains(rec.Countries, place.Country) {
		rec.Countries = append(rec.Countries, place.Country)
	}
	if place.ASN != 0 && !slices.Contains(rec.ASNs, place.ASN) {
		rec.ASNs = append(rec.ASNs, place.ASN)
	}
	data, _ := json.Marshal(rec)
	if err := p.st.PutSetting(ctx, travelKey(userID), string(data)); err != nil {
		p.log.Warn("remembering a sign-in place failed", "err", err)
	}
}

func (p *Policy) record(ctx context.Context, userID string) travelRecord {
	var rec travelRecord
	raw, err := p.st.Setting(ctx, travelKey(userID))
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			p.log.Warn("reading a user's sign-in places failed", "err", err)
		}
		return rec
	}
	_ = json.Unmarshal([]byte(raw), &rec)
	return rec
}

func (p *Policy) write(ctx context.Context, ev audit.Event) {
	if p.audit == nil {
		return
	}
	if _, err := p.audit.Write(context.WithoutCancel(ctx), ev); err != nil {
		p.log.Error("writing audit event failed", "kind", ev.Kind, "err", err)
	}
}

func placeName(p Place) string {
	switch {
	case p.City != "" && p.Country != "":
		return p.City + ", " + p.Country
	case p.Country != "":
		return p.Country
	}
	return "an unknown place"
}
