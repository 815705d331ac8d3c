package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/gateway"
	"github.com/jellyguard/jellyguard/internal/jellyfin/fake"
	"github.com/jellyguard/jellyguard/internal/shield"
	"github.com/jellyguard/jellyguard/internal/shield/geo"
	"github.com/jellyguard/jellyguard/internal/shield/ipset"
)

// writeStatus stores a gateway status in a data directory, as a running
// gateway does every 30 seconds.
func writeStatus(t *testing.T, dir string, st gateway.Status) {
	t.Helper()
	seedAccount(t, dir, "someone", "0000000000000000000000000000000a") // creates the database
	s := openStore(t, dir)
	data, _ := json.Marshal(st)
	if err := s.PutSetting(context.Background(), gateway.StatusKey, string(data)); err != nil {
		t.Fatal(err)
	}
}

func TestCheckReportsDeadDetectors(t *testing.T) {
	url, key := fakeJellyfin(t, fake.Options{}, knownProxies("127.0.0.1"))
	dir := t.TempDir()
	writeStatus(t, dir, gateway.Status{
		At: time.Now(), Version: "test",
		BlockLists: []ipset.SourceStatus{{Name: "firehol_level1", Empty: true}, {Name: "mine", Prefixes: 12, LastLoad: time.Now()}},
		GeoIP:      &geo.Status{Lookups: 500},
		Names:      []shield.NameStatus{{Name: "grandma.dyndns.example", LastError: "no such host"}},
		Traffic:    gateway.TrafficStatus{Sampled: 200, TopAddr: "172.17.0.1", TopShare: 1, TopPrivate: true},
	})
	r := runCLIEnv(t, map[string]string{"JELLYGUARD_API_KEY": key, "JELLYGUARD_SHIELD_GEOIP_CITY": "/nonexistent/but/configured.mmdb"},
		"check", "--data", dir, "--upstream", url)
	for _, want := range []string{
		"✔ the gateway is running", "✘ block list firehol_level1 is empty", "✔ block list mine: 12 prefixes",
		"✘ the GeoIP database never matched in 500 lookups", "✘ host name grandma.dyndns.example never resolved",
		"✘ all traffic seems to come from 172.17.0.1", "add 172.17.0.1 to trusted_proxies",
		"! administrators may sign in from anywhere",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, r.stdout)
		}
	}
	if r.code != exitError {
		t.Fatalf("exit %d, want %d", r.code, exitError)
	}
}

func TestCheckHealthyGatewayAndTrustedProxy(t *testing.T) {
	url, key := fakeJellyfin(t, fake.Options{}, knownProxies("127.0.0.1"))
	dir := t.TempDir()
	writeStatus(t, dir, gateway.Status{At: time.Now(), Version: "test",
		Traffic: gateway.TrafficStatus{Sampled: 200, TopAddr: "172.17.0.1", TopShare: 1, TopPrivate: true}})
	r := runCLIEnv(t, map[string]string{"JELLYGUARD_API_KEY": key, "JELLYGUARD_TRUSTED_PROXIES": "172.17.0.1",
		"JELLYGUARD_SHIELD_ADMIN_NETWORKS": "192.168.1.0/24"}, "check", "--data", dir, "--upstream", url)
	if r.code != exitOK || strings.Contains(r.stdout, "✘") {
		t.Fatalf("exit %d:\n%s", r.code, r.stdout)
	}
	// An old report says the gateway may not run.
	writeStatus(t, dir, gateway.Status{At: time.Now().Add(-time.Hour), Version: "test"})
	r = runCLIEnv(t, map[string]string{"JELLYGUARD_API_KEY": key}, "check", "--data", dir, "--upstream", url)
	if !strings.Contains(r.stdout, "is it running?") {
		t.Fatalf("stale status:\n%s", r.stdout)
	}
}
