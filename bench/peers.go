package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// peer is one way of reaching the stand-in: directly, through nginx, or
// through jellyguard.
type peer struct {
	name string
	base string // http://127.0.0.1:port
	// proc is the proxy process; nil for direct access.
	proc *child
	// pids lists the processes whose CPU and memory count as the proxy's.
	pids func() []int
}

// freePort asks the kernel for a free loopback port. Another process could
// take it before the server binds it; on loopback in a benchmark that does
// not happen in practice, and startup would then fail loudly.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return "", err
	}
	return addr, nil
}

// startUpstream runs this program again as the Jellyfin stand-in.
func startUpstream(p pinning) (*child, string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	c, stdout, err := startChild("upstream", p.server, childEnv(), true, self, "-upstream", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	type result struct {
		addr string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		addr, err := readListening(stdout)
		got <- result{addr, err}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case r := <-got:
		if r.err != nil {
			c.stop(time.Second)
			return nil, "", fmt.Errorf("%w\n%s", r.err, c.describe())
		}
		return c, r.addr, nil
	case <-time.After(30 * time.Second):
		c.stop(time.Second)
		return nil, "", errors.New("the upstream did not start within 30s\n" + c.describe())
	}
}

// nginxConf is the configuration of performance.md's nginx row: one worker,
// no buffering of responses, 64 KiB buffers, keep-alive to the upstream.
func nginxConf(dir, listen, upstream string, asRoot bool) string {
	var b strings.Builder
	if asRoot {
		// Workers would otherwise switch to "nobody", which Debian has no
		// group of, and could not enter the private temporary directory.
		b.WriteString("user root;\n")
	}
	fmt.Fprintf(&b, `daemon off;
master_process on;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;

events {
    worker_connections 4096;
}

http {
    access_log off;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;

    upstream jellyfin {
        server %[3]s;
        keepalive 64;
    }

    server {
        listen %[2]s;
        location / {
            proxy_pass http://jellyfin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_buffering off;
            proxy_buffer_size 64k;
            # Not used without buffering, but nginx refuses buffer_size 64k
            # beside the default 8 x 4k buffers.
            proxy_buffers 8 64k;
        }
    }
}
`, dir, listen, upstream)
	return b.String()
}

// startNginx writes the configuration into dir and runs nginx in the
// foreground.
func startNginx(ctx context.Context, p pinning, dir, upstream string) (*peer, error) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		for _, c := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx"} {
			if _, statErr := os.Stat(c); statErr == nil {
				bin, err = c, nil
				break
			}
		}
	}
	if err != nil {
		return nil, errors.New("nginx not found (Debian: apt-get install nginx-light)")
	}
	listen, err := freePort()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxConf(dir, listen, upstream, os.Geteuid() == 0)), 0o600); err != nil {
		return nil, err
	}
	c, _, err := startChild("nginx", p.server, childEnv(), false, bin, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"))
	if err != nil {
		return nil, err
	}
	pr := &peer{name: "nginx", base: "http://" + listen, proc: c, pids: func() []int { return withChildren(c.pid()) }}
	if err := waitReady(ctx, c, pr.base+"/System/Info/Public"); err != nil {
		c.stop(2 * time.Second)
		log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return nil, fmt.Errorf("%w\n%s", err, strings.TrimSpace(string(log)))
	}
	return pr, nil
}

// buildJellyguard builds ./cmd/jellyguard of the module at root into dir.
func buildJellyguard(ctx context.Context, root, dir string) (string, error) {
	out := filepath.Join(dir, "bin", "jellyguard")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/jellyguard")
	cmd.Dir = root
	cmd.WaitDelay = 5 * time.Second
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building jellyguard: %w\n%s", err, strings.TrimSpace(string(msg)))
	}
	return out, nil
}

// jellyguardConf is the gateway's configuration: every check at its default
// (on), logging at warn so that no line is written per request; extra is
// YAML appended at the top level.
func jellyguardConf(listen, upstream, data, extra string) string {
	return fmt.Sprintf(`listen: %q
upstream: %q
data: %q
log:
  level: warn
`, listen, "http://"+upstream, data) + extra
}

// benchExempt exempts the loopback load generator from the shield.
const benchExempt = "shield:\n  exempt: [\"127.0.0.0/8\"]\n"

// jellyguardConfPath is where startJellyguard writes the configuration.
func jellyguardConfPath(dir string) string { return filepath.Join(dir, "jellyguard.yaml") }

// startJellyguard runs `jellyguard serve` with a fresh data directory in
// dir and its configuration file there; extra is added to the
// configuration (see jellyguardConf).
func startJellyguard(ctx context.Context, p pinning, bin, dir, upstream, name, extra string) (*peer, error) {
	listen, err := freePort()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	conf := jellyguardConfPath(dir)
	if err := os.WriteFile(conf, []byte(jellyguardConf(listen, upstream, filepath.Join(dir, "data"), extra)), 0o600); err != nil {
		return nil, err
	}
	c, _, err := startChild(name, p.server, childEnv(), false, bin, "serve", "--config", conf)
	if err != nil {
		return nil, err
	}
	pr := &peer{name: name, base: "http://" + listen, proc: c, pids: func() []int { return []int{c.pid()} }}
	if err := waitReady(ctx, c, pr.base+"/System/Info/Public"); err != nil {
		c.stop(5 * time.Second)
		return nil, err
	}
	return pr, nil
}

// waitReady polls url until it answers 200, the child exits, or 30s pass.
func waitReady(ctx context.Context, c *child, url string) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		switch {
		case c.exited():
			return errors.New(c.describe())
		case ctx.Err() != nil:
			return ctx.Err()
		case time.Now().After(deadline):
			return fmt.Errorf("%s not ready after 30s (%v)\n%s", c.name, err, c.describe())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// loginHeader is the MediaBrowser header of a client signing in.
func loginHeader(deviceID string) string {
	return fmt.Sprintf(`MediaBrowser Client="jellyguard-bench", Device="bench", DeviceId=%q, Version="1.0.0"`, deviceID)
}

// signIn logs in through base and returns the token it released.
func signIn(ctx context.Context, client *http.Client, base, deviceID string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/Users/AuthenticateByName",
		strings.NewReader(`{"Username":"bench","Pw":"bench"}`))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", loginHeader(deviceID))
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("sign-in through %s: HTTP %d: %s", base, resp.StatusCode, bytes.TrimSpace(body))
	}
	var res struct{ AccessToken string }
	if err := json.Unmarshal(body, &res); err != nil || res.AccessToken == "" {
		return "", fmt.Errorf("sign-in through %s: no AccessToken in %q", base, body)
	}
	return res.AccessToken, nil
}

// checkPeer makes sure the measured requests succeed through pr, so that a
// refusal is not measured as a fast answer.
func checkPeer(ctx context.Context, pr *peer, auth string) error {
	client := &http.Client{Timeout: 10 * time.Second}
	for _, c := range []struct {
		path, rng string
		want      int
		wantLen   int64
	}{
		{"/Items", "", http.StatusOK, int64(len(itemsJSON()))},
		{"/Videos/" + benchItemID + "/stream?static=true", "bytes=0-99", http.StatusPartialContent, 100},
	} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, pr.base+c.path, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", auth)
		if c.rng != "" {
			req.Header.Set("Range", c.rng)
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("%s: GET %s: %w", pr.name, c.path, err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return fmt.Errorf("%s: GET %s: %w", pr.name, c.path, err)
		}
		if resp.StatusCode != c.want || n != c.wantLen {
			return fmt.Errorf("%s: GET %s: HTTP %d with %d bytes, want %d with %d", pr.name, c.path, resp.StatusCode, n, c.want, c.wantLen)
		}
	}
	return nil
}
