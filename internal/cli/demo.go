package cli

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"

	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/jellyfin/fake"
	"github.com/jellyguard/jellyguard/internal/signin"
	"github.com/jellyguard/jellyguard/internal/store"
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
it, and print where to open it and how to sign in. One demo user, carol,
already has an authenticator: the banner prints its otpauth:// URI and
secret (add it to an authenticator app, or run oathtool --totp -b SECRET),
so the challenge can be tried at once; the others can set one up on the
Setup page. Loopback is exempt from the shield's bans and throttles, so
wrong passwords typed on this machine cannot lock anyone out.

Everything listens on 127.0.0.1 unless told otherwise (port 0 picks a free
port). The data directory is a new temporary directory, deleted when the
demo stops, unless --data is given. The demo writes a config file there, so
the other commands work against the running demo:

  jellyguard token list --config <data>/jellyguard.yaml

With --json the demo prints one line of JSON (the URLs of the gateway, its
Setup page and the emulator, the data directory, the config file, and the
demo users with their passwords; carol's entry adds totp_uri, totp_secret
and recovery_codes) and nothing else on stdout; logs go to stderr. Stop it
with Ctrl-C.`,
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
		// The demo writes its config into the data directory before the
		// gateway takes it: refuse first if another serve is using it.
		if err := dataInUse(abs); err != nil {
			return "", nil, err
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
	totpUser, err := addTOTPUser(emu)
	if err != nil {
		return err
	}
	users = append(users, totpUser)
	// The gateway runs on this host, so the emulator must trust loopback as
	// a proxy to see real client addresses, as a real setup would.
	emu.UpdateNetwork(func(n *fake.NetworkConfig) { n.KnownProxies = []string{"127.0.0.1"} })
	apiKey := emu.AddAPIKey("jellyguard")

	jfLn, err := listen(ctx, o.jellyfinListen, "--jellyfin-listen")
	if err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	stopEmu := serveEmulator(emu, jfLn)
	defer stopEmu()
	gwLn, err := listen(ctx, o.listen, "--listen")
	if err != nil {
		return err
	}
	// The gateway's Serve closes gwLn; this covers the ways out before it.
	defer func() { _ = gwLn.Close() }()
	d := demoInfo{
		Gateway: displayURL(gwLn.Addr()), Jellyfin: displayURL(jfLn.Addr()), Data: dir,
		Config: filepath.Join(dir, demoConfigFile), temporary: !o.dataGiven,
	}
	d.Setup = d.Gateway + demoSetupPath
	for _, u := range users {
		d.Users = append(d.Users, demoUser{Name: u.Name, Password: u.Password, Admin: u.Admin})
	}
	cfg, err := writeDemoConfig(base, d, apiKey, gwLn.Addr().String())
	if err != nil {
		return err
	}
	d.exempt = cfg.Shield.Exempt
	if err := a.enrollDemoUser(ctx, cfg, &d, emu); err != nil {
		return err
	}
	return a.serveDemo(ctx, cfg, gwLn, d, o.json)
}

// demoTOTPUser is the demo user who already has an authenticator, so that
// whoever tries the demo meets the challenge (and the password;code form)
// without enrolling first. The other demo users have none: they show the
// way from no second factor to one on the Setup page.
const demoTOTPUser = "carol"

// demoSetupPath is the gateway's Setup page, where a signed-in user sets up
// two-step verification.
const demoSetupPath = "/jellyguard/setup"

// addTOTPUser adds the demo's TOTP user to the emulator, listed on the
// login screen like alice and bob.
func addTOTPUser(emu *fake.Server) (fake.DemoUser, error) {
	password, err := demoPassword()
	if err != nil {
		return fake.DemoUser{}, err
	}
	u := fake.DemoUser{Name: demoTOTPUser, Password: password}
	emu.AddUser(u.Name, u.Password, false)
	emu.SetHidden(u.Name, false)
	return u, nil
}

// demoPassword is a random password in groups of five, easy to read off the
// banner and type.
func demoPassword() (string, error) {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("drawing a demo password: %w", err)
	}
	s := strings.ToLower(base32.StdEncoding.EncodeToString(b))
	return s[:5] + "-" + s[5:10] + "-" + s[10:15], nil
}

// enrollDemoUser enrolls the TOTP user's authenticator before the gateway
// starts, through the sign-in service of the parts built over the demo's
// data directory — what "jellyguard user totp" does — and adds the
// secret to the demo's description.
func (a *app) enrollDemoUser(ctx context.Context, cfg *config.Config, d *demoInfo, emu *fake.Server) (err error) {
	state, ok := emu.User(demoTOTPUser)
	if !ok {
		return fmt.Errorf("the emulator has no user %q", demoTOTPUser)
	}
	e, err := a.openEnv(ctx, cfg, true, false)
	if err != nil {
		return err
	}
	defer closeInto(&err, e)
	acct := store.Account{UserID: state.ID, UserName: demoTOTPUser, NameFolded: signin.Fold(demoTOTPUser)}
	en, err := e.parts.Signin.EnrollFromCLI(ctx, acct)
	if err != nil {
		return fmt.Errorf("enrolling the demo user %s: %w", demoTOTPUser, err)
	}
	u, err := url.Parse(en.URI)
	if err != nil || u.Query().Get("secret") == "" {
		return fmt.Errorf("enrolling the demo user %s: no secret in %q", demoTOTPUser, en.URI)
	}
	for i := range d.Users {
		if d.Users[i].Name == demoTOTPUser {
			d.Users[i].TOTPURI, d.Users[i].TOTPSecret = en.URI, u.Query().Get("secret")
			d.Users[i].RecoveryCodes = en.RecoveryCodes
		}
	}
	return nil
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
	Setup     string     `json:"setup"`
	Jellyfin  string     `json:"jellyfin"`
	Data      string     `json:"data"`
	Config    string     `json:"config"`
	Users     []demoUser `json:"users"`
	temporary bool
	exempt    []string // shield.exempt of the demo
}

// demoUser is a demo account. The TOTP user carries its authenticator:
// the otpauth URI, its secret and its recovery codes.
type demoUser struct {
	Name          string   `json:"name"`
	Password      string   `json:"password"`
	Admin         bool     `json:"admin"`
	TOTPURI       string   `json:"totp_uri,omitempty"`
	TOTPSecret    string   `json:"totp_secret,omitempty"`
	RecoveryCodes []string `json:"recovery_codes,omitempty"`
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
	out.printf("  Setup     %s   (two-step verification: sign in at Open first)\n", d.Setup)
	out.printf("  Jellyfin  %s   (the emulator itself, unprotected; for comparison)\n", d.Jellyfin)
	out.printf("  Data      %s\n", data)
	out.printf("  Config    %s   (for jellyguard token list --config …)\n\n", d.Config)
	out.printf("  Sign in as:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	users := &errWriter{w: tw}
	var totp *demoUser
	for i, u := range d.Users {
		role := ""
		switch {
		case u.Admin:
			role = "(administrator)"
		case u.TOTPSecret != "":
			role, totp = "(has an authenticator)", &d.Users[i]
		}
		users.printf("    %s\t%s\tpassword: %s\n", u.Name, role, u.Password)
	}
	out.err = errors.Join(out.err, users.err, tw.Flush())
	if totp != nil {
		out.printf("\n  %s is asked for a code after the password. Add the authenticator to any app\n", totp.Name)
		out.printf("  (Aegis, 2FAS, Google Authenticator …) with this URI or the secret:\n")
		out.printf("    %s\n", totp.TOTPURI)
		out.printf("    secret  %s\n", totp.TOTPSecret)
		out.printf("  or print the current code with:  oathtool --totp -b %s\n", totp.TOTPSecret)
		if len(totp.RecoveryCodes) > 0 {
			out.printf("  A recovery code (works once instead of a code): %s\n", totp.RecoveryCodes[0])
		}
		out.printf("  Apps without a code field take the password, a \";\" and the code: %s;123456\n", totp.Password)
	}
	if len(d.exempt) > 0 {
		out.printf("\n  The shield never bans nor throttles %s in the demo (shield.exempt),\n", strings.Join(d.exempt, ", "))
		out.printf("  so wrong passwords from this machine cannot lock you out.\n")
	}
	out.printf("\n  Try:  curl %s/System/Info/Public\nPress Ctrl-C to stop.\n", d.Gateway)
	if out.err != nil {
		return fmt.Errorf("writing the banner: %w", out.err)
	}
	return nil
}
