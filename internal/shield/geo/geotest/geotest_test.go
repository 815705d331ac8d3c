package geotest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jellyguard/jellyguard/internal/shield/geo/geotest"
)

func TestBadCIDR(t *testing.T) {
	if _, err := geotest.CityBytes([]geotest.Entry{{CIDR: "192.0.2.300/24"}}); err == nil ||
		!strings.Contains(err.Error(), "192.0.2.300/24") {
		t.Errorf("CityBytes with a bad CIDR: %v", err)
	}
}

func TestWriteLeavesOnlyTheDatabases(t *testing.T) {
	dir := t.TempDir()
	city, asn := filepath.Join(dir, "city.mmdb"), filepath.Join(dir, "asn.mmdb")
	geotest.Write(t, city, geotest.Sample())
	geotest.Write(t, city, geotest.Sample()) // replaces
	geotest.WriteASN(t, asn, geotest.Sample())
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "asn.mmdb,city.mmdb" {
		t.Errorf("directory holds %v", names)
	}
}

func TestASNBytesSkipsEntriesWithoutASN(t *testing.T) {
	only := []geotest.Entry{{CIDR: "192.0.2.0/24", Country: "DE"}}
	empty, err := geotest.ASNBytes(only)
	if err != nil {
		t.Fatal(err)
	}
	full, err := geotest.ASNBytes(geotest.Sample())
	if err != nil {
		t.Fatal(err)
	}
	if len(empty) >= len(full) {
		t.Errorf("ASN database without ASN entries is %d bytes, with them %d", len(empty), len(full))
	}
}
