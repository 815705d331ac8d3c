// Package gateway is jellyguard's HTTP server: it finds the real client
// address, classifies the path the way Jellyfin would route it, checks every
// token the request carries, intercepts logins, and proxies the rest to
// Jellyfin without buffering.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"time"

	"github.com/jellyguard/jellyguard/internal/audit"
	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/secret"
	"github.com/jellyguard/jellyguard/internal/shield"
	"github.com/jellyguard/jellyguard/internal/shield/ipset"
	"github.com/jellyguard/jellyguard/internal/signin"
	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/tokens"
	"github.com/jellyguard/jellyguard/internal/web"
)

// Version is the gateway's version, shown in pages and sent to Jellyfin.
const Version = jellyfin.Version

// Options are the gateway's dependencies, assembled by the CLI.
type Options struct {
	Config *config.Config
	Store  store.Store
	Keys   *secret.Keys
	Audit  *audit.Log
	Logger *slog.Logger
	// LogWriter is where Logger writes; the documented sign-in failure line
	// is written there too. Default os.Stderr.
	LogWriter io.Writer
	// Transport overrides the upstream transport (tests).
	Transport http.RoundTripper
	// Resolver resolves host names in allowlists; nil: the system's.
	Resolver shield.Resolver
}

// Gateway is the running gateway. Create it with New.
type Gateway struct {
	cfg      *config.Config
	log      *slog.Logger
	audit    *audit.Log
	tokens   *tokens.Table
	jf       *jellyfin.Client
	dialect  jellyfin.Dialect
	trusted  prefixSet
	proxy    *httputil.ReverseProxy
	conns    *tracker
	failures *failureLog
	pages    http.Handler
	signin   *signin.Service
	shield   *shield.Shield
	keys     *secret.Keys
	recent   *recentSessions
	blocks   *ipset.Manager
	geo      *geoPolicy
	traffic  *trafficSampler
	store    store.Store
	inject   []byte // the script tag injected into jellyfin-web's index.html
}

// policyFunc lets the token table ask the sign-in service, which is built
// after the table it depends on.
type policyFunc func(ctx context.Context, userID string) bool

func (f policyFunc) ReleasedOnly(ctx context.Context, userID string) bool { return f(ctx, userID) }

// New builds a gateway from its options. It loads the token table.
func New(ctx context.Context, o Options) (*Gateway, error) {
	cfg := o.Config
	if cfg.UpstreamURL == nil {
		return nil, errors.New("no upstream configured: set upstream (the Jellyfin URL)")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.LogWriter == nil {
		o.LogWriter = os.Stderr
	}
	g := &Gateway{
		cfg:     cfg,
		log:     o.Logger,
		audit:   o.Audit,
		dialect: jellyfin.Dialect{Legacy: cfg.Jellyfin.LegacyAuthorization, V1010: cfg.Jellyfin.HeaderPrecedence == "10.10"},
		trusted: newPrefixSet(cfg.TrustedPrefixes),
		conns:   newTracker(),
		// The failure line is written whatever log.level says: fail2ban and
		// CrowdSec depend on it.
		failures: newFailureLog(o.LogWriter, cfg.Log.Format == "json", slog.New(slog.NewJSONHandler(o.LogWriter, nil))),
		recent:   newRecentSessions(),
		traffic:  newTrafficSampler(),
	}
	transport := o.Transport
	if transport == nil {
		transport = newUpstreamTransport()
	}
	g.jf = jellyfin.NewClient(cfg.UpstreamURL, cfg.APIKey, &http.Client{Transport: transport, Timeout: 15 * time.Second})
	table, err := tokens.New(ctx, tokens.Options{
		Policy: policyFunc(func(ctx context.Context, userID string) bool {
			return g.signin != nil && g.signin.ReleasedOnly(ctx, userID)
		}),
		Store: o.Store, Keys: o.Keys, Audit: o.Audit, Resolver: g.jf, OwnKey: cfg.APIKey,
		Strict: cfg.Tokens.Strict, CacheTTL: cfg.Tokens.CacheTTL, NegativeTTL: cfg.Tokens.NegativeCacheTTL,
		ResolvePerMinute: cfg.Tokens.ResolvePerMinute, Logger: o.Logger,
		MaxPerUser: cfg.Shield.MaxSessionsPerUser, Idle: cfg.Shield.SessionIdle, Lifetime: cfg.Shield.SessionLifetime,
	})
	if err != nil {
		return nil, fmt.Errorf("loading token table: %w", err)
	}
	g.tokens = table
	table.OnRevoke(g.conns.closeAll)
	g.keys = o.Keys
	if g.blocks, err = g.loadBlockLists(ctx, o); err != nil {
		return nil, err
	}
	g.store = o.Store
	if err := g.loadGeo(o); err != nil {
		return nil, err
	}
	if g.shield, err = shield.New(ctx, shield.Options{Config: cfg, Store: o.Store, Logger: o.Logger,
		OnBan: g.auditBan, OnWouldBan: g.auditWithheldBan, Resolver: o.Resolver}); err != nil {
		return nil, fmt.Errorf("loading the shield: %w", err)
	}
	g.signin = signin.New(signin.Options{Config: cfg, Store: o.Store, Keys: o.Keys, Audit: o.Audit,
		Tokens: table, Jellyfin: g.jf, Logger: o.Logger, Admission: admission{g},
		FailureLine: func(f signin.Failure) {
			g.failures.write(failure{ip: f.IP, user: f.User, reason: f.Reason, status: http.StatusUnauthorized,
				client: f.Client, device: f.Device})
		},
	})
	g.inject = []byte(web.InjectTag(cfg.BaseURL))
	g.proxy = g.newProxy(transport)
	g.pages = g.newPages()
	return g, nil
}

// Tokens returns the token table (the admin API and tests use it).
func (g *Gateway) Tokens() *tokens.Table { return g.tokens }

// Shield returns the shield (bans, throttles).
func (g *Gateway) Shield() *shield.Shield { return g.shield }

// Signin returns the sign-in service (the admin API and tests use it).
func (g *Gateway) Signin() *signin.Service { return g.signin }

// Jellyfin returns the client the gateway uses to speak to Jellyfin.
func (g *Gateway) Jellyfin() *jellyfin.Client { return g.jf }

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
	go g.tokens.Watch(watchCtx, time.Second)
	go g.signin.Run(watchCtx)
	go g.shield.Watch(watchCtx, time.Second)
	go g.reportStatus(watchCtx, 30*time.Second)
	if g.geo != nil {
		go g.geo.db.Run(watchCtx)
	}
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
