package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/jellyfin/fake"
	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/store/sqlite"
	"github.com/jellyguard/jellyguard/internal/testkit"
	"github.com/jellyguard/jellyguard/internal/tokens"
)

// crashRounds bounds the crash test: each round runs the workload for a
// random moment, then kills serve with SIGKILL.
const crashRounds = 6

// crashWorld is the emulator (in this process, so it outlives every kill),
// the data directory and what the workload was told succeeded.
type crashWorld struct {
	fake    *fake.Server
	fakeURL string
	dir     string
	cfg     string
	apiKey  string
	listen  string

	mu       sync.Mutex
	tokens   map[string]string // acknowledged sign-ins: token → device name
	revoked  map[string]bool   // acknowledged revocations (token)
	bans     map[string]bool   // acknowledged bans (address)
	enrolled map[string]int    // acknowledged enrollments per user

	lastFailure string // the last admin command that failed on its own
	// down makes the emulator answer 503 to everything, as a restarting
	// Jellyfin does: logouts tried then must be tried again later.
	down atomic.Bool
}

// TestCrashLosesNothingAcknowledged kills serve (and admin commands) with
// SIGKILL at random moments during sign-ins, bans, enrollments and
// revocations. After a restart every acknowledged write is there, every
// revoked token is refused by the gateway and logged out in the emulator
// within seconds, nobody is half-enrolled, and every state change has its
// audit event in an intact chain.
func TestCrashLosesNothingAcknowledged(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 1)) //nolint:gosec // test workload timing, not a secret
	w := newCrashWorld(t)
	for round := range crashRounds {
		srv := w.startServe(t)
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for _, work := range []func(context.Context, int){w.signIns, w.banning, w.revoking} {
			wg.Add(1)
			go func() { defer wg.Done(); work(ctx, round) }()
		}
		wg.Add(1)
		go func() { defer wg.Done(); w.enrolling(ctx, rng.IntN(400)) }()
		time.Sleep(time.Duration(300+rng.IntN(600)) * time.Millisecond)
		w.down.Store(true) // revocations from here on cannot log out yet
		time.Sleep(time.Duration(200+rng.IntN(600)) * time.Millisecond)
		_ = srv.Process.Kill()
		_ = srv.Wait()
		stop()
		wg.Wait()
		w.down.Store(false)
	}
	srv := w.startServe(t)
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	w.check(t)
}

func newCrashWorld(t *testing.T) *crashWorld {
	t.Helper()
	f := fake.New(fake.Options{})
	f.UpdateNetwork(func(n *fake.NetworkConfig) { n.KnownProxies = []string{"127.0.0.1"} })
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		f.AddUser(u, u+"-password", false)
	}
	w0 := &crashWorld{}
	ts := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if w0.down.Load() {
			http.Error(rw, "", http.StatusServiceUnavailable) // Jellyfin restarting
			return
		}
		f.ServeHTTP(rw, r)
	}))
	t.Cleanup(ts.Close)
	w := w0
	w.fake, w.fakeURL, w.dir, w.apiKey = f, ts.URL, t.TempDir(), f.AddAPIKey("jellyguard")
	w.tokens, w.revoked, w.bans, w.enrolled = map[string]string{}, map[string]bool{}, map[string]bool{}, map[string]int{}
	w.listen = fmt.Sprintf("127.0.0.1:%d", freeLoopbackPort(t))
	w.cfg = filepath.Join(w.dir, "config.yaml")
	cfg := fmt.Sprintf("listen: %q\nupstream: %q\ndata: %q\ntrusted_proxies: [\"127.0.0.1\"]\n"+
		"shield:\n  logins_per_minute: 100000\n  user_failures: 100000\n  ban_failures: 100000\n",
		w.listen, w.fakeURL, filepath.Join(w.dir, "data"))
	if err := os.WriteFile(w.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *crashWorld) env() []string { return append(os.Environ(), "JELLYGUARD_API_KEY="+w.apiKey) }

// startServe starts serve and waits until it answers.
func (w *crashWorld) startServe(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(binPath, "serve", "--config", w.cfg)
	cmd.Env = w.env()
	var logs testkit.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !testkit.Eventually(startTimeout, func() bool {
		resp, err := http.Get("http://" + w.listen + "/jellyguard/health")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}) {
		_ = cmd.Process.Kill()
		t.Fatalf("serve did not come up:\n%s", logs.String())
	}
	return cmd
}

// signIns signs users in with device names unique to each sign-in, and
// remembers each token the gateway handed out.
func (w *crashWorld) signIns(ctx context.Context, round int) {
	for i := 0; ctx.Err() == nil; i++ {
		user := []string{"alice", "bob"}[i%2]
		device := fmt.Sprintf("crash-%d-%d", round, i)
		body := fmt.Sprintf(`{"Username":%q,"Pw":%q}`, user, user+"-password")
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+w.listen+"/Users/AuthenticateByName", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", fmt.Sprintf(`MediaBrowser Client="crash", Device=%q, DeviceId=%q, Version="1"`, device, device))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			continue
		}
		var res struct{ AccessToken string }
		_ = json.NewDecoder(resp.Body).Decode(&res)
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK && res.AccessToken != "" {
			w.mu.Lock()
			w.tokens[res.AccessToken] = device
			w.mu.Unlock()
		}
	}
}

// cli runs an admin command to its end (or until killAfter, when set: a
// SIGKILL wherever it is); it counts as acknowledged on exit 0.
func (w *crashWorld) cli(killAfter time.Duration, args ...string) (string, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, append(args, "--config", w.cfg)...)
	cmd.Env = w.env()
	var out bytes.Buffer
	var errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		return "", false
	}
	if killAfter > 0 {
		timer := time.AfterFunc(killAfter, func() { _ = cmd.Process.Kill() })
		defer timer.Stop()
	}
	err := cmd.Wait()
	if err != nil && killAfter == 0 {
		w.mu.Lock()
		w.lastFailure = fmt.Sprintf("jellyguard %s: %v: %s", strings.Join(args, " "), err, errOut.String())
		w.mu.Unlock()
	}
	return out.String(), err == nil
}

func (w *crashWorld) banning(ctx context.Context, round int) {
	for i := 0; ctx.Err() == nil; i++ {
		addr := fmt.Sprintf("198.18.%d.%d", round, i%250)
		if _, ok := w.cli(killEveryThird(i), "ban", "add", addr, "--reason", "crash test"); ok {
			w.mu.Lock()
			w.bans[addr] = true
			w.mu.Unlock()
		}
	}
}

func (w *crashWorld) revoking(ctx context.Context, _ int) {
	for ctx.Err() == nil {
		token := w.someLiveToken()
		if token == "" {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		h := tokens.HashOf(token).String()
		if _, ok := w.cli(killEveryThird(len(h)+int(time.Now().UnixNano()%3)), "token", "revoke", h); ok {
			w.mu.Lock()
			w.revoked[token] = true
			w.mu.Unlock()
		}
	}
}

// killEveryThird is how long every third admin command may run before it
// is killed (0: to its end): long enough to start, short enough to die
// anywhere in its work.
func killEveryThird(i int) time.Duration {
	if i%3 != 2 {
		return 0
	}
	return time.Duration(20+(i*37)%180) * time.Millisecond
}

func (w *crashWorld) someLiveToken() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	for tok := range w.tokens {
		if !w.revoked[tok] {
			return tok
		}
	}
	return ""
}

// enrolling enrolls carol and dave from the command line; every other run
// is killed after killMs milliseconds, wherever it is.
func (w *crashWorld) enrolling(ctx context.Context, killMs int) {
	for i := 0; ctx.Err() == nil; i++ {
		user := []string{"carol", "dave"}[i%2]
		kill := time.Duration(0)
		if i%2 == 1 {
			kill = time.Duration(killMs) * time.Millisecond
		}
		if out, ok := w.cli(kill, "user", "totp", user); ok && strings.Contains(out, "otpauth://") {
			w.mu.Lock()
			w.enrolled[user]++
			w.mu.Unlock()
		}
	}
}

var auditTokenNote = regexp.MustCompile(`token ([0-9a-f]+) revoked`)

func (w *crashWorld) check(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(w.dir, "data", "jellyguard.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	evs, err := st.Audit(ctx, store.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	w.checkTokens(t, st, evs)
	w.checkBans(t, st, evs)
	w.checkEnrollments(t, st, evs)
	if r := runCLI(t, "audit", "verify", "--config", w.cfg); r.code != 0 {
		t.Errorf("audit verify: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	t.Logf("last admin command that failed by itself: %s", w.lastFailure)
	t.Logf("acknowledged: %d sign-ins, %d revocations, %d bans, enrollments %v; %d audit events",
		len(w.tokens), len(w.revoked), len(w.bans), w.enrolled, len(evs))
	if len(w.tokens) == 0 || len(w.bans) == 0 || len(w.revoked) == 0 {
		t.Fatal("the workload acknowledged too little to test anything")
	}
}

func (w *crashWorld) checkTokens(t *testing.T, st *sqlite.Store, evs []store.AuditEvent) {
	t.Helper()
	ctx := context.Background()
	devices := map[string]bool{} // devices a signin.success event names
	revokedEvents := map[string]bool{}
	for _, ev := range evs {
		switch ev.Kind {
		case "signin.success":
			if _, rest, ok := strings.Cut(ev.Detail, `device "`); ok {
				dev, _, _ := strings.Cut(rest, `"`)
				devices[dev] = true
			}
		case "token.revoked":
			if m := auditTokenNote.FindStringSubmatch(ev.Detail); m != nil {
				revokedEvents[m[1]] = true
			}
		}
	}
	for token, device := range w.tokens {
		rec, err := st.Token(ctx, tokens.HashOf(token))
		if err != nil {
			t.Errorf("acknowledged sign-in on %s lost: %v", device, err)
			continue
		}
		if !devices[device] {
			t.Errorf("sign-in on %s has no signin.success audit event", device)
		}
		if w.revoked[token] {
			if !rec.Revoked() {
				t.Errorf("acknowledged revocation of %s's token lost", device)
			}
			if !revokedEvents[tokens.Hash(rec.Hash).Short()] {
				t.Errorf("revocation of %s's token has no token.revoked audit event", device)
			}
		}
	}
	// Every revoked token is refused by the gateway and, within seconds of
	// the gateway being up with Jellyfin reachable, logged out in Jellyfin.
	for token := range w.revoked {
		if s := w.status(t, token); s != http.StatusUnauthorized {
			t.Errorf("a revoked token got %d from the gateway", s)
		}
	}
	if !testkit.Eventually(20*time.Second, func() bool {
		for token := range w.revoked {
			if w.fake.TokenValid(token) {
				return false
			}
		}
		return true
	}) {
		n := 0
		for token := range w.revoked {
			if w.fake.TokenValid(token) {
				n++
			}
		}
		t.Errorf("%d of %d revoked tokens are still valid in Jellyfin 20 s after the restart", n, len(w.revoked))
	}
}

func (w *crashWorld) status(t *testing.T, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+w.listen+"/Users/Me", nil)
	req.Header.Set("Authorization", `MediaBrowser Token="`+token+`"`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func (w *crashWorld) checkBans(t *testing.T, st *sqlite.Store, evs []store.AuditEvent) {
	t.Helper()
	added := map[string]bool{}
	for _, ev := range evs {
		if ev.Kind == "ban.added" {
			added[ev.IP] = true
		}
	}
	all, err := st.Bans(context.Background(), time.Now(), true)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, b := range all {
		stored[b.Prefix] = true
		if !added[b.Prefix] {
			t.Errorf("ban of %s has no ban.added audit event", b.Prefix)
		}
	}
	for addr := range w.bans {
		if !stored[addr+"/32"] {
			t.Errorf("acknowledged ban of %s lost", addr)
		}
	}
}

func (w *crashWorld) checkEnrollments(t *testing.T, st *sqlite.Store, evs []store.AuditEvent) {
	t.Helper()
	ctx := context.Background()
	events := map[string]int{}
	for _, ev := range evs {
		if ev.Kind == "factor.enrolled" {
			events[ev.UserName]++
		}
	}
	for _, user := range []string{"carol", "dave"} {
		acct, err := st.AccountByName(ctx, strings.ToUpper(user))
		if err != nil {
			if w.enrolled[user] > 0 {
				t.Errorf("%s: acknowledged enrollment lost: %v", user, err)
			}
			continue
		}
		totp, err := st.TOTP(ctx, acct.UserID)
		codes, cerr := st.RecoveryCodes(ctx, acct.UserID)
		if cerr != nil {
			t.Fatal(cerr)
		}
		switch {
		case err != nil && w.enrolled[user] > 0:
			t.Errorf("%s: acknowledged enrollment lost: %v", user, err)
		case err == nil && (!totp.Confirmed || len(codes) != 10):
			t.Errorf("%s half-enrolled: confirmed %v, %d recovery codes", user, totp.Confirmed, len(codes))
		case err == nil && events[user] == 0:
			t.Errorf("%s is enrolled without a factor.enrolled audit event", user)
		}
		if events[user] < w.enrolled[user] {
			t.Errorf("%s: %d acknowledged enrollments, %d audit events", user, w.enrolled[user], events[user])
		}
	}
}
