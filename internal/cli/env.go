package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	parts "github.com/jellyguard/jellyguard/internal/app"
	"github.com/jellyguard/jellyguard/internal/audit"
	"github.com/jellyguard/jellyguard/internal/config"
	"github.com/jellyguard/jellyguard/internal/jellyfin"
	"github.com/jellyguard/jellyguard/internal/store"
	"github.com/jellyguard/jellyguard/internal/store/sqlite"
)

// dbFileName is the SQLite database inside the data directory.
const dbFileName = parts.DBFileName

// jellyfinTimeout bounds each call the CLI makes to Jellyfin, so a server
// that accepts connections but never answers cannot hang a command.
const jellyfinTimeout = 15 * time.Second

// env is what the commands that touch state share: the logger, and the
// parts built over the configured data directory. serve, demo and the admin
// commands build them with one constructor (package app), so the CLI acts
// through exactly the objects, rules and audit words of the running
// gateway.
type env struct {
	cfg   *config.Config
	log   *slog.Logger
	logw  io.Writer // where log writes; the gateway writes its failure lines here too
	parts *parts.App
	store store.Store
	audit *audit.Log

	closers []func() error
}

// readOnlyCommands only look at the data directory. They open it read-only
// (no migration, no key file created, every write refused), so they work on
// a read-only data directory — a backup, a snapshot, a read-only mount —
// and can never change what a running gateway relies on. Keyed by the
// command path below the root.
var readOnlyCommands = map[string]bool{
	"token list":   true,
	"audit verify": true,
	"audit tail":   true,
	"ban list":     true,
	"user list":    true,
}

// openEnv builds the logger from cfg.Log and the parts over the data
// directory (the key file is created on first start); serve adds what
// serving needs, and takes the data directory for itself. quiet is for
// one-shot commands, which report on stdout: their routine info lines (the
// database schema is ready…) would only bury the answer, so they log
// warnings and errors unless the level is debug. The running command
// decides whether the data directory opens read-only (readOnlyCommands).
func (a *app) openEnv(ctx context.Context, cfg *config.Config, quiet, serve bool) (_ *env, err error) {
	e := &env{cfg: cfg}
	defer func() {
		if err != nil {
			err = errors.Join(err, e.Close())
		}
	}()
	if err := e.openLog(a.stderr, quiet); err != nil {
		return nil, err
	}
	o := parts.Options{Config: cfg, Logger: e.log, LogWriter: e.logw, Serve: serve,
		ReadOnly: !serve && readOnlyCommands[a.command]}
	if e.parts, err = parts.Open(ctx, o); err != nil {
		// The key file, the lock file or the database may be what found
		// the disk full; say so rather than how the write failed.
		return nil, sqlite.DiskFull(err, cfg.Data)
	}
	e.closers = append(e.closers, e.parts.Close)
	e.store, e.audit = e.parts.Store, e.parts.Audit
	return e, nil
}

// openLog sets up the logger.
func (e *env) openLog(stderr io.Writer, quiet bool) error {
	log, w, closeFile, err := newLogger(e.cfg.Log, stderr, quiet)
	if err != nil {
		return err
	}
	e.log, e.logw = log, w
	if closeFile != nil {
		e.closers = append(e.closers, closeFile)
	}
	return nil
}

// Close releases what openEnv opened, newest first (the log file last, so
// the store's closing messages still reach it).
func (e *env) Close() error {
	var errs []error
	for i := len(e.closers) - 1; i >= 0; i-- {
		errs = append(errs, e.closers[i]())
	}
	e.closers = nil
	return errors.Join(errs...)
}

// jellyfinClient returns a client for the configured upstream, or nil when
// no upstream is set. Without an API key it can still reach anonymous
// endpoints and log tokens out with the tokens themselves.
func jellyfinClient(cfg *config.Config) *jellyfin.Client {
	if cfg.UpstreamURL == nil {
		return nil
	}
	return jellyfin.NewClient(cfg.UpstreamURL, cfg.APIKey, &http.Client{Timeout: jellyfinTimeout})
}

// newLogger builds the logger described by lc. It writes to stderr and,
// when lc.File is set, appends to that file too (for fail2ban and
// CrowdSec). The returned writer is that combined destination; closeFn, when
// not nil, closes the file. quiet raises info to warn (see openEnv).
func newLogger(lc config.LogConfig, stderr io.Writer, quiet bool) (_ *slog.Logger, _ io.Writer, closeFn func() error, _ error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(lc.Level)); err != nil {
		return nil, nil, nil, fmt.Errorf("log level %q: %w", lc.Level, err)
	}
	if quiet && level > slog.LevelDebug && level < slog.LevelWarn {
		level = slog.LevelWarn
	}
	w := stderr
	if lc.File != "" {
		// 0640: fail2ban and CrowdSec read the log through the service's group.
		f, err := os.OpenFile(lc.File, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640) //nolint:gosec // G302, G304: the operator names the log file; group read is intended
		if err != nil {
			return nil, nil, nil, fmt.Errorf("opening log file: %w", err)
		}
		w, closeFn = io.MultiWriter(stderr, f), f.Close
	}
	w = &lockedWriter{w: w}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if lc.Format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(h), w, closeFn, nil
}

// lockedWriter serialises writes: the logger and the gateway's sign-in
// failure lines share one destination from many goroutines, and a line must
// never be interleaved with another (fail2ban reads them).
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
