package fake

import "testing"

// TestKestrelPath_Section1 pins path decoding and dot-segment removal.
func TestKestrelPath_Section1(t *testing.T) {
	cases := []struct{ in, want string }{
		{"/Users/AuthenticateByName", "/Users/AuthenticateByName"},
		{"/web/%2e%2e/Users/AuthenticateByName", "/Users/AuthenticateByName"},
		{"/web/%2E%2E/Users", "/Users"},
		{"/a/./b", "/a/b"},
		{"/a/b/..", "/a/"},
		{"/..", "/"},
		{"/Users%2FAuthenticateByName", "/Users%2FAuthenticateByName"},
		{"/Users%2fx", "/Users%2fx"},
		{"/a/..%2F..%2Fb", "/a/..%2F..%2Fb"},
		{"//Users/AuthenticateByName", "//Users/AuthenticateByName"},
		{"/caf%C3%A9", "/café"},
		{"/bad%C3%28", "/bad%C3("},
		{"/pct%zz", "/pct%zz"},
		{"/%55sers", "/Users"},
	}
	for _, tc := range cases {
		got, err := kestrelPath(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("kestrelPath(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := kestrelPath("/a%00b"); err == nil {
		t.Error("a decoded NUL must be rejected")
	}
}

// TestLegacyTrim_Section1 pins LegacyEmbyRouteRewriteMiddleware, including
// its string-prefix match and second decoding.
func TestLegacyTrim_Section1(t *testing.T) {
	cases := []struct {
		in, want string
		status   int
	}{
		{"/emby/Users/AuthenticateByName", "/Users/AuthenticateByName", 0},
		{"/EMBY/Users", "/Users", 0},
		{"/MediaBrowser/Users", "/Users", 0},
		{"/emby", "", 0},
		{"/Users/emby", "/Users/emby", 0},
		{"/emby/Users/AuthenticateByNam%65", "/Users/AuthenticateByName", 0},
		{"/emby/Users%2FAuthenticateByName", "/Users%2FAuthenticateByName", 0},
		{"/embyfoo", "", 400},
		{"/emby%00", "", 500},
	}
	for _, tc := range cases {
		got, err := legacyTrim(tc.in)
		status := 0
		if je, ok := err.(*jfError); ok {
			status = je.status
		}
		if got != tc.want || status != tc.status {
			t.Errorf("legacyTrim(%q) = %q, %d; want %q, %d", tc.in, got, status, tc.want, tc.status)
		}
	}
}

// TestRouting_Section1 proves the router over raw HTTP: what reaches the
// login endpoint (400 without client fields, since the body is valid) and
// what does not (404).
func TestRouting_Section1(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddUser("alice", "pw", false)
	body := loginJSON("alice", "pw")
	cases := []struct {
		name, target string
		want         int
	}{
		{"canonical", "/Users/AuthenticateByName", 200},
		{"lower case as jellyfin-web sends", "/Users/authenticatebyname", 200},
		{"emby prefix", "/emby/Users/AuthenticateByName", 200},
		{"mediabrowser prefix any case", "/MEDIABROWSER/users/AUTHENTICATEBYNAME", 200},
		{"encoded dot segments", "/web/%2e%2e/Users/AuthenticateByName", 200},
		{"plain dot segments", "/x/../Users/./AuthenticateByName", 200},
		{"encoded letter", "/Users/Authenticate%42yName", 200},
		{"trailing slash", "/Users/AuthenticateByName/", 200},
		{"emby double decoding", "/emby/Users/AuthenticateByNam%2565", 200},
		{"empty leading segment", "//Users/AuthenticateByName", 404},
		{"empty inner segment", "/Users//AuthenticateByName", 404},
		{"two trailing slashes", "/Users/AuthenticateByName//", 404},
		{"encoded slash", "/Users%2FAuthenticateByName", 404},
		{"emby encoded slash stays", "/emby/Users%252FAuthenticateByName", 404},
		{"emby without slash", "/embyUsers/AuthenticateByName", 400},
		{"double emby", "/emby/emby/Users/AuthenticateByName", 404},
		{"non-ascii fold does not match", "/U%C5%BFers/AuthenticateByName", 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.raw("POST", tc.target, clientHeader("dev-"+tc.name, ""), body)
			if r.status != tc.want {
				t.Fatalf("POST %s: status %d, want %d (body %q)", tc.target, r.status, tc.want, r.body)
			}
		})
	}
}

// TestMethodAndUnknownRoute_Section1: unknown path → 404 empty; known path
// with another method → 405 with Allow; HEAD does not match GET routes.
func TestMethodAndUnknownRoute_Section1(t *testing.T) {
	e := newEnv(t, Options{})
	if r := e.raw("GET", "/No/Such/Route", nil, ""); r.status != 404 || len(r.body) != 0 {
		t.Fatalf("unknown route: %d %q", r.status, r.body)
	}
	r := e.raw("GET", "/Sessions/Logout", nil, "")
	if r.status != 405 || r.header.Get("Allow") != "POST" {
		t.Fatalf("wrong method: %d Allow=%q", r.status, r.header.Get("Allow"))
	}
	// GET /Users/AuthenticateByName is GET /Users/{userId}, which needs a
	// token: routing falls through to the parameter route, as in ASP.NET.
	if r := e.raw("GET", "/Users/AuthenticateByName", nil, ""); r.status != 401 {
		t.Fatalf("GET /Users/AuthenticateByName: %d, want 401", r.status)
	}
	if r := e.raw("HEAD", "/System/Info/Public", nil, ""); r.status != 405 {
		t.Fatalf("HEAD on a GET route: %d", r.status)
	}
	if r := e.raw("GET", "/", nil, ""); r.status != 302 || r.header.Get("Location") != "web/" {
		t.Fatalf("root: %d %q", r.status, r.header.Get("Location"))
	}
}

// TestRoutePrecedence: literal segments beat parameters, and a method
// mismatch on the literal falls through to the parameter route.
func TestRoutePrecedence(t *testing.T) {
	s := New(Options{})
	m := s.matchRoute("GET", "/Users/Public")
	if m.route == nil || m.route.h == nil || len(m.route.segs) != 2 || m.route.segs[1].rank != 1 {
		t.Fatalf("GET /Users/Public did not pick the literal route")
	}
	m = s.matchRoute("DELETE", "/Users/Public")
	if m.route == nil || m.route.segs[1].rank != 3 {
		t.Fatalf("DELETE /Users/Public should reach DELETE /Users/{userId}")
	}
	m = s.matchRoute("GET", "/Videos/abc/hls1/main/1.2.ts")
	if m.route == nil || m.params["segmentId"] != "1.2" || m.params["container"] != "ts" {
		t.Fatalf("complex segment binding: %v", m.params)
	}
}

// TestBaseURL_Section1: with a BaseUrl, paths outside it and the bare base
// redirect to <base>/web/; /health redirects; routes live under the base.
func TestBaseURL_Section1(t *testing.T) {
	e := newEnv(t, Options{BaseURL: "jellyfin/"})
	e.s.AddUser("alice", "pw", false)
	cases := []struct {
		method, target string
		want           int
		location       string
	}{
		{"GET", "/", 302, "jellyfin/web/"},
		{"GET", "/jellyfin", 302, "jellyfin/web/"},
		{"GET", "/jellyfin/", 302, "web/"},
		{"GET", "/System/Info/Public", 302, "../../jellyfin/web/"},
		{"GET", "/health", 302, "/jellyfin/health"},
		{"GET", "/JELLYFIN/System/Info/Public", 200, ""},
		{"GET", "/jellyfinx/System/Info/Public", 404, ""},
		{"GET", "/jellyfin/emby/System/Info/Public", 200, ""},
		{"GET", "/jellyfin/web", 301, "http://" + e.ts.Listener.Addr().String() + "/jellyfin/web/"},
	}
	for _, tc := range cases {
		r := e.raw(tc.method, tc.target, nil, "")
		if r.status != tc.want || r.header.Get("Location") != tc.location {
			t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.target, r.status, r.header.Get("Location"), tc.want, tc.location)
		}
	}
	r := e.raw("POST", "/jellyfin/Users/AuthenticateByName", clientHeader("d", ""), loginJSON("alice", "pw"))
	if r.status != 200 {
		t.Fatalf("login under base: %d", r.status)
	}
	if n := e.s.Requests("/users/authenticatebyname"); n != 1 {
		t.Fatalf("Requests = %d, want 1", n)
	}
}

// TestRequestsCounter counts routed, lower-cased paths.
func TestRequestsCounter(t *testing.T) {
	e := newEnv(t, Options{})
	e.raw("GET", "/emby/System/Info/Public", nil, "")
	e.raw("GET", "/SYSTEM/INFO/PUBLIC", nil, "")
	e.raw("GET", "/System/Ping", nil, "")
	if n := e.s.Requests("/System/Info"); n != 2 {
		t.Fatalf("Requests(/System/Info) = %d, want 2", n)
	}
	if n := e.s.Requests("/"); n != 3 {
		t.Fatalf("Requests(/) = %d, want 3", n)
	}
}
