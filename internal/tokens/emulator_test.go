package tokens_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/jellyfin/fake"
	"github.com/jellyguard/jellyguard/internal/tokens"
)

// TestEmulatorRemoteAccessRefusedToken resolves, through the real client,
// a token of a user without remote access against the emulator: from an
// outside address Jellyfin answers 403 and the token is refused; from the
// LAN it names the owner and the token is adopted.
func TestEmulatorRemoteAccessRefusedToken(t *testing.T) {
	ctx := context.Background()
	jf := fake.New(fake.Options{})
	srv := httptest.NewServer(jf)
	t.Cleanup(srv.Close)
	// The gateway is Jellyfin's known proxy, so Jellyfin judges the client
	// by the X-Forwarded-For the gateway sends.
	jf.UpdateNetwork(func(n *fake.NetworkConfig) { n.KnownProxies = []string{"127.0.0.1"} })
	remy := jf.AddUser("remy", "pw", false)
	key := jf.AddAPIKey("jellyguard")
	base, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	client := jellyfin.NewClient(base, key, nil)
	res, err := client.AuthenticateByName(ctx, "remy", "pw",
		jellyfin.Identity{Client: "Findroid", Device: "Pixel 8", DeviceID: "remy-pixel", Version: "0.15.0"}, "192.168.1.20")
	if err != nil {
		t.Fatal(err)
	}
	if err := jf.UpdatePolicy("remy", func(p *fake.Policy) { p.EnableRemoteAccess = false }); err != nil {
		t.Fatal(err)
	}

	f := newFixture(t)
	tab := f.table(t, func(o *tokens.Options) { o.Resolver, o.OwnKey = client, key })

	v, err := tab.Check(ctx, res.AccessToken, "203.0.113.7", "203.0.113.7")
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != tokens.Forbidden || v.Status.Passes() {
		t.Fatalf("from outside the LAN: %+v (%v); want forbidden", v, v.Status)
	}

	f.clock.Advance(11 * time.Second)
	v, err = tab.Check(ctx, res.AccessToken, "192.168.1.20", "192.168.1.20")
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != tokens.Active || v.UserID != remy.ID || !v.Adopted {
		t.Fatalf("from the LAN: %+v (%v); want remy's token adopted", v, v.Status)
	}
}
