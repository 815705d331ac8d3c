// Package geotest writes small MaxMind-format databases for tests, so no
// test needs a downloaded GeoLite2 file. Reserved ranges (TEST-NET,
// 2001:db8::/32, private networks) may be used.
//
// It is a separate package so that only tests link the database writer.
package geotest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Entry is what a test database says about one network.
type Entry struct {
	CIDR string // e.g. "192.0.2.0/24" or "2001:db8:1::/48"
	// Country is an ISO 3166-1 alpha-2 code; City an English name. Either
	// may be empty.
	Country, City string
	// Lat and Lon are written as the location unless both are 0, which
	// means "no coordinates".
	Lat, Lon float64
	// RadiusKm is the accuracy radius; 0 leaves it out.
	RadiusKm uint16
	// ASN and Org go into the ASN database (WriteASN) only.
	ASN uint32
	Org string
}

// Sample locations on documentation ranges, for tests that need "an address
// in Berlin" and "one in Sydney".
var (
	// Berlin: 192.0.2.0/24 and 2001:db8:49::/48, AS64500.
	Berlin = Entry{CIDR: "192.0.2.0/24", Country: "DE", City: "Berlin",
		Lat: 52.5200, Lon: 13.4050, RadiusKm: 20, ASN: 64500, Org: "Example Berlin Net"}
	BerlinV6 = Entry{CIDR: "2001:db8:49::/48", Country: "DE", City: "Berlin",
		Lat: 52.5200, Lon: 13.4050, RadiusKm: 20, ASN: 64500, Org: "Example Berlin Net"}
	// Potsdam (about 27 km from Berlin): 203.0.113.0/25, AS64501.
	Potsdam = Entry{CIDR: "203.0.113.0/25", Country: "DE", City: "Potsdam",
		Lat: 52.3906, Lon: 13.0645, RadiusKm: 10, ASN: 64501, Org: "Example Potsdam Net"}
	// Sydney: 198.51.100.0/24 and 2001:db8:61::/48, AS64502.
	Sydney = Entry{CIDR: "198.51.100.0/24", Country: "AU", City: "Sydney",
		Lat: -33.8688, Lon: 151.2093, RadiusKm: 20, ASN: 64502, Org: "Example Sydney Net"}
	SydneyV6 = Entry{CIDR: "2001:db8:61::/48", Country: "AU", City: "Sydney",
		Lat: -33.8688, Lon: 151.2093, RadiusKm: 20, ASN: 64502, Org: "Example Sydney Net"}
)

// Sample returns Berlin, BerlinV6, Potsdam, Sydney and SydneyV6.
func Sample() []Entry {
	return []Entry{Berlin, BerlinV6, Potsdam, Sydney, SydneyV6}
}

// Write writes a City-style database ("GeoLite2-City") with entries to path,
// replacing any file there by renaming a complete new one into place.
// The ASN fields of entries are ignored.
func Write(t testing.TB, path string, entries []Entry) {
	t.Helper()
	b, err := CityBytes(entries)
	if err != nil {
		t.Fatalf("geotest: %v", err)
	}
	writeFile(t, path, b)
}

// WriteASN writes an ASN-style database ("GeoLite2-ASN") to path from the
// entries that have an ASN or Org, replacing any file there like Write.
func WriteASN(t testing.TB, path string, entries []Entry) {
	t.Helper()
	b, err := ASNBytes(entries)
	if err != nil {
		t.Fatalf("geotest: %v", err)
	}
	writeFile(t, path, b)
}

// CityBytes returns the database Write writes.
func CityBytes(entries []Entry) ([]byte, error) {
	return build("GeoLite2-City", entries, func(e Entry) mmdbtype.Map {
		m := mmdbtype.Map{}
		if e.Country != "" {
			c := mmdbtype.Map{"iso_code": mmdbtype.String(e.Country)}
			m["country"] = c
			m["registered_country"] = c
		}
		if e.City != "" {
			m["city"] = mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(e.City)}}
		}
		if e.Lat != 0 || e.Lon != 0 || e.RadiusKm != 0 {
			loc := mmdbtype.Map{}
			if e.Lat != 0 || e.Lon != 0 {
				loc["latitude"] = mmdbtype.Float64(e.Lat)
				loc["longitude"] = mmdbtype.Float64(e.Lon)
			}
			if e.RadiusKm != 0 {
				loc["accuracy_radius"] = mmdbtype.Uint16(e.RadiusKm)
			}
			m["location"] = loc
		}
		return m
	})
}

// ASNBytes returns the database WriteASN writes.
func ASNBytes(entries []Entry) ([]byte, error) {
	var withASN []Entry
	for _, e := range entries {
		if e.ASN != 0 || e.Org != "" {
			withASN = append(withASN, e)
		}
	}
	return build("GeoLite2-ASN", withASN, func(e Entry) mmdbtype.Map {
		m := mmdbtype.Map{}
		if e.ASN != 0 {
			m["autonomous_system_number"] = mmdbtype.Uint32(e.ASN)
		}
		if e.Org != "" {
			m["autonomous_system_organization"] = mmdbtype.String(e.Org)
		}
		return m
	})
}

func build(dbType string, entries []Entry, record func(Entry) mmdbtype.Map) ([]byte, error) {
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            dbType,
		Description:             map[string]string{"en": "jellyguard test database"},
		Languages:               []string{"en"},
		IncludeReservedNetworks: true,
		RecordSize:              24,
	})
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		_, network, err := net.ParseCIDR(e.CIDR)
		if err != nil {
			return nil, fmt.Errorf("entry %q: %w", e.CIDR, err)
		}
		if err := tree.Insert(network, record(e)); err != nil {
			return nil, fmt.Errorf("entry %q: %w", e.CIDR, err)
		}
	}
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	f, err := os.CreateTemp(filepath.Dir(path), ".geotest-*")
	if err != nil {
		t.Fatalf("geotest: %v", err)
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		t.Fatalf("geotest: write %s: %v", path, err)
	}
}
