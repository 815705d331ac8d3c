package fake

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestJSONCasing_Section1: PascalCase by default; the CamelCase profile in
// Accept selects camelCase; dictionary keys keep their case.
func TestJSONCasing_Section1(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddUser("alice", "pw", false)
	tok := e.login("alice", "pw", "d")
	pascal := e.do("GET", "/System/Info/Public", nil, "")
	if !strings.Contains(string(pascal.body), `"ServerName":"Jellyfin Emulator"`) ||
		pascal.header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("pascal: %s %v", pascal.body, pascal.header)
	}
	cases := []struct {
		accept string
		camel  bool
	}{
		{`application/json; profile="CamelCase"`, true},
		{`application/json;profile="camelcase"`, true},
		{`application/json; profile=CamelCase`, false},
		{`application/json, application/json; profile="CamelCase"`, false},
		{`application/json;q=0.5, application/json; profile="CamelCase"`, true},
		{`text/html, */*`, false},
	}
	for _, tc := range cases {
		r := e.do("GET", "/System/Info/Public", hdr("Accept: "+tc.accept), "")
		isCamel := strings.Contains(string(r.body), `"serverName":`)
		if isCamel != tc.camel {
			t.Errorf("Accept %q: camel=%v body %s", tc.accept, isCamel, r.body)
		}
	}
	h := tokenHeader(tok)
	h.Set("Accept", `application/json; profile="CamelCase"`)
	items := e.do("GET", "/Items?recursive=true", h, "")
	if !strings.Contains(string(items.body), `"imageTags":{"Primary":`) || !strings.Contains(string(items.body), `"totalRecordCount":4`) {
		t.Fatalf("camel items: %s", items.body)
	}
	if !strings.HasPrefix(items.header.Get("Content-Type"), `application/json; profile="CamelCase"`) {
		t.Fatalf("content type %q", items.header.Get("Content-Type"))
	}
}

// TestCamelName pins System.Text.Json's camel-case rule.
func TestCamelName(t *testing.T) {
	for in, want := range map[string]string{"ServerId": "serverId", "Id": "id", "IPAddress": "ipAddress",
		"ID": "id", "already": "already", "URLValue": "urlValue", "": ""} {
		if got := camelName(in); got != want {
			t.Errorf("camelName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDates_Section1: seven fractional digits and Z when there are no whole
// milliseconds, System.Text.Json's trimmed form otherwise.
func TestDates_Section1(t *testing.T) {
	cases := map[time.Time]string{
		time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC): "2025-01-01T12:00:00.0000000Z",
		{}: "0001-01-01T00:00:00.0000000Z",
		time.Date(2025, 1, 1, 12, 0, 0, 123456700, time.UTC):         "2025-01-01T12:00:00.1234567Z",
		time.Date(2025, 1, 1, 12, 0, 0, 120000000, time.UTC):         "2025-01-01T12:00:00.12Z",
		time.Date(2025, 1, 1, 12, 0, 0, 456700, time.UTC):            "2025-01-01T12:00:00.0004567Z",
		time.Date(2025, 1, 1, 13, 0, 0, 0, time.FixedZone("", 3600)): "2025-01-01T12:00:00.0000000Z",
	}
	for in, want := range cases {
		if got := formatJFTime(in); got != want {
			t.Errorf("formatJFTime(%v) = %q, want %q", in, got, want)
		}
	}
}

// TestNullsOmittedAndGUIDs_Section1: null properties are left out and ids
// are 32 lower-case hex digits.
func TestNullsOmittedAndGUIDs_Section1(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.s.AddUser("alice", "pw", false)
	tok := e.login("alice", "pw", "d")
	r := e.do("GET", "/Users/Me", tokenHeader(tok), "")
	var m map[string]any
	r.json(t, &m)
	if _, ok := m["PrimaryImageTag"]; ok {
		t.Error("null PrimaryImageTag must be omitted")
	}
	if _, ok := m["ServerName"]; ok {
		t.Error("null ServerName must be omitted")
	}
	if !hex32.MatchString(u.ID) || !hex32.MatchString(e.s.ServerID()) || m["Id"] != u.ID {
		t.Errorf("ids %q %q", u.ID, e.s.ServerID())
	}
	if g, ok := parseGUID("{" + dashedGUID(u.ID) + "}"); !ok || g != u.ID {
		t.Errorf("parseGUID braces: %q %v", g, ok)
	}
}

// TestErrorBodies_Section1: auth-pipeline 401/403 are empty with no
// WWW-Authenticate; exceptions are text/plain; every response carries
// X-Response-Time-ms; model validation is problem+json.
func TestErrorBodies_Section1(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddUser("alice", "pw", false)
	tok := e.login("alice", "pw", "d")
	r := e.raw("GET", "/System/Info", nil, "")
	if r.status != 401 || len(r.body) != 0 || r.header.Get("WWW-Authenticate") != "" {
		t.Fatalf("401: %v %q", r.header, r.body)
	}
	r = e.raw("GET", "/Devices", tokenHeader(tok), "")
	if r.status != 403 || len(r.body) != 0 {
		t.Fatalf("403: %d %q", r.status, r.body)
	}
	r = e.raw("POST", "/Users/AuthenticateByName", nil, loginJSON("alice", "pw"))
	if r.status != 400 || string(r.body) != "Error processing request." || r.header.Get("Content-Type") != "text/plain" {
		t.Fatalf("exception: %d %q %v", r.status, r.body, r.header)
	}
	r = e.raw("GET", "/QuickConnect/Connect", nil, "")
	var pd map[string]any
	r.json(t, &pd)
	if r.status != 400 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") || pd["errors"] == nil {
		t.Fatalf("validation: %d %s", r.status, r.body)
	}
	for _, target := range []string{"/System/Info", "/nope", "/System/Info/Public", "/web/index.html", "/Users/AuthenticateByName"} {
		if r := e.raw("GET", target, nil, ""); r.header.Get("X-Response-Time-ms") == "" {
			t.Errorf("%s: no X-Response-Time-ms (%d)", target, r.status)
		}
	}
	if r := e.raw("GET", "/socket", hdr("Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13",
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="), ""); r.status != 403 || string(r.body) != "Error processing request." {
		t.Fatalf("websocket refusal: %d %q", r.status, r.body)
	}
}

// TestCORS_Section12: a preflight is answered with 204 for any origin;
// simple responses carry Access-Control-Allow-Origin: *.
func TestCORS_Section12(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.raw("OPTIONS", "/Users/AuthenticateByName", hdr("Origin: https://tv.example", "Access-Control-Request-Method: POST",
		"Access-Control-Request-Headers: authorization,content-type"), "")
	if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "*" ||
		r.header.Get("Access-Control-Allow-Headers") != "authorization,content-type" {
		t.Fatalf("preflight: %d %v", r.status, r.header)
	}
	if r := e.raw("GET", "/System/Info/Public", hdr("Origin: https://tv.example"), ""); r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("simple: %v", r.header)
	}
}

// TestSystemEndpoints_Section7 covers ping, health, configuration reads
// by any user, admin-only writes and the network config round trip.
func TestSystemEndpoints_Section7(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddUser("alice", "pw", false)
	e.s.AddUser("admin", "pw", true)
	alice := e.login("alice", "pw", "a")
	admin := e.login("admin", "pw", "b")
	if r := e.do("GET", "/System/Ping", nil, ""); string(r.body) != `"Jellyfin Server"` {
		t.Fatalf("ping %s", r.body)
	}
	if r := e.do("GET", "/health", nil, ""); string(r.body) != "Healthy" {
		t.Fatalf("health %s", r.body)
	}
	var info map[string]any
	e.do("GET", "/System/Info/Public", nil, "").json(t, &info)
	if info["Id"] != e.s.ServerID() || info["Version"] != "10.11.11" || info["ProductName"] != "Jellyfin Server" {
		t.Fatalf("public info %v", info)
	}
	var netCfg NetworkConfig
	r := e.do("GET", "/System/Configuration/network", tokenHeader(alice), "")
	r.json(t, &netCfg)
	if r.status != 200 || !netCfg.EnableRemoteAccess || netCfg.InternalHTTPPort != 8096 {
		t.Fatalf("network config: %d %s", r.status, r.body)
	}
	netCfg.KnownProxies = []string{"127.0.0.1"}
	netCfg.BaseURL = "media/"
	body, _ := json.Marshal(netCfg)
	if r := e.do("POST", "/System/Configuration/network", tokenHeader(alice), string(body)); r.status != 403 {
		t.Fatalf("user write: %d", r.status)
	}
	if r := e.do("POST", "/System/Configuration/network", tokenHeader(admin), string(body)); r.status != 204 {
		t.Fatalf("admin write: %d %s", r.status, r.body)
	}
	if r := e.raw("GET", "/media/System/Info/Public", nil, ""); r.status != 200 {
		t.Fatalf("BaseUrl applied: %d", r.status)
	}
	if r := e.do("GET", "/media/System/Configuration", tokenHeader(alice), ""); r.status != 200 ||
		!strings.Contains(string(r.body), `"QuickConnectAvailable":true`) {
		t.Fatalf("server config: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/media/Branding/Configuration", nil, ""); r.status != 200 {
		t.Fatalf("branding: %d", r.status)
	}
}

// TestDemo checks NewDemo's accounts.
func TestDemo(t *testing.T) {
	s, users := NewDemo(Options{})
	if len(users) != 3 || users[0].Name != "admin" || !users[0].Admin {
		t.Fatalf("users %+v", users)
	}
	for _, u := range users {
		if parts := strings.Split(u.Password, "-"); len(parts) != 4 || len(parts[3]) != 2 {
			t.Errorf("password %q", u.Password)
		}
		st, ok := s.User(u.Name)
		if !ok || st.Policy.IsHidden != u.Admin || st.Policy.IsAdministrator != u.Admin {
			t.Errorf("%s: %+v", u.Name, st)
		}
	}
}
