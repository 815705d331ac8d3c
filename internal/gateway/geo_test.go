package gateway_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/shield/geo/geotest"
	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/testutil"
)

const berlinIP, sydneyIP = "192.0.2.10", "198.51.100.10"

func geoEnv(t *testing.T, mod func(*config.Config)) *testutil.Env {
	t.Helper()
	db := filepath.Join(t.TempDir(), "city.mmdb")
	geotest.Write(t, db, geotest.Sample())
	return testutil.Start(t, testutil.Options{Configure: func(c *config.Config) {
		c.TrustedProxies = []string{"127.0.0.1"}
		c.Shield.GeoIPCity = db
		if mod != nil {
			mod(c)
		}
	}})
}

// backdate moves the user's last sign-in half an hour into the past, as if
// the next sign-in came 30 minutes later.
func backdate(t *testing.T, e *testutil.Env, userID string, d time.Duration) {
	t.Helper()
	ctx := context.Background()
	raw, err := e.Store.Setting(ctx, "travel:"+userID)
	if err != nil {
		t.Fatalf("no sign-in place remembered: %v", err)
	}
	var rec map[string]json.RawMessage
	_ = json.Unmarshal([]byte(raw), &rec)
	var last struct {
		At    time.Time       `json:"At"`
		Place json.RawMessage `json:"Place"`
	}
	_ = json.Unmarshal(rec["last"], &last)
	last.At = last.At.Add(-d)
	rec["last"], _ = json.Marshal(last)
	data, _ := json.Marshal(rec)
	if err := e.Store.PutSetting(ctx, "travel:"+userID, string(data)); err != nil {
		t.Fatal(err)
	}
}

func TestImpossibleTravelRaisesAnAlert(t *testing.T) {
	e := geoEnv(t, nil)
	alice, _ := e.Fake.User("alice")
	if s := loginFrom(t, e, berlinIP, "alice", e.Passwords["alice"], "alice-laptop"); s != 200 {
		t.Fatalf("Berlin: %d", s)
	}
	backdate(t, e, alice.ID, 30*time.Minute)
	if s := loginFrom(t, e, sydneyIP, "alice", e.Passwords["alice"], "alice-laptop"); s != 200 {
		t.Fatalf("Sydney in alert mode: %d", s)
	}
	evs, _ := e.Store.Audit(context.Background(), store.AuditQuery{})
	if !hasKind(evs, "signin.impossible_travel") || !hasKind(evs, "signin.new_place") {
		t.Fatal("no impossible-travel or new-place audit event")
	}
	// Half an hour from Berlin to Potsdam is possible: no new alert.
	before := countKind(evs, "signin.impossible_travel")
	backdate(t, e, alice.ID, 30*time.Hour)
	_ = loginFrom(t, e, berlinIP, "alice", e.Passwords["alice"], "alice-laptop")
	evs, _ = e.Store.Audit(context.Background(), store.AuditQuery{})
	if countKind(evs, "signin.impossible_travel") != before {
		t.Fatal("a possible journey raised the alert")
	}
}

func countKind(evs []store.AuditEvent, kind store.AuditKind) int {
	n := 0
	for _, ev := range evs {
		if ev.Kind == kind {
			n++
		}
	}
	return n
}

func TestImpossibleTravelInBlockModeNeedsASecondFactor(t *testing.T) {
	e := geoEnv(t, func(c *config.Config) {
		c.Shield.TravelAction = "block"
		c.TwoFactor.LANBypass = []string{"198.51.100.0/24"} // would otherwise skip the second factor
	})
	tok := loginVia(t, e, berlinIP, "alice")
	auth, _ := e.EnrollTOTP(tok)
	alice, _ := e.Fake.User("alice")
	if s := loginFrom(t, e, berlinIP, "alice", e.Passwords["alice"]+";"+auth.Code(t), "alice-laptop"); s != 200 {
		t.Fatalf("Berlin with a code: %d", s)
	}
	backdate(t, e, alice.ID, 30*time.Minute)
	if s := loginFrom(t, e, sydneyIP, "alice", e.Passwords["alice"], "alice-laptop"); s != 401 {
		t.Fatalf("Sydney 30 minutes later with only the password (LAN bypass there): %d, want 401", s)
	}
	if s := loginFrom(t, e, sydneyIP, "alice", e.Passwords["alice"]+";"+auth.Code(t), "alice-laptop"); s != 200 {
		t.Fatalf("Sydney with a code: %d", s)
	}
}

func TestCountryListsRefuseBeforeJellyfin(t *testing.T) {
	e := geoEnv(t, func(c *config.Config) { c.Shield.DenyCountries = []string{"AU"} })
	if s, _ := getFrom(t, e, sydneyIP, "/System/Info/Public", ""); s != 403 {
		t.Fatalf("a denied country: %d", s)
	}
	if s, _ := getFrom(t, e, berlinIP, "/System/Info/Public", ""); s != 200 {
		t.Fatalf("an allowed country: %d", s)
	}
	if s, _ := getFrom(t, e, "203.0.113.200", "/System/Info/Public", ""); s != 200 {
		t.Fatalf("an address the database does not know: %d", s)
	}
}
