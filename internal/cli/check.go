package cli

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/jellyguard/jellyguard/internal/config"
)

// dialTimeout bounds the connection check uses to learn which address the
// gateway reaches Jellyfin from.
const dialTimeout = 5 * time.Second

func (a *app) checkCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Check the configuration and how Jellyfin is set up behind the gateway",
		Long: `Check everything the gateway depends on and say in plain words what is wrong
and how to fix it:

  - the configuration (every problem at once);
  - that Jellyfin answers at the upstream URL, and its version;
  - with the API key: whether Jellyfin trusts the gateway as a proxy (Known
    proxies), so it sees real client addresses instead of the gateway's —
    without that every user looks local to Jellyfin, and fail2ban and
    Jellyfin's own IP rules see a single address;
  - that Jellyfin's BaseUrl matches base_url.

Lines start with ✔ (fine), ✘ (must be fixed) or ! (worth knowing). Exits 0
when nothing must be fixed, 1 otherwise, so it can gate a deployment.`,
		Example: `  jellyguard check --config /etc/jellyguard/jellyguard.yaml
  jellyguard check --upstream http://192.168.1.10:8096 --api-key-file /etc/jellyguard/api-key`,
		Args: positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.check(cmd.Context()) },
	}
}

func (a *app) check(ctx context.Context) error {
	r := newReport(a.stdout, useColor(a.stdout, a.getenv))
	if cfg := a.checkConfig(r); cfg != nil {
		checkJellyfin(ctx, r, cfg)
		a.checkGateway(ctx, r, cfg)
	}
	if r.out.err != nil {
		return fmt.Errorf("writing the report: %w", r.out.err)
	}
	if r.failed {
		return exitCode(exitError)
	}
	return nil
}

// checkConfig reports the configuration's problems and warnings; it returns
// nil when the configuration cannot be used.
func (a *app) checkConfig(r *report) *config.Config {
	cfg, err := a.resolveConfig()
	if err != nil {
		for _, p := range splitErrors(err) {
			r.fail("config: %v", p)
		}
		return nil
	}
	r.ok("configuration is valid (%s)", a.configSource())
	for _, w := range cfg.Warnings {
		r.warn("%s", w)
	}
	return cfg
}

// checkJellyfin reaches the upstream and reads its network configuration.
func checkJellyfin(ctx context.Context, r *report, cfg *config.Config) {
	if cfg.UpstreamURL == nil {
		r.fail("%v", errNoUpstream)
		return
	}
	upstream := cfg.UpstreamURL.Redacted()
	jf := jellyfinClient(cfg)
	info, err := jf.PublicInfo(ctx)
	if err != nil {
		r.fail("cannot reach Jellyfin at %s: %v", upstream, err)
		r.detail("Fix: check upstream, and that Jellyfin runs and accepts connections from this machine.")
		return
	}
	r.ok("Jellyfin %q answers at %s, version %s", info.ServerName, upstream, info.Version)
	checkVersion(r, info.Version)
	if cfg.APIKey == "" {
		r.warn("cannot check Known proxies without an API key (set api_key)")
		r.detail("Without one the gateway also cannot check tokens it did not hand out. Create one in Dashboard → API Keys.")
		return
	}
	nc, err := jf.NetworkConfig(ctx)
	if err != nil {
		r.fail("cannot read Jellyfin's network configuration with the API key: %v", err)
		r.detail("Fix: check api_key (Dashboard → API Keys).")
		return
	}
	checkKnownProxies(ctx, r, cfg.UpstreamURL, nc.KnownProxies)
	checkBaseURL(r, nc.BaseURL, cfg.BaseURL)
}

// checkVersion warns about Jellyfin versions the gateway was not tested
// with: the API details it relies on (reference §2, §4.1) changed before
// 10.10 and change again in 12.0.
func checkVersion(r *report, version string) {
	major, minor, ok := parseVersion(version)
	switch {
	case !ok:
		r.warn("cannot tell Jellyfin's version from %q; jellyguard is tested with 10.10 and 10.11", version)
	case major < 10 || (major == 10 && minor < 10) || major >= 12:
		r.warn("Jellyfin %s is untested; jellyguard is tested with 10.10 and 10.11", version)
	}
}

// parseVersion reads the major and minor numbers of "10.11.11".
func parseVersion(v string) (major, minor int, ok bool) {
	parts := strings.Split(strings.TrimSpace(v), ".")
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	return major, minor, err1 == nil && err2 == nil
}

// checkKnownProxies says whether Jellyfin will believe the X-Forwarded-For
// the gateway sends, i.e. whether it sees real client addresses (reference
// §8).
func checkKnownProxies(ctx context.Context, r *report, upstream *url.URL, known []string) {
	addr, err := outboundAddr(ctx, upstream)
	seenAs := "the gateway's address"
	if err == nil {
		seenAs = addr.String()
	}
	if len(known) == 0 {
		r.fail("Jellyfin does not trust any proxy, so it will see every client as coming from the gateway (%s)", seenAs)
		explainUntrusted(r, seenAs)
		return
	}
	if err != nil {
		r.warn("cannot tell which address Jellyfin sees the gateway at: %v", err)
		r.detail("Make sure Dashboard → Networking → Known proxies (now %s) holds it.", strings.Join(known, ", "))
		return
	}
	if entry, ok := trustedBy(ctx, known, addr); ok {
		r.ok("Jellyfin trusts the gateway (%s, matching Known proxies entry %q), so it sees real client addresses", addr, entry)
		return
	}
	if addr.IsLoopback() {
		r.ok("the gateway reaches Jellyfin over loopback (%s), which Jellyfin trusts as a proxy once Known proxies is set, so it sees real client addresses", addr)
		return
	}
	r.fail("Jellyfin's Known proxies (%s) do not include the gateway's address %s, so it will see every client as coming from the gateway",
		strings.Join(known, ", "), addr)
	explainUntrusted(r, seenAs)
}

func explainUntrusted(r *report, seenAs string) {
	r.detail("Every user looks local to Jellyfin (remote-access limits do not apply), and fail2ban and")
	r.detail("Jellyfin's own IP rules see one address for everyone.")
	r.detail("Fix: Dashboard → Networking → Known proxies: add %s, then restart Jellyfin.", seenAs)
}

// outboundAddr dials the upstream and returns the local address of the
// connection: the address Jellyfin sees the gateway at, unless NAT lies
// between them.
func outboundAddr(ctx context.Context, u *url.URL) (netip.Addr, error) {
	d := net.Dialer{Timeout: dialTimeout}
	conn, err := d.DialContext(ctx, "tcp", hostPort(u))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("connecting to %s: %w", u.Host, err)
	}
	defer func() { _ = conn.Close() }() // only its local address was wanted
	ap, err := netip.ParseAddrPort(conn.LocalAddr().String())
	if err != nil {
		return netip.Addr{}, fmt.Errorf("reading the local address: %w", err)
	}
	return ap.Addr().Unmap(), nil
}

// hostPort adds the scheme's default port when the URL has none.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	port := "80"
	if u.Scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// trustedBy returns the Known proxies entry that covers addr. Entries are
// IP addresses, CIDRs or host names, as Jellyfin accepts them.
func trustedBy(ctx context.Context, known []string, addr netip.Addr) (string, bool) {
	for _, entry := range known {
		if entryCovers(ctx, strings.TrimSpace(entry), addr) {
			return entry, true
		}
	}
	return "", false
}

func entryCovers(ctx context.Context, entry string, addr netip.Addr) bool {
	if p, err := netip.ParsePrefix(entry); err == nil {
		return p.Contains(addr)
	}
	if ip, err := netip.ParseAddr(entry); err == nil {
		return ip.Unmap() == addr
	}
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", entry)
	if err != nil {
		return false
	}
	for _, ip := range ips {
		if ip.Unmap() == addr {
			return true
		}
	}
	return false
}

// checkBaseURL compares Jellyfin's BaseUrl with base_url: the gateway
// classifies paths by it, so a mismatch would let it misjudge routes.
func checkBaseURL(r *report, jellyfinBase, configured string) {
	jb := normalizeBase(jellyfinBase)
	switch {
	case jb == configured && jb == "":
		r.ok("Jellyfin serves from the root (no BaseUrl), as base_url says")
	case jb == configured:
		r.ok("Jellyfin's BaseUrl %q matches base_url", jb)
	default:
		r.fail("Jellyfin's BaseUrl is %q but base_url is %q", jb, configured)
		r.detail("Fix: set base_url: %q in the config (or --base-url, JELLYGUARD_BASE_URL), so the gateway", jb)
		r.detail("reads paths the way Jellyfin routes them.")
	}
}

// normalizeBase brings Jellyfin's BaseUrl to the form config uses: a
// leading slash and no trailing one, or empty.
func normalizeBase(b string) string {
	b = strings.Trim(strings.TrimSpace(b), "/")
	if b == "" {
		return ""
	}
	return "/" + b
}
