// Package app builds jellyguard's object graph once — data directory, key
// file, store, audit log, Jellyfin client, token table, shield, sign-in
// service, and for serving the block lists, geo policy, pages and gateway —
// for serve, demo and every admin command alike. No other package constructs
// these parts, so an admin command acts through exactly the objects, rules
// and audit words of the running gateway.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/jellyguard/jellyguard/internal/audit"
	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/gateway"
	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/secret"
	"github.com/jellyguard/jellyguard/internal/shield"
	"github.com/jellyguard/jellyguard/internal/shield/geo"
	"github.com/jellyguard/jellyguard/internal/signin"
	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/store/sqlite"
	"github.com/jellyguard/jellyguard/internal/tokens"
	"github.com/jellyguard/jellyguard/internal/web"
)

// DBFileName is the SQLite database inside the data directory.
const DBFileName = "jellyguard.db"

// jellyfinTimeout bounds each call the gateway makes to Jellyfin's API, so a
// server that accepts connections but never answers cannot hang a sign-in
// or a command.
const jellyfinTimeout = 15 * time.Second

// Options say what to build.
type Options struct {
	Config *config.Config
	Logger *slog.Logger
	// LogWriter is where Logger writes; the documented sign-in failure
	// line goes there too. Default os.Stderr.
	LogWriter io.Writer
	// Serve builds what serving needs besides the shared parts: the block
	// lists, the geo policy, the pages and the gateway, and takes the data
	// directory for this process alone (a second serve on it is refused).
	// Admin commands leave it off: they serve nobody, fetch no block list
	// and work beside a running gateway.
	Serve bool
	// ReadOnly opens an existing data directory without writing to it: no
	// key file is created, no migration runs, and every write fails, so the
	// commands that only look work on a read-only data directory. A data
	// directory that holds no database yet is opened as usual: there is
	// nothing to read, and creating it loses nothing. Ignored with Serve.
	ReadOnly bool
	// Transport replaces the upstream transport (tests, benchmarks).
	Transport http.RoundTripper
	// Resolver resolves allowlist host names; nil: the system's.
	Resolver shield.Resolver
}

// App is the built graph.
type App struct {
	Config   *config.Config
	Log      *slog.Logger
	Keys     *secret.Keys
	Store    *sqlite.Store
	Audit    *audit.Log
	Jellyfin *jellyfin.Client // nil without an upstream
	Tokens   *tokens.Table
	Shield   *shield.Shield
	Gate     *shield.Gate
	Signin   *signin.Service
	Gateway  *gateway.Gateway // nil unless Options.Serve

	closers []func() error
}

// Open opens the data directory (creating the key file on first start) and
// builds the parts over it. Close releases them.
func Open(ctx context.Context, o Options) (_ *App, err error) {
	cfg := o.Config
	a := &App{Config: cfg, Log: o.Logger}
	if a.Log == nil {
		a.Log = slog.Default()
	}
	if o.LogWriter == nil {
		o.LogWriter = os.Stderr
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, a.Close())
		}
	}()
	if o.Serve {
		if err := a.lockData(); err != nil {
			return nil, err
		}
	}
	if err := a.openData(ctx, o.ReadOnly && !o.Serve); err != nil {
		return nil, err
	}
	transport := o.Transport
	if transport == nil && o.Serve {
		transport = gateway.NewUpstreamTransport(cfg.Limits.UpstreamHeaderTimeout)
	}
	if cfg.UpstreamURL != nil {
		a.Jellyfin = jellyfin.NewClient(cfg.UpstreamURL, cfg.APIKey, &http.Client{Transport: transport, Timeout: jellyfinTimeout})
	}
	if err := a.buildParts(ctx, o); err != nil {
		return nil, err
	}
	if o.Serve {
		if err := a.buildGateway(ctx, o, transport); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// lockData takes the data directory for this serving process, before
// anything in it is opened: two gateways on one SQLite file would each
// keep their own view of the tokens they released and undo each other's
// records. The lock goes when Close releases the rest, or with the process.
func (a *App) lockData() error {
	l, err := sqlite.LockServe(a.Config.Data, sqlite.Holder{PID: os.Getpid(), Listen: a.Config.Listen, Since: time.Now().UTC()})
	if errors.Is(err, sqlite.ErrInUse) || errors.Is(err, sqlite.ErrDiskFull) {
		return err // says what is wrong and what to do
	}
	if err != nil {
		return fmt.Errorf("opening data directory: %w", err)
	}
	a.closers = append(a.closers, l.Release)
	return nil
}

func (a *App) openData(ctx context.Context, readOnly bool) error {
	if dbPath := filepath.Join(a.Config.Data, DBFileName); readOnly {
		if _, err := os.Stat(dbPath); !errors.Is(err, fs.ErrNotExist) {
			return a.openDataReadOnly(ctx, dbPath)
		}
	}
	var err error
	if a.Keys, err = secret.LoadOrCreate(a.Config.Data); err != nil {
		return fmt.Errorf("opening data directory: %w", err)
	}
	if a.Store, err = sqlite.Open(ctx, filepath.Join(a.Config.Data, DBFileName), a.Log); err != nil {
		return fmt.Errorf("opening data directory: %w", err)
	}
	a.closers = append(a.closers, a.Store.Close)
	a.Audit = audit.New(a.Store, a.Keys, a.Log)
	return nil
}

// openDataReadOnly opens the key file and the database without creating
// or changing either. A database without its key file is an error here:
// what it seals cannot be opened and its audit chain cannot be checked.
func (a *App) openDataReadOnly(ctx context.Context, dbPath string) error {
	keyPath := filepath.Join(a.Config.Data, secret.KeyFileName)
	if _, err := os.Stat(keyPath); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("opening data directory: the key file %s is missing beside the database %s; "+
			"restore it from a backup (or check --data: is this the right directory?)", keyPath, dbPath)
	}
	var err error
	if a.Keys, err = secret.LoadOrCreate(a.Config.Data); err != nil { // it exists: only read
		return fmt.Errorf("opening data directory: %w", err)
	}
	if a.Store, err = sqlite.OpenReadOnly(ctx, dbPath, a.Log); err != nil {
		return fmt.Errorf("opening data directory: %w", err)
	}
	a.closers = append(a.closers, a.Store.Close)
	a.Audit = audit.New(a.Store, a.Keys, a.Log)
	return nil
}

// buildParts builds the token table, the shield and the sign-in service.
func (a *App) buildParts(ctx context.Context, o Options) error {
	cfg := a.Config
	topts := tokens.Options{
		// The table asks the sign-in service, built after it, which users
		// may only use tokens the gateway released.
		Policy: policyFunc(func(ctx context.Context, userID string) bool {
			return a.Signin != nil && a.Signin.ReleasedOnly(ctx, userID)
		}),
		Store: a.Store, Keys: a.Keys, Audit: a.Audit, OwnKey: cfg.APIKey,
		Strict: cfg.Tokens.Strict, CacheTTL: cfg.Tokens.CacheTTL, NegativeTTL: cfg.Tokens.NegativeCacheTTL,
		ResolvePerMinute: cfg.Tokens.ResolvePerMinute, Logger: a.Log,
		MaxPerUser: cfg.Shield.MaxSessionsPerUser, Idle: cfg.Shield.SessionIdle, Lifetime: cfg.Shield.SessionLifetime,
	}
	if a.Jellyfin != nil {
		topts.Resolver = a.Jellyfin // only when set: a nil *Client in the interface is not a nil Resolver
	}
	var err error
	if a.Tokens, err = tokens.New(ctx, topts); err != nil {
		return fmt.Errorf("loading the token table: %w", err)
	}
	a.Shield, err = shield.New(ctx, shield.Options{Config: cfg, Store: auditedBans{Store: a.Store, audit: a.Audit},
		Logger: a.Log, OnWouldBan: a.auditWithheldBan, Resolver: o.Resolver})
	if err != nil {
		return fmt.Errorf("loading the shield: %w", err)
	}
	a.Gate = &shield.Gate{Shield: a.Shield, LAN: cfg.LAN}
	a.Signin = signin.New(signin.Options{Config: cfg, Store: a.Store, Keys: a.Keys, Audit: a.Audit,
		Tokens: a.Tokens, Jellyfin: a.Jellyfin, Admission: a.Gate, Logger: a.Log,
		FailureLine: signin.NewFailureLine(o.LogWriter, cfg.Log.Format == "json")})
	return nil
}

// buildGateway adds what serving needs: block lists, geo, pages, gateway.
func (a *App) buildGateway(ctx context.Context, o Options, transport http.RoundTripper) error {
	cfg := a.Config
	var err error
	if a.Gate.Blocks, err = shield.LoadBlockLists(ctx, cfg, a.Log); err != nil {
		return err
	}
	if a.Gate.Geo, err = geo.OpenPolicy(cfg.Shield, a.Store, a.Audit, a.Log); err != nil {
		return err
	}
	pages := web.Handler(a.Signin, web.Options{
		BasePath: cfg.BaseURL, Issuer: cfg.TwoFactor.Issuer, ClientFrom: gateway.WebClient,
		ChallengeCookie: signin.ChallengeCookie, Logger: a.Log, TrustDays: cfg.TwoFactor.TrustDays,
	})
	a.Gateway, err = gateway.New(gateway.Options{Config: cfg, Store: a.Store, Audit: a.Audit, Logger: a.Log,
		Tokens: a.Tokens, Gate: a.Gate, Signin: a.Signin, Pages: pages, Transport: transport})
	if err != nil {
		return fmt.Errorf("starting the gateway: %w", err)
	}
	return nil
}

// Serve runs the parts' background work (the change feeds, challenge
// expiry, host-name and GeoIP refreshes) and serves the gateway on ln until
// ctx ends.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	if a.Gateway == nil {
		return errors.New("the app was opened without the gateway")
	}
	watch, stop := context.WithCancel(ctx)
	defer stop()
	go a.Tokens.Watch(watch, time.Second)
	go a.Tokens.KeepLogouts(watch, time.Second)
	go a.Signin.Run(watch)
	go a.Shield.Watch(watch, time.Second)
	if a.Gate.Geo != nil {
		go a.Gate.Geo.DB.Run(watch)
	}
	return a.Gateway.Serve(ctx, ln)
}

// Close releases what Open opened, newest first.
func (a *App) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	a.closers = nil
	return errors.Join(errs...)
}

// auditedBans is the store as the shield sees it, with every ban stored
// together with its ban.added event in one transaction: no ban is in force
// unaudited, and no event names a ban that was never set.
type auditedBans struct {
	store.Store
	audit *audit.Log
}

// PutBan stores b and its audit event.
func (s auditedBans) PutBan(ctx context.Context, b store.Ban) error {
	return s.audit.Commit(ctx, func(w store.Writer) error { return w.PutBan(ctx, b) }, banEvent(b))
}

// banEvent describes a ban for the audit log, in the same words whoever set
// it: the shield automatically, the command line or the console by hand.
func banEvent(b store.Ban) audit.Event {
	until := "until lifted"
	if !b.ExpiresAt.IsZero() {
		until = "until " + b.ExpiresAt.UTC().Format("2006-01-02 15:04 MST")
	}
	note := fmt.Sprintf("%s ban (level %d) %s: %s", b.Source, b.Level, until, b.Reason)
	return audit.Event{Kind: audit.BanAdded, Network: b.Prefix, Note: note, By: b.By}
}

// auditWithheldBan records the ban a shared address would have earned, so
// an administrator sees it and can ban it by hand.
func (a *App) auditWithheldBan(p netip.Prefix, reason string) {
	a.recordNetwork(audit.BanWithheld, p.String(), "not banned: a shared address where users signed in ("+reason+")", "")
}

// RecordLift records a ban lifted by hand.
func (a *App) RecordLift(ctx context.Context, p netip.Prefix, by string) {
	a.recordNetwork(audit.BanLifted, p.String(), "", by)
}

// recordNetwork writes an event about a network (not one client address).
func (a *App) recordNetwork(kind audit.Kind, prefix, note, by string) {
	ev := audit.Event{Kind: kind, Network: prefix, Note: note, By: by}
	if _, err := a.Audit.Write(context.Background(), ev); err != nil {
		a.Log.Error("writing audit event failed", "kind", kind, "err", err)
	}
}

// policyFunc adapts a function to tokens.Policy.
type policyFunc func(ctx context.Context, userID string) bool

func (f policyFunc) ReleasedOnly(ctx context.Context, userID string) bool { return f(ctx, userID) }
