package fake

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

// TestAuthenticateByNameOrder_Section3_1 walks the processing order: each
// case fails exactly one step and gets that step's status.
func TestAuthenticateByNameOrder_Section3_1(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddUser("alice", "right", false)
	e.s.AddUser("dora", "right", false)
	_ = e.s.UpdatePolicy("dora", func(p *Policy) { p.IsDisabled = true })
	e.s.AddUser("remy", "right", false)
	_ = e.s.UpdatePolicy("remy", func(p *Policy) { p.EnableRemoteAccess = false })
	e.s.UpdateNetwork(func(n *NetworkConfig) { n.KnownProxies = []string{"127.0.0.1"} })
	remote := "X-Forwarded-For: 203.0.113.7"
	cases := []struct {
		name   string
		header string
		extra  string
		body   string
		want   int
	}{
		{"missing client fields", `MediaBrowser Client="Web", Device="FF", Version="1"`, "", loginJSON("alice", "right"), 400},
		{"missing header entirely", "", "", loginJSON("alice", "right"), 400},
		{"empty username", webHeader, "", loginJSON("", "right"), 400},
		{"whitespace username", webHeader, "", loginJSON("  ", "right"), 400},
		{"no username key", webHeader, "", `{"Pw":"right"}`, 400},
		{"unknown user", webHeader, "", loginJSON("nobody", "x"), 401},
		{"disabled, right password", webHeader, "", loginJSON("dora", "right"), 403},
		{"disabled, wrong password", webHeader, "", loginJSON("dora", "wrong"), 403},
		{"remote without remote access", webHeader, remote, loginJSON("remy", "right"), 403},
		{"remote without remote access, wrong password", webHeader, remote, loginJSON("remy", "wrong"), 403},
		{"lan without remote access", webHeader, "", loginJSON("remy", "right"), 200},
		{"wrong password", webHeader, "", loginJSON("alice", "wrong"), 401},
		{"case-insensitive user name", webHeader, "", loginJSON("ALICE", "right"), 200},
		{"lower-case body keys", webHeader, "", `{"username":"alice","pw":"right"}`, 200},
		{"pretty-printed body", webHeader, "", "{\n  \"Username\" : \"alice\",\n  \"Pw\" : \"right\"\n}", 200},
		{"not json", webHeader, "", "", 415},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.header != "" {
				h.Set("Authorization", tc.header)
			}
			if tc.extra != "" {
				k, v := splitHeaderLine(tc.extra)
				h.Set(k, v)
			}
			r := e.do("POST", "/Users/AuthenticateByName", h, tc.body)
			if r.status != tc.want {
				t.Fatalf("status %d, want %d (body %q)", r.status, tc.want, r.body)
			}
			if tc.want == 401 || tc.want == 403 {
				if string(r.body) != "Error processing request." || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
					t.Fatalf("error body %q type %q", r.body, r.header.Get("Content-Type"))
				}
			}
		})
	}
}

// TestAuthenticationResultShape_Section3_1 checks the 200 body.
func TestAuthenticationResultShape_Section3_1(t *testing.T) {
	e := newEnv(t, Options{})
	alice := e.s.AddUser("alice", "pw", false)
	r := e.do("POST", "/Users/AuthenticateByName", hdr("Authorization: "+webHeader), loginJSON("alice", "pw"))
	var res map[string]any
	r.json(t, &res)
	user := res["User"].(map[string]any)
	si := res["SessionInfo"].(map[string]any)
	checks := map[string]bool{
		"AccessToken is 32 hex":      hex32.MatchString(res["AccessToken"].(string)),
		"ServerId":                   res["ServerId"] == e.s.ServerID(),
		"User.Id":                    user["Id"] == alice.ID,
		"User.Name":                  user["Name"] == "alice",
		"User.HasPassword":           user["HasPassword"] == true,
		"User.Policy.IsHidden":       user["Policy"].(map[string]any)["IsHidden"] == true,
		"User.Policy lockout -1":     user["Policy"].(map[string]any)["LoginAttemptsBeforeLockout"] == float64(-1),
		"User.LastLoginDate":         user["LastLoginDate"] != nil,
		"User.PrimaryImageTag null":  user["PrimaryImageTag"] == nil && !strings.Contains(string(r.body), "PrimaryImageTag"),
		"Session.UserId":             si["UserId"] == alice.ID,
		"Session.Client":             si["Client"] == "Jellyfin Web",
		"Session.DeviceId":           si["DeviceId"] == "dev-1",
		"Session.DeviceName":         si["DeviceName"] == "Firefox",
		"Session.RemoteEndPoint":     si["RemoteEndPoint"] == "127.0.0.1",
		"Session.Id":                 si["Id"] == md5GUID("Jellyfin Webdev-1"),
		"Session.LastPlaybackCheck":  si["LastPlaybackCheckIn"] == "0001-01-01T00:00:00.0000000Z",
		"Session.AdditionalUsers []": len(si["AdditionalUsers"].([]any)) == 0,
		"Session.IsActive":           si["IsActive"] == true,
	}
	for name, ok := range checks {
		if !ok {
			t.Errorf("%s: body %s", name, r.body)
		}
	}
}

// TestLockout_Section3_5: with a limit of 3 the third wrong password
// disables the account (WRN line), and the right password then gets 403;
// posting policy 0 means 3; success resets the counter.
func TestLockout_Section3_5(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddUser("admin", "adminpw", true)
	bob := e.s.AddUser("bob", "right", false)
	admin := e.login("admin", "adminpw", "admin-dev")
	policy := `{"LoginAttemptsBeforeLockout":0,"AuthenticationProviderId":"` + DefaultAuthenticationProviderID +
		`","PasswordResetProviderId":"` + DefaultPasswordResetProviderID + `","EnableRemoteAccess":true,"IsHidden":true}`
	if r := e.do("POST", "/Users/"+bob.ID+"/Policy", tokenHeader(admin), policy); r.status != 204 {
		t.Fatalf("policy: %d %s", r.status, r.body)
	}
	st, _ := e.s.User("bob")
	if st.Policy.LoginAttemptsBeforeLockout == nil || *st.Policy.LoginAttemptsBeforeLockout != 3 {
		t.Fatalf("0 must map to 3, got %v", st.Policy.LoginAttemptsBeforeLockout)
	}
	h := hdr("Authorization: " + webHeader)
	e.do("POST", "/Users/AuthenticateByName", h, loginJSON("bob", "wrong"))
	e.do("POST", "/Users/AuthenticateByName", h, loginJSON("bob", "right"))
	if st, _ := e.s.User("bob"); st.InvalidLoginAttemptCount != 0 {
		t.Fatalf("success must reset the count, got %d", st.InvalidLoginAttemptCount)
	}
	for i := 1; i <= 3; i++ {
		if r := e.do("POST", "/Users/AuthenticateByName", h, loginJSON("bob", "wrong")); r.status != 401 {
			t.Fatalf("attempt %d: %d", i, r.status)
		}
	}
	st, _ = e.s.User("bob")
	if !st.IsDisabled || st.InvalidLoginAttemptCount != 3 {
		t.Fatalf("after lockout: disabled=%v count=%d", st.IsDisabled, st.InvalidLoginAttemptCount)
	}
	if r := e.do("POST", "/Users/AuthenticateByName", h, loginJSON("bob", "right")); r.status != 403 {
		t.Fatalf("locked account with right password: %d, want 403", r.status)
	}
	if st, _ := e.s.User("bob"); st.InvalidLoginAttemptCount != 3 {
		t.Fatalf("a disabled account must not count attempts, got %d", st.InvalidLoginAttemptCount)
	}
	if !strings.Contains(e.log.String(), `[WRN] [`) || !strings.Contains(e.log.String(), `Disabling user "bob" due to 3 unsuccessful login attempts.`) {
		t.Fatalf("missing lockout line:\n%s", e.log.String())
	}
}

// TestMaxActiveSessions_Section3_1: the limit counts live sessions before
// revocation, so even the same device cannot log in again at the limit.
func TestMaxActiveSessions_Section3_1(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddUser("carol", "pw", false)
	_ = e.s.UpdatePolicy("carol", func(p *Policy) { p.MaxActiveSessions = 1 })
	tok := e.login("carol", "pw", "phone")
	for _, dev := range []string{"tablet", "phone"} {
		r := e.do("POST", "/Users/AuthenticateByName", clientHeader(dev, ""), loginJSON("carol", "pw"))
		if r.status != 403 {
			t.Fatalf("second session from %s: %d, want 403", dev, r.status)
		}
	}
	e.do("POST", "/Sessions/Logout", tokenHeader(tok), "")
	e.login("carol", "pw", "tablet")
}

// TestSameDeviceRevocation_Section3_1: a new login logs out every token of
// the same user with the same DeviceId; other devices keep theirs.
func TestSameDeviceRevocation_Section3_1(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddUser("alice", "pw", false)
	first := e.login("alice", "pw", "dev-A")
	other := e.login("alice", "pw", "dev-B")
	second := e.login("alice", "pw", "dev-A")
	if e.s.TokenValid(first) {
		t.Fatal("the earlier token of the same device must be revoked")
	}
	if !e.s.TokenValid(other) || !e.s.TokenValid(second) {
		t.Fatal("other tokens must survive")
	}
	if r := e.do("GET", "/System/Info", tokenHeader(first), ""); r.status != 401 {
		t.Fatalf("revoked token: %d", r.status)
	}
}

// TestDeviceAccessRule_Section3_1: without EnableAllDevices the device
// must be listed, unless it reported no persistent identifier.
func TestDeviceAccessRule_Section3_1(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddUser("alice", "pw", false)
	_ = e.s.UpdatePolicy("alice", func(p *Policy) {
		p.EnableAllDevices = false
		p.EnabledDevices = []string{"Allowed-Dev"}
	})
	if r := e.do("POST", "/Users/AuthenticateByName", clientHeader("other", ""), loginJSON("alice", "pw")); r.status != 403 {
		t.Fatalf("unlisted device: %d", r.status)
	}
	e.login("alice", "pw", "allowed-dev")
}

// TestLegacyAuthenticate_Section3_3 covers POST /Users/{id}/Authenticate.
func TestLegacyAuthenticate_Section3_3(t *testing.T) {
	e := newEnv(t, Options{})
	alice := e.s.AddUser("alice", "pw", false)
	h := hdr("Authorization: " + webHeader)
	if r := e.do("POST", "/Users/"+alice.ID+"/Authenticate?pw=pw", h, ""); r.status != 200 {
		t.Fatalf("legacy login: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/Users/"+alice.ID+"/Authenticate?pw=bad", h, ""); r.status != 401 {
		t.Fatalf("legacy wrong password: %d", r.status)
	}
	if r := e.do("POST", "/Users/"+newGUID()+"/Authenticate?pw=pw", h, ""); r.status != 404 {
		t.Fatalf("legacy unknown user: %d", r.status)
	}
}

// TestLoginLogLines_Section3_4 pins the file-format lines, quoted values
// and the forwarded client IP.
func TestLoginLogLines_Section3_4(t *testing.T) {
	e := newEnv(t, Options{Now: newClock().Now})
	e.s.AddUser("alice", "pw", false)
	e.s.AddUser("dora", "pw", false)
	_ = e.s.UpdatePolicy("dora", func(p *Policy) { p.IsDisabled = true })
	e.s.UpdateNetwork(func(n *NetworkConfig) { n.KnownProxies = []string{"127.0.0.1"} })
	h := hdr("Authorization: "+webHeader, "X-Forwarded-For: 203.0.113.7")
	e.do("POST", "/Users/AuthenticateByName", h, loginJSON("nobody", "x"))
	e.do("POST", "/Users/AuthenticateByName", h, loginJSON("alice", "bad"))
	e.do("POST", "/Users/AuthenticateByName", h, loginJSON("dora", "pw"))
	e.do("POST", "/Users/AuthenticateByName", h, loginJSON("alice", "pw"))
	prefix := `^\[2025-01-01 12:00:00\.000 \+00:00\] \[INF\] \[\d+\] Jellyfin\.Server\.Implementations\.Users\.UserManager: `
	want := []string{
		prefix + regexp.QuoteMeta(`Authentication request for "nobody" has been denied (IP: "203.0.113.7").`) + `$`,
		prefix + regexp.QuoteMeta(`Authentication request for "alice" has been denied (IP: "203.0.113.7").`) + `$`,
		prefix + regexp.QuoteMeta(`Authentication request for "dora" has been denied because this account is currently disabled (IP: "203.0.113.7").`) + `$`,
		prefix + regexp.QuoteMeta(`Authentication request for "alice" has succeeded.`) + `$`,
	}
	lines := strings.Split(e.log.String(), "\n")
	for _, w := range want {
		re := regexp.MustCompile(w)
		found := false
		for _, l := range lines {
			found = found || re.MatchString(l)
		}
		if !found {
			t.Errorf("no line matches %s in:\n%s", w, e.log.String())
		}
	}
	fail2ban := regexp.MustCompile(`^.*Authentication request for .* has been denied \(IP: "203\.0\.113\.7"\)\.`)
	if !fail2ban.MatchString(e.log.String()) {
		t.Error("the official fail2ban filter must match the denial line")
	}
}

// TestLogQuoting_Section3_4: attacker-chosen names are quoted with only
// embedded quotes escaped, as the Serilog file sink does.
func TestLogQuoting_Section3_4(t *testing.T) {
	e := newEnv(t, Options{})
	e.do("POST", "/Users/AuthenticateByName", hdr("Authorization: "+webHeader), loginJSON(`ev"il`, "x"))
	if !strings.Contains(e.log.String(), `Authentication request for "ev\"il" has been denied`) {
		t.Fatalf("log:\n%s", e.log.String())
	}
}

// TestRemoteForbiddenLogLine_Section3_4 pins the remote-access line.
func TestRemoteForbiddenLogLine_Section3_4(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddUser("remy", "pw", false)
	_ = e.s.UpdatePolicy("remy", func(p *Policy) { p.EnableRemoteAccess = false })
	e.s.UpdateNetwork(func(n *NetworkConfig) { n.KnownProxies = []string{"127.0.0.1"} })
	e.do("POST", "/Users/AuthenticateByName", hdr("Authorization: "+webHeader, "X-Forwarded-For: 198.51.100.9"), loginJSON("remy", "pw"))
	if !strings.Contains(e.log.String(), `Authentication request for "remy" forbidden: remote access disabled and user not in local network (IP: "198.51.100.9").`) {
		t.Fatalf("log:\n%s", e.log.String())
	}
}

// TestPasswordlessUser_Section3_1: a user without a password logs in with
// an empty or missing Pw, and not with any other password.
func TestPasswordlessUser_Section3_1(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddUser("kid", "", false)
	h := hdr("Authorization: " + webHeader)
	if r := e.do("POST", "/Users/AuthenticateByName", h, `{"Username":"kid"}`); r.status != 200 {
		t.Fatalf("missing Pw: %d", r.status)
	}
	if r := e.do("POST", "/Users/AuthenticateByName", h, loginJSON("kid", "x")); r.status != 401 {
		t.Fatalf("password for a password-less user: %d", r.status)
	}
}

// TestStoredPasswordIsPBKDF2 checks the stored hash format.
func TestStoredPasswordIsPBKDF2(t *testing.T) {
	h := hashPassword("secret")
	if !regexp.MustCompile(`^\$PBKDF2-SHA512\$iterations=1000\$[0-9A-F]{32}\$[0-9A-F]{128}$`).MatchString(h) {
		t.Fatalf("hash %q", h)
	}
	if !checkPassword(h, "secret") || checkPassword(h, "Secret") {
		t.Fatal("verification")
	}
}
