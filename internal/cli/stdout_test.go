package cli

import (
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/jellyguard/jellyguard/internal/jellyfin/fake"
)

// logLine is what a line of the log looks like in either format.
var logLine = regexp.MustCompile(`(^|\n)(time=\S+ level=|\{"time":)`)

// TestAdminCommandsPrintNoLogLinesOnStdout: stdout carries only a
// command's answer, so that it can be piped into jq or a script; the log
// (the store's migrations, the shield's ban line, warnings) goes to stderr,
// even at log level debug, on a fresh data directory and with an upstream.
func TestAdminCommandsPrintNoLogLinesOnStdout(t *testing.T) {
	srv := fake.New(fake.Options{})
	srv.AddUser("alice", "alice-pw", false)
	key := srv.AddAPIKey("jellyguard")
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	token, id := signIn(t, ts.URL, "alice", "alice-pw")
	dir := t.TempDir()
	h := seedToken(t, dir, token, issued("alice", id, "Jellyfin Web"))

	for _, format := range []string{"text", "json"} {
		env := map[string]string{"JELLYGUARD_DATA": dir + "/" + format, "JELLYGUARD_UPSTREAM": ts.URL, "JELLYGUARD_API_KEY": key,
			"JELLYGUARD_LOG_LEVEL": "debug", "JELLYGUARD_LOG_FORMAT": format}
		// A fresh data directory: the first command applies the migrations.
		var logged bool
		for _, args := range [][]string{
			{"user", "list"},
			{"user", "list", "--json"},
			{"user", "totp", "alice"},
			{"user", "require", "alice"},
			{"user", "networks", "alice", "198.51.100.0/24"},
			{"user", "reset", "alice"},
			{"token", "list", "--all"},
			{"ban", "add", "203.0.113.7"},
			{"ban", "list", "--json"},
			{"ban", "remove", "203.0.113.7"},
			{"audit", "tail", "--json"},
			{"audit", "verify"},
			{"config", "show"},
			{"check"},
		} {
			r := runCLIEnv(t, env, args...)
			if r.code != exitOK && args[0] != "check" {
				t.Errorf("%s %v: exit %d, stderr %q", format, args, r.code, r.stderr)
			}
			if logLine.MatchString(r.stdout) {
				t.Errorf("%s %v printed a log line on stdout:\n%s", format, args, r.stdout)
			}
			logged = logged || logLine.MatchString(r.stderr)
		}
		if !logged {
			t.Errorf("%s: no command logged anything on stderr at level debug; the test proves nothing", format)
		}
	}

	// And with the token seeded above, revoking it logs on stderr only.
	env := map[string]string{"JELLYGUARD_DATA": dir, "JELLYGUARD_UPSTREAM": ts.URL, "JELLYGUARD_LOG_LEVEL": "debug"}
	r := runCLIEnv(t, env, "token", "revoke", h.String())
	if r.code != exitOK || logLine.MatchString(r.stdout) || !strings.HasPrefix(r.stdout, "Revoked ") {
		t.Errorf("token revoke: exit %d, stdout %q", r.code, r.stdout)
	}
}
