// Package sqlite implements store.Store on an embedded SQLite file, the
// default for a single gateway. Several processes (jellyguard serve and the
// CLI) may use one file at once: the database runs in WAL mode, every write
// is an immediate transaction, and writers wait for each other up to the busy
// timeout instead of failing.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/jellyguard/jellyguard/internal/store"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

var _ store.Store = (*Store)(nil)

// Store is the SQLite implementation of store.Store.
type Store struct {
	db  *sql.DB
	log *slog.Logger
	// writeSem lets one transaction of this process write at a time, so
	// writers in one process queue here rather than spin in SQLite's busy
	// handler; other processes are still held off by BEGIN IMMEDIATE.
	writeSem chan struct{}
}

// Open opens the SQLite database file at path, creating it (mode 0600) and
// its directory (0700) if needed, and applies pending migrations. The file
// holds token hashes and the audit log, so it is private to the service user.
// A full disk is reported as such (ErrDiskFull), not as the I/O error
// SQLite gives for it.
func Open(ctx context.Context, path string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	if err := createPrivate(abs, log); err != nil {
		return nil, DiskFull(err, abs)
	}
	// Switching a new file to WAL and migrating both need the database to
	// themselves; the lock file makes a second process starting at the same
	// moment wait instead of failing.
	unlock, err := lockFile(ctx, abs+"-open.lock", false)
	if err != nil {
		return nil, DiskFull(fmt.Errorf("opening database %s: %w", abs, err), abs)
	}
	defer unlock()
	db, err := openAndMigrate(ctx, abs, log)
	if err != nil {
		return nil, DiskFull(err, abs)
	}
	return &Store{db: db, log: log, writeSem: make(chan struct{}, 1)}, nil
}

// openAndMigrate opens the database handle, checks that a connection works
// and applies pending migrations.
func openAndMigrate(ctx context.Context, path string, log *slog.Logger) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	if err := migrate(ctx, db, log); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrating database %s: %w", path, err)
	}
	return db, nil
}

// dsn builds the modernc.org/sqlite data source name for path: a file: URI
// (so unusual characters in the path are escaped) whose _pragma values the
// driver runs on every new connection, busy_timeout first.
func dsn(path string) string {
	q := url.Values{}
	for _, p := range []string{"busy_timeout(5000)", "journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows: file:///C:/...
	}
	return (&url.URL{Scheme: "file", Path: p, RawQuery: q.Encode()}).String()
}

// createPrivate creates the database file with mode 0600 before SQLite does
// (SQLite would use 0644, and its -wal and -shm files copy the database's
// mode). An existing file that others can read is reported, not changed.
func createPrivate(path string, log *slog.Logger) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating database directory %s: %w", filepath.Dir(path), err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("opening database %s: %w", path, err)
	}
	info, err := f.Stat()
	f.Close()
	if err != nil {
		return fmt.Errorf("opening database %s: %w", path, err)
	}
	if perm := info.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		log.Warn("database file is readable by group or others; restrict it with chmod 600",
			"path", path, "mode", fmt.Sprintf("%#o", perm))
	}
	return nil
}

// Close releases the database.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("closing database: %w", err)
	}
	return nil
}

// DB returns the underlying handle, for maintenance commands and for tests
// that need to reach past the Store interface.
func (s *Store) DB() *sql.DB { return s.db }

// write runs fn in one immediate transaction, committing if it returns nil.
// what describes the operation for error messages. Called through a
// txWriter (ctx carries its transaction), fn runs in that transaction
// instead, which commits or rolls back as a whole later.
func (s *Store) write(ctx context.Context, what string, fn func(*sql.Tx) error) error {
	if tx := joined(ctx, s); tx != nil {
		if err := fn(tx); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
	select {
	case s.writeSem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", what, ctx.Err())
	}
	defer func() { <-s.writeSem }()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: beginning transaction: %w", what, err)
	}
	if err := fn(tx); err != nil {
		if rerr := tx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			s.log.Warn("rolling back failed", "op", what, "err", rerr)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: committing: %w", what, err)
	}
	return nil
}

// nanos encodes t for a NOT NULL time column: Unix nanoseconds, 0 if zero.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// nullNanos encodes t for a nullable time column: NULL if zero.
func nullNanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

// fromNanos decodes a time column; NULL and 0 are the zero time.
func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid || n.Int64 == 0 {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

// noLimit turns a "0 means unlimited" limit into a LIMIT value both SQLite
// and PostgreSQL accept.
func noLimit(n int) int64 {
	if n <= 0 {
		return 1<<63 - 1
	}
	return int64(n)
}

// notFound maps sql.ErrNoRows to store.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}
