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

	sqlitedriver "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrSchemaOutdated is matched (errors.Is) by the error OpenReadOnly
// returns for a database that needs migrations it will not apply.
var ErrSchemaOutdated = errors.New("database schema is older than this jellyguard")

// OpenReadOnly opens the existing database at path for reading only: it
// creates no file, applies no migration and writes nothing, so the commands
// that only look (token list, audit verify…) work on a read-only data
// directory — a snapshot, a backup, a read-only mount — as well as beside a
// running gateway. Every write through the returned Store fails. A database
// that needs migrating is refused with ErrSchemaOutdated rather than
// upgraded behind the back of the gateway that uses it.
func OpenReadOnly(ctx context.Context, path string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("opening database %s: %w", abs, err)
	}
	// A process creating or migrating the database holds the open lock:
	// wait for it, so the schema is seen whole.
	unlock, err := lockFile(ctx, abs+"-open.lock", true)
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %w", abs, err)
	}
	defer unlock()
	db, err := openReadOnly(ctx, abs, false)
	if err != nil && walUnneeded(err, abs) {
		db, err = openReadOnly(ctx, abs, true)
	}
	if err != nil {
		return nil, fmt.Errorf("opening database %s read-only: %w", abs, err)
	}
	if err := checkSchema(ctx, db, abs); err != nil {
		db.Close()
		return nil, err
	}
	return &Store{db: db, log: log, writeSem: make(chan struct{}, 1)}, nil
}

// openReadOnly opens path with SQLite's read-only mode and reads its schema
// once, so a file SQLite cannot read fails here. immutable tells SQLite that
// nothing changes the file while it is open: it then needs no -shm file,
// which it cannot create in a read-only directory.
func openReadOnly(ctx context.Context, path string, immutable bool) (*sql.DB, error) {
	u, err := url.Parse(dsn(path))
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	for _, p := range []string{"busy_timeout(5000)", "query_only(1)"} {
		q.Add("_pragma", p)
	}
	q.Set("mode", "ro")
	if immutable {
		q.Set("immutable", "1")
	}
	u.RawQuery = q.Encode()
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, err
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// walUnneeded reports whether a failed read-only open may be retried as
// immutable: SQLite could not set up its -shm file (the directory is read
// only, or the disk too full to grow it), and there is no write-ahead log
// whose changes that would miss — the database file alone is then the
// whole database.
func walUnneeded(err error, path string) bool {
	var se *sqlitedriver.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR:
	default:
		return false
	}
	info, err := os.Stat(path + "-wal")
	return errors.Is(err, os.ErrNotExist) || (err == nil && info.Size() == 0)
}

// checkSchema refuses a database with migrations pending.
func checkSchema(ctx context.Context, db *sql.DB, path string) error {
	var tables int
	if err := db.QueryRowContext(ctx,
		"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'goose_db_version'").Scan(&tables); err != nil {
		return fmt.Errorf("reading the schema version of %s: %w", path, err)
	}
	current, target := int64(0), int64(0)
	p, err := newMigrator(db)
	if err != nil {
		return err
	}
	if tables > 0 {
		if current, target, err = p.GetVersions(ctx); err != nil {
			return fmt.Errorf("reading the schema version of %s: %w", path, err)
		}
	} else if srcs := p.ListSources(); len(srcs) > 0 {
		target = srcs[len(srcs)-1].Version
	}
	if tables == 0 || current < target {
		return fmt.Errorf("%w: %s has schema version %d, this jellyguard needs %d, and a command that only reads "+
			"does not upgrade it; start `jellyguard serve` of this version once (or use the version that wrote it)",
			ErrSchemaOutdated, path, current, target)
	}
	pending, err := p.HasPending(ctx)
	if err != nil {
		return fmt.Errorf("reading the schema version of %s: %w", path, err)
	}
	if pending {
		return fmt.Errorf("%w: %s misses migrations of this jellyguard, and a command that only reads "+
			"does not apply them; start `jellyguard serve` of this version once",
			ErrSchemaOutdated, path)
	}
	return nil
}
