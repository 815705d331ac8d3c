// Package gateway is jellyguard's HTTP server: it finds the real client
// address, classifies the path the way Jellyfin would route it, checks every
// token the request carries, intercepts logins, and proxies the rest to
// Jellyfin without buffering.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"time"

	"github.com/jellyguard/jellyguard/internal/audit"
	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/shield"
	"github.com/jellyguard/jellyguard/internal/signin"
	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/tokens"
	"github.com/jellyguard/jellyguard/internal/web"
)

// Version is the gateway's version, shown in pages and sent to Jellyfin.
const Version = jellyfin.Version

// Options are the gateway's parts, built once by the app package: the
// gateway runs the pipeline over them and constructs none of them.
type Options struct {
	Config *config.Config
	Store  store.Store // the gateway's status for check and the console
	Audit  *audit.Log
	Logger *slog.Logger
	Tokens *tokens.Table
	Gate   *shield.Gate
	Signin *signin.Service
	// Pages serves <base>/jellyguard/ (the web package's handler, reading
	// who is asking with WebClient).
	Pages http.Handler
	// Transport is the upstream transport (NewUpstreamTransport).
	Transport http.RoundTripper
}

// Gateway is the running gateway. Create it with New.
type Gateway struct {
	cfg     *config.Config
	log     *slog.Logger
	audit   *audit.Log
	tokens  *tokens.Table
	dialect jellyfin.Dialect
	trusted prefixSet
	proxy   *httputil.ReverseProxy
	conns   *tracker
	pages   http.Handler
	signin  *signin.Service
	gate    *shield.Gate
	recent  *recentSessions
	traffic *trafficSampler
	store   store.Store
	inject  []byte // the script tag injected into jellyfin-web's index.html
}

// New builds the gateway over its parts.
func New(o Options) (*Gateway, error) {
	cfg := o.Config
	if cfg.UpstreamURL == nil {
		return nil, errors.New("no upstream configured: set upstream (the Jellyfin URL)")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Transport == nil {
		o.Transport = NewUpstreamTransport(cfg.Limits.UpstreamHeaderTimeout)
	}
	g := &Gateway{
		cfg:     cfg,
		log:     o.Logger,
		audit:   o.Audit,
		tokens:  o.Tokens,
		signin:  o.Signin,
		gate:    o.Gate,
		store:   o.Store,
		dialect: Dialect(cfg),
		trusted: newPrefixSet(cfg.TrustedPrefixes),
		conns:   newTracker(),
		recent:  newRecentSessions(),
		traffic: newTrafficSampler(),
		inject:  []byte(web.InjectTag(cfg.BaseURL)),
	}
	o.Tokens.OnRevoke(g.conns.closeAll)
	g.proxy = g.newProxy(o.Transport)
	g.pages = g.newPages(o.Pages)
	return g, nil
}

// Dialect is how the configured Jellyfin reads auth headers.
func Dialect(cfg *config.Config) jellyfin.Dialect {
	return jellyfin.Dialect{Legacy: cfg.Jellyfin.LegacyAuthorization, V1010: cfg.Jellyfin.HeaderPrecedence == "10.10"}
}

// Handler returns the gateway's HTTP handler.
func (g *Gateway) Handler() http.Handler { return g }

// Serve accepts connections on ln until ctx ends, then shuts down: new
// connections stop at once, requests in flight get a grace period, and
// long streams are cut after it.
func (g *Gateway) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           g,
		ReadHeaderTimeout: g.cfg.Limits.ReadHeaderTimeout,
		IdleTimeout:       g.cfg.Limits.IdleTimeout,
		MaxHeaderBytes:    int(g.cfg.Limits.HeaderBytes),
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go g.reportStatus(watchCtx, 30*time.Second)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(&banListener{Listener: ln, g: g}) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close() // streams still open after the grace period are cut
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", err)
	}
	return nil
}
