package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/gateway"
	"github.com/jellyguard/jellyguard/internal/store/sqlite"
)

// errNoUpstream says every way to set the one key serve cannot do without.
var errNoUpstream = errors.New("no upstream: set `upstream:` in the config, --upstream, or JELLYGUARD_UPSTREAM")

func (a *app) serveCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the gateway in front of Jellyfin",
		Long: `Run the gateway: accept clients on the listen address and pass what is
allowed on to Jellyfin at the upstream URL. It runs until interrupted
(Ctrl-C, SIGINT or SIGTERM), then stops accepting connections, lets
requests in flight finish for a few seconds, and exits 0.

One serve runs per data directory: it holds <data>/serve.lock while it
runs, and a second serve (or demo) on the same directory refuses to start,
naming the one that runs. The admin commands work beside it.

Give Jellyfin an API key (api_key or api_key_file) so the gateway can check
tokens it did not hand out, and add the gateway's address to Jellyfin's
Known proxies so Jellyfin sees real client addresses; "jellyguard check"
tells you whether both are right.`,
		Example: `  jellyguard serve --config /etc/jellyguard/jellyguard.yaml

  # Without a config file
  JELLYGUARD_API_KEY=... jellyguard serve --upstream http://127.0.0.1:8096 --data /var/lib/jellyguard`,
		Args: positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.serve(cmd.Context()) },
	}
}

func (a *app) serve(ctx context.Context) (err error) {
	cfg, err := a.config()
	if err != nil {
		return err
	}
	if cfg.UpstreamURL == nil {
		return errNoUpstream
	}
	e, err := a.openEnv(ctx, cfg, false, true)
	if err != nil {
		return err
	}
	defer closeInto(&err, e)
	// Listen before recording the start, so a start that fails on a taken
	// address leaves nothing behind.
	ln, err := listen(ctx, cfg.Listen, "--listen (or listen: in the config)")
	if err != nil {
		return err
	}
	if err := auditConfig(ctx, e); err != nil {
		_ = ln.Close()
		return err
	}
	return serveGateway(ctx, e, ln)
}

// dataInUse returns the error naming the serve (or demo) that holds the
// data directory dir, or nil. Opening the parts for serving takes the
// directory; this is for what a command writes there before.
func dataInUse(dir string) error { return sqlite.CheckServe(dir) }

// listen opens the TCP listener for addr. how names the setting that
// chooses addr, for the message when it is taken.
func listen(ctx context.Context, addr, how string) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, &addrInUseError{addr: addr, how: how, err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	return ln, nil
}

// addrInUseError says that another program listens on the address, and how
// to choose another.
type addrInUseError struct {
	addr, how string
	err       error
}

func (e *addrInUseError) Error() string {
	return fmt.Sprintf("cannot listen on %s: the address is already in use by another program; "+
		"stop that program, or choose another address with %s", e.addr, e.how)
}

func (e *addrInUseError) Unwrap() error { return e.err }

// auditConfig records what changed in the configuration since the last
// start.
func auditConfig(ctx context.Context, e *env) error {
	changed, err := e.audit.RecordConfig(ctx, e.cfg.Flatten(e.audit.SecretDigest), config.IsSecret)
	if err != nil {
		return fmt.Errorf("auditing the configuration: %w", err)
	}
	if len(changed) > 0 {
		e.log.Info("configuration changed since the last start", "keys", changed)
	}
	return nil
}

// serveGateway serves the gateway on ln until ctx ends. Serve closes ln.
func serveGateway(ctx context.Context, e *env, ln net.Listener) error {
	e.log.Info("jellyguard listening", "addr", ln.Addr().String(),
		"upstream", e.cfg.UpstreamURL.Redacted(), "data", e.cfg.Data, "version", gateway.Version)
	if err := e.parts.Serve(ctx, ln); err != nil {
		return err
	}
	e.log.Info("jellyguard stopped")
	return nil
}
