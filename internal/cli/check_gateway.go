package cli

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/gateway"
	"github.com/jellyguard/jellyguard/internal/store"
)

// staleStatus is how old a running gateway's status may be before check
// asks whether it runs at all (it reports every 30 s).
const staleStatus = 2 * time.Minute

// checkGateway reads what the running gateway last reported and says, for
// every detector, whether it is alive: a GeoIP database that never matched,
// an empty or stale block list, a host name that never resolved are red.
func (a *app) checkGateway(ctx context.Context, r *report, cfg *config.Config) {
	a.recommend(r, cfg)
	if _, err := os.Stat(filepath.Join(cfg.Data, dbFileName)); err != nil {
		r.warn("the gateway has not run with data directory %s yet: its detectors cannot be checked", cfg.Data)
		return
	}
	e, err := a.openEnv(ctx, cfg, true, false)
	if err != nil {
		r.fail("cannot open the data directory: %v", err)
		return
	}
	defer func() { _ = e.Close() }()
	raw, err := e.store.Setting(ctx, gateway.StatusKey)
	if errors.Is(err, store.ErrNotFound) {
		r.warn("the gateway has not reported its state yet (is it running with this data directory?)")
		return
	}
	var st gateway.Status
	if err != nil || json.Unmarshal([]byte(raw), &st) != nil {
		r.fail("cannot read the gateway's status: %v", err)
		return
	}
	if age := time.Since(st.At).Round(time.Second); age > staleStatus {
		r.warn("the gateway last reported %s ago: is it running? (the state below is from then)", age)
	} else {
		r.ok("the gateway is running (version %s, reported %s ago)", st.Version, age)
	}
	checkShield(r, st)
	checkBlockLists(r, st)
	checkGeoIP(r, cfg, st)
	checkNames(r, st)
	checkTraffic(r, cfg, st)
}

func (a *app) recommend(r *report, cfg *config.Config) {
	if len(cfg.Shield.AdminNetworks) == 0 {
		r.warn("administrators may sign in from anywhere")
		r.detail("Consider shield.admin_networks (your home network, or a dynamic-DNS name): a stolen admin password then works only from there.")
	}
}

func checkShield(r *report, st gateway.Status) {
	s := st.Shield
	r.ok("shield: %d active bans; since start %d requests refused, %d sign-ins held back, %d failures, %d bans",
		s.ActiveBans, s.Refused, s.Throttled, s.Failures, s.Bans)
}

func checkBlockLists(r *report, st gateway.Status) {
	for _, b := range st.BlockLists {
		switch {
		case b.Empty:
			r.fail("block list %s is empty", b.Name)
			r.detail("An empty list protects nothing: check its URL or file.")
		case b.Stale:
			r.warn("block list %s is stale: last loaded %s (%s)", b.Name, b.LastLoad.Format(time.DateTime), b.LastError)
		case b.LastError != "":
			r.warn("block list %s: the last refresh failed (%s); the previous copy (%d prefixes) is in use", b.Name, b.LastError, b.Prefixes)
		default:
			r.ok("block list %s: %d prefixes, loaded %s", b.Name, b.Prefixes, b.LastLoad.Format(time.DateTime))
		}
		if b.BadLines > 0 {
			r.warn("block list %s had %d bad lines (skipped; the log names them)", b.Name, b.BadLines)
		}
	}
}

func checkGeoIP(r *report, cfg *config.Config, st gateway.Status) {
	if cfg.Shield.GeoIPCity == "" && cfg.Shield.GeoIPASN == "" {
		return
	}
	g := st.GeoIP
	switch {
	case g == nil:
		r.fail("the GeoIP database is configured but the gateway did not load it")
	case g.LastError != "":
		r.fail("GeoIP: %s", g.LastError)
	case g.Lookups > 0 && g.Matches == 0:
		r.fail("the GeoIP database never matched in %d lookups: is it the right file (a City or Country database)?", g.Lookups)
	case g.Lookups == 0:
		r.warn("the GeoIP database has not been asked yet")
	default:
		r.ok("GeoIP: %d of %d lookups matched; database built %s", g.Matches, g.Lookups, g.BuildEpoch.Format(time.DateOnly))
	}
}

func checkNames(r *report, st gateway.Status) {
	for _, n := range st.Names {
		switch {
		case !n.Ever:
			r.fail("host name %s never resolved (%s)", n.Name, n.LastError)
			r.detail("Allowlist entries with this name allow nobody until it resolves.")
		case n.LastError != "":
			r.warn("host name %s: the last resolution failed (%s); keeping %v", n.Name, n.LastError, n.Addrs)
		default:
			r.ok("host name %s resolves to %v", n.Name, n.Addrs)
		}
	}
}

// checkTraffic goes red when nearly every request comes from one private
// address that is not a trusted proxy: a reverse proxy in front that is not
// in trusted_proxies makes everyone look local.
func checkTraffic(r *report, cfg *config.Config, st gateway.Status) {
	t := st.Traffic
	if t.Sampled < 20 || t.TopShare < 0.95 || !t.TopPrivate {
		return
	}
	a, err := netip.ParseAddr(t.TopAddr)
	if err != nil {
		return
	}
	for _, p := range cfg.TrustedPrefixes {
		if p.Contains(a) {
			return
		}
	}
	r.fail("all traffic seems to come from %s", t.TopAddr)
	r.detail("A proxy in front of the gateway that is not in trusted_proxies makes every client look like %s: bans, throttles and \"LAN\" rules then see one address. Fix: add %s to trusted_proxies.", t.TopAddr, t.TopAddr)
}
