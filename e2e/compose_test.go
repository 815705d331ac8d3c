package e2e

// Tests of deploy/compose.yaml: its service runs the binary with `serve`
// as an unprivileged user on a read-only root, with the configuration, the
// API key and the data directory mounted where its JELLYGUARD_* variables
// say; and the binary, started the way the container starts it (the mounts
// mapped to a temporary directory laid out as the file's comment says),
// serves, keeps its state in the data volume, answers admin commands run
// beside it, and stops cleanly on the container's stop signal.

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jellyguard/jellyguard/internal/jellyfin/fake"
)

// composeFile is the part of a compose file the test reads.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Image           string            `yaml:"image"`
	User            string            `yaml:"user"`
	Entrypoint      []string          `yaml:"entrypoint"`
	Command         []string          `yaml:"command"`
	Environment     map[string]string `yaml:"environment"`
	Volumes         []string          `yaml:"volumes"`
	Tmpfs           []string          `yaml:"tmpfs"`
	Ports           []string          `yaml:"ports"`
	ReadOnly        bool              `yaml:"read_only"`
	CapDrop         []string          `yaml:"cap_drop"`
	SecurityOpt     []string          `yaml:"security_opt"`
	Restart         string            `yaml:"restart"`
	StopGracePeriod string            `yaml:"stop_grace_period"`
}

// bindMount is one bind mount of a service: a path beside the compose file
// and where the container sees it.
type bindMount struct {
	source, target string
	readOnly       bool
}

func (s composeService) mounts(t *testing.T) []bindMount {
	t.Helper()
	var out []bindMount
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || len(parts) > 3 || !strings.HasPrefix(parts[0], "./") || !path.IsAbs(parts[1]) {
			t.Fatalf("compose.yaml: volume %q is not ./SOURCE:/TARGET[:ro] (a path beside the compose file)", v)
		}
		out = append(out, bindMount{source: parts[0], target: parts[1], readOnly: len(parts) == 3 && parts[2] == "ro"})
	}
	return out
}

// composeHostPath maps a container path to the host through the bind mounts of
// the service, with the compose file's directory at dir; "" when no mount
// holds it.
func composeHostPath(mounts []bindMount, dir, p string) (string, bindMount) {
	for _, m := range mounts {
		if p == m.target {
			return filepath.Join(dir, m.source), m
		}
		if rest, ok := strings.CutPrefix(p, m.target+"/"); ok {
			return filepath.Join(dir, m.source, rest), m
		}
	}
	return "", bindMount{}
}

func TestDeployCompose(t *testing.T) {
	var cf composeFile
	readYAMLFile(t, filepath.Join(deployDir, "compose.yaml"), &cf)
	svc, ok := cf.Services["jellyguard"]
	if !ok || len(cf.Services) != 1 {
		t.Fatalf("compose.yaml: services %v, want exactly one named jellyguard", cf.Services)
	}

	// An unprivileged, read-only container that runs `jellyguard serve`.
	if !strings.HasPrefix(svc.Image, "gcr.io/distroless/static-debian12:") {
		t.Errorf("image %q, want a distroless static image (the binary is static; CA certificates and time zones included)", svc.Image)
	}
	if svc.User == "" || strings.HasPrefix(svc.User, "0") || strings.HasPrefix(svc.User, "root") {
		t.Errorf("user %q, want an unprivileged user", svc.User)
	}
	if !svc.ReadOnly || !slices.Equal(svc.CapDrop, []string{"ALL"}) || !slices.Contains(svc.SecurityOpt, "no-new-privileges:true") {
		t.Errorf("read_only %v, cap_drop %v, security_opt %v; want a read-only root, no capabilities, no new privileges",
			svc.ReadOnly, svc.CapDrop, svc.SecurityOpt)
	}
	if !slices.Equal(svc.Command, []string{"serve"}) || len(svc.Entrypoint) != 1 {
		t.Fatalf("entrypoint %v command %v, want the binary and [serve]", svc.Entrypoint, svc.Command)
	}
	if svc.Restart == "" {
		t.Error("no restart policy")
	}
	grace, err := time.ParseDuration(svc.StopGracePeriod)
	if err != nil || grace < 10*time.Second {
		t.Errorf("stop_grace_period %q, want at least the few seconds serve lets requests finish in", svc.StopGracePeriod)
	}

	// The binary, the config file and the API key come in read-only; the
	// data directory is writable; the variables point into the mounts.
	mounts := svc.mounts(t)
	dir := t.TempDir()
	bin, m := composeHostPath(mounts, dir, svc.Entrypoint[0])
	if bin == "" || !m.readOnly || m.target != svc.Entrypoint[0] {
		t.Fatalf("the entrypoint %s is not a read-only mount of the binary (%v)", svc.Entrypoint[0], svc.Volumes)
	}
	env := []string{}
	paths := map[string]string{}
	for _, key := range []string{"JELLYGUARD_CONFIG", "JELLYGUARD_API_KEY_FILE", "JELLYGUARD_DATA"} {
		p := svc.Environment[key]
		host, m := composeHostPath(mounts, dir, p)
		switch {
		case host == "":
			t.Fatalf("%s=%q is in no mount of %v", key, p, svc.Volumes)
		case key == "JELLYGUARD_DATA" && m.readOnly:
			t.Errorf("the data directory %s is mounted read-only", p)
		case key != "JELLYGUARD_DATA" && !m.readOnly:
			t.Errorf("%s (%s) is mounted writable; want read-only", key, p)
		}
		paths[key] = host
		env = append(env, key+"="+host)
	}
	listen := svc.Environment["JELLYGUARD_LISTEN"]
	_, port, err := net.SplitHostPort(listen)
	if err != nil || !slices.Contains(svc.Ports, port+":"+port) {
		t.Errorf("JELLYGUARD_LISTEN=%q and ports %v: the published container port must be the one serve listens on", listen, svc.Ports)
	}
	if !slices.Contains(svc.Tmpfs, "/tmp") {
		t.Errorf("tmpfs %v: a read-only root needs a writable /tmp (SQLite's temporary files)", svc.Tmpfs)
	}

	// Lay the directory out as the file's comment says, with a Jellyfin
	// (the emulator) as the upstream the admin writes into the config.
	jf := fake.New(fake.Options{})
	jf.AddUser("alice", "alice-pw", false)
	key := jf.AddAPIKey("jellyguard")
	upstream := httptest.NewServer(jf)
	t.Cleanup(upstream.Close)
	copyFileTo(t, binPath, bin)
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(filepath.Join(deployDir, "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	upstreamLine := regexp.MustCompile(`(?m)^upstream: .*$`)
	if !upstreamLine.Match(example) {
		t.Fatal("config.example.yaml has no top-level upstream: line to edit")
	}
	writeDeployFile(t, paths["JELLYGUARD_CONFIG"], upstreamLine.ReplaceAll(example, []byte(fmt.Sprintf("upstream: %q", upstream.URL))), 0o644)
	writeDeployFile(t, paths["JELLYGUARD_API_KEY_FILE"], []byte(key+"\n"), 0o600)
	if err := os.MkdirAll(paths["JELLYGUARD_DATA"], 0o700); err != nil {
		t.Fatal(err)
	}

	// Start it as the container would, on a free loopback port instead of
	// the published one (the test must not need port 8097).
	addr := freeLoopbackAddr(t)
	runEnv := append(slices.Clone(env), "JELLYGUARD_LISTEN="+addr)
	serve := exec.Command(bin, svc.Command...)
	serve.Env = append(os.Environ(), runEnv...)
	var stdout, stderr bytes.Buffer
	serve.Stdout, serve.Stderr = &stdout, &stderr
	serve.WaitDelay = 2 * time.Second
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait() }()
	t.Cleanup(func() {
		_ = serve.Process.Kill()
		if t.Failed() {
			t.Logf("serve stdout:\n%s\nserve stderr:\n%s", stdout.String(), stderr.String())
		}
	})
	waitForOK(t, "http://"+addr+"/System/Info/Public", exited)

	for _, name := range []string{"jellyguard.db", "jellyguard.key"} {
		if _, err := os.Stat(filepath.Join(paths["JELLYGUARD_DATA"], name)); err != nil {
			t.Errorf("the data volume lacks %s: %v", name, err)
		}
	}
	// Admin commands run beside it in the same container, with its settings.
	res := runDeployTool(t, runEnv, bin, "user", "list")
	if res.code != 0 || !strings.Contains(res.stdout, "alice") {
		t.Errorf("jellyguard user list beside serve: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}

	// docker stop sends SIGTERM and waits stop_grace_period.
	if err := serve.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("serve after SIGTERM: %v, want exit status 0", err)
		}
	case <-time.After(grace):
		t.Errorf("serve did not exit within stop_grace_period %v of SIGTERM", grace)
	}
}

func writeDeployFile(t *testing.T, p string, b []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, mode); err != nil {
		t.Fatal(err)
	}
}

// freeLoopbackAddr returns a loopback address with a port nobody listens on.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// waitForOK polls url until it answers 200, failing the test if the
// process exits first or startTimeout passes.
func waitForOK(t *testing.T, url string, exited <-chan error) {
	t.Helper()
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			t.Fatalf("serve exited before answering: %v", err)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := httpClient.Do(req)
		cancel()
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("GET %s did not answer 200 within %v", url, startTimeout)
}
