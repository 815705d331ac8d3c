package gateway_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/testutil"
)

// BenchmarkLoginRefusals reports, side by side, the median time of the
// three refusals an attacker could try to tell apart: an unknown user, a
// wrong password, and the right password with a wrong ";code". Their
// answers are identical (TestTwoFactorRefusalsCannotBeToldApart); this
// shows how close their timing is. Run with a fixed count, e.g.
// -benchtime 30x: after ten code attempts a minute per user, wrong codes
// are refused before any check.
func BenchmarkLoginRefusals(b *testing.B) {
	e := testutil.Start(b, testutil.Options{})
	_, auth, _ := enrollAlice(b, e)
	pw := e.Passwords["alice"]
	cases := []struct{ name, user, pw string }{
		{"unknown-user", "mallory", "guess"},
		{"wrong-password", "alice", "guess"},
		{"wrong-code", "alice", pw + ";" + auth.Wrong(b)},
	}
	times := make([][]time.Duration, len(cases))
	for b.Loop() {
		for i, c := range cases {
			start := time.Now()
			a := nativeLogin(b, e, c.user, c.pw, findroid("bench-device", "Pixel"))
			times[i] = append(times[i], time.Since(start))
			if a.status != http.StatusUnauthorized {
				b.Fatalf("%s: status %d", c.name, a.status)
			}
		}
	}
	for i, c := range cases {
		slices.Sort(times[i])
		b.ReportMetric(float64(times[i][len(times[i])/2].Microseconds()), "µs-median-"+c.name)
	}
}
