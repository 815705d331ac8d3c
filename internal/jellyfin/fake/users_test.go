package fake

import (
	"sort"
	"testing"
)

func names(t *testing.T, r resp) []string {
	t.Helper()
	var list []struct{ Name string }
	r.json(t, &list)
	var out []string
	for _, u := range list {
		out = append(out, u.Name)
	}
	sort.Strings(out)
	return out
}

// TestPublicUsers_Section6: not hidden, not disabled and, off the LAN,
// with remote access; new users are hidden; before the wizard completes
// the network rule does not apply.
func TestPublicUsers_Section6(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddUser("hidden", "pw", false)
	for _, n := range []string{"alice", "dora", "remy"} {
		e.s.AddUser(n, "pw", false)
		e.s.SetHidden(n, false)
	}
	_ = e.s.UpdatePolicy("dora", func(p *Policy) { p.IsDisabled = true })
	_ = e.s.UpdatePolicy("remy", func(p *Policy) { p.EnableRemoteAccess = false })
	e.s.UpdateNetwork(func(n *NetworkConfig) { n.KnownProxies = []string{"127.0.0.1"} })
	lan := names(t, e.do("GET", "/Users/Public", nil, ""))
	remote := names(t, e.do("GET", "/Users/Public", hdr("X-Forwarded-For: 203.0.113.7"), ""))
	if len(lan) != 2 || lan[0] != "alice" || lan[1] != "remy" {
		t.Fatalf("LAN: %v", lan)
	}
	if len(remote) != 1 || remote[0] != "alice" {
		t.Fatalf("remote: %v", remote)
	}
	e.s.UpdateServerConfig(func(c *ServerConfig) { c.IsStartupWizardCompleted = false })
	if got := names(t, e.do("GET", "/Users/Public", hdr("X-Forwarded-For: 203.0.113.7"), "")); len(got) != 2 {
		t.Fatalf("before the wizard: %v", got)
	}
}

// TestUserReads_Section6: any authenticated user lists and reads every
// user, including policies; anonymous callers get 401.
func TestUserReads_Section6(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddUser("alice", "pw", false)
	admin := e.s.AddUser("admin", "pw", true)
	tok := e.login("alice", "pw", "d")
	if got := names(t, e.do("GET", "/Users", tokenHeader(tok), "")); len(got) != 2 {
		t.Fatalf("GET /Users: %v", got)
	}
	var u struct {
		Name   string
		Policy struct{ IsAdministrator bool }
	}
	e.do("GET", "/Users/"+admin.ID, tokenHeader(tok), "").json(t, &u)
	if u.Name != "admin" || !u.Policy.IsAdministrator {
		t.Fatalf("GET /Users/{id}: %+v", u)
	}
	if r := e.do("GET", "/Users", nil, ""); r.status != 401 || len(r.body) != 0 {
		t.Fatalf("anonymous: %d %q", r.status, r.body)
	}
	if r := e.do("GET", "/Users/"+newGUID(), tokenHeader(tok), ""); r.status != 404 {
		t.Fatalf("unknown user: %d", r.status)
	}
	if r := e.do("GET", "/Users/not-a-guid", tokenHeader(tok), ""); r.status != 400 {
		t.Fatalf("malformed id: %d", r.status)
	}
	if r := e.do("GET", "/Users?isHidden=true", tokenHeader(tok), ""); len(names(t, r)) != 2 {
		t.Fatalf("isHidden filter: %s", r.body)
	}
}

// TestUserAdministration_Section6 covers POST /Users/New, the Policy
// endpoint's required providers and 403 rules, and DELETE.
func TestUserAdministration_Section6(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddUser("admin", "pw", true)
	e.s.AddUser("alice", "pw", false)
	admin := e.login("admin", "pw", "d")
	alice := e.login("alice", "pw", "a")
	if r := e.do("POST", "/Users/New", tokenHeader(alice), `{"Name":"x"}`); r.status != 403 {
		t.Fatalf("non-admin create: %d", r.status)
	}
	var created struct {
		ID     string `json:"Id"`
		Policy struct{ IsHidden bool }
	}
	r := e.do("POST", "/Users/New", tokenHeader(admin), `{"Name":"carol","Password":"pw"}`)
	r.json(t, &created)
	if r.status != 200 || !created.Policy.IsHidden {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/Users/New", tokenHeader(admin), `{"Name":"CAROL"}`); r.status != 400 {
		t.Fatalf("duplicate: %d", r.status)
	}
	carolTok := e.login("carol", "pw", "c")
	if r := e.do("POST", "/Users/"+created.ID+"/Policy", tokenHeader(admin), `{"IsDisabled":true}`); r.status != 400 {
		t.Fatalf("policy without provider ids: %d", r.status)
	}
	disable := `{"IsDisabled":true,"AuthenticationProviderId":"a","PasswordResetProviderId":"b"}`
	if r := e.do("POST", "/Users/"+created.ID+"/Policy", tokenHeader(admin), disable); r.status != 204 {
		t.Fatalf("disable: %d %s", r.status, r.body)
	}
	if e.s.TokenValid(carolTok) {
		t.Fatal("disabling must revoke the user's tokens")
	}
	adminUser, _ := e.s.User("admin")
	if r := e.do("POST", "/Users/"+adminUser.ID+"/Policy", tokenHeader(admin), `{"IsAdministrator":true,"IsDisabled":true,"AuthenticationProviderId":"a","PasswordResetProviderId":"b"}`); r.status != 403 {
		t.Fatalf("disabling an administrator: %d", r.status)
	}
	if r := e.do("DELETE", "/Users/"+created.ID, tokenHeader(admin), ""); r.status != 204 {
		t.Fatalf("delete: %d", r.status)
	}
	if _, ok := e.s.User("carol"); ok {
		t.Fatal("user still there")
	}
	if r := e.do("DELETE", "/Users/"+adminUser.ID, tokenHeader(admin), ""); r.status != 400 {
		t.Fatalf("deleting the last admin: %d", r.status)
	}
}

// TestPasswordChange_Section6: a change revokes the user's other tokens;
// a wrong current password is 403 and counts as a failed login.
func TestPasswordChange_Section6(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddUser("alice", "old", false)
	current := e.login("alice", "old", "a")
	other := e.login("alice", "old", "b")
	if r := e.do("POST", "/Users/Password", tokenHeader(current), `{"CurrentPw":"bad","NewPw":"new"}`); r.status != 403 {
		t.Fatalf("wrong current password: %d", r.status)
	}
	if st, _ := e.s.User("alice"); st.InvalidLoginAttemptCount != 1 {
		t.Fatalf("count %d", st.InvalidLoginAttemptCount)
	}
	if r := e.do("POST", "/Users/Password", tokenHeader(current), `{"CurrentPw":"old","NewPw":"new"}`); r.status != 204 {
		t.Fatalf("change: %d %s", r.status, r.body)
	}
	if !e.s.TokenValid(current) || e.s.TokenValid(other) {
		t.Fatal("only the caller's token survives")
	}
	e.login("alice", "new", "c")
}
