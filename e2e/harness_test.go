package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/testkit"
)

// Time limits. Every subprocess and every wait in the suite is bounded by one
// of these.
const (
	buildTimeout    = 10 * time.Minute // go build of the binary (cold cache on 2 cores)
	npmTimeout      = 5 * time.Minute  // npm ci of one Node package
	startTimeout    = 30 * time.Second // demo: first stdout line
	stopTimeout     = 10 * time.Second // demo: exit after SIGINT
	cliTimeout      = 30 * time.Second // one CLI command
	nodeTimeout     = 60 * time.Second // one SDK script
	requestTimeout  = 15 * time.Second // one small HTTP exchange
	revokeDeadline  = 3 * time.Second  // revocation visible at the gateway
	largeStreamTime = 3 * time.Minute  // the whole 1 GiB stream
)

var (
	// binPath is the jellyguard binary built once by TestMain.
	binPath string
	// sdkDir is the absolute path of e2e/sdk (the @jellyfin/sdk scripts).
	sdkDir string
	// browserDir is the absolute path of e2e/browser (the Chromium script).
	browserDir string
	// nodePath is the node executable.
	nodePath string
)

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestMain(m *testing.M) {
	os.Exit(setupAndRun(m))
}

func setupAndRun(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "jellyguard-e2e-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: cannot create a temporary directory: %v\n", err)
		return 1
	}
	defer func() { _ = os.RemoveAll(tmp) }()

	if err := buildBinary(tmp); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: FAIL: %v\n", err)
		return 1
	}
	if err := prepareSDK(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: FAIL: %v\n", err)
		return 1
	}
	return m.Run()
}

// buildBinary builds ../cmd/jellyguard into dir.
func buildBinary(dir string) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("the go command is not on PATH, cannot build the binary under test: %v", err)
	}
	binPath = filepath.Join(dir, "jellyguard")
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", binPath, "../cmd/jellyguard")
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build -o %s ../cmd/jellyguard failed (%v); the end-to-end suite needs the binary:\n%s", binPath, err, out)
	}
	return nil
}

// prepareSDK finds node and makes sure the Node packages of the suite
// (e2e/sdk and e2e/browser) hold exactly the versions their package.json
// pins, running `npm ci` where they do not.
func prepareSDK() error {
	var err error
	if nodePath, err = exec.LookPath("node"); err != nil {
		return fmt.Errorf("node is not on PATH; the @jellyfin/sdk and browser tests need Node 20 or newer: %v", err)
	}
	if sdkDir, err = filepath.Abs("sdk"); err != nil {
		return err
	}
	if browserDir, err = filepath.Abs("browser"); err != nil {
		return err
	}
	for _, dir := range []string{sdkDir, browserDir} {
		if err := prepareNodePackage(dir); err != nil {
			return err
		}
	}
	return nil
}

// prepareNodePackage runs `npm ci` in dir unless its node_modules already
// holds every pinned dependency.
func prepareNodePackage(dir string) error {
	missing := nodeMissing(dir)
	if missing == "" {
		return nil
	}
	fmt.Fprintf(os.Stderr, "e2e: %s; running npm ci in %s\n", missing, dir)
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("%s/node_modules is incomplete and npm is not on PATH to install it: %v", dir, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), npmTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("npm ci --no-audit --no-fund in %s failed (%v):\n%s", dir, err, out)
	}
	if missing := nodeMissing(dir); missing != "" {
		return fmt.Errorf("after npm ci in %s: %s", dir, missing)
	}
	return nil
}

// nodeMissing returns "" when every dependency pinned in dir/package.json is
// installed at its pinned version, or a description of the first that is not.
func nodeMissing(dir string) string {
	base := filepath.Base(dir)
	raw, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return fmt.Sprintf("cannot read %s/package.json: %v", base, err)
	}
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := json.Unmarshal(raw, &pkg); err != nil {
		return fmt.Sprintf("%s/package.json: %v", base, err)
	}
	for name, want := range pkg.Dependencies {
		raw, err := os.ReadFile(filepath.Join(dir, "node_modules", name, "package.json"))
		if err != nil {
			return fmt.Sprintf("%s (%s) is not installed", name, base)
		}
		var got struct {
			Version string `json:"version"`
		}
		if err := json.Unmarshal(raw, &got); err != nil || got.Version != want {
			return fmt.Sprintf("%s is installed at %q, %s/package.json pins %q", name, got.Version, base, want)
		}
	}
	return ""
}

// proc is a running jellyguard process.
type proc struct {
	name   string
	cmd    *exec.Cmd
	lines  chan string     // stdout, line by line; closed at EOF
	stdout *testkit.Buffer // everything read from stdout
	stderr *testkit.Buffer
	done   chan struct{} // closed when the process has exited
	err    error         // cmd.Wait's result, valid after done

	stopped bool // stop has been called
}

// startProc starts the binary with args in dir (which may be "") and extra
// environment. The process is stopped with SIGINT at cleanup, and must exit
// with status 0 within stopTimeout; its stderr is printed if the test failed.
func startProc(t *testing.T, name, dir string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{
		name:   name,
		cmd:    exec.Command(binPath, args...),
		lines:  make(chan string, 1024),
		stdout: &testkit.Buffer{},
		stderr: &testkit.Buffer{},
		done:   make(chan struct{}),
	}
	p.cmd.Dir = dir
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stderr = p.stderr
	p.cmd.WaitDelay = 2 * time.Second
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("%s: stdout pipe: %v", name, err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: cannot start %s %s: %v", name, binPath, strings.Join(args, " "), err)
	}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		defer close(p.lines)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Text()
			_, _ = p.stdout.Write([]byte(line + "\n"))
			select {
			case p.lines <- line:
			default: // nobody is reading this far; the buffer keeps it
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	go func() {
		<-scanned
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("%s command: jellyguard %s", name, strings.Join(args, " "))
			t.Logf("%s stdout:\n%s", name, p.stdout.String())
			t.Logf("%s stderr:\n%s", name, p.stderr.String())
		}
	})
	return p
}

// exited reports whether the process has already exited.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGINT and asserts a clean exit within stopTimeout. It is safe
// to call more than once.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	if p.exited() {
		if !p.stopped {
			t.Errorf("%s exited on its own (%v) before the test stopped it", p.name, p.err)
		}
		return
	}
	p.stopped = true
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("%s: sending SIGINT: %v", p.name, err)
	}
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		t.Errorf("%s did not exit within %v of SIGINT; killing it", p.name, stopTimeout)
		_ = p.cmd.Process.Kill()
		<-p.done
		return
	}
	if p.err != nil {
		t.Errorf("%s: after SIGINT it exited with %v, want exit status 0", p.name, p.err)
	}
}

// nextLine returns the next stdout line, failing the test after timeout or if
// stdout ends first.
func (p *proc) nextLine(t *testing.T, timeout time.Duration) string {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case line, ok := <-p.lines:
		if !ok {
			<-p.done
			t.Fatalf("%s closed stdout without the expected line (exit: %v)", p.name, p.err)
		}
		return line
	case <-timer.C:
		t.Fatalf("%s printed no line on stdout within %v", p.name, timeout)
	}
	return ""
}

// demoUser is one user the demo created in its emulator.
type demoUser struct {
	Name     string `json:"name"`
	Password string `json:"password"`
	Admin    bool   `json:"admin"`
}

// demo is a running `jellyguard demo --json`.
type demo struct {
	*proc
	Gateway  string     `json:"gateway"`
	Jellyfin string     `json:"jellyfin"`
	Data     string     `json:"data"`
	Config   string     `json:"config"`
	Users    []demoUser `json:"users"`
}

var loopbackURL = regexp.MustCompile(`^http://127\.0\.0\.1:[1-9][0-9]*$`)

// startDemo starts `jellyguard demo --json` on loopback ports with a fresh
// data directory and reads the line that describes it.
func startDemo(t *testing.T) *demo {
	t.Helper()
	return startDemoEnv(t, nil)
}

// startDemoEnv is startDemo with extra environment variables (for example
// JELLYGUARD_<KEY> settings) for the demo process.
func startDemoEnv(t *testing.T, env []string) *demo {
	t.Helper()
	data := t.TempDir()
	p := startProc(t, "demo", data, env,
		"demo", "--json", "--listen", "127.0.0.1:0", "--jellyfin-listen", "127.0.0.1:0", "--data", data)
	line := p.nextLine(t, startTimeout)
	d := &demo{proc: p}
	if err := json.Unmarshal([]byte(line), d); err != nil {
		t.Fatalf("demo --json: first stdout line is not the JSON description: %v\nline: %s", err, line)
	}
	if !loopbackURL.MatchString(d.Gateway) {
		t.Fatalf("demo --json: gateway = %q, want http://127.0.0.1:<port>", d.Gateway)
	}
	if !loopbackURL.MatchString(d.Jellyfin) {
		t.Fatalf("demo --json: jellyfin = %q, want http://127.0.0.1:<port>", d.Jellyfin)
	}
	if d.Gateway == d.Jellyfin {
		t.Fatalf("demo --json: gateway and jellyfin are the same address %s", d.Gateway)
	}
	if d.Config == "" {
		t.Fatalf("demo --json: no config path in %s", line)
	}
	if _, err := os.Stat(d.Config); err != nil {
		t.Fatalf("demo --json: config %q: %v", d.Config, err)
	}
	for _, name := range []string{"admin", "alice", "bob"} {
		u := d.user(t, name)
		if u.Password == "" {
			t.Fatalf("demo --json: user %s has no password in %s", name, line)
		}
		if u.Admin != (name == "admin") {
			t.Fatalf("demo --json: user %s has admin=%v", name, u.Admin)
		}
	}
	return d
}

func (d *demo) user(t *testing.T, name string) demoUser {
	t.Helper()
	for _, u := range d.Users {
		if u.Name == name {
			return u
		}
	}
	t.Fatalf("demo --json lists no user %q (users: %+v)", name, d.Users)
	return demoUser{}
}

func (d *demo) password(t *testing.T, name string) string {
	t.Helper()
	return d.user(t, name).Password
}

// cliResult is the outcome of one CLI command.
type cliResult struct {
	stdout, stderr string
	code           int
}

// runCLI runs the binary once with args and returns its output and exit code.
func runCLI(t *testing.T, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := cliResult{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("jellyguard %s: no exit within %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), cliTimeout, res.stdout, res.stderr)
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("jellyguard %s: %v", strings.Join(args, " "), err)
	}
	return res
}

// listedToken is one row of `jellyguard token list --json`.
type listedToken struct {
	Hash   string `json:"hash"`
	Kind   string `json:"kind"`
	Status string `json:"status"`
	UserID string `json:"user_id"`
	User   string `json:"user"`
	Device string `json:"device_id"`
	Client string `json:"client"`
	IP     string `json:"ip"`
	Source string `json:"source"`
}

// tokenList runs `jellyguard token list --config <cfg> --json` and returns its
// rows (a JSON array).
func tokenList(t *testing.T, d *demo) []listedToken {
	t.Helper()
	res := runCLI(t, "token", "list", "--config", d.Config, "--json")
	if res.code != 0 {
		t.Fatalf("jellyguard token list --json: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	var rows []listedToken
	if err := json.Unmarshal([]byte(res.stdout), &rows); err != nil {
		t.Fatalf("jellyguard token list --json: stdout is not a JSON array of tokens: %v\nstdout: %s", err, res.stdout)
	}
	return rows
}

func findToken(rows []listedToken, hash string) (listedToken, bool) {
	for _, r := range rows {
		if strings.EqualFold(r.Hash, hash) {
			return r, true
		}
	}
	return listedToken{}, false
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// runNode runs one of the sdk/*.mjs scripts and decodes the JSON line it
// prints. A non-zero exit fails the test.
func runNode(t *testing.T, script string, args ...string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), nodeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, nodePath, append([]string{filepath.Join(sdkDir, script)}, args...)...)
	cmd.Dir = sdkDir
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("node %s: no exit within %v\nstderr: %s", script, nodeTimeout, stderr.String())
	}
	if err != nil {
		t.Fatalf("node %s %s: %v\nstdout: %s\nstderr: %s", script, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	line := strings.TrimSpace(stdout.String())
	var res map[string]any
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		t.Fatalf("node %s: stdout is not one JSON object: %v\nstdout: %s\nstderr: %s", script, err, line, stderr.String())
	}
	return res
}

// sdkSignIn is the decoded result of sdk/signin.mjs.
type sdkSignIn struct {
	OK        bool     `json:"ok"`
	Status    int      `json:"status"`
	Step      string   `json:"step"`
	Token     string   `json:"token"`
	UserID    string   `json:"userId"`
	Items     int      `json:"items"`
	Views     int      `json:"views"`
	ItemNames []string `json:"itemNames"`
}

// signIn runs sdk/signin.mjs against base.
func signIn(t *testing.T, base, user, password, deviceID string) sdkSignIn {
	t.Helper()
	args := []string{base, user, password}
	if deviceID != "" {
		args = append(args, deviceID)
	}
	raw := runNode(t, "signin.mjs", args...)
	b, _ := json.Marshal(raw)
	var res sdkSignIn
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("signin.mjs: unexpected result %s: %v", b, err)
	}
	return res
}

// mustSignIn signs user in through the gateway with the SDK and returns the
// result, failing unless it worked.
func mustSignIn(t *testing.T, d *demo, user string) sdkSignIn {
	t.Helper()
	res := signIn(t, d.Gateway, user, d.password(t, user), "")
	if !res.OK || res.Status != 200 {
		t.Fatalf("@jellyfin/sdk sign-in of %s through the gateway: ok=%v status=%d step=%q, want ok with 200",
			user, res.OK, res.Status, res.Step)
	}
	if !hex32.MatchString(res.Token) {
		t.Fatalf("@jellyfin/sdk sign-in of %s: token %q is not 32 lowercase hex digits", user, res.Token)
	}
	return res
}

// httpClient talks to the loopback servers directly, never through an
// environment proxy.
var httpClient = &http.Client{
	Transport: &http.Transport{
		Proxy:                 nil,
		DisableCompression:    true,
		ResponseHeaderTimeout: requestTimeout,
		MaxIdleConnsPerHost:   4,
	},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// reply is a response with its body read.
type reply struct {
	StatusCode int
	Header     http.Header
}

// get sends a GET with the token in `Authorization: MediaBrowser Token="…"`
// (when token is not empty) and extra headers, and returns the status, the
// headers and the body (at most 8 MiB).
func get(t *testing.T, url, token string, hdr map[string]string) (reply, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if token != "" {
		req.Header.Set("Authorization", `MediaBrowser Token="`+token+`"`)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", url, err)
	}
	return reply{StatusCode: resp.StatusCode, Header: resp.Header}, body
}
