package gateway_test

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/testkit"
	"github.com/jellyguard/jellyguard/internal/testutil"
)

// TestTwoFactorPasswordOnlyFromNewNativeDeviceGetsNoUsableToken: an
// enrolled user's right password from an app that cannot answer a
// challenge fails the way a wrong password fails, the session Jellyfin
// opened for it is logged out, and the device waits for approval.
func TestTwoFactorPasswordOnlyFromNewNativeDeviceGetsNoUsableToken(t *testing.T) {
	e, issued := testutil.StartRecording(t, testutil.Options{})
	setup, _, _ := enrollAlice(t, e)

	phone := findroid("findroid-pixel-8", "Pixel 8")
	a := nativeLogin(t, e, "alice", e.Passwords["alice"], phone)
	mustRefuse(t, "password only", a)
	if a.header.Get("X-Jellyguard-Challenge") != "" || a.header.Get("Set-Cookie") != "" {
		t.Fatalf("a native client got web challenge headers: %v", a.header)
	}

	withheld := issued.Last(t, phone.deviceID)
	mustBeLoggedOut(t, e, withheld, phone.deviceID, 3*time.Second)
	mustFail(t, e, withheld)

	acct := account(t, e, setup)
	found := false
	for _, d := range acct.Devices {
		if d.State == "pending" && d.Client == "Findroid" && d.DeviceName == "Pixel 8" && d.IP == "127.0.0.1" && d.ID != "" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no pending device for the refused app: %+v", acct.Devices)
	}

	var lines []string
	for _, l := range e.Logs.Lines(`msg="sign-in failed"`) {
		if strings.Contains(l, "reason=second_factor") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], `ip=127.0.0.1 user="alice" reason=second_factor status=401 client="Findroid"`) {
		t.Fatalf("failure lines with reason=second_factor: %q", lines)
	}
}

// TestTwoFactorPasswordSemicolonCodeWorksOnce covers "password;code" in an
// app's password field: a TOTP code and a recovery code each work once, a
// replay logs the fresh Jellyfin session out, and a wrong code is refused
// exactly like a wrong password.
func TestTwoFactorPasswordSemicolonCodeWorksOnce(t *testing.T) {
	e, issued := testutil.StartRecording(t, testutil.Options{})
	setup, auth, recovery := enrollAlice(t, e)
	pw := e.Passwords["alice"]

	withCode := pw + ";" + auth.Code(t)
	first := mustSignIn(t, "password;code", nativeLogin(t, e, "alice", withCode, findroid("infuse-1", "iPhone")))
	mustWork(t, e, first)
	mustFactor(t, e, first, "totp")

	replay := findroid("infuse-2", "iPad")
	mustRefuse(t, "the same password;code again", nativeLogin(t, e, "alice", withCode, replay))
	mustBeLoggedOut(t, e, issued.Last(t, replay.deviceID), replay.deviceID, 3*time.Second)
	mustWork(t, e, first) // the refusal logged out only its own session

	withRecovery := pw + ";" + recovery[3]
	byRecovery := mustSignIn(t, "password;recovery code", nativeLogin(t, e, "alice", withRecovery, findroid("infuse-3", "Apple TV")))
	mustWork(t, e, byRecovery)
	mustFactor(t, e, byRecovery, "recovery")
	if left := account(t, e, setup).RecoveryLeft; left != 9 {
		t.Fatalf("%d recovery codes left after using one, want 9", left)
	}
	again := findroid("infuse-4", "Mac")
	mustRefuse(t, "the same recovery code again", nativeLogin(t, e, "alice", withRecovery, again))
	mustBeLoggedOut(t, e, issued.Last(t, again.deviceID), again.deviceID, 3*time.Second)

	wrongCode := nativeLogin(t, e, "alice", pw+";"+auth.Wrong(t), findroid("infuse-5", "iPhone"))
	wrongPassword := nativeLogin(t, e, "alice", "not-"+pw, findroid("infuse-6", "iPhone"))
	mustRefuse(t, "wrong code", wrongCode)
	mustRefuse(t, "wrong password", wrongPassword)
	if !slices.Equal(headerNames(wrongCode.header), headerNames(wrongPassword.header)) {
		t.Fatalf("wrong code headers %v, wrong password headers %v", headerNames(wrongCode.header), headerNames(wrongPassword.header))
	}
	mustBeLoggedOut(t, e, issued.Last(t, "infuse-5"), "infuse-5", 3*time.Second)
}

// TestTwoFactorSemicolonPasswordOfUserWithoutFactorIsUntouched: the gateway
// splits "password;code" only for users with a second factor, so anyone
// else's password may end in ";" and six digits.
func TestTwoFactorSemicolonPasswordOfUserWithoutFactorIsUntouched(t *testing.T) {
	e := testutil.Start(t, testutil.Options{})
	e.Fake.AddUser("carol", "horse;314159", false)
	// Someone else has a second factor, so the split is live.
	enrollAlice(t, e)
	for i, dev := range []string{"carol-phone", "carol-tv"} { // first sight, then a known account
		tok := mustSignIn(t, dev, nativeLogin(t, e, "carol", "horse;314159", findroid(dev, "Phone")))
		mustWork(t, e, tok)
		if st := recorded(t, e, tok); st.UserName != "carol" || st.Factor != "" {
			t.Fatalf("login %d recorded %+v", i, st)
		}
	}
	mustRefuse(t, "the password without its suffix", nativeLogin(t, e, "carol", "horse", findroid("carol-3", "Phone")))
}

// TestTwoFactorRefusalsCannotBeToldApart compares, field by field, the
// answers to an unknown user, a wrong password and a right password with a
// wrong code, and logs their median times.
func TestTwoFactorRefusalsCannotBeToldApart(t *testing.T) {
	e := testutil.Start(t, testutil.Options{})
	_, auth, recovery := enrollAlice(t, e)
	pw := e.Passwords["alice"]
	wrongRecovery := recovery[0][:10] + map[bool]string{true: "Y", false: "Z"}[strings.HasSuffix(recovery[0], "Z")]

	cases := []struct{ name, user, pw string }{
		{"unknown user", "mallory", "guess"},
		{"unknown user with a code", "mallory", "guess;" + auth.Wrong(t)},
		{"wrong password", "alice", "guess"},
		{"wrong password with a code", "alice", "guess;" + auth.Wrong(t)},
		{"right password, wrong code", "alice", pw + ";" + auth.Wrong(t)},
		{"right password, wrong recovery code", "alice", pw + ";" + wrongRecovery},
	}
	var ref answer
	for i, c := range cases {
		a := nativeLogin(t, e, c.user, c.pw, findroid("enum-device", "Pixel"))
		mustRefuse(t, c.name, a)
		if i == 0 {
			ref = a
			continue
		}
		if a.status != ref.status {
			t.Errorf("%s: status %d, %s: %d", c.name, a.status, cases[0].name, ref.status)
		}
		if !bytes.Equal(a.body, ref.body) {
			t.Errorf("%s: body %q, %s: %q", c.name, a.body, cases[0].name, ref.body)
		}
		if got, want := headerNames(a.header), headerNames(ref.header); !slices.Equal(got, want) {
			t.Errorf("%s: headers %v, %s: %v", c.name, got, cases[0].name, want)
		}
		for _, k := range headerNames(ref.header) {
			if !slices.Equal(a.header.Values(k), ref.header.Values(k)) {
				t.Errorf("%s: %s %q, %s: %q", c.name, k, a.header.Values(k), cases[0].name, ref.header.Values(k))
			}
		}
	}

	const tries = 15
	median := func(user, password string) time.Duration {
		d := make([]time.Duration, tries)
		for i := range d {
			start := time.Now()
			a := nativeLogin(t, e, user, password, findroid("timing-device", "Pixel"))
			d[i] = time.Since(start)
			if a.status != http.StatusUnauthorized {
				t.Fatalf("timing %s: status %d", user, a.status)
			}
		}
		slices.Sort(d)
		return d[tries/2]
	}
	t.Logf("median of %d sign-ins: unknown user %s, wrong password %s, right password with a wrong code %s "+
		"(code attempts beyond the per-user limit are refused before any check)",
		tries, median("mallory", "guess"), median("alice", "guess"), median("alice", pw+";"+auth.Wrong(t)))
}

// TestTwoFactorTokensNotReleasedByTheGatewayAreRefusedOnceEnrolled: a
// session opened straight at Jellyfin is adopted while alice has no second
// factor, and refused once she has one.
func TestTwoFactorTokensNotReleasedByTheGatewayAreRefusedOnceEnrolled(t *testing.T) {
	e := testutil.Start(t, testutil.Options{})
	direct := func(deviceID string) string {
		req := e.RawFakeRequest(http.MethodPost, "/Users/AuthenticateByName",
			strings.NewReader(`{"Username":"alice","Pw":"`+e.Passwords["alice"]+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", findroid(deviceID, "Pixel").header(""))
		return decodeToken(t, e.Do(req))
	}
	before := direct("behind-the-back-1")
	mustWork(t, e, before)

	setup, _, _ := enrollAlice(t, e)
	refused := func(tok string) bool { status, _ := e.Get("/Users/Me", tok); return status == http.StatusUnauthorized }
	if !testkit.Eventually(12*time.Second, func() bool { return refused(before) }) {
		t.Fatal("a token opened at Jellyfin before enrollment still works through the gateway after it")
	}
	after := direct("behind-the-back-2")
	if !e.Fake.TokenValid(after) {
		t.Fatal("the emulator did not issue the direct token")
	}
	if !refused(after) {
		t.Fatal("a token opened at Jellyfin after enrollment works through the gateway")
	}
	mustWork(t, e, setup) // released by the gateway: still good
}

// TestTwoFactorLANBypassReleasesPasswordOnlySignIns: an address inside
// two_factor.lan_bypass needs no second factor, and the token says why.
func TestTwoFactorLANBypassReleasesPasswordOnlySignIns(t *testing.T) {
	e := testutil.Start(t, testutil.Options{Configure: func(c *config.Config) {
		c.TwoFactor.LANBypass = []string{"127.0.0.0/8"}
	}})
	enrollAlice(t, e)
	tok := mustSignIn(t, "password only on the LAN", nativeLogin(t, e, "alice", e.Passwords["alice"], findroid("lan-tv", "TV")))
	mustWork(t, e, tok)
	mustFactor(t, e, tok, "lan")
}

// TestTwoFactorRequiredForAllHonoursTheGracePeriod: with require: all, a
// user without a factor signs in during the grace period, and is refused
// without one.
func TestTwoFactorRequiredForAllHonoursTheGracePeriod(t *testing.T) {
	t.Run("inside the grace period", func(t *testing.T) {
		e := testutil.Start(t, testutil.Options{Configure: func(c *config.Config) { c.TwoFactor.Require = "all" }})
		tok := mustSignIn(t, "fresh user", nativeLogin(t, e, "bob", e.Passwords["bob"], findroid("bob-phone", "Phone")))
		mustWork(t, e, tok)
		mustFactor(t, e, tok, "grace") // recorded, so it never counts as a passed factor
	})
	t.Run("no grace period", func(t *testing.T) {
		e, issued := testutil.StartRecording(t, testutil.Options{Configure: func(c *config.Config) {
			c.TwoFactor.Require = "all"
			c.TwoFactor.GracePeriod = 0
		}})
		mustRefuse(t, "fresh user", nativeLogin(t, e, "bob", e.Passwords["bob"], findroid("bob-phone", "Phone")))
		mustBeLoggedOut(t, e, issued.Last(t, "bob-phone"), "bob-phone", 3*time.Second)
	})
}
