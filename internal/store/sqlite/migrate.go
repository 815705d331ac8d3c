package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"

	"github.com/pressly/goose/v3"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrate applies pending migrations, one log line each. The caller holds
// the open lock, so two processes never run the same migration.
func migrate(ctx context.Context, db *sql.DB, log *slog.Logger) error {
	p, err := newMigrator(db)
	if err != nil {
		return err
	}
	applied, err := applyPending(ctx, p, log)
	if err != nil {
		return err
	}
	version, err := p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("reading schema version: %w", err)
	}
	log.Info("database schema ready", "version", version, "applied", applied)
	return nil
}

// newMigrator returns a goose provider over the embedded migrations.
func newMigrator(db *sql.DB) (*goose.Provider, error) {
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("reading embedded migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return nil, fmt.Errorf("preparing migrations: %w", err)
	}
	return p, nil
}

// applyPending applies the pending migrations in version order and returns
// how many it applied.
func applyPending(ctx context.Context, p *goose.Provider, log *slog.Logger) (int, error) {
	statuses, err := p.Status(ctx)
	if err != nil {
		return 0, fmt.Errorf("reading migration status: %w", err)
	}
	applied := 0
	for _, st := range statuses {
		if st.State != goose.StatePending {
			continue
		}
		name := path.Base(st.Source.Path)
		log.Info("applying migration", "version", st.Source.Version, "name", name)
		_, err := p.ApplyVersion(ctx, st.Source.Version, true)
		if errors.Is(err, goose.ErrAlreadyApplied) {
			continue
		}
		if err != nil {
			return applied, fmt.Errorf("applying migration %s: %w", name, err)
		}
		applied++
	}
	return applied, nil
}
