package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/testutil"
)

func TestBlockListsRefuseListedAddressesBeforeJellyfin(t *testing.T) {
	file := filepath.Join(t.TempDir(), "local.netset")
	if err := os.WriteFile(file, []byte("# local list\n198.51.100.0/24\nnot-an-address\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	feed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("# firehol_level1\n203.0.113.0/25\n2001:db8:bad::/48\n"))
	}))
	defer feed.Close()
	tap := &reachTap{}
	e := testutil.Start(t, testutil.Options{Wrap: tap.wrap, Configure: func(c *config.Config) {
		c.TrustedProxies = []string{"127.0.0.1"}
		c.Shield.Block = []string{"192.0.2.66"}
		c.Shield.BlockLists = []string{"local=" + file, "firehol_level1=" + feed.URL + "/level1.netset"}
		c.Shield.AllowPrivateFeeds = true
		c.Shield.Exempt = []string{"203.0.113.10"}
	}})
	for ip, want := range map[string]int{
		"192.0.2.66": 403, "198.51.100.7": 403, "203.0.113.5": 403, "2001:db8:bad::1": 403,
		"203.0.113.10":  200, // exempt beats a list
		"203.0.113.200": 200, "192.0.2.67": 200,
	} {
		if s, _ := getFrom(t, e, ip, "/System/Info/Public", ""); s != want {
			t.Errorf("%s: %d, want %d", ip, s, want)
		}
		if want == 403 && tap.after(ip, time.Time{}) > 0 {
			t.Errorf("a request of blocked %s reached Jellyfin", ip)
		}
	}
}
