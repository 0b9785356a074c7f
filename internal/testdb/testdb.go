// Package testdb gives each test its own throwaway PostgreSQL database, so that
// tests against the real server can run in parallel without seeing each
// other's rows and without depending on what an earlier run left behind.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/leadlex/api-gateway/deploy"
	"github.com/leadlex/api-gateway/gateway/migrate"
)

// DefaultURL is used when DATABASE_URL is unset; it matches the local
// development server (trust authentication, user postgres).
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Prefix starts the name of every database this package creates, so that an
// operator can recognise (and, after a crash, drop) leftovers at a glance.
const Prefix = "gwtest_"

// maxConns is the pool size for test databases.
const maxConns = 10

// New creates a fresh database, applies the gateway's migrations to it and
// returns a pool on it together with its connection URL (for code under test
// that opens its own connections). The database is dropped when the test
// ends.
//
// An unreachable server fails the test instead of skipping it: a suite that
// silently skips when its service is down reports green for code it never ran.
func New(tb testing.TB) (pool *pgxpool.Pool, url string) {
	tb.Helper()
	pool, url = NewEmpty(tb)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	files, err := fs.Sub(deploy.Migrations, deploy.MigrationsDir)
	if err != nil {
		tb.Fatalf("testdb: open embedded migrations: %v", err)
	}
	if _, err := migrate.Up(ctx, pool, files); err != nil {
		tb.Fatalf("testdb: migrate test database: %v", err)
	}
	return pool, url
}

// NewEmpty is New without the migrations, for tests of the migrations
// themselves.
func NewEmpty(tb testing.TB) (pool *pgxpool.Pool, url string) {
	tb.Helper()
	base := os.Getenv("DATABASE_URL")
	if base == "" {
		base = DefaultURL
	}
	adminCfg, err := pgx.ParseConfig(base)
	if err != nil {
		tb.Fatalf("testdb: DATABASE_URL is not a valid connection string: %v", err)
	}
	where := fmt.Sprintf("%s:%d (user %q)", adminCfg.Host, adminCfg.Port, adminCfg.User)

	name := Prefix + randomHex(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	admin, err := connect(ctx, adminCfg)
	if err != nil {
		tb.Fatalf("testdb: cannot reach PostgreSQL at %s: %v (start the server or set DATABASE_URL)", where, err)
	}
	// The name is generated here from hex digits only, so quoting it is for
	// form's sake; nothing a caller passes ever reaches this statement.
	_, err = admin.Exec(ctx, "create database "+pgx.Identifier{name}.Sanitize())
	_ = admin.Close(ctx)
	if err != nil {
		tb.Fatalf("testdb: create database %s on %s: %v", name, where, err)
	}

	// Registered before the pool exists, so that a failure below still drops
	// the database; the cleanups registered later (pool close, the caller's)
	// run first.
	tb.Cleanup(func() { drop(tb, adminCfg, name) })

	url, err = withDatabase(base, name)
	if err != nil {
		tb.Fatalf("testdb: %v", err)
	}
	poolCfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		tb.Fatalf("testdb: parse test database URL: %v", err)
	}
	// More connections than pgxpool's default (4 on small machines), so that
	// concurrency tests really race on the server rather than queue in the
	// pool. Parallel test binaries still stay far below max_connections.
	if poolCfg.MaxConns < maxConns {
		poolCfg.MaxConns = maxConns
	}
	pool, err = pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		tb.Fatalf("testdb: open pool on %s: %v", name, err)
	}
	tb.Cleanup(pool.Close)
	if err := pool.Ping(ctx); err != nil {
		tb.Fatalf("testdb: connect to %s: %v", name, err)
	}
	return pool, url
}

// connect opens a single connection for CREATE and DROP DATABASE, which cannot
// run inside a transaction and need no pool.
func connect(ctx context.Context, cfg *pgx.ConnConfig) (*pgx.Conn, error) {
	cfg = cfg.Copy()
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > 10*time.Second {
		cfg.ConnectTimeout = 10 * time.Second
	}
	return pgx.ConnectConfig(ctx, cfg)
}

// drop removes the one database New created. WITH (FORCE) ends connections a
// test leaked (an unclosed pool in code under test), which would otherwise
// make DROP DATABASE fail and leave the database behind.
func drop(tb testing.TB, adminCfg *pgx.ConnConfig, name string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := connect(ctx, adminCfg)
	if err != nil {
		tb.Errorf("testdb: drop database %s: %v", name, err)
		return
	}
	defer func() { _ = admin.Close(ctx) }()
	if _, err := admin.Exec(ctx, "drop database if exists "+pgx.Identifier{name}.Sanitize()+" with (force)"); err != nil {
		tb.Errorf("testdb: drop database %s: %v", name, err)
	}
}

// withDatabase returns base pointing at database name instead, keeping every
// other setting (host, user, sslmode...). Both URL and keyword/value forms are
// accepted because pgx accepts both in DATABASE_URL.
func withDatabase(base, name string) (string, error) {
	if strings.HasPrefix(base, "postgres://") || strings.HasPrefix(base, "postgresql://") {
		u, err := url.Parse(base)
		if err != nil {
			return "", fmt.Errorf("parse DATABASE_URL: %w", err)
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	// In the keyword/value form the last occurrence of a keyword wins.
	return base + " dbname=" + name, nil
}

// randomHex returns 16 random hex digits: enough that parallel test binaries
// never pick the same database name.
func randomHex(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		tb.Fatalf("testdb: random name: %v", err)
	}
	return hex.EncodeToString(b)
}
