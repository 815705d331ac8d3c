package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/jellyguard/jellyguard/internal/config"
)

// result is what one run of the command line produced.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the command line with args and an empty environment, so the
// developer's JELLYGUARD_* variables cannot change the outcome.
func runCLI(t *testing.T, args ...string) result {
	t.Helper()
	return runCLIEnv(t, nil, args...)
}

func runCLIEnv(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, &stdout, &stderr, mapEnv(env))
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func mapEnv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

func TestHelpListsEveryCommand(t *testing.T) {
	r := runCLI(t, "--help")
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	for _, name := range []string{"serve", "demo", "check", "user", "token", "audit", "config", "version"} {
		if !strings.Contains(r.stdout, "\n  "+name+" ") {
			t.Errorf("--help does not list %q:\n%s", name, r.stdout)
		}
	}
	for _, flag := range []string{"--config", "--upstream", "--data", "--api-key-file"} {
		if !strings.Contains(r.stdout, flag) {
			t.Errorf("--help does not mention %s", flag)
		}
	}
}

func TestGroupHelpListsSubcommands(t *testing.T) {
	for group, subs := range map[string][]string{
		"user":   {"list"},
		"token":  {"list", "revoke"},
		"audit":  {"tail", "verify"},
		"config": {"example", "check", "show"},
	} {
		r := runCLI(t, group, "--help")
		if r.code != exitOK {
			t.Fatalf("%s --help: exit %d", group, r.code)
		}
		for _, sub := range subs {
			if !strings.Contains(r.stdout, "\n  "+sub+" ") {
				t.Errorf("%s --help does not list %q:\n%s", group, sub, r.stdout)
			}
		}
	}
}

func TestEveryCommandHasHelpWithExamples(t *testing.T) {
	a := newApp(&bytes.Buffer{}, &bytes.Buffer{}, nil)
	for _, c := range allCommands(a.rootCommand()) {
		if c.Short == "" || c.Long == "" {
			t.Errorf("%s: missing Short or Long help", c.CommandPath())
		}
		if !c.HasSubCommands() && c.Example == "" {
			t.Errorf("%s: no examples", c.CommandPath())
		}
	}
}

func allCommands(c *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{c}
	for _, sub := range c.Commands() {
		out = append(out, allCommands(sub)...)
	}
	return out
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"frobnicate"},
		{"token", "frobnicate"},
		{"--no-such-flag"},
		{"token", "list", "--no-such-flag"},
		{"token", "revoke"},
		{"version", "extra"},
		{"audit", "tail", "-n", "0"},
	} {
		r := runCLI(t, args...)
		if r.code != exitUsage {
			t.Errorf("%q: exit %d, want %d (stderr %q)", args, r.code, exitUsage, r.stderr)
		}
		if !strings.HasPrefix(r.stderr, "jellyguard: ") || !strings.Contains(r.stderr, "--help") {
			t.Errorf("%q: stderr %q should start with \"jellyguard: \" and point at --help", args, r.stderr)
		}
	}
}

func TestUnknownCommandSuggests(t *testing.T) {
	r := runCLI(t, "tokne")
	if !strings.Contains(r.stderr, `did you mean "token"`) {
		t.Errorf("stderr %q should suggest token", r.stderr)
	}
}

func TestVersion(t *testing.T) {
	r := runCLI(t, "version")
	if r.code != exitOK || !strings.HasPrefix(r.stdout, "jellyguard ") {
		t.Fatalf("exit %d, stdout %q", r.code, r.stdout)
	}
}

func TestConfigExampleLoads(t *testing.T) {
	r := runCLI(t, "config", "example")
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	path := filepath.Join(t.TempDir(), "jellyguard.yaml")
	if err := os.WriteFile(path, []byte(r.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(path, nil); err != nil {
		t.Fatalf("config example does not load: %v", err)
	}
}

func TestConfigCheckAndShow(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(dir, "jellyguard.yaml")
	body := "upstream: http://127.0.0.1:8096\napi_key_file: " + keyFile + "\ntokens:\n  cache_ttl: 7m\n"
	if err := os.WriteFile(cfgFile, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}

	r := runCLI(t, "--config", cfgFile, "config", "check")
	if r.code != exitOK || !strings.Contains(r.stdout, "valid") {
		t.Fatalf("config check: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	r = runCLI(t, "config", "show", "--config", cfgFile, "--listen", "127.0.0.1:9000")
	if r.code != exitOK {
		t.Fatalf("config show: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, want := range []string{"127.0.0.1:9000", "http://127.0.0.1:8096", "7m", "********"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("config show lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "0123456789abcdef") {
		t.Errorf("config show prints the API key:\n%s", r.stdout)
	}
}

func TestBadFlagValueIsAConfigError(t *testing.T) {
	r := runCLI(t, "--listen", "nonsense", "--data", t.TempDir(), "token", "list")
	if r.code != exitError {
		t.Fatalf("exit %d, want %d", r.code, exitError)
	}
	for _, want := range []string{"jellyguard: invalid configuration", "--listen", "nonsense"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr %q lacks %q", r.stderr, want)
		}
	}
}

func TestConfigErrorsAreAllListed(t *testing.T) {
	r := runCLI(t, "--listen", "nonsense", "--log-level", "loud", "config", "check")
	if r.code != exitError {
		t.Fatalf("exit %d", r.code)
	}
	if !strings.Contains(r.stderr, "listen") || !strings.Contains(r.stderr, "log.level") {
		t.Errorf("stderr should name both problems: %q", r.stderr)
	}
}

func TestConfigWarningsPrintedOnce(t *testing.T) {
	r := runCLI(t, "--api-key", "0123456789abcdef0123456789abcdef", "config", "check")
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if n := strings.Count(r.stderr, "warning:"); n != 1 {
		t.Errorf("want one warning, got %d: %q", n, r.stderr)
	}
}

func TestEnvironmentIsRead(t *testing.T) {
	r := runCLIEnv(t, map[string]string{"JELLYGUARD_LISTEN": "127.0.0.1:9111"}, "config", "show")
	if r.code != exitOK || !strings.Contains(r.stdout, "127.0.0.1:9111") {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestServeNeedsUpstream(t *testing.T) {
	r := runCLI(t, "serve", "--data", t.TempDir(), "--listen", "127.0.0.1:0")
	if r.code != exitError || !strings.Contains(r.stderr, "no upstream: set `upstream:` in the config, --upstream, or JELLYGUARD_UPSTREAM") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestLogFileGetsTheLog(t *testing.T) {
	dir := t.TempDir()
	logFile := filepath.Join(dir, "jellyguard.log")
	var stderr bytes.Buffer
	cfg := config.Default()
	cfg.Log.File = logFile
	cfg.Log.Format = "json"
	log, w, closeFn, err := newLogger(cfg.Log, &stderr, false)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hello", "k", "v")
	if _, err := w.Write([]byte("direct line\n")); err != nil {
		t.Fatal(err)
	}
	if err := closeFn(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != stderr.String() {
		t.Errorf("file %q and stderr %q differ", got, stderr.String())
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(strings.SplitN(string(got), "\n", 2)[0]), &line); err != nil || line["msg"] != "hello" {
		t.Errorf("first line is not the JSON log record: %q (%v)", got, err)
	}
	if info, err := os.Stat(logFile); err != nil || info.Mode().Perm() != 0o640 {
		t.Errorf("log file mode %v, want 0640 (%v)", info.Mode().Perm(), err)
	}
}

func TestRunStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"version"}, &out, &errOut, nil); code != exitOK {
		t.Fatalf("exit %d", code)
	}
}
