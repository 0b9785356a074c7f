// Package migrate applies the gateway's SQL migrations to plain Postgres,
// recording each one so that running it again is harmless. It applies the very
// files the Supabase CLI pushes, so both kinds of deployment share one schema
// history.
package migrate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The advisory lock is taken with the two-int4 form of pg_advisory_lock, which
// lives in a different key space from the single-bigint form. The schema's own
// per-workspace locks (hashtextextended in gateway_create_webhook) use the
// bigint form, so no workspace can ever collide with the migration lock.
const (
	lockClass  int32 = 0x4c4c4757 // "LLGW"
	lockObject int32 = 1
)

// createTable records applied migrations. It is created under the advisory lock,
// because two concurrent CREATE TABLE IF NOT EXISTS can still fail on the
// catalog's unique index.
const createTable = `create table if not exists gateway_schema_migrations (
    version    text primary key,
    applied_at timestamptz not null default now()
)`

// Up applies, in file-name order, every *.sql file at the root of files that
// gateway_schema_migrations does not yet record, and returns the names it
// applied. The version recorded is the file name, so renaming an applied file
// makes it apply again.
//
// Each file runs in its own transaction together with the row that records it:
// a file that fails leaves neither its changes nor its record behind, and the
// files before it stay applied. A file therefore must not contain statements
// that refuse to run in a transaction (CREATE INDEX CONCURRENTLY, VACUUM) or
// its own BEGIN/COMMIT.
//
// Instances that start together may all call Up: a session-level advisory lock
// makes them take turns, and the later ones find nothing left to do.
//
// An FS without any *.sql file at its root is an error, because it almost
// always means the caller passed deploy.Migrations instead of its
// supabase/migrations subdirectory.
func Up(ctx context.Context, pool *pgxpool.Pool, files fs.FS) (applied []string, err error) {
	migrations, err := load(files)
	if err != nil {
		return nil, err
	}

	pc, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: acquire connection: %w", err)
	}
	// The connection leaves the pool for good: closing it at the end is what
	// guarantees that neither the advisory lock nor any session setting a
	// migration made (SET without LOCAL) can leak to the pool's other users.
	conn := pc.Hijack()
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()

	if _, err := conn.Exec(ctx, "select pg_advisory_lock($1, $2)", lockClass, lockObject); err != nil {
		return nil, fmt.Errorf("migrate: take advisory lock: %w", err)
	}
	defer func() {
		unlockCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		// Best effort: the lock also goes away when the connection closes.
		_, _ = conn.Exec(unlockCtx, "select pg_advisory_unlock($1, $2)", lockClass, lockObject)
	}()

	if _, err := conn.Exec(ctx, createTable); err != nil {
		return nil, fmt.Errorf("migrate: create gateway_schema_migrations: %w", err)
	}
	done, err := recorded(ctx, conn)
	if err != nil {
		return nil, err
	}

	applied = []string{}
	for _, m := range migrations {
		if done[m.name] {
			continue
		}
		if err := apply(ctx, conn, m); err != nil {
			return applied, err
		}
		applied = append(applied, m.name)
	}
	return applied, nil
}

// migration is one SQL file, read before the lock is taken so that a broken FS
// never keeps other instances waiting.
type migration struct {
	name string
	sql  string
}

// load reads the *.sql files at the root of files in name order.
func load(files fs.FS) ([]migration, error) {
	names, err := fs.Glob(files, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("migrate: list migrations: %w", err)
	}
	if len(names) == 0 {
		return nil, errors.New("migrate: no *.sql files at the root of the migrations FS")
	}
	sort.Strings(names)
	out := make([]migration, 0, len(names))
	for _, name := range names {
		b, err := fs.ReadFile(files, name)
		if err != nil {
			return nil, fmt.Errorf("migrate: read %s: %w", name, err)
		}
		out = append(out, migration{name: name, sql: string(b)})
	}
	return out, nil
}

// recorded returns the versions already applied. Reading them once is enough
// because the advisory lock keeps every other Up from applying anything
// meanwhile.
func recorded(ctx context.Context, conn *pgx.Conn) (map[string]bool, error) {
	rows, err := conn.Query(ctx, "select version from gateway_schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("migrate: read applied versions: %w", err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("migrate: read applied versions: %w", err)
	}
	done := make(map[string]bool, len(versions))
	for _, v := range versions {
		done[v] = true
	}
	return done, nil
}

// apply runs one file and records it in the same transaction, so that the
// record exists exactly when the file's changes do.
func apply(ctx context.Context, conn *pgx.Conn, m migration) error {
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		// A file holds many statements; only the simple protocol runs them in
		// one round trip, and pgconn's Exec always uses it.
		if _, err := tx.Conn().PgConn().Exec(ctx, m.sql).ReadAll(); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "insert into gateway_schema_migrations (version) values ($1)", m.name)
		return err
	})
	if err != nil {
		return fmt.Errorf("migrate: apply %s: %w", m.name, err)
	}
	return nil
}
