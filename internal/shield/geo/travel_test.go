package geo_test

import (
	"math"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/shield/geo"
)

var (
	berlin  = geo.Place{Country: "DE", City: "Berlin", Lat: 52.5200, Lon: 13.4050, RadiusKm: 20, HasCoords: true, ASN: 64500}
	potsdam = geo.Place{Country: "DE", City: "Potsdam", Lat: 52.3906, Lon: 13.0645, RadiusKm: 10, HasCoords: true, ASN: 64501}
	sydney  = geo.Place{Country: "AU", City: "Sydney", Lat: -33.8688, Lon: 151.2093, RadiusKm: 20, HasCoords: true, ASN: 64502}
	munich  = geo.Place{Country: "DE", City: "Munich", Lat: 48.1351, Lon: 11.5820, HasCoords: true}
	t0      = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
)

func within(got, want, frac float64) bool { return math.Abs(got-want) <= want*frac }

func TestHaversine(t *testing.T) {
	cases := []struct {
		name                   string
		lat1, lon1, lat2, lon2 float64
		want, tol              float64
	}{
		{"Berlin–Sydney", 52.5200, 13.4050, -33.8688, 151.2093, 16090, 0.01},
		{"Paris–London", 48.8566, 2.3522, 51.5074, -0.1278, 343.5, 0.01},
		{"pole to pole", 90, 0, -90, 0, math.Pi * geo.EarthRadiusKm, 1e-9},
		{"quarter meridian", 0, 0, 90, 0, math.Pi / 2 * geo.EarthRadiusKm, 1e-9},
		{"across the antimeridian", 0, 179.5, 0, -179.5, math.Pi / 180 * geo.EarthRadiusKm, 1e-9},
		{"antipodes on the equator", 0, 0, 0, 180, math.Pi * geo.EarthRadiusKm, 1e-9},
	}
	for _, c := range cases {
		got := geo.Haversine(c.lat1, c.lon1, c.lat2, c.lon2)
		if !within(got, c.want, c.tol) {
			t.Errorf("%s: Haversine = %.3f km, want %.3f ±%g%%", c.name, got, c.want, c.tol*100)
		}
		if back := geo.Haversine(c.lat2, c.lon2, c.lat1, c.lon1); math.Abs(back-got) > 1e-6 {
			t.Errorf("%s: not symmetric: %.6f vs %.6f", c.name, got, back)
		}
	}
	for _, p := range [][2]float64{{52.52, 13.405}, {90, 0}, {-33.8688, 151.2093}, {0, 180}} {
		if d := geo.Haversine(p[0], p[1], p[0], p[1]); d != 0 {
			t.Errorf("distance from (%v, %v) to itself = %v, want 0", p[0], p[1], d)
		}
	}
}

func TestJudgeBerlinToSydneyIsImpossible(t *testing.T) {
	prev := geo.SignIn{At: t0, Place: berlin}
	v := geo.Travel{}.Judge(&prev, geo.Seen{}, geo.SignIn{At: t0.Add(30 * time.Minute), Place: sydney})
	if !v.Impossible {
		t.Fatalf("Berlin → Sydney in 30 min judged possible: %+v", v)
	}
	if !within(v.DistanceKm, 16090, 0.01) || v.Hours != 0.5 {
		t.Errorf("DistanceKm, Hours = %.1f, %v; want ≈16090, 0.5", v.DistanceKm, v.Hours)
	}
	// Both radii are 20 km, below the 50 km minimum: 100 km of slack.
	if math.Abs(v.EffectiveKm-(v.DistanceKm-100)) > 1e-9 || math.Abs(v.SpeedKmh-v.EffectiveKm/0.5) > 1e-9 {
		t.Errorf("EffectiveKm, SpeedKmh = %.1f, %.1f; want distance − 100, twice that", v.EffectiveKm, v.SpeedKmh)
	}
}

func TestJudgePossibleTrips(t *testing.T) {
	cases := []struct {
		name       string
		travel     geo.Travel
		from, to   geo.Place
		after      time.Duration
		impossible bool
	}{
		{"Berlin → Potsdam in 30 min", geo.Travel{}, berlin, potsdam, 30 * time.Minute, false},
		{"Berlin → Potsdam in 1 min, default tolerance", geo.Travel{}, berlin, potsdam, time.Minute, false},
		{"Berlin → Potsdam in 1 min, no tolerance", geo.Travel{MinRadiusKm: -1},
			withRadius(berlin, 0), withRadius(potsdam, 0), time.Minute, true},
		{"Berlin → Sydney in 24 h", geo.Travel{}, berlin, sydney, 24 * time.Hour, false},
		{"Berlin → Sydney in 24 h, limit 500 km/h", geo.Travel{MaxSpeedKmh: 500}, berlin, sydney, 24 * time.Hour, true},
		{"same city, two database points, large radii, 1 min",
			geo.Travel{}, withRadius(berlin, 200), geo.Place{Country: "DE", Lat: 52.45, Lon: 13.20, RadiusKm: 200, HasCoords: true},
			time.Minute, false},
		{"Berlin → Munich in 10 min, 500 km radii", geo.Travel{},
			withRadius(berlin, 500), withRadius(munich, 500), 10 * time.Minute, false},
		{"Berlin → Munich in 10 min, unknown radii", geo.Travel{}, withRadius(berlin, 0), munich, 10 * time.Minute, true},
		{"same place at the same instant", geo.Travel{}, berlin, berlin, 0, false},
		{"Berlin → Sydney at the same instant", geo.Travel{}, berlin, sydney, 0, true},
		{"clock order reversed", geo.Travel{}, berlin, sydney, -30 * time.Minute, true},
	}
	for _, c := range cases {
		prev := geo.SignIn{At: t0, Place: c.from}
		v := c.travel.Judge(&prev, geo.Seen{}, geo.SignIn{At: t0.Add(c.after), Place: c.to})
		if v.Impossible != c.impossible {
			t.Errorf("%s: Impossible = %v, want %v (%+v)", c.name, v.Impossible, c.impossible, v)
		}
		if math.IsInf(v.SpeedKmh, 0) || math.IsNaN(v.SpeedKmh) || v.Hours < 0 {
			t.Errorf("%s: SpeedKmh = %v, Hours = %v; want finite, non-negative", c.name, v.SpeedKmh, v.Hours)
		}
	}
}

func withRadius(p geo.Place, r float64) geo.Place {
	p.RadiusKm = r
	return p
}

func TestJudgeWithoutCoordinates(t *testing.T) {
	countryOnly := geo.Place{Country: "AU"}
	prev := geo.SignIn{At: t0, Place: berlin}
	v := geo.Travel{}.Judge(&prev, geo.Seen{}, geo.SignIn{At: t0.Add(time.Minute), Place: countryOnly})
	if v.Impossible || v.DistanceKm != 0 || v.SpeedKmh != 0 {
		t.Errorf("without coordinates: %+v; want no speed judged", v)
	}
	if math.Abs(v.Hours-1.0/60) > 1e-12 {
		t.Errorf("Hours = %v, want 1/60", v.Hours)
	}
}

func TestJudgeNewCountryAndASN(t *testing.T) {
	cases := []struct {
		name               string
		prev               *geo.SignIn
		seen               geo.Seen
		cur                geo.Place
		newCountry, newASN bool
	}{
		{"first sign-in ever: nothing to compare with", nil, geo.Seen{}, sydney, false, false},
		{"known country and ASN", nil, geo.Seen{Countries: []string{"DE"}, ASNs: []uint{64500}}, berlin, false, false},
		{"known country in lower case", nil, geo.Seen{Countries: []string{"de"}}, berlin, false, false},
		{"new country, new ASN", nil, geo.Seen{Countries: []string{"DE", "FR"}, ASNs: []uint{64500, 64501}}, sydney, true, true},
		{"same country, new ASN", nil, geo.Seen{Countries: []string{"DE"}, ASNs: []uint{64500}}, potsdam, false, true},
		{"unknown country and ASN are not new", nil, geo.Seen{Countries: []string{"DE"}, ASNs: []uint{64500}}, geo.Place{}, false, false},
		{"with a previous sign-in", &geo.SignIn{At: t0.Add(-48 * time.Hour), Place: berlin},
			geo.Seen{Countries: []string{"DE"}, ASNs: []uint{64500}}, sydney, true, true},
	}
	for _, c := range cases {
		v := geo.Travel{}.Judge(c.prev, c.seen, geo.SignIn{At: t0, Place: c.cur})
		if v.NewCountry != c.newCountry || v.NewASN != c.newASN {
			t.Errorf("%s: NewCountry, NewASN = %v, %v; want %v, %v", c.name, v.NewCountry, v.NewASN, c.newCountry, c.newASN)
		}
		if v.Impossible {
			t.Errorf("%s: judged impossible: %+v", c.name, v)
		}
	}
	// A first sign-in has no travel to judge.
	if v := (geo.Travel{}).Judge(nil, geo.Seen{}, geo.SignIn{At: t0, Place: sydney}); v != (geo.Verdict{}) {
		t.Errorf("first sign-in verdict = %+v, want zero", v)
	}
}
