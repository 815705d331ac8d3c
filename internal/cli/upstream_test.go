package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/audit"
	"github.com/jellyguard/jellyguard/internal/jellyfin/fake"
	"github.com/jellyguard/jellyguard/internal/testkit"
)

// signIn signs in directly at the emulator and returns the token and the
// user id Jellyfin answered with.
func signIn(t *testing.T, baseURL, user, password string) (token, userID string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"Username": user, "Pw": password})
	req, err := http.NewRequest(http.MethodPost, baseURL+"/Users/AuthenticateByName", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", `MediaBrowser Client="Jellyfin Web", Device="Firefox", DeviceId="dev-1", Version="10.11.11"`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var res struct {
		AccessToken string
		User        struct {
			ID string `json:"Id"`
		}
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-in: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		t.Fatal(err)
	}
	return res.AccessToken, res.User.ID
}

func TestTokenRevokeLogsOutOfJellyfin(t *testing.T) {
	srv := fake.New(fake.Options{})
	srv.AddUser("alice", "alice-pw", false)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	token, id := signIn(t, ts.URL, "alice", "alice-pw")
	dir := t.TempDir()
	h := seedToken(t, dir, token, issued("alice", id, "Jellyfin Web"))

	r := runCLI(t, "--data", dir, "--upstream", ts.URL, "token", "revoke", h.Short())
	if r.code != exitOK || !strings.Contains(r.stdout, "logged out of Jellyfin") {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if srv.TokenValid(token) {
		t.Error("the token is still valid in Jellyfin")
	}
	if s := listStatuses(t, dir)[h.String()]; s != "revoked" {
		t.Errorf("status %q", s)
	}
}

func TestUserListMergesJellyfinUsers(t *testing.T) {
	srv := fake.New(fake.Options{})
	srv.AddUser("alice", "alice-pw", false)
	srv.AddUser("carol", "carol-pw", true)
	key := srv.AddAPIKey("jellyguard")
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	token, id := signIn(t, ts.URL, "alice", "alice-pw")
	dir := t.TempDir()
	seedToken(t, dir, token, issued("alice", id, "Jellyfin Web"))

	env := map[string]string{"JELLYGUARD_UPSTREAM": ts.URL, "JELLYGUARD_API_KEY": key, "JELLYGUARD_DATA": dir}
	r := runCLIEnv(t, env, "user", "list", "--json")
	var users []userJSON
	if err := json.Unmarshal([]byte(r.stdout), &users); err != nil {
		t.Fatalf("%v: %q (stderr %q)", err, r.stdout, r.stderr)
	}
	byName := map[string]userJSON{}
	for _, u := range users {
		byName[u.Name] = u
	}
	alice, carol := byName["alice"], byName["carol"]
	if len(users) != 2 || alice.ActiveTokens == nil || *alice.ActiveTokens != 1 || alice.LastSeen == nil {
		t.Errorf("alice: %+v (all: %+v)", alice, users)
	}
	if carol.ActiveTokens != nil || carol.LastSeen != nil || !carol.Admin || carol.ID == "" {
		t.Errorf("carol (never signed in through the gateway): %+v", carol)
	}

	r = runCLIEnv(t, env, "user", "list")
	if !strings.Contains(r.stdout, "carol") || !strings.Contains(r.stdout, "—") {
		t.Errorf("table:\n%s", r.stdout)
	}
}

func TestAuditTailFollow(t *testing.T) {
	dir := t.TempDir()
	h := seedToken(t, dir, randomToken(t), issued("alice", aliceID, "Jellyfin Web"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout, stderr := &testkit.Buffer{}, &testkit.Buffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--data", dir, "audit", "tail", "--follow", "--json"}, stdout, stderr, mapEnv(nil))
	}()

	time.Sleep(200 * time.Millisecond) // let it print the (empty) tail first
	if r := runCLI(t, "--data", dir, "token", "revoke", h.String()); r.code != exitOK {
		t.Fatalf("revoke: exit %d, stderr %q", r.code, r.stderr)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(stdout.String(), string(audit.TokenRevoked)) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(stdout.String(), string(audit.TokenRevoked)) {
		t.Errorf("follow did not print the new event; stdout %q, stderr %q", stdout.String(), stderr.String())
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("follow exited %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("follow did not stop")
	}
}
