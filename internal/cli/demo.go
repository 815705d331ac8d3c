package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"

	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/jellyfin/fake"
)

// Files the demo writes into its data directory.
const (
	demoConfigFile  = "jellyguard.yaml"
	demoKeyFile     = "jellyfin-api-key"
	demoJellyfinLog = "jellyfin.log"
)

// demoShutdownGrace bounds how long the emulator waits for open requests
// when the demo stops.
const demoShutdownGrace = 5 * time.Second

// demoOptions are the flags of demo.
type demoOptions struct {
	listen         string
	jellyfinListen string
	data           string
	dataGiven      bool
	json           bool
}

func (a *app) demoCommand() *cobra.Command {
	var o demoOptions
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run the gateway in front of a built-in Jellyfin emulator",
		Long: `Try jellyguard without a Jellyfin server: start an in-process Jellyfin
emulator with a few users and a small library, put the gateway in front of
it, and print where to open it and how to sign in.

Everything listens on 127.0.0.1 unless told otherwise (port 0 picks a free
port). The data directory is a new temporary directory, deleted when the
demo stops, unless --data is given. The demo writes a config file there, so
the other commands work against the running demo:

  jellyguard token list --config <data>/jellyguard.yaml

With --json the demo prints one line of JSON (the URLs, the data directory,
the config file and the demo users with their passwords) and nothing else
on stdout; logs go to stderr. Stop it with Ctrl-C.`,
		Example: `  jellyguard demo
  jellyguard demo --listen 127.0.0.1:0 --json
  jellyguard demo --data ./demo-data --listen 0.0.0.0:8097`,
		Args: positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.dataGiven = cmd.Flags().Changed("data")
			return a.demo(cmd.Context(), o)
		},
	}
	// These shadow the shared --listen and --data: the demo binds to
	// loopback and uses a throwaway directory unless told otherwise.
	c.Flags().StringVar(&o.listen, "listen", "127.0.0.1:8097", "address the gateway accepts clients on (port 0: any free port)")
	c.Flags().StringVar(&o.jellyfinListen, "jellyfin-listen", "127.0.0.1:0", "address the Jellyfin emulator listens on")
	c.Flags().StringVar(&o.data, "data", "", "data directory to use and keep (default: a temporary one, deleted on exit)")
	c.Flags().BoolVar(&o.json, "json", false, "print one line of JSON with the URLs and users instead of the banner")
	return c
}

// demo runs the emulator and the gateway until ctx ends.
func (a *app) demo(ctx context.Context, o demoOptions) (err error) {
	base, err := a.config()
	if err != nil {
		return err
	}
	dir, cleanup, err := demoDataDir(o)
	if err != nil {
		return err
	}
	defer closeInto(&err, cleanup)
	logPath := filepath.Join(dir, demoJellyfinLog)
	jfLog, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600) //nolint:gosec // G304: a file in the demo's own data directory
	if err != nil {
		return fmt.Errorf("opening the emulator log: %w", err)
	}
	defer closeInto(&err, jfLog)
	return a.runDemo(ctx, o, base, dir, jfLog)
}

// demoDataDir returns the data directory and what to do when the demo
// ends: a given directory is kept, a temporary one is removed.
func demoDataDir(o demoOptions) (dir string, cleanup io.Closer, err error) {
	if o.dataGiven {
		if err := os.MkdirAll(o.data, 0o700); err != nil {
			return "", nil, fmt.Errorf("creating data directory: %w", err)
		}
		abs, err := filepath.Abs(o.data)
		if err != nil {
			return "", nil, fmt.Errorf("data directory: %w", err)
		}
		return abs, closerFunc(func() error { return nil }), nil
	}
	dir, err = os.MkdirTemp("", "jellyguard-demo-*")
	if err != nil {
		return "", nil, fmt.Errorf("creating a temporary data directory: %w", err)
	}
	return dir, closerFunc(func() error {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("removing the demo data directory: %w", err)
		}
		return nil
	}), nil
}

// runDemo starts both servers, prints how to use them, and waits.
func (a *app) runDemo(ctx context.Context, o demoOptions, base *config.Config, dir string, jfLog io.Writer) error {
	emu, users := fake.NewDemo(fake.Options{Log: jfLog})
	// The gateway runs on this host, so the emulator must trust loopback as
	// a proxy to see real client addresses, as a real setup would.
	emu.UpdateNetwork(func(n *fake.NetworkConfig) { n.KnownProxies = []string{"127.0.0.1"} })
	apiKey := emu.AddAPIKey("jellyguard")

	jfLn, err := listen(ctx, o.jellyfinListen)
	if err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	stopEmu := serveEmulator(emu, jfLn)
	defer stopEmu()
	gwLn, err := listen(ctx, o.listen)
	if err != nil {
		return err
	}
	// The gateway's Serve closes gwLn; this covers the ways out before it.
	defer func() { _ = gwLn.Close() }()
	d := demoInfo{
		Gateway: displayURL(gwLn.Addr()), Jellyfin: displayURL(jfLn.Addr()), Data: dir,
		Config: filepath.Join(dir, demoConfigFile), temporary: !o.dataGiven,
	}
	for _, u := range users {
		d.Users = append(d.Users, demoUser{Name: u.Name, Password: u.Password, Admin: u.Admin})
	}
	cfg, err := writeDemoConfig(base, d, apiKey, gwLn.Addr().String())
	if err != nil {
		return err
	}
	return a.serveDemo(ctx, cfg, gwLn, d, o.json)
}

// serveDemo opens the data directory, starts the gateway, prints the
// banner (or the JSON line) once it is ready, and serves until ctx ends.
func (a *app) serveDemo(ctx context.Context, cfg *config.Config, ln net.Listener, d demoInfo, asJSON bool) (err error) {
	e, err := a.openEnv(ctx, cfg, false, true)
	if err != nil {
		return err
	}
	defer closeInto(&err, e)
	if err := auditConfig(ctx, e); err != nil {
		return err
	}
	if asJSON {
		err = writeJSON(a.stdout, d)
	} else {
		err = d.banner(a.stdout)
	}
	if err != nil {
		return err
	}
	return serveGateway(ctx, e, ln)
}

// serveEmulator serves the emulator on ln in the background and returns
// the function that stops it.
func serveEmulator(h http.Handler, ln net.Listener) (stop func()) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln) // returns http.ErrServerClosed on shutdown
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), demoShutdownGrace)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
		}
		<-done
	}
}

// demoConfig is the config file the demo writes, so that the admin
// commands can be pointed at the running demo with --config.
type demoConfig struct {
	Listen     string     `yaml:"listen"`
	Upstream   string     `yaml:"upstream"`
	Data       string     `yaml:"data"`
	APIKeyFile string     `yaml:"api_key_file"`
	Shield     demoShield `yaml:"shield"`
}

// demoShield keeps the person trying the demo from banning themself: every
// client of a demo on 127.0.0.1 is on this machine.
type demoShield struct {
	Exempt []string `yaml:"exempt"`
}

// loopback is what the demo exempts from bans and throttles.
var loopback = []string{"127.0.0.0/8", "::1"}

// writeDemoConfig writes the API key (0600) and the config file into the
// data directory, and returns base changed the same way: the shared flags
// (log level, format, file…) still apply, the rest is the demo's.
func writeDemoConfig(base *config.Config, d demoInfo, apiKey, listenAddr string) (*config.Config, error) {
	keyFile := filepath.Join(d.Data, demoKeyFile)
	if err := os.WriteFile(keyFile, []byte(apiKey+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("writing the demo API key: %w", err)
	}
	dc := demoConfig{Listen: listenAddr, Upstream: d.Jellyfin, Data: d.Data, APIKeyFile: keyFile,
		Shield: demoShield{Exempt: loopback}}
	out, err := yaml.Marshal(dc)
	if err != nil {
		return nil, fmt.Errorf("writing the demo config: %w", err)
	}
	header := []byte("# Written by jellyguard demo. Point other commands at the running demo with\n# --config " + d.Config + "\n")
	if err := os.WriteFile(d.Config, append(header, out...), 0o600); err != nil {
		return nil, fmt.Errorf("writing the demo config: %w", err)
	}
	cfg := *base
	cfg.Listen, cfg.Upstream, cfg.Data = dc.Listen, dc.Upstream, dc.Data
	cfg.APIKey, cfg.APIKeyFile = "", keyFile
	if len(cfg.Shield.Exempt) == 0 {
		cfg.Shield.Exempt = loopback
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("demo configuration: %w", err)
	}
	return &cfg, nil
}

// displayURL is the URL to open for a listener: an unspecified host
// (0.0.0.0, ::) is shown as 127.0.0.1, which works from the same machine.
func displayURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// demoInfo is what the demo tells its user; with --json it is printed as
// is.
type demoInfo struct {
	Gateway   string     `json:"gateway"`
	Jellyfin  string     `json:"jellyfin"`
	Data      string     `json:"data"`
	Config    string     `json:"config"`
	Users     []demoUser `json:"users"`
	temporary bool
}

type demoUser struct {
	Name     string `json:"name"`
	Password string `json:"password"`
	Admin    bool   `json:"admin"`
}

// banner prints the human-readable start message.
func (d demoInfo) banner(w io.Writer) error {
	data := d.Data
	if d.temporary {
		data += "   (deleted on exit; use --data to keep it)"
	}
	out := &errWriter{w: w}
	out.printf("jellyguard demo is running — Jellyfin emulator behind the gateway.\n\n")
	out.printf("  Open      %s/web/\n", d.Gateway)
	out.printf("  Jellyfin  %s   (the emulator itself, unprotected; for comparison)\n", d.Jellyfin)
	out.printf("  Data      %s\n", data)
	out.printf("  Config    %s   (for jellyguard token list --config …)\n\n", d.Config)
	out.printf("  Sign in as:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	users := &errWriter{w: tw}
	for _, u := range d.Users {
		role := ""
		if u.Admin {
			role = "(administrator)"
		}
		users.printf("    %s\t%s\tpassword: %s\n", u.Name, role, u.Password)
	}
	out.err = errors.Join(out.err, users.err, tw.Flush())
	out.printf("\n  Try:  curl %s/System/Info/Public\nPress Ctrl-C to stop.\n", d.Gateway)
	if out.err != nil {
		return fmt.Errorf("writing the banner: %w", out.err)
	}
	return nil
}
