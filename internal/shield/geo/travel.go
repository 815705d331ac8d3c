package geo

import (
	"math"
	"strings"
	"time"
)

// Defaults of the impossible-travel rule.
const (
	// DefaultMaxSpeedKmh is about the cruising speed of an airliner.
	DefaultMaxSpeedKmh = 900
	// DefaultMinRadiusKm is the tolerance assumed around a location whose
	// database gives no accuracy radius (or a smaller one).
	DefaultMinRadiusKm = 50
)

// EarthRadiusKm is the mean Earth radius (IUGG) used by Haversine.
const EarthRadiusKm = 6371.0088

// minElapsed keeps the speed of two sign-ins at the same instant finite.
const minElapsed = time.Second

// Travel is the impossible-travel rule. Two consecutive successful sign-ins
// of one user are impossible when the great-circle distance between them,
// shrunk by both accuracy radii (distance − r1 − r2, at least 0), divided by
// the time between them exceeds MaxSpeedKmh. The zero value uses the
// defaults.
type Travel struct {
	// MaxSpeedKmh is the fastest believable travel; 0 or less means
	// DefaultMaxSpeedKmh.
	MaxSpeedKmh float64
	// MinRadiusKm is the smallest accuracy radius assumed for either
	// location, so an unknown radius (0) counts as MinRadiusKm. 0 means
	// DefaultMinRadiusKm; a negative value means no minimum.
	MinRadiusKm float64
}

// SignIn is one successful sign-in: when, and where the address was.
type SignIn struct {
	At    time.Time
	Place Place
}

// Seen is what is on record for a user before the sign-in being judged: the
// countries (ISO codes) and ASNs they signed in from.
type Seen struct {
	Countries []string
	ASNs      []uint
}

// Verdict is what Judge found.
type Verdict struct {
	// Impossible is set when SpeedKmh exceeds the limit.
	Impossible bool
	// DistanceKm is the great-circle distance between the two locations,
	// EffectiveKm the same shrunk by both accuracy radii (what the speed is
	// computed from). Both are 0 when either location has no coordinates.
	DistanceKm, EffectiveKm float64
	// Hours is the time between the two sign-ins.
	Hours float64
	// SpeedKmh is EffectiveKm / Hours (Hours is taken as at least one second).
	SpeedKmh float64
	// NewCountry and NewASN are set when the user has countries (ASNs) on
	// record and this sign-in comes from one that is not among them. With
	// nothing on record there is nothing to compare with, and the flag stays
	// false: the caller records this sign-in as the first one.
	NewCountry, NewASN bool
}

// Judge compares cur with the user's previous successful sign-in prev (nil
// for the first one) and with what the user signed in from before. Without
// coordinates for both sign-ins no speed is computed and Impossible is
// false.
func (t Travel) Judge(prev *SignIn, seen Seen, cur SignIn) Verdict {
	var v Verdict
	if c := cur.Place.Country; c != "" && len(seen.Countries) > 0 {
		v.NewCountry = true
		for _, s := range seen.Countries {
			if strings.EqualFold(s, c) {
				v.NewCountry = false
				break
			}
		}
	}
	if a := cur.Place.ASN; a != 0 && len(seen.ASNs) > 0 {
		v.NewASN = true
		for _, s := range seen.ASNs {
			if s == a {
				v.NewASN = false
				break
			}
		}
	}
	if prev == nil {
		return v
	}

	elapsed := cur.At.Sub(prev.At)
	if elapsed < 0 {
		elapsed = -elapsed
	}
	v.Hours = elapsed.Hours()
	if !prev.Place.HasCoords || !cur.Place.HasCoords {
		return v
	}

	maxSpeed := t.MaxSpeedKmh
	if maxSpeed <= 0 {
		maxSpeed = DefaultMaxSpeedKmh
	}
	minRadius := t.MinRadiusKm
	switch {
	case minRadius == 0:
		minRadius = DefaultMinRadiusKm
	case minRadius < 0:
		minRadius = 0
	}

	p, c := prev.Place, cur.Place
	v.DistanceKm = Haversine(p.Lat, p.Lon, c.Lat, c.Lon)
	v.EffectiveKm = math.Max(0, v.DistanceKm-math.Max(p.RadiusKm, minRadius)-math.Max(c.RadiusKm, minRadius))
	v.SpeedKmh = v.EffectiveKm / max(elapsed, minElapsed).Hours()
	v.Impossible = v.SpeedKmh > maxSpeed
	return v
}

// Haversine returns the great-circle distance in kilometres between two
// points given in degrees, on a sphere of radius EarthRadiusKm.
func Haversine(lat1, lon1, lat2, lon2 float64) float64 {
	const rad = math.Pi / 180
	phi1, phi2 := lat1*rad, lat2*rad
	dPhi := (lat2 - lat1) * rad
	dLambda := (lon2 - lon1) * rad
	h := math.Sin(dPhi/2)*math.Sin(dPhi/2) + math.Cos(phi1)*math.Cos(phi2)*math.Sin(dLambda/2)*math.Sin(dLambda/2)
	h = math.Min(1, math.Max(0, h)) // rounding can step just outside [0, 1]
	return 2 * EarthRadiusKm * math.Asin(math.Sqrt(h))
}
