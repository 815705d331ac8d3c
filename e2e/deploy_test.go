package e2e

// Tests of the files in deploy/: the fail2ban filter and jail and the
// CrowdSec parser and scenario, run by Debian's own fail2ban-regex,
// fail2ban-client and crowdsec against logs the gateway wrote in a demo run;
// the systemd unit, checked by systemd-analyze and against the binary's
// configuration keys; and the example config, compared with the binary's.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/jellyguard/jellyguard/internal/testkit"
)

const (
	// deployToolTimeout bounds one run of fail2ban-regex, fail2ban-client,
	// cscli, crowdsec (replaying a log) or systemd-analyze.
	deployToolTimeout = 2 * time.Minute
	// lapiTimeout bounds the start and the stop of the CrowdSec Local API
	// the CrowdSec test runs.
	lapiTimeout = 30 * time.Second

	// burstAddr sends 10 failed sign-ins: enough for the CrowdSec scenario
	// (10 per address) and fail2ban's maxretry. belowAddr sends 9, one
	// short. Both arrive through X-Forwarded-For from loopback, which the
	// demo is told to trust.
	burstAddr    = "203.0.113.50"
	burstCount   = 10
	belowAddr    = "2001:db8::7"
	belowCount   = 9
	injectedAddr = "6.6.6.6"
	// demoTZ is the time zone of the JSON-format demo run, so that its
	// records carry an offset rather than Z.
	demoTZ = "Europe/Berlin"
	// journalPrefix is what fail2ban's systemd backend puts before a
	// journal message ("<_HOSTNAME> <SYSLOG_IDENTIFIER>[<_PID>]: ", see
	// formatJournalEntry in fail2ban/server/filtersystemd.py).
	journalPrefix = "media jellyguard[4242]: "
)

// injectionUser is a username that tries to forge a second address, a
// second line and the second_factor reason, in both log formats.
const injectionUser = "x\" ip=" + injectedAddr + " reason=second_factor status=401 client=\"\n" +
	"time=2026-11-22T12:00:00.000Z level=WARN msg=\"sign-in failed\" ip=" + injectedAddr + " user=\"y" +
	"\",\"msg\":\"sign-in failed\",\"ip\":\"" + injectedAddr + "\",\"reason\":\"second_factor\",\"status\":401,"

// knownReasons are the reasons README.md documents.
var knownReasons = []string{"invalid_credentials", "forbidden", "second_factor", "bad_code"}

var deployDir = filepath.Join("..", "deploy")

// gatewayLog is the log file of one demo run, with the failure lines as
// the test reads them.
type gatewayLog struct {
	format string // "text" or "json"
	path   string
	lines  []string // every line, in order
	fails  []failLine
	// signedIn counts the successful sign-in lines.
	signedIn int
}

// failLine is one failed sign-in line.
type failLine struct {
	raw    string
	time   time.Time
	ip     string
	user   string
	reason string
}

// failCounts returns how many failure lines each address has.
func (g *gatewayLog) failCounts() map[string]int {
	n := map[string]int{}
	for _, f := range g.fails {
		n[f.ip]++
	}
	return n
}

// failRaw returns the failure lines as a multiset.
func (g *gatewayLog) failRaw() map[string]int {
	n := map[string]int{}
	for _, f := range g.fails {
		n[f.raw]++
	}
	return n
}

// TestDeployFailureLog runs the demo twice (text, then JSON log format),
// makes failed and successful sign-ins through the gateway, and gives the
// log files to fail2ban (deploy/fail2ban) and CrowdSec (deploy/crowdsec).
func TestDeployFailureLog(t *testing.T) {
	logs := []*gatewayLog{writeGatewayLog(t, "text"), writeGatewayLog(t, "json")}

	t.Run("fail2ban", func(t *testing.T) {
		for _, g := range logs {
			t.Run(g.format, func(t *testing.T) { checkFail2banFilter(t, g, "") })
			t.Run(g.format+"-ignore-second-factor", func(t *testing.T) { checkFail2banIgnore(t, g) })
			// The journal form is the same lines with fail2ban's systemd
			// prefix; no journal runs here (no systemd-journald).
			t.Run(g.format+"-journal-form", func(t *testing.T) { checkFail2banFilter(t, g, journalPrefix) })
		}
	})
	t.Run("crowdsec", func(t *testing.T) {
		cs := startCrowdSec(t)
		for _, g := range logs {
			t.Run(g.format, func(t *testing.T) { checkCrowdSec(t, cs, g, "") })
		}
		// jellyguard's standard error as syslog lines (the journal read by
		// CrowdSec's journalctl source, or /var/log/syslog), type syslog.
		t.Run("text-syslog-form", func(t *testing.T) { checkCrowdSec(t, cs, logs[0], "syslog") })
	})
}

// writeGatewayLog runs the demo with --log-file in format, signs in through
// it (failures of every reason, an injection attempt, successes), stops it
// and reads the file.
func writeGatewayLog(t *testing.T, format string) *gatewayLog {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jellyguard.log")
	var env []string
	if format == "json" {
		if _, err := time.LoadLocation(demoTZ); err != nil {
			t.Fatalf("time zone %s: %v; install Debian's tzdata", demoTZ, err)
		}
		env = append(env, "TZ="+demoTZ)
	}
	d := startDemoArgs(t, env, "--log-file", path, "--log-format", format, "--trusted-proxies", "127.0.0.1")
	start := time.Now()
	signInsForLog(t, d)
	d.stop(t)
	if t.Failed() {
		t.FailNow()
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the demo's log file: %v", err)
	}
	g := &gatewayLog{format: format, path: path}
	g.parse(t, raw)
	t.Logf("%s log: %d lines, %d failed sign-ins (%v per address), %d successful, written in %v",
		format, len(g.lines), len(g.fails), g.failCounts(), g.signedIn, time.Since(start).Round(time.Millisecond))
	g.check(t)
	return g
}

// startDemoArgs is startDemoEnv with extra arguments for the demo.
func startDemoArgs(t *testing.T, env []string, extra ...string) *demo {
	t.Helper()
	data := t.TempDir()
	args := append([]string{"demo", "--json", "--listen", "127.0.0.1:0", "--jellyfin-listen", "127.0.0.1:0", "--data", data}, extra...)
	p := startProc(t, "demo", data, env, args...)
	line := p.nextLine(t, startTimeout)
	d := &demo{proc: p}
	if err := json.Unmarshal([]byte(line), d); err != nil {
		t.Fatalf("demo --json: first stdout line is not the JSON description: %v\nline: %s", err, line)
	}
	if !loopbackURL.MatchString(d.Gateway) || !loopbackURL.MatchString(d.Jellyfin) || d.Config == "" {
		t.Fatalf("demo --json: unexpected description %s", line)
	}
	return d
}

// signInsForLog makes the sign-ins whose lines the deploy tests read.
func signInsForLog(t *testing.T, d *demo) {
	t.Helper()
	key := emulatorKey(t, d)
	want := func(what string, got int, ok ...int) {
		t.Helper()
		if !slices.Contains(ok, got) {
			t.Fatalf("%s: status %d, want one of %v", what, got, ok)
		}
	}
	// Successes.
	for _, name := range []string{"alice", "admin"} {
		code, _ := postLoginAs(t, d, "", name, d.password(t, name))
		want(name+" with the right password", code, http.StatusOK)
	}
	code, body := postLoginAs(t, d, "", "bob", d.password(t, "bob"))
	want("bob with the right password", code, http.StatusOK)
	var bob struct {
		User struct {
			ID string `json:"Id"`
		} `json:"User"`
	}
	if err := json.Unmarshal(body, &bob); err != nil || bob.User.ID == "" {
		t.Fatalf("bob's sign-in answer has no User.Id (%v): %.300s", err, body)
	}

	// invalid_credentials: a wrong password, unknown users, the injection.
	code, _ = postLoginAs(t, d, "", "alice", d.password(t, "alice")+"-wrong")
	want("alice with a wrong password", code, http.StatusUnauthorized)
	for _, name := range []string{"mallory", "jürgen", injectionUser} {
		code, _ = postLoginAs(t, d, "", name, "guess")
		want(fmt.Sprintf("unknown user %q", name), code, http.StatusUnauthorized)
	}

	// forbidden: Jellyfin refuses a disabled account.
	disableAtEmulator(t, d, key, bob.User.ID)
	code, _ = postLoginAs(t, d, "", "bob", d.password(t, "bob"))
	want("bob (disabled) with the right password", code, http.StatusUnauthorized, http.StatusForbidden)

	// second_factor: alice's right password without a code.
	e := enrollTOTP(t, d, "alice")
	code, _ = postLoginAs(t, d, "", "alice", d.password(t, "alice"))
	want("alice (TOTP) with only her password", code, http.StatusUnauthorized)

	// bad_code: a wrong code on the challenge page.
	resp, _ := webLogin(t, d, "alice", d.password(t, "alice"), randomID(t, "e2e-deploy-web-"))
	to := resp.Header.Get("X-Jellyguard-Challenge")
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(to, "/") {
		t.Fatalf("web sign-in of alice (TOTP): %d with X-Jellyguard-Challenge %q, want 401 and a challenge", resp.StatusCode, to)
	}
	right := totpAt(t, e.Secret, time.Now())
	n, _ := strconv.Atoi(right)
	answerChallenge(t, d, to, resp.Cookies(), fmt.Sprintf("%06d", (n+500000)%1000000))

	// A success with the second factor.
	code, _ = postLoginAs(t, d, "", "alice", d.password(t, "alice")+";"+right)
	want("alice with password;code", code, http.StatusOK)

	// Many failures from two more addresses.
	for i := range burstCount {
		code, _ = postLoginAs(t, d, burstAddr, fmt.Sprintf("guess-%02d", i), "guess")
		want("a guess from "+burstAddr, code, http.StatusUnauthorized)
	}
	for i := range belowCount {
		code, _ = postLoginAs(t, d, belowAddr, fmt.Sprintf("probe-%02d", i), "guess")
		want("a guess from "+belowAddr, code, http.StatusUnauthorized)
	}
}

// postLoginAs posts a Jellyfin login to the gateway, as from xff when it
// is not empty, and returns the status and the body.
func postLoginAs(t *testing.T, d *demo, xff, user, password string) (int, []byte) {
	t.Helper()
	hdr := map[string]string{
		"Authorization": `MediaBrowser Client="e2e deploy", Device="test", DeviceId="` + randomID(t, "e2e-deploy-") + `", Version="1"`,
	}
	if xff != "" {
		hdr["X-Forwarded-For"] = xff
	}
	resp, body := postLogin(t, d, "/Users/AuthenticateByName", user, password, hdr)
	return resp.StatusCode, body
}

// disableAtEmulator disables a user in the emulator, as an administrator
// does in Jellyfin's dashboard (the user's policy with IsDisabled).
func disableAtEmulator(t *testing.T, d *demo, key, userID string) {
	t.Helper()
	resp, body := get(t, d.Jellyfin+"/Users/"+url.PathEscape(userID), key, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /Users/%s at the emulator: %d; body: %.300s", userID, resp.StatusCode, body)
	}
	var u struct {
		Policy map[string]any `json:"Policy"`
	}
	if err := json.Unmarshal(body, &u); err != nil || u.Policy == nil {
		t.Fatalf("GET /Users/%s at the emulator: no Policy (%v): %.300s", userID, err, body)
	}
	u.Policy["IsDisabled"] = true
	policy, err := json.Marshal(u.Policy)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Jellyfin+"/Users/"+url.PathEscape(userID)+"/Policy", bytes.NewReader(policy))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", `MediaBrowser Token="`+key+`"`)
	req.Header.Set("Content-Type", "application/json")
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("POST /Users/%s/Policy at the emulator: %v", userID, err)
	}
	out, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	_ = res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /Users/%s/Policy (IsDisabled) at the emulator: %d, want 204; body: %.300s", userID, res.StatusCode, out)
	}
}

// answerChallenge posts code to the challenge page at path with the
// challenge cookies, as the page's form does.
func answerChallenge(t *testing.T, d *demo, path string, cookies []*http.Cookie, code string) {
	t.Helper()
	form := url.Values{"code": {code}}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Gateway+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", d.Gateway)
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	if bytes.Contains(body, []byte(`id="handoff"`)) || bytes.Contains(body, []byte("data-token")) {
		t.Fatalf("POST %s with a wrong code signed the browser in (%d)", path, resp.StatusCode)
	}
}

// textFailure is the fixed start of a text failure line; the rest is
// parsed field by field.
var textFailure = regexp.MustCompile(`^time=(\S+) level=WARN msg="sign-in failed" ip=(\S+) user=`)

// parse splits raw into lines and reads the failure and success lines: in
// text, every line holding msg="sign-in failed" (only the gateway's
// failure line has it unescaped), in JSON every record whose msg is
// "sign-in failed". Each must have the documented form.
func (g *gatewayLog) parse(t *testing.T, raw []byte) {
	t.Helper()
	if len(raw) == 0 || raw[len(raw)-1] != '\n' {
		t.Fatalf("%s log: empty or not ending in a newline", g.format)
	}
	g.lines = strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	for i, line := range g.lines {
		var (
			f        failLine
			isFail   bool
			signedIn bool
			err      error
		)
		switch g.format {
		case "text":
			if !strings.HasPrefix(line, "time=") {
				t.Errorf("text log line %d does not start with time= (a value broke a line?): %q", i+1, line)
			}
			isFail = strings.Contains(line, `msg="sign-in failed"`)
			signedIn = strings.Contains(line, ` msg="signed in" `)
			if isFail {
				f, err = parseTextFailure(line)
			}
		case "json":
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Errorf("json log line %d is not one JSON record (%v): %q", i+1, err, line)
				continue
			}
			isFail = rec["msg"] == "sign-in failed"
			signedIn = rec["msg"] == "signed in"
			if isFail {
				f, err = parseJSONFailure(line)
			}
		}
		if signedIn {
			g.signedIn++
		}
		if !isFail {
			continue
		}
		if err != nil {
			t.Errorf("%s log line %d is a failure line not in the documented form (%v): %q", g.format, i+1, err, line)
			continue
		}
		g.fails = append(g.fails, f)
	}
}

// parseTextFailure reads a text failure line strictly: every field in
// order, the quoted ones with Go's unquoting.
func parseTextFailure(line string) (failLine, error) {
	m := textFailure.FindStringSubmatch(line)
	if m == nil {
		return failLine{}, errors.New("no time=… level=WARN msg=\"sign-in failed\" ip=… user= prefix")
	}
	f := failLine{raw: line, ip: m[2]}
	var err error
	if f.time, err = time.Parse(time.RFC3339Nano, m[1]); err != nil {
		return f, fmt.Errorf("time: %w", err)
	}
	rest := line[len(m[0]):]
	quoted := func(name string) (string, error) {
		q, err := strconv.QuotedPrefix(rest)
		if err != nil {
			return "", fmt.Errorf("%s is not a quoted string: %w", name, err)
		}
		rest = rest[len(q):]
		return strconv.Unquote(q)
	}
	if f.user, err = quoted("user"); err != nil {
		return f, err
	}
	mid := regexp.MustCompile(`^ reason=([a-z_]+) status=([0-9]{3}) client=`).FindStringSubmatch(rest)
	if mid == nil {
		return f, fmt.Errorf("no reason=… status=… client= after the user in %q", rest)
	}
	f.reason, rest = mid[1], rest[len(mid[0]):]
	if _, err = quoted("client"); err != nil {
		return f, err
	}
	if !strings.HasPrefix(rest, " device=") {
		return f, fmt.Errorf("no device= after the client in %q", rest)
	}
	rest = rest[len(" device="):]
	if _, err = quoted("device"); err != nil {
		return f, err
	}
	if rest != "" {
		return f, fmt.Errorf("text after the device: %q", rest)
	}
	return f, nil
}

// parseJSONFailure reads a JSON failure record; its first four keys must
// be time, level, msg and ip, in that order (what the filter relies on).
func parseJSONFailure(line string) (failLine, error) {
	dec := json.NewDecoder(strings.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return failLine{}, fmt.Errorf("not an object: %v", err)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return failLine{}, err
		}
		keys = append(keys, tok.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return failLine{}, err
		}
	}
	want := []string{"time", "level", "msg", "ip", "user", "reason", "status", "client", "device"}
	if !slices.Equal(keys, want) {
		return failLine{}, fmt.Errorf("keys %v, want %v", keys, want)
	}
	var rec struct {
		Time   time.Time `json:"time"`
		Level  string    `json:"level"`
		IP     string    `json:"ip"`
		User   string    `json:"user"`
		Reason string    `json:"reason"`
		Status int       `json:"status"`
	}
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		return failLine{}, err
	}
	if rec.Level != "WARN" || rec.Status < 400 || rec.Status > 499 {
		return failLine{}, fmt.Errorf("level %q status %d", rec.Level, rec.Status)
	}
	return failLine{raw: line, time: rec.Time, ip: rec.IP, user: rec.User, reason: rec.Reason}, nil
}

// check asserts what the demo run must have written.
func (g *gatewayLog) check(t *testing.T) {
	t.Helper()
	counts := g.failCounts()
	reasons := map[string]int{}
	injections := 0
	for _, f := range g.fails {
		reasons[f.reason]++
		if _, err := netip.ParseAddr(f.ip); err != nil {
			t.Errorf("%s log: failure line with ip %q, not an address: %s", g.format, f.ip, f.raw)
		}
		if f.user == injectionUser {
			injections++
			if f.ip != "127.0.0.1" {
				t.Errorf("%s log: the injection attempt was logged with ip %s, want 127.0.0.1: %s", g.format, f.ip, f.raw)
			}
		}
		if g.format == "json" && f.time.Location() == time.UTC {
			t.Errorf("json log written with TZ=%s has a UTC time: %s", demoTZ, f.raw)
		}
	}
	for _, r := range knownReasons {
		if reasons[r] == 0 {
			t.Errorf("%s log: no failure line with reason=%s (reasons seen: %v)", g.format, r, reasons)
		}
	}
	for r := range reasons {
		if !slices.Contains(knownReasons, r) {
			t.Logf("%s log: reason %q is not one README.md lists; the filters count every reason", g.format, r)
		}
	}
	if injections != 1 {
		t.Errorf("%s log: %d failure lines for the injection username, want 1", g.format, injections)
	}
	if counts[injectedAddr] != 0 {
		t.Errorf("%s log: %d failure lines with ip %s", g.format, counts[injectedAddr], injectedAddr)
	}
	if counts[burstAddr] != burstCount || counts[belowAddr] != belowCount {
		t.Errorf("%s log: %d failures from %s and %d from %s, want %d and %d", g.format,
			counts[burstAddr], burstAddr, counts[belowAddr], belowAddr, burstCount, belowCount)
	}
	if g.signedIn < 4 {
		t.Errorf("%s log: %d successful sign-in lines, want at least 4", g.format, g.signedIn)
	}
	if t.Failed() {
		t.FailNow()
	}
}

// lookTool finds a command the deploy tests need.
func lookDeployTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not on PATH (%v); scripts/install-deps.sh test installs Debian's %s (make test runs it)", name, err, pkg)
	}
	return p
}

// runTool runs a command with deployToolTimeout and extra environment.
func runDeployTool(t *testing.T, env []string, name string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deployToolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := cliResult{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s %s: no exit within %v\nstdout: %s\nstderr: %s", name, strings.Join(args, " "), deployToolTimeout, res.stdout, res.stderr)
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return res
}

func mustRunDeployTool(t *testing.T, env []string, name string, args ...string) cliResult {
	t.Helper()
	res := runDeployTool(t, env, name, args...)
	if res.code != 0 {
		t.Fatalf("%s %s: exit %d\nstdout: %s\nstderr: %s", name, strings.Join(args, " "), res.code, res.stdout, res.stderr)
	}
	return res
}

// writeLines writes lines, each with prefix, to a new file in dir.
func writePrefixedLines(t *testing.T, dir, name, prefix string, lines []string) string {
	t.Helper()
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(prefix + l + "\n")
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

var f2bSummary = regexp.MustCompile(`(?m)^Lines: (\d+) lines, (\d+) ignored, (\d+) matched, (\d+) missed`)

// f2bRun is what one fail2ban-regex run reported.
type f2bRun struct {
	lines, ignored, matched int
	matchedLines            []string
	ignoredLines            []string
}

// fail2banRegex runs fail2ban-regex on logPath with filter and reads its
// summary and the matched and ignored lines.
func fail2banRegex(t *testing.T, logPath, filter string, extra ...string) f2bRun {
	t.Helper()
	tool := lookDeployTool(t, "fail2ban-regex", "fail2ban")
	args := append([]string{"--raw", "--print-all-matched", "--print-all-ignored", "--print-no-missed"}, extra...)
	res := mustRunDeployTool(t, nil, tool, append(args, logPath, filter)...)
	m := f2bSummary.FindStringSubmatch(res.stdout)
	if m == nil {
		t.Fatalf("fail2ban-regex printed no Lines: summary:\n%s\n%s", res.stdout, res.stderr)
	}
	var r f2bRun
	r.lines, _ = strconv.Atoi(m[1])
	r.ignored, _ = strconv.Atoi(m[2])
	r.matched, _ = strconv.Atoi(m[3])
	var block *[]string
	sc := bufio.NewScanner(strings.NewReader(res.stdout))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "|- Matched line(s):":
			block = &r.matchedLines
		case line == "|- Ignored line(s):":
			block = &r.ignoredLines
		case strings.HasPrefix(line, "|- ") || strings.HasPrefix(line, "`-"):
			block = nil
		case block != nil && strings.HasPrefix(line, "|  "):
			*block = append(*block, strings.TrimPrefix(line, "|  "))
		}
	}
	if len(r.matchedLines) != r.matched || len(r.ignoredLines) != r.ignored {
		t.Fatalf("fail2ban-regex: %d matched and %d ignored, but listed %d and %d:\n%s",
			r.matched, r.ignored, len(r.matchedLines), len(r.ignoredLines), res.stdout)
	}
	return r
}

// fail2banHosts runs fail2ban-regex with --out '<ip> <msg>' and returns
// the address fail2ban took from each matched line, by line.
func fail2banHosts(t *testing.T, logPath, filter string, extra ...string) map[string][]string {
	t.Helper()
	tool := lookDeployTool(t, "fail2ban-regex", "fail2ban")
	args := append([]string{"--raw", "--out", "<ip> <msg>"}, extra...)
	res := mustRunDeployTool(t, nil, tool, append(args, logPath, filter)...)
	hosts := map[string][]string{}
	for _, l := range strings.Split(strings.TrimSpace(res.stdout), "\n") {
		ip, line, ok := strings.Cut(l, " ")
		if !ok {
			t.Fatalf("fail2ban-regex --out: unexpected line %q", l)
		}
		hosts[line] = append(hosts[line], ip)
	}
	return hosts
}

// checkFail2banFilter runs deploy/fail2ban/filter.d/jellyguard.conf on the
// log (each line behind prefix; a prefix means the journal form, where the
// journal gives the time and the line keeps its own).
func checkFail2banFilter(t *testing.T, g *gatewayLog, prefix string) {
	filter := filepath.Join(deployDir, "fail2ban", "filter.d", "jellyguard.conf")
	logPath := g.path
	var extra []string
	if prefix != "" {
		logPath = writePrefixedLines(t, t.TempDir(), "journal.log", prefix, g.lines)
		extra = []string{"--datepattern", "{NONE}"}
	}
	r := fail2banRegex(t, logPath, filter, extra...)
	t.Logf("fail2ban-regex: %d lines, %d matched, %d ignored; the gateway wrote %d failure lines", r.lines, r.matched, r.ignored, len(g.fails))
	if r.lines != len(g.lines) {
		t.Errorf("fail2ban-regex read %d lines, the log has %d", r.lines, len(g.lines))
	}
	if r.matched != len(g.fails) || r.ignored != 0 {
		t.Errorf("fail2ban-regex matched %d lines and ignored %d; the gateway wrote %d failure lines", r.matched, r.ignored, len(g.fails))
	}
	want := g.failRaw()
	got := map[string]int{}
	for _, l := range r.matchedLines {
		if !strings.Contains(l, "sign-in failed") {
			t.Errorf("fail2ban matched a line that is not a failure: %s", l)
		}
		got[strings.TrimPrefix(l, prefix)]++
	}
	for l, n := range want {
		if got[l] != n {
			t.Errorf("failure line written %d times, matched %d times: %s", n, got[l], l)
		}
	}
	for l, n := range got {
		if want[l] == 0 {
			t.Errorf("fail2ban matched %d times a line that is not a failure line: %s", n, l)
		}
	}

	hosts := fail2banHosts(t, logPath, filter, extra...)
	for _, f := range g.fails {
		ips := hosts[prefix+f.raw]
		if len(ips) == 0 || slices.ContainsFunc(ips, func(ip string) bool { return ip != f.ip }) {
			t.Errorf("fail2ban took %v from the line written with ip=%s: %s", ips, f.ip, f.raw)
		}
		if f.user == injectionUser {
			t.Logf("injection attempt: fail2ban host %v (the username names %s)", ips, injectedAddr)
		}
	}
	for line, ips := range hosts {
		if slices.Contains(ips, injectedAddr) {
			t.Errorf("fail2ban took %s from: %s", injectedAddr, line)
		}
	}
}

// checkFail2banIgnore enables the commented-out ignoreregex of the filter
// in a copy: second_factor lines are ignored, every other failure still
// matches, including the injection username that contains
// reason=second_factor.
func checkFail2banIgnore(t *testing.T, g *gatewayLog) {
	raw, err := os.ReadFile(filepath.Join(deployDir, "fail2ban", "filter.d", "jellyguard.conf"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	enabled := 0
	for i, l := range lines {
		if strings.HasPrefix(l, "#ignoreregex = ^") && i+1 < len(lines) && regexp.MustCompile(`^# +\^`).MatchString(lines[i+1]) {
			lines[i], lines[i+1] = l[1:], lines[i+1][1:]
			enabled++
		}
	}
	if enabled != 1 {
		t.Fatalf("the filter has %d commented-out two-line ignoreregex blocks (#ignoreregex = ^… then #   ^…), want 1", enabled)
	}
	filter := filepath.Join(t.TempDir(), "jellyguard.conf")
	if err := os.WriteFile(filter, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	secondFactor := map[string]int{}
	for _, f := range g.fails {
		if f.reason == "second_factor" {
			secondFactor[f.raw]++
		}
	}
	r := fail2banRegex(t, g.path, filter)
	t.Logf("with ignoreregex: %d matched, %d ignored (%d second_factor lines)", r.matched, r.ignored, len(secondFactor))
	nSecond := 0
	for _, n := range secondFactor {
		nSecond += n
	}
	if r.ignored != nSecond || r.matched != len(g.fails)-nSecond {
		t.Errorf("with the ignoreregex: %d matched and %d ignored, want %d and %d", r.matched, r.ignored, len(g.fails)-nSecond, nSecond)
	}
	for _, l := range r.ignoredLines {
		if secondFactor[l] == 0 {
			t.Errorf("the ignoreregex ignored a line that is not reason second_factor: %s", l)
		}
	}
	injected, guesses := false, 0
	for _, l := range r.matchedLines {
		f, err := parseFailure(g.format, l)
		if err != nil {
			t.Errorf("matched line not in the documented form (%v): %s", err, l)
			continue
		}
		injected = injected || f.user == injectionUser
		if f.ip == burstAddr {
			guesses++
		}
	}
	if !injected || guesses != burstCount {
		t.Errorf("with the ignoreregex: the injection attempt (reason=second_factor inside its username) matched: %v; "+
			"guesses from %s matched: %d, want %d", injected, burstAddr, guesses, burstCount)
	}
}

func parseFailure(format, line string) (failLine, error) {
	if format == "json" {
		return parseJSONFailure(line)
	}
	return parseTextFailure(line)
}

// TestDeployFail2banJail checks the jail with fail2ban-client's
// configuration test, in a copy of Debian's /etc/fail2ban without its own
// jails.
func TestDeployFail2banJail(t *testing.T) {
	client := lookDeployTool(t, "fail2ban-client", "fail2ban")
	dir := t.TempDir()
	conf := filepath.Join(dir, "fail2ban")
	copyTreeTo(t, "/etc/fail2ban", conf, func(rel string) bool {
		return !strings.HasPrefix(rel, "jail.d"+string(filepath.Separator)) && !strings.HasSuffix(rel, ".local")
	})
	copyFileTo(t, filepath.Join(deployDir, "fail2ban", "filter.d", "jellyguard.conf"), filepath.Join(conf, "filter.d", "jellyguard.conf"))
	copyFileTo(t, filepath.Join(deployDir, "fail2ban", "jail.d", "jellyguard.conf"), filepath.Join(conf, "jail.d", "jellyguard.conf"))
	// The log file does not exist here; point the jail at an empty one.
	logPath := filepath.Join(dir, "jellyguard.log")
	if err := os.WriteFile(logPath, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	local := "[jellyguard]\nlogpath = " + logPath + "\n"
	if err := os.WriteFile(filepath.Join(conf, "jail.d", "zz-e2e.local"), []byte(local), 0o600); err != nil {
		t.Fatal(err)
	}
	res := mustRunDeployTool(t, nil, client, "-c", conf, "--test")
	if !strings.Contains(res.stdout+res.stderr, "OK: configuration test is successful") {
		t.Fatalf("fail2ban-client --test:\n%s\n%s", res.stdout, res.stderr)
	}
	dump := mustRunDeployTool(t, nil, client, "-c", conf, "--dump").stdout
	for _, want := range []string{
		"['add', 'jellyguard', 'auto']",
		"['set', 'jellyguard', 'maxretry', 10]",
		"['set', 'jellyguard', 'findtime', '10m']",
		"['set', 'jellyguard', 'bantime', '24h']",
		"['set', 'jellyguard', 'addjournalmatch', '_SYSTEMD_UNIT=jellyguard.service']",
		"['port', '8097']",
		"['start', 'jellyguard']",
	} {
		if !strings.Contains(dump, want) {
			t.Errorf("fail2ban-client --dump has no %s", want)
		}
	}
	if t.Failed() {
		t.Logf("fail2ban-client --dump:\n%s", dump)
	}
}

func copyFileTo(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyTree copies the regular files under from (following symbolic links
// to files) for which keep says yes.
func copyTreeTo(t *testing.T, from, to string, keep func(rel string) bool) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		info, err := os.Stat(p)
		if err != nil || !info.Mode().IsRegular() || !keep(rel) {
			return nil //nolint:nilerr // dangling links and special files are not configuration
		}
		copyFileTo(t, p, filepath.Join(to, rel))
		return nil
	})
	if err != nil {
		t.Fatalf("copying %s: %v", from, err)
	}
}

// crowdSec is a private CrowdSec configuration with its Local API running.
type crowdSec struct {
	dir, config string
	bin         string
}

// Files of Debian's crowdsec package the test uses: the s00-raw parser
// (syslog and non-syslog lines) and the date parser from the offline hub
// the package ships, and its grok pattern library.
const (
	debianHub      = "/usr/share/crowdsec/hub"
	debianPatterns = "/etc/crowdsec/patterns"
)

// startCrowdSec writes a CrowdSec configuration in a temporary directory
// (nothing from the network: no hub download, no Central API) with
// deploy/crowdsec's parser and scenario, registers a machine and starts
// the Local API, which the agent needs to start even when it only replays
// a file. It is stopped at cleanup.
func startCrowdSec(t *testing.T) *crowdSec {
	t.Helper()
	cs := &crowdSec{dir: t.TempDir(), bin: lookDeployTool(t, "crowdsec", "crowdsec")}
	cscli := lookDeployTool(t, "cscli", "crowdsec")
	etc := filepath.Join(cs.dir, "etc")
	copyFileTo(t, filepath.Join(debianHub, "parsers", "s00-raw", "crowdsecurity", "syslog-logs.yaml"), filepath.Join(etc, "parsers", "s00-raw", "syslog-logs.yaml"))
	copyFileTo(t, filepath.Join(debianHub, "parsers", "s02-enrich", "crowdsecurity", "dateparse-enrich.yaml"), filepath.Join(etc, "parsers", "s02-enrich", "dateparse-enrich.yaml"))
	copyFileTo(t, filepath.Join(deployDir, "crowdsec", "parsers", "s01-parse", "jellyguard-logs.yaml"), filepath.Join(etc, "parsers", "s01-parse", "jellyguard-logs.yaml"))
	copyFileTo(t, filepath.Join(deployDir, "crowdsec", "scenarios", "jellyguard-bf.yaml"), filepath.Join(etc, "scenarios", "jellyguard-bf.yaml"))
	copyTreeTo(t, debianPatterns, filepath.Join(etc, "patterns"), func(string) bool { return true })
	port := freeLoopbackPort(t)
	files := map[string]string{
		"etc/simulation.yaml": "simulation: off\n",
		"etc/acquis.yaml":     "",
		"etc/profiles.yaml": "name: default_ip_remediation\nfilters:\n - Alert.Remediation == true && Alert.GetScope() == \"Ip\"\n" +
			"decisions:\n - type: ban\n   duration: 4h\non_success: break\n",
		// No item of the hub is installed; the agent still wants an index.
		"hub/.index.json": `{"parsers":{},"scenarios":{},"postoverflows":{},"collections":{}}`,
		"config.yaml": fmt.Sprintf(`common:
  daemonize: false
  log_media: stdout
  log_level: info
  working_dir: .
config_paths:
  config_dir: %[1]s/etc/
  data_dir: %[1]s/data/
  simulation_path: %[1]s/etc/simulation.yaml
  hub_dir: %[1]s/hub/
  index_path: %[1]s/hub/.index.json
  notification_dir: %[1]s/etc/notifications/
  plugin_dir: /usr/lib/crowdsec/plugins/
crowdsec_service:
  acquisition_path: %[1]s/etc/acquis.yaml
  parser_routines: 1
cscli:
  output: human
db_config:
  type: sqlite
  db_path: %[1]s/data/crowdsec.db
  use_wal: false
api:
  client:
    credentials_path: %[1]s/etc/local_api_credentials.yaml
  server:
    listen_uri: 127.0.0.1:%[2]d
    profiles_path: %[1]s/etc/profiles.yaml
prometheus:
  enabled: false
`, cs.dir, port),
	}
	for name, content := range files {
		p := filepath.Join(cs.dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(cs.dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	cs.config = filepath.Join(cs.dir, "config.yaml")
	mustRunDeployTool(t, nil, cscli, "-c", cs.config, "machines", "add", "jellyguard-e2e", "--password", randomID(t, "pw-"),
		"--url", fmt.Sprintf("http://127.0.0.1:%d/", port), "-f", filepath.Join(etc, "local_api_credentials.yaml"))

	lapi := exec.Command(cs.bin, "-c", cs.config, "-no-cs")
	lapi.Dir = cs.dir
	out := &testkit.Buffer{}
	lapi.Stdout, lapi.Stderr = out, out
	if err := lapi.Start(); err != nil {
		t.Fatalf("starting the CrowdSec Local API: %v", err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() {
		waitErr = lapi.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = lapi.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(lapiTimeout):
			t.Errorf("the CrowdSec Local API did not stop within %v of SIGTERM; killing it", lapiTimeout)
			_ = lapi.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("CrowdSec Local API (exit: %v) output:\n%s", waitErr, out.String())
		}
	})
	deadline := time.Now().Add(lapiTimeout)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			_ = c.Close()
			break
		}
		select {
		case <-exited:
			t.Fatalf("the CrowdSec Local API exited (%v):\n%s", waitErr, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the CrowdSec Local API did not listen on 127.0.0.1:%d within %v:\n%s", port, lapiTimeout, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return cs
}

func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	return port
}

// csEvent is the part of a CrowdSec event the test reads from the dumps.
type csEvent struct {
	Line struct {
		Raw string `yaml:"Raw"`
	} `yaml:"Line"`
	Parsed        map[string]any `yaml:"Parsed"`
	Meta          map[string]any `yaml:"Meta"`
	MarshaledTime string         `yaml:"MarshaledTime"`
}

// csParserDump is parser-dump.yaml: stage → parser → one result per event.
type csParserDump map[string]map[string][]struct {
	Evt     csEvent `yaml:"evt"`
	Success bool    `yaml:"success"`
}

// csOverflow is one entry of bucket-dump.yaml.
type csOverflow struct {
	Type     int `yaml:"Type"`
	Overflow struct {
		Sources map[string]any `yaml:"Sources"`
		Alert   struct {
			Scenario    string `yaml:"scenario"`
			EventsCount int    `yaml:"eventscount"`
			Capacity    int    `yaml:"capacity"`
			Leakspeed   string `yaml:"leakspeed"`
			Remediation bool   `yaml:"remediation"`
		} `yaml:"Alert"`
	} `yaml:"Overflow"`
}

// checkCrowdSec replays the log through crowdsec (time-machine mode,
// -dsn file://…) with -dump-data, the data `cscli explain` shows, and
// checks what the parser read from every line and which addresses
// overflowed the scenario's bucket. typ is the acquisition type:
// "jellyguard" for the log file itself, "syslog" for its lines behind a
// syslog header.
func checkCrowdSec(t *testing.T, cs *crowdSec, g *gatewayLog, typ string) {
	dir := t.TempDir()
	prefix, logPath := "", g.path
	if typ == "syslog" {
		prefix = "Nov 22 12:00:00 media jellyguard[4242]: "
		logPath = writePrefixedLines(t, dir, "syslog", prefix, g.lines)
	} else {
		typ = "jellyguard"
	}
	dump := filepath.Join(dir, "dump")
	if err := os.Mkdir(dump, 0o755); err != nil {
		t.Fatal(err)
	}
	res := runDeployTool(t, nil, cs.bin, "-c", cs.config, "-dsn", "file://"+logPath, "-type", typ, "-no-api", "-dump-data", dump)
	if res.code != 0 {
		t.Fatalf("crowdsec -dsn file://%s -type %s: exit %d\n%s\n%s", logPath, typ, res.code, res.stdout, res.stderr)
	}
	var parsers csParserDump
	readYAMLFile(t, filepath.Join(dump, "parser-dump.yaml"), &parsers)
	var overflows []csOverflow
	readYAMLFile(t, filepath.Join(dump, "bucket-dump.yaml"), &overflows)

	results := parsers["s01-parse"]["jellyguard/jellyguard-logs"]
	if len(results) != len(g.lines) {
		t.Errorf("the parser saw %d lines, the log has %d", len(results), len(g.lines))
	}
	byLine := map[string]failLine{}
	for _, f := range g.fails {
		byLine[prefix+f.raw] = f
	}
	parsed := 0
	for _, r := range results {
		f, isFail := byLine[r.Evt.Line.Raw]
		switch {
		case !isFail && r.Success:
			t.Errorf("the parser took a line that is not a failure: %s", r.Evt.Line.Raw)
		case isFail && !r.Success:
			t.Errorf("the parser did not take a failure line: %s", r.Evt.Line.Raw)
		case isFail:
			parsed++
			user := yamlString(r.Evt.Parsed["user"])
			if g.format == "text" {
				// The grok pattern keeps the user as written, escaped.
				if u, err := strconv.Unquote(`"` + user + `"`); err == nil {
					user = u
				}
			}
			if got := yamlString(r.Evt.Parsed["source_ip"]); got != f.ip {
				t.Errorf("source_ip %q, the line says %s: %s", got, f.ip, f.raw)
			}
			if got := yamlString(r.Evt.Meta["source_ip"]); got != f.ip {
				t.Errorf("Meta.source_ip %q, the line says %s: %s", got, f.ip, f.raw)
			}
			if user != f.user || yamlString(r.Evt.Parsed["reason"]) != f.reason {
				t.Errorf("user %q reason %q, the line says %q %q: %s", user, r.Evt.Parsed["reason"], f.user, f.reason, f.raw)
			}
			if got := yamlString(r.Evt.Meta["log_type"]); got != "jellyguard_failed_auth" {
				t.Errorf("Meta.log_type %q: %s", got, f.raw)
			}
			if f.user == injectionUser {
				t.Logf("injection attempt: source_ip %s", r.Evt.Parsed["source_ip"])
			}
		}
	}
	if parsed != len(g.fails) {
		t.Errorf("the parser took %d failure lines, the gateway wrote %d", parsed, len(g.fails))
	}
	// The date parser turns the line's own time into the event time.
	dated := 0
	for _, r := range parsers["s02-enrich"]["crowdsecurity/dateparse-enrich"] {
		f, ok := byLine[r.Evt.Line.Raw]
		if !ok || !r.Success {
			continue
		}
		when, err := time.Parse(time.RFC3339Nano, r.Evt.MarshaledTime)
		if err != nil || !when.Equal(f.time) {
			t.Errorf("event time %q (%v), the line says %v: %s", r.Evt.MarshaledTime, err, f.time, f.raw)
		}
		dated++
	}
	if dated != len(g.fails) {
		t.Errorf("%d failure events got their time from the line, want %d", dated, len(g.fails))
	}

	over := map[string]int{}
	for _, o := range overflows {
		if o.Type != 1 || o.Overflow.Alert.Scenario != "jellyguard/jellyguard-bf" {
			t.Errorf("bucket dump entry of type %d for scenario %q", o.Type, o.Overflow.Alert.Scenario)
			continue
		}
		if !o.Overflow.Alert.Remediation || o.Overflow.Alert.Capacity != 9 || o.Overflow.Alert.Leakspeed != "1m0s" {
			t.Errorf("overflow with remediation %v, capacity %d, leakspeed %s; want true, 9, 1m0s",
				o.Overflow.Alert.Remediation, o.Overflow.Alert.Capacity, o.Overflow.Alert.Leakspeed)
		}
		for ip := range o.Overflow.Sources {
			over[ip]++
			t.Logf("overflow: %s after %d events", ip, o.Overflow.Alert.EventsCount)
		}
	}
	counts := g.failCounts()
	for ip, n := range counts {
		// The run takes seconds; the bucket leaks one event a minute, so
		// 10 failures from one address overflow it once (then 5 minutes of
		// blackhole), 9 never do.
		if want := n >= 10; (over[ip] == 1) != want || over[ip] > 1 {
			t.Errorf("%s: %d failures, %d overflows of jellyguard/jellyguard-bf; want %v", ip, n, over[ip], map[bool]string{true: "1", false: "none"}[want])
		}
	}
	for ip := range over {
		if counts[ip] == 0 {
			t.Errorf("overflow for %s, which has no failure line", ip)
		}
	}
	if over[burstAddr] != 1 || over[belowAddr] != 0 || over[injectedAddr] != 0 {
		t.Errorf("overflows %v; want %s (10 failures) once, %s (9) and %s never", over, burstAddr, belowAddr, injectedAddr)
	}
}

func yamlString(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func readYAMLFile(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	if err := yaml.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", filepath.Base(path), err)
	}
}

// TestDeployConfigExample: deploy/config.example.yaml is exactly what
// `jellyguard config example` prints, and the binary accepts it.
func TestDeployConfigExample(t *testing.T) {
	path := filepath.Join(deployDir, "config.example.yaml")
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res := runCLI(t, "config", "example")
	if res.code != 0 {
		t.Fatalf("jellyguard config example: exit %d\n%s", res.code, res.stderr)
	}
	if res.stdout != string(file) {
		got, want := strings.Split(string(file), "\n"), strings.Split(res.stdout, "\n")
		line := 0
		for line < len(got) && line < len(want) && got[line] == want[line] {
			line++
		}
		t.Errorf("deploy/config.example.yaml differs from `jellyguard config example` from line %d:\n file:   %q\n binary: %q\n"+
			"regenerate it: go run ./cmd/jellyguard config example > deploy/config.example.yaml",
			line+1, lineOrEnd(got, line), lineOrEnd(want, line))
	}
	if res := runCLI(t, "config", "check", "--config", path); res.code != 0 {
		t.Errorf("jellyguard config check --config %s: exit %d\n%s%s", path, res.code, res.stdout, res.stderr)
	}
}

func lineOrEnd(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "(end of file)"
}

// unitDirectives reads the [Service] directives of deploy/jellyguard.service
// (repeated ones in order).
func unitDirectives(t *testing.T) map[string][]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(deployDir, "jellyguard.service"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	section := ""
	for _, l := range strings.Split(string(raw), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "["):
			section = l
		default:
			k, v, ok := strings.Cut(l, "=")
			if !ok {
				t.Fatalf("jellyguard.service: line %q is not key=value", l)
			}
			out[section+k] = append(out[section+k], v)
		}
	}
	return out
}

// unitEnv resolves the unit's Environment= lines with the specifiers
// systemd would expand (%E /etc, %S /var/lib, %L /var/log, %d the
// credentials directory) mapped under root.
func unitEnv(t *testing.T, dirs map[string]string) []string {
	t.Helper()
	var env []string
	for _, e := range unitDirectives(t)["[Service]Environment"] {
		for spec, dir := range dirs {
			e = strings.ReplaceAll(e, spec, dir)
		}
		if strings.Contains(e, "%") {
			t.Fatalf("Environment=%s uses a specifier the test does not map", e)
		}
		env = append(env, e)
	}
	return env
}

// TestDeploySystemdUnit checks deploy/jellyguard.service with
// systemd-analyze (verify, and the offline security score), its hardening
// directives, and that the JELLYGUARD_* variables it sets are the binary's
// configuration keys.
func TestDeploySystemdUnit(t *testing.T) {
	analyze := lookDeployTool(t, "systemd-analyze", "systemd")
	unit := unitDirectives(t)
	for key, want := range map[string]string{
		"[Service]ExecStart":               "/usr/local/bin/jellyguard serve",
		"[Service]DynamicUser":             "yes",
		"[Service]StateDirectory":          "jellyguard",
		"[Service]LogsDirectory":           "jellyguard",
		"[Service]ConfigurationDirectory":  "jellyguard",
		"[Service]NoNewPrivileges":         "yes",
		"[Service]ProtectSystem":           "strict",
		"[Service]ProtectHome":             "yes",
		"[Service]PrivateTmp":              "yes",
		"[Service]CapabilityBoundingSet":   "",
		"[Service]AmbientCapabilities":     "",
		"[Service]RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
		"[Service]LoadCredential":          "api-key:/etc/jellyguard/api-key",
		"[Install]WantedBy":                "multi-user.target",
	} {
		if got := unit[key]; len(got) != 1 || got[0] != want {
			t.Errorf("jellyguard.service: %s=%q, want exactly %q", key, got, want)
		}
	}
	if got := unit["[Service]SystemCallFilter"]; len(got) == 0 || got[0] != "@system-service" {
		t.Errorf("jellyguard.service: SystemCallFilter=%q, want @system-service first", got)
	}

	// systemd-analyze verify checks that ExecStart's binary exists: verify
	// a copy that runs the binary under test.
	dir := t.TempDir()
	raw, err := os.ReadFile(filepath.Join(deployDir, "jellyguard.service"))
	if err != nil {
		t.Fatal(err)
	}
	copyUnit := filepath.Join(dir, "jellyguard.service")
	text := strings.Replace(string(raw), "ExecStart=/usr/local/bin/jellyguard ", "ExecStart="+binPath+" ", 1)
	if err := os.WriteFile(copyUnit, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	res := runDeployTool(t, nil, analyze, "verify", copyUnit)
	// verify exits 0 on unknown keys and bad values, printing a warning.
	if res.code != 0 || strings.TrimSpace(res.stdout+res.stderr) != "" {
		t.Errorf("systemd-analyze verify jellyguard.service: exit %d, want 0 and no output:\n%s%s", res.code, res.stdout, res.stderr)
	}
	sec := runDeployTool(t, nil, analyze, "security", "--offline=yes", "--threshold=20", copyUnit)
	overall := regexp.MustCompile(`Overall exposure level for jellyguard.service: .*`).FindString(sec.stdout)
	t.Logf("systemd-analyze security --offline=yes: %s", overall)
	if sec.code != 0 || overall == "" {
		t.Errorf("systemd-analyze security --offline=yes --threshold=20: exit %d (exposure above 2.0?):\n%s%s", sec.code, sec.stdout, sec.stderr)
	}

	// The variables are configuration keys the binary reads: resolve them
	// under a temporary root, with the example config and an API key file
	// as the unit's LoadCredential hands it over (mode 0400).
	root := t.TempDir()
	dirs := map[string]string{
		"%E": filepath.Join(root, "etc"), "%S": filepath.Join(root, "var", "lib"),
		"%L": filepath.Join(root, "var", "log"), "%d": filepath.Join(root, "credentials"),
	}
	for _, d := range []string{filepath.Join(dirs["%E"], "jellyguard"), filepath.Join(dirs["%S"], "jellyguard"), filepath.Join(dirs["%L"], "jellyguard"), dirs["%d"]} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	copyFileTo(t, filepath.Join(deployDir, "config.example.yaml"), filepath.Join(dirs["%E"], "jellyguard", "jellyguard.yaml"))
	if err := os.WriteFile(filepath.Join(dirs["%d"], "api-key"), []byte("0123456789abcdef0123456789abcdef\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	env := unitEnv(t, dirs)
	check := runDeployTool(t, env, binPath, "config", "check")
	if check.code != 0 {
		t.Fatalf("jellyguard config check with the unit's environment %v: exit %d\n%s%s", env, check.code, check.stdout, check.stderr)
	}
	show := mustRunDeployTool(t, env, binPath, "config", "show").stdout
	var cfg struct {
		Data       string `yaml:"data"`
		APIKeyFile string `yaml:"api_key_file"`
		Log        struct {
			File string `yaml:"file"`
		} `yaml:"log"`
	}
	if err := yaml.Unmarshal([]byte(show), &cfg); err != nil {
		t.Fatalf("jellyguard config show: %v\n%s", err, show)
	}
	want := map[string]string{
		"data":         filepath.Join(dirs["%S"], "jellyguard"),
		"api_key_file": filepath.Join(dirs["%d"], "api-key"),
		"log.file":     filepath.Join(dirs["%L"], "jellyguard", "jellyguard.log"),
	}
	got := map[string]string{"data": cfg.Data, "api_key_file": cfg.APIKeyFile, "log.file": cfg.Log.File}
	for k := range want {
		if got[k] != want[k] {
			t.Errorf("with the unit's environment, %s = %q, want %q", k, got[k], want[k])
		}
	}
}

// TestDeployLogPathsAgree: the unit writes the log where the fail2ban
// jail and the CrowdSec acquisition read it.
func TestDeployLogPathsAgree(t *testing.T) {
	var logFile string
	for _, e := range unitEnv(t, map[string]string{"%E": "/etc", "%S": "/var/lib", "%L": "/var/log", "%d": "/run/credentials/jellyguard.service"}) {
		if v, ok := strings.CutPrefix(e, "JELLYGUARD_LOG_FILE="); ok {
			logFile = v
		}
	}
	if logFile != "/var/log/jellyguard/jellyguard.log" {
		t.Errorf("jellyguard.service sets JELLYGUARD_LOG_FILE=%q, want /var/log/jellyguard/jellyguard.log", logFile)
	}
	jail, err := os.ReadFile(filepath.Join(deployDir, "fail2ban", "jail.d", "jellyguard.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`(?m)^logpath\s*=\s*(\S+)\s*$`).FindSubmatch(jail); m == nil || string(m[1]) != logFile {
		t.Errorf("fail2ban jail logpath %q, the unit writes %s", m, logFile)
	}
	var acquis struct {
		Filenames []string          `yaml:"filenames"`
		Labels    map[string]string `yaml:"labels"`
	}
	readYAMLFile(t, filepath.Join(deployDir, "crowdsec", "acquis.d", "jellyguard.yaml"), &acquis)
	if !slices.Equal(acquis.Filenames, []string{logFile}) || acquis.Labels["type"] != "jellyguard" {
		t.Errorf("CrowdSec acquisition %+v, want filenames [%s] with type jellyguard", acquis, logFile)
	}
}
