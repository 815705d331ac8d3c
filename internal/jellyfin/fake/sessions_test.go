package fake

import (
	"strings"
	"testing"
)

// TestLogout_Section5: logout deletes the caller's token and ends the
// sessions of its DeviceId; an API key's logout is a no-op 204.
func TestLogout_Section5(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddUser("alice", "pw", false)
	tok := e.login("alice", "pw", "dev-1")
	keep := e.login("alice", "pw", "dev-2")
	if r := e.do("POST", "/Sessions/Logout", tokenHeader(tok), ""); r.status != 204 {
		t.Fatalf("logout: %d", r.status)
	}
	if e.s.TokenValid(tok) || !e.s.TokenValid(keep) {
		t.Fatal("only the caller's token goes")
	}
	for _, se := range e.s.Sessions() {
		if se.DeviceID == "dev-1" {
			t.Fatal("the session of the device must end")
		}
	}
	if r := e.do("POST", "/Sessions/Logout", tokenHeader(tok), ""); r.status != 401 {
		t.Fatalf("logout with a dead token: %d", r.status)
	}
	key := e.s.AddAPIKey("k")
	if r := e.do("POST", "/Sessions/Logout", tokenHeader(key), ""); r.status != 204 || !e.s.TokenValid(key) {
		t.Fatalf("api key logout: %d", r.status)
	}
}

// TestGetSessions_Section5: administrators and keys see all sessions,
// users their own.
func TestGetSessions_Section5(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddUser("alice", "pw", false)
	e.s.AddUser("bob", "pw", false)
	e.s.AddUser("admin", "pw", true)
	alice := e.login("alice", "pw", "a")
	e.login("bob", "pw", "b")
	admin := e.login("admin", "pw", "c")
	key := e.s.AddAPIKey("k")
	count := func(tok string) int {
		var list []map[string]any
		e.do("GET", "/Sessions", tokenHeader(tok), "").json(t, &list)
		return len(list)
	}
	if n := count(alice); n != 1 {
		t.Fatalf("alice sees %d sessions", n)
	}
	if n := count(admin); n != 3 {
		t.Fatalf("admin sees %d sessions", n)
	}
	if n := count(key); n != 3 {
		t.Fatalf("api key sees %d sessions", n)
	}
	var list []map[string]any
	e.do("GET", "/Sessions?deviceId=A", tokenHeader(admin), "").json(t, &list)
	if len(list) != 1 || list[0]["UserName"] != "alice" {
		t.Fatalf("deviceId filter: %v", list)
	}
}

// TestSessionRecordsDeviceOverwrite_Section2_4: a token used with another
// Device/Version header overwrites the stored device record.
func TestSessionRecordsDeviceOverwrite_Section2_4(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddUser("alice", "pw", false)
	tok := e.login("alice", "pw", "dev-1")
	h := hdr(`Authorization: MediaBrowser Device="Chrome", Version="10.11.12", Token="` + tok + `"`)
	if r := e.do("GET", "/System/Info", h, ""); r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	key := e.s.AddAPIKey("k")
	var devs struct {
		Items []struct{ Name, AppVersion, AppName string }
	}
	e.do("GET", "/Devices", tokenHeader(key), "").json(t, &devs)
	if len(devs.Items) != 1 || devs.Items[0].Name != "Chrome" || devs.Items[0].AppVersion != "10.11.12" {
		t.Fatalf("devices: %+v", devs)
	}
}

// TestDevices_Section5: GET lists token rows; DELETE ?id= logs out every
// token with that DeviceId, of any user; unknown → 404; users get 403.
func TestDevices_Section5(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddUser("alice", "pw", false)
	e.s.AddUser("bob", "pw", false)
	a := e.login("alice", "pw", "shared")
	b := e.login("bob", "pw", "shared")
	other := e.login("bob", "pw", "own")
	key := e.s.AddAPIKey("k")
	if r := e.do("GET", "/Devices", tokenHeader(a), ""); r.status != 403 {
		t.Fatalf("user listing devices: %d", r.status)
	}
	var devs struct {
		Items            []map[string]any
		TotalRecordCount int
	}
	e.do("GET", "/Devices", tokenHeader(key), "").json(t, &devs)
	if devs.TotalRecordCount != 3 || devs.Items[0]["AccessToken"] != nil {
		t.Fatalf("devices: %+v", devs)
	}
	if r := e.do("DELETE", "/Devices?id=shared", tokenHeader(key), ""); r.status != 204 {
		t.Fatalf("delete: %d", r.status)
	}
	if e.s.TokenValid(a) || e.s.TokenValid(b) || !e.s.TokenValid(other) {
		t.Fatal("every token of the device, and only those, must go")
	}
	if r := e.do("DELETE", "/Devices?id=shared", tokenHeader(key), ""); r.status != 404 {
		t.Fatalf("unknown device: %d", r.status)
	}
	if r := e.do("DELETE", "/Devices", tokenHeader(key), ""); r.status != 400 {
		t.Fatalf("missing id: %d", r.status)
	}
}

// TestAPIKeys_Section5: POST ?app= is 204 with no body; the key is found by
// AppName; it acts as an administrator with an all-zero user id; DELETE
// takes the key value.
func TestAPIKeys_Section5(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddUser("admin", "pw", true)
	admin := e.login("admin", "pw", "d")
	r := e.do("POST", "/Auth/Keys?app=gateway", tokenHeader(admin), "")
	if r.status != 204 || len(r.body) != 0 {
		t.Fatalf("create: %d %q", r.status, r.body)
	}
	var keys struct {
		Items []struct {
			AccessToken, AppName, DeviceID, UserID, DateLastActivity string
			ID                                                       int `json:"Id"`
		}
	}
	e.do("GET", "/Auth/Keys", tokenHeader(admin), "").json(t, &keys)
	if len(keys.Items) != 1 || keys.Items[0].AppName != "gateway" || !hex32.MatchString(keys.Items[0].AccessToken) {
		t.Fatalf("keys: %+v", keys)
	}
	raw := string(e.do("GET", "/Auth/Keys", tokenHeader(admin), "").body)
	for _, want := range []string{`"UserId":"00000000000000000000000000000000"`, `"DeviceId":""`, `"IsActive":false`,
		`"DateLastActivity":"0001-01-01T00:00:00.0000000Z"`, `"Id":0`} {
		if !strings.Contains(raw, want) {
			t.Errorf("missing %s in %s", want, raw)
		}
	}
	key := keys.Items[0].AccessToken
	if r := e.do("GET", "/Users/Me", tokenHeader(key), ""); r.status != 400 {
		t.Fatalf("/Users/Me with an API key: %d", r.status)
	}
	if r := e.do("GET", "/Auth/Keys", tokenHeader(key), ""); r.status != 200 {
		t.Fatalf("a key is an administrator: %d", r.status)
	}
	if r := e.do("DELETE", "/Auth/Keys/"+key, tokenHeader(admin), ""); r.status != 204 || e.s.TokenValid(key) {
		t.Fatalf("delete: %d", r.status)
	}
	if r := e.do("DELETE", "/Auth/Keys/unknown", tokenHeader(admin), ""); r.status != 204 {
		t.Fatalf("delete unknown: %d", r.status)
	}
}

// TestCapabilities_Section5: POST /Sessions/Capabilities/Full is 204 and a
// device that reports no persistent identifier passes the device rule.
func TestCapabilities_Section5(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddUser("alice", "pw", false)
	e.s.AddUser("kid", "pw", false)
	_ = e.s.UpdatePolicy("kid", func(p *Policy) { p.EnableAllDevices = false })
	tok := e.login("alice", "pw", "living-room")
	r := e.do("POST", "/Sessions/Capabilities/Full", tokenHeader(tok), `{"PlayableMediaTypes":["Video"],"SupportsMediaControl":true}`)
	if r.status != 204 {
		t.Fatalf("capabilities: %d %s", r.status, r.body)
	}
	e.login("kid", "pw", "living-room")
}
