package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/jellyfin/fake"
)

const (
	streamSize    = int64(1) << 30 // the emulator's video stream: 1 GiB
	rssGrowth     = 32 << 20       // how much the demo process may grow while streaming
	rssSampleRate = 100 * time.Millisecond
)

// publicInfo is the part of /System/Info/Public the tests check.
type publicInfo struct {
	ProductName string `json:"ProductName"`
	ID          string `json:"Id"`
	Version     string `json:"Version"`
	ServerName  string `json:"ServerName"`
}

func getPublicInfo(t *testing.T, base string) publicInfo {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %q: %v", base, err)
	}
	u = u.ResolveReference(&url.URL{Path: "/System/Info/Public"})
	resp, body := get(t, u.String(), "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d, want 200; body: %.300s", u, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, "json") {
		t.Errorf("GET %s: Content-Type %q, want JSON", u, ct)
	}
	var info publicInfo
	if err := json.Unmarshal(body, &info); err != nil {
		t.Fatalf("GET %s: body is not JSON: %v; body: %.300s", u, err, body)
	}
	if info.ProductName != "Jellyfin Server" {
		t.Errorf("GET %s: ProductName %q, want %q", u, info.ProductName, "Jellyfin Server")
	}
	if !hex32.MatchString(info.ID) {
		t.Errorf("GET %s: Id %q, want 32 lowercase hex digits", u, info.ID)
	}
	return info
}

var urlInText = regexp.MustCompile(`https?://[^\s"'<>()\[\]]+`)

func TestDemoPrintsWorkingURL(t *testing.T) {
	// Human mode, as someone trying jellyguard for the first time runs it.
	// HOME and the XDG directories point at a temporary directory so that
	// whatever the demo keeps by default stays out of the real home.
	home := t.TempDir()
	env := []string{
		"HOME=" + home,
		"XDG_DATA_HOME=" + filepath.Join(home, "data"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
		"XDG_STATE_HOME=" + filepath.Join(home, "state"),
		"XDG_CACHE_HOME=" + filepath.Join(home, "cache"),
	}
	p := startProc(t, "demo (human)", home, env,
		"demo", "--listen", "127.0.0.1:0", "--jellyfin-listen", "127.0.0.1:0")

	deadline := time.Now().Add(startTimeout)
	var text strings.Builder
	var open string
	for open == "" {
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("demo printed no line with %q and a URL within %v; stdout so far:\n%s", "Open", startTimeout, text.String())
		}
		text.WriteString(p.nextLine(t, left))
		text.WriteString("\n")
		s := text.String()
		if i := strings.Index(s, "Open"); i >= 0 {
			if m := urlInText.FindString(s[i:]); m != "" {
				open = strings.TrimRight(m, ".,;:!")
			}
		}
	}
	t.Logf("demo says: Open %s", open)
	u, err := url.Parse(open)
	if err != nil {
		t.Fatalf("the printed URL %q does not parse: %v", open, err)
	}
	if host, port, err := net.SplitHostPort(u.Host); err != nil || host != "127.0.0.1" || port == "0" {
		t.Errorf("the printed URL %q: want host 127.0.0.1 and the real (non-zero) port", open)
	}
	getPublicInfo(t, open)
	p.stop(t)

	// JSON mode: the gateway answers with the emulator's identity.
	d := startDemo(t)
	viaGateway := getPublicInfo(t, d.Gateway)
	direct := getPublicInfo(t, d.Jellyfin)
	if viaGateway.ID != direct.ID {
		t.Errorf("server Id through the gateway %q, directly %q: want the same", viaGateway.ID, direct.ID)
	}
}

func TestSDKSignInAndListItems(t *testing.T) {
	d := startDemo(t)
	start := time.Now()
	res := mustSignIn(t, d, "alice")
	t.Logf("@jellyfin/sdk sign-in + items + views through the gateway: %v", time.Since(start).Round(time.Millisecond))
	if !hex32.MatchString(res.UserID) {
		t.Errorf("userId %q, want 32 lowercase hex digits", res.UserID)
	}
	if res.Items <= 0 {
		t.Errorf("getItems({recursive:true}) returned %d items, want > 0", res.Items)
	}
	if res.Views <= 0 {
		t.Errorf("getUserViews returned %d views, want > 0", res.Views)
	}
	t.Logf("alice sees %d items and %d views: %q", res.Items, res.Views, res.ItemNames)

	bad := signIn(t, d.Gateway, "alice", d.password(t, "alice")+"-wrong", "")
	if bad.OK || bad.Status != http.StatusUnauthorized || bad.Token != "" {
		t.Errorf("sign-in with a wrong password: ok=%v status=%d token=%q, want ok=false status=401 and no token",
			bad.OK, bad.Status, bad.Token)
	}

	hash := sha256Hex(res.Token)
	rows := tokenList(t, d)
	row, ok := findToken(rows, hash)
	if !ok {
		t.Fatalf("jellyguard token list --json has no token with hash %s (sha256 of alice's token); rows: %+v", hash, rows)
	}
	if row.User != "alice" {
		t.Errorf("token %s: user %q, want alice (row %+v)", hash[:12], row.User, row)
	}
	if row.IP != "127.0.0.1" {
		t.Errorf("token %s: IP %q, want 127.0.0.1 (row %+v)", hash[:12], row.IP, row)
	}
	if row.Source != "login" {
		t.Errorf("token %s: source %q, want login (row %+v)", hash[:12], row.Source, row)
	}
}

// usersMe returns the status of GET <base>/Users/Me with the token.
func usersMe(t *testing.T, base, token string) (int, []byte) {
	t.Helper()
	resp, body := get(t, base+"/Users/Me", token, nil)
	return resp.StatusCode, body
}

func TestRevokedTokenIsRefusedAndLoggedOut(t *testing.T) {
	d := startDemo(t)
	res := mustSignIn(t, d, "alice")

	code, body := usersMe(t, d.Gateway, res.Token)
	if code != http.StatusOK {
		t.Fatalf("GET /Users/Me through the gateway with the new token: %d, want 200; body: %.300s", code, body)
	}
	var me struct{ Name, Id string }
	if err := json.Unmarshal(body, &me); err != nil || me.Name != "alice" || me.Id != res.UserID {
		t.Errorf("GET /Users/Me: Name=%q Id=%q (%v), want alice/%s", me.Name, me.Id, err, res.UserID)
	}
	if code, body := usersMe(t, d.Jellyfin, res.Token); code != http.StatusOK {
		t.Fatalf("GET /Users/Me at the emulator with the new token: %d, want 200 before revocation; body: %.300s", code, body)
	}

	prefix := sha256Hex(res.Token)[:12]
	revoked := time.Now()
	out := runCLI(t, "token", "revoke", prefix, "--config", d.Config)
	if out.code != 0 {
		t.Fatalf("jellyguard token revoke %s --config %s: exit %d, want 0\nstdout: %s\nstderr: %s",
			prefix, d.Config, out.code, out.stdout, out.stderr)
	}
	t.Logf("token revoke took %v: %s", time.Since(revoked).Round(time.Millisecond), strings.TrimSpace(out.stdout))

	deadline := revoked.Add(revokeDeadline)
	gatewayCode, jellyfinCode := 0, 0
	var gatewayAt, jellyfinAt time.Duration
	for {
		if gatewayCode != http.StatusUnauthorized {
			if gatewayCode, _ = usersMe(t, d.Gateway, res.Token); gatewayCode == http.StatusUnauthorized {
				gatewayAt = time.Since(revoked)
			}
		}
		if jellyfinCode != http.StatusUnauthorized {
			if jellyfinCode, _ = usersMe(t, d.Jellyfin, res.Token); jellyfinCode == http.StatusUnauthorized {
				jellyfinAt = time.Since(revoked)
			}
		}
		if (gatewayCode == http.StatusUnauthorized && jellyfinCode == http.StatusUnauthorized) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if gatewayCode != http.StatusUnauthorized {
		t.Errorf("GET /Users/Me through the gateway %v after token revoke: %d, want 401", revokeDeadline, gatewayCode)
	} else {
		t.Logf("gateway refuses the revoked token %v after the revoke command started", gatewayAt.Round(time.Millisecond))
	}
	if jellyfinCode != http.StatusUnauthorized {
		t.Errorf("GET /Users/Me directly at the emulator %v after token revoke: %d, want 401 (token logged out in Jellyfin)",
			revokeDeadline, jellyfinCode)
	} else {
		t.Logf("emulator refuses the revoked token %v after the revoke command started", jellyfinAt.Round(time.Millisecond))
	}
}

// item is the part of a BaseItemDto the tests use.
type item struct {
	ID        string `json:"Id"`
	Name      string `json:"Name"`
	Type      string `json:"Type"`
	MediaType string `json:"MediaType"`
}

// findLargeStream lists the user's items through the gateway and returns the
// id of the first one whose /Videos/{id}/stream is the 1 GiB stream.
func findLargeStream(t *testing.T, d *demo, res sdkSignIn) item {
	t.Helper()
	q := url.Values{"userId": {res.UserID}, "recursive": {"true"}}
	resp, body := get(t, d.Gateway+"/Items?"+q.Encode(), res.Token, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /Items through the gateway: %d, want 200; body: %.300s", resp.StatusCode, body)
	}
	var list struct{ Items []item }
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatalf("GET /Items: %v; body: %.300s", err, body)
	}
	rank := func(it item) int {
		switch {
		case it.Type == "Movie":
			return 0
		case it.MediaType == "Video":
			return 1
		default:
			return 2
		}
	}
	sort.SliceStable(list.Items, func(i, j int) bool { return rank(list.Items[i]) < rank(list.Items[j]) })
	wantRange := fmt.Sprintf("bytes 0-0/%d", streamSize)
	var probed []string
	for _, it := range list.Items {
		resp, _ := get(t, streamURL(d.Gateway, it.ID), res.Token, map[string]string{"Range": "bytes=0-0"})
		cr := resp.Header.Get("Content-Range")
		probed = append(probed, fmt.Sprintf("%s %q (%s): %d %q", it.ID, it.Name, it.Type, resp.StatusCode, cr))
		if resp.StatusCode == http.StatusPartialContent && cr == wantRange {
			t.Logf("streaming item %s %q (%s)", it.ID, it.Name, it.Type)
			return it
		}
	}
	t.Fatalf("no item has a %d-byte stream at /Videos/{id}/stream; probed:\n%s", streamSize, strings.Join(probed, "\n"))
	return item{}
}

func streamURL(base, id string) string {
	return base + "/Videos/" + url.PathEscape(id) + "/stream?static=true"
}

func TestRangedStreamThroughGateway(t *testing.T) {
	d := startDemo(t)
	res := mustSignIn(t, d, "alice")
	it := findLargeStream(t, d, res)

	const first, last = int64(536870912), int64(536936447)
	start := time.Now()
	resp, body := get(t, streamURL(d.Gateway, it.ID), res.Token,
		map[string]string{"Range": fmt.Sprintf("bytes=%d-%d", first, last)})
	t.Logf("ranged GET of 64 KiB at 512 MiB: %v", time.Since(start).Round(time.Millisecond))
	if resp.StatusCode != http.StatusPartialContent {
		t.Fatalf("ranged GET: status %d, want 206", resp.StatusCode)
	}
	wantCR := fmt.Sprintf("bytes %d-%d/%d", first, last, streamSize)
	if cr := resp.Header.Get("Content-Range"); cr != wantCR {
		t.Errorf("Content-Range %q, want %q", cr, wantCR)
	}
	if cl := resp.Header.Get("Content-Length"); cl != "" && cl != "65536" {
		t.Errorf("Content-Length %q, want 65536", cl)
	}
	if len(body) != int(last-first+1) {
		t.Fatalf("ranged GET: %d bytes, want %d", len(body), last-first+1)
	}
	for i, b := range body {
		if want := fake.StreamByte(first + int64(i)); b != want {
			t.Fatalf("byte at offset %d is %#02x, want %#02x (fake.StreamByte)", first+int64(i), b, want)
		}
	}
}

// upgradeStatus sends a WebSocket upgrade request to u with a plain HTTP
// client and returns the status of the answer.
func upgradeStatus(t *testing.T, u string) int {
	t.Helper()
	key := make([]byte, 16)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", base64.StdEncoding.EncodeToString(key))
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("upgrade request to %s: %v", u, err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func TestWebSocketThroughGateway(t *testing.T) {
	d := startDemo(t)
	res := mustSignIn(t, d, "alice")

	start := time.Now()
	ws := runNode(t, "socket.mjs", d.Gateway, res.Token)
	t.Logf("@jellyfin/sdk-style socket through the gateway: %v, %v", time.Since(start).Round(time.Millisecond), ws)
	if ws["ok"] != true {
		t.Fatalf("socket.mjs through the gateway: %v, want ok", ws)
	}
	if ws["forceKeepAlive"] != float64(60) {
		t.Errorf("ForceKeepAlive Data = %v, want 60", ws["forceKeepAlive"])
	}
	if ws["keepAlive"] != true {
		t.Errorf("no KeepAlive answer: %v", ws)
	}

	for _, c := range []struct{ name, path string }{
		{"no token", "/socket"},
		{"unknown token", "/socket?ApiKey=" + strings.Repeat("0", 31) + "1"},
	} {
		code := upgradeStatus(t, d.Gateway+c.path)
		t.Logf("WebSocket upgrade with %s through the gateway: %d", c.name, code)
		if code != http.StatusUnauthorized && code != http.StatusForbidden {
			t.Errorf("WebSocket upgrade with %s through the gateway: %d, want 401 or 403", c.name, code)
		}
	}
}

// rssBytes reads VmRSS of pid from /proc.
func rssBytes(pid int) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == "VmRSS:" && f[2] == "kB" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return 0, err
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no VmRSS line", pid)
}

func TestLargeStreamIsNotBuffered(t *testing.T) {
	d := startDemo(t)
	pid := d.cmd.Process.Pid
	before, err := rssBytes(pid)
	if err != nil {
		t.Fatalf("cannot read the demo's memory from /proc (this test needs Linux): %v", err)
	}
	res := mustSignIn(t, d, "alice")
	it := findLargeStream(t, d, res)

	ctx, cancel := context.WithTimeout(context.Background(), largeStreamTime)
	defer cancel()

	var (
		mu      sync.Mutex
		peak    int64
		samples int
		readErr error
	)
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(rssSampleRate)
		defer tick.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-tick.C:
				rss, err := rssBytes(pid)
				mu.Lock()
				if err != nil {
					readErr = err
				} else {
					samples++
					peak = max(peak, rss)
				}
				mu.Unlock()
			}
		}
	}()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, streamURL(d.Gateway, it.ID), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", `MediaBrowser Token="`+res.Token+`"`)
	start := time.Now()
	resp, err := httpClient.Do(req)
	if err != nil {
		close(stopSampling)
		<-sampled
		t.Fatalf("GET the whole stream: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		close(stopSampling)
		<-sampled
		t.Fatalf("GET the whole stream: status %d, want 200", resp.StatusCode)
	}
	if cl := resp.Header.Get("Content-Length"); cl != "" && cl != strconv.FormatInt(streamSize, 10) {
		t.Errorf("Content-Length %q, want %d", cl, streamSize)
	}

	// Offsets checked against fake.StreamByte: both ends, the 512 MiB mark,
	// chunk boundaries and a spread of odd places.
	checks := []int64{0, 1, 4095, 4096, 65535, 65536, 1<<20 - 1, 1 << 20, streamSize/2 - 1, streamSize / 2, streamSize - 2, streamSize - 1}
	for i := uint64(1); i <= 64; i++ {
		checks = append(checks, int64((i*0x9E3779B97F4A7C15>>7)%uint64(streamSize)))
	}
	sort.Slice(checks, func(i, j int) bool { return checks[i] < checks[j] })
	next := 0
	var n int64
	var mismatch string
	buf := make([]byte, 256<<10)
	for {
		k, err := resp.Body.Read(buf)
		for next < len(checks) && checks[next] < n+int64(k) {
			off := checks[next]
			if got, want := buf[off-n], fake.StreamByte(off); got != want && mismatch == "" {
				mismatch = fmt.Sprintf("byte at offset %d is %#02x, want %#02x", off, got, want)
			}
			next++
		}
		n += int64(k)
		if err == io.EOF {
			break
		}
		if err != nil {
			close(stopSampling)
			<-sampled
			t.Fatalf("reading the stream after %d bytes (%v): %v", n, time.Since(start).Round(time.Millisecond), err)
		}
	}
	elapsed := time.Since(start)
	close(stopSampling)
	<-sampled

	t.Logf("streamed %d bytes in %v (%.0f MiB/s)", n, elapsed.Round(time.Millisecond), float64(n)/(1<<20)/elapsed.Seconds())
	t.Logf("demo process VmRSS: %.1f MiB before, peak %.1f MiB over %d samples", float64(before)/(1<<20), float64(peak)/(1<<20), samples)
	if n != streamSize {
		t.Errorf("received %d bytes, want %d", n, streamSize)
	}
	if next != len(checks) {
		t.Errorf("only %d of %d sampled offsets were reached", next, len(checks))
	}
	if mismatch != "" {
		t.Errorf("stream content: %s", mismatch)
	}
	if readErr != nil {
		t.Errorf("sampling the demo's memory: %v", readErr)
	}
	if samples == 0 {
		t.Errorf("no memory sample was taken while streaming")
	}
	// The demo's own size varies (its enrolled user cost slow hashes at
	// start); what buffering would show is growth while the stream runs.
	if peak-before >= rssGrowth {
		t.Errorf("demo process VmRSS grew from %.1f to %.1f MiB while streaming 1 GiB, want less than %d MiB growth: the stream is being buffered",
			float64(before)/(1<<20), float64(peak)/(1<<20), rssGrowth>>20)
	}
}

// rawLogin POSTs a login to exactly rawPath (no cleaning, no re-encoding) on
// the server at hostport over a fresh connection.
func rawLogin(t *testing.T, hostport, rawPath, auth string, body []byte) (int, []byte) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", hostport, requestTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", hostport, err)
	}
	defer func() { _ = conn.Close() }()
	if err := conn.SetDeadline(time.Now().Add(requestTimeout)); err != nil {
		t.Fatal(err)
	}
	var req bytes.Buffer
	fmt.Fprintf(&req, "POST %s HTTP/1.1\r\n", rawPath)
	fmt.Fprintf(&req, "Host: %s\r\n", hostport)
	fmt.Fprintf(&req, "Authorization: %s\r\n", auth)
	fmt.Fprintf(&req, "Content-Type: application/json\r\n")
	fmt.Fprintf(&req, "Content-Length: %d\r\n", len(body))
	fmt.Fprintf(&req, "Connection: close\r\n\r\n")
	req.Write(body)
	if _, err := conn.Write(req.Bytes()); err != nil {
		t.Fatalf("POST %s: write: %v", rawPath, err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: http.MethodPost})
	if err != nil {
		t.Fatalf("POST %s: reading the response: %v", rawPath, err)
	}
	defer func() { _ = resp.Body.Close() }()
	respBody, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("POST %s: reading the body: %v", rawPath, err)
	}
	return resp.StatusCode, respBody
}

func TestLoginPathVariantsAreRecorded(t *testing.T) {
	d := startDemo(t)
	gw, err := url.Parse(d.Gateway)
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(map[string]string{"Username": "bob", "Pw": d.password(t, "bob")})
	if err != nil {
		t.Fatal(err)
	}
	variants := []string{
		"/Users/AuthenticateByName",
		"/users/authenticatebyname",
		"/emby/Users/AuthenticateByName",
		"/MediaBrowser/USERS/AuthenticateByName/",
		"/web/%2e%2e/Users/AuthenticateByName",
		"/%55sers/AuthenticateByName",
		"//Users/AuthenticateByName",
		"/Users%2FAuthenticateByName",
	}
	type outcome struct {
		path  string
		code  int
		token string
	}
	var outcomes []outcome
	for i, p := range variants {
		auth := fmt.Sprintf(`MediaBrowser Client="e2e", Device="d", DeviceId="e2e-path-%d", Version="1"`, i)
		code, resp := rawLogin(t, gw.Host, p, auth, body)
		o := outcome{path: p, code: code}
		if code == http.StatusOK {
			var ok struct{ AccessToken string }
			if err := json.Unmarshal(resp, &ok); err != nil || !hex32.MatchString(ok.AccessToken) {
				t.Errorf("POST %s: 200 without a 32-hex AccessToken (%v); body: %.300s", p, err, resp)
			}
			o.token = ok.AccessToken
		} else if bytes.Contains(bytes.ToLower(resp), []byte("accesstoken")) {
			t.Errorf("POST %s: status %d, but the body carries an AccessToken: %.300s", p, code, resp)
		}
		outcomes = append(outcomes, o)
	}
	if outcomes[0].code != http.StatusOK {
		t.Fatalf("POST /Users/AuthenticateByName (the canonical path) through the gateway: %d, want 200", outcomes[0].code)
	}

	rows := tokenList(t, d)
	routed := 0
	for _, o := range outcomes {
		if o.code != http.StatusOK {
			t.Logf("%-42s -> %d (not routed to a login)", o.path, o.code)
			continue
		}
		routed++
		t.Logf("%-42s -> 200, token %s…", o.path, sha256Hex(o.token)[:12])
		if o.token == "" {
			continue
		}
		row, ok := findToken(rows, sha256Hex(o.token))
		if !ok {
			t.Errorf("POST %s answered 200 with a token the gateway did not record: sha256 %s is not in jellyguard token list --json",
				o.path, sha256Hex(o.token))
			continue
		}
		if row.User != "bob" || row.Source != "login" {
			t.Errorf("POST %s: token recorded with user %q source %q, want bob/login (row %+v)", o.path, row.User, row.Source, row)
		}
	}
	t.Logf("%d of %d login path variants were routed to a login and each 200 was checked against the token list", routed, len(variants))
}
