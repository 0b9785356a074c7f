// Package testdb gives each test its own throwaway PostgreSQL database, so that
// tests against the real server can run in parallel without seeing each
// other's rows and without depending on what an earlier run left behind.
//
// Create is the one implementation, for any caller with a context (the
// benchmark command uses it); New and NewEmpty are the testing.TB entry
// points built on it.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
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

// Prefix starts the name of every database New creates, so that an operator
// can recognise (and, after a crash, drop) leftovers at a glance.
const Prefix = "gwtest_"

// maxConns is the least pool size for throwaway databases.
const maxConns = 10

// Timeouts of New and NewEmpty, which have no context of their own: creating
// and migrating a database takes well under a second on a healthy server.
const (
	createTimeout = 90 * time.Second
	dropTimeout   = 30 * time.Second
)

// ErrUnreachable marks a Create that could not connect to the server at all,
// so that a caller can tell "start the server" from a failing statement.
var ErrUnreachable = errors.New("cannot reach PostgreSQL")

// Options say where Create makes a database and what goes in it.
type Options struct {
	// BaseURL is a connection string to any database of the server;
	// empty means DATABASE_URL, or DefaultURL when that is unset. Both the
	// URL and the keyword/value forms work, and pool settings such as
	// pool_max_conns are accepted.
	BaseURL string
	// Prefix starts the new database's name (16 random hex digits follow);
	// empty means Prefix. Lower-case letters, digits and underscores only,
	// so that the name needs no quoting when an operator drops a leftover
	// by hand.
	Prefix string
	// Empty skips the gateway's migrations, for tests of the migrations
	// themselves.
	Empty bool
}

// DB is one throwaway database: a pool on it, its connection URL for code
// that opens its own connections, and Close, which drops it.
type DB struct {
	// Pool is open on the database; Close closes it (closing it earlier is
	// fine).
	Pool *pgxpool.Pool
	// URL is BaseURL pointing at this database, every other setting kept.
	URL string
	// Name is the database's name.
	Name string

	admin *pgx.ConnConfig
}

// Create makes a fresh database on the server, applies the gateway's
// migrations to it (unless o.Empty) and opens a pool on it. On error nothing
// is left behind: a database already created is dropped again. The caller
// must Close the returned DB.
func Create(ctx context.Context, o Options) (*DB, error) {
	base := o.BaseURL
	if base == "" {
		base = os.Getenv("DATABASE_URL")
	}
	if base == "" {
		base = DefaultURL
	}
	prefix := o.Prefix
	if prefix == "" {
		prefix = Prefix
	}
	if !validPrefix(prefix) {
		return nil, fmt.Errorf("testdb: prefix %q: only lower-case letters, digits and underscores, starting with a letter", prefix)
	}
	admin, err := adminConfig(base)
	if err != nil {
		return nil, err
	}
	where := fmt.Sprintf("%s:%d (user %q)", admin.Host, admin.Port, admin.User)
	suffix, err := randomHex()
	if err != nil {
		return nil, err
	}
	db := &DB{Name: prefix + suffix, admin: admin}

	conn, err := connect(ctx, admin)
	if err != nil {
		return nil, fmt.Errorf("testdb: %w at %s: %v (start the server or set DATABASE_URL)", ErrUnreachable, where, err)
	}
	// The name is made here of a checked prefix and hex digits, so quoting
	// it is for form's sake; nothing else a caller passes reaches this
	// statement.
	_, err = conn.Exec(ctx, "create database "+pgx.Identifier{db.Name}.Sanitize())
	_ = conn.Close(context.Background())
	if err != nil {
		return nil, fmt.Errorf("testdb: create database %s on %s: %w", db.Name, where, err)
	}
	if err := db.open(ctx, base, !o.Empty); err != nil {
		cctx, cancel := context.WithTimeout(context.Background(), dropTimeout)
		defer cancel()
		return nil, errors.Join(err, db.Close(cctx))
	}
	return db, nil
}

// open connects the pool to the new database and migrates it when asked.
func (db *DB) open(ctx context.Context, base string, migrations bool) error {
	var err error
	if db.URL, err = withDatabase(base, db.Name); err != nil {
		return fmt.Errorf("testdb: %w", err)
	}
	poolCfg, err := pgxpool.ParseConfig(db.URL)
	if err != nil {
		return fmt.Errorf("testdb: parse the database URL: %w", err)
	}
	// More connections than pgxpool's default (4 on small machines), so that
	// concurrency tests really race on the server rather than queue in the
	// pool. Parallel test binaries still stay far below max_connections.
	if poolCfg.MaxConns < maxConns {
		poolCfg.MaxConns = maxConns
	}
	if db.Pool, err = pgxpool.NewWithConfig(ctx, poolCfg); err != nil {
		return fmt.Errorf("testdb: open a pool on %s: %w", db.Name, err)
	}
	if err := db.Pool.Ping(ctx); err != nil {
		return fmt.Errorf("testdb: connect to %s: %w", db.Name, err)
	}
	if !migrations {
		return nil
	}
	files, err := fs.Sub(deploy.Migrations, deploy.MigrationsDir)
	if err != nil {
		return fmt.Errorf("testdb: open the embedded migrations: %w", err)
	}
	if _, err := migrate.Up(ctx, db.Pool, files); err != nil {
		return fmt.Errorf("testdb: migrate %s: %w", db.Name, err)
	}
	return nil
}

// Close closes the pool and drops the database. WITH (FORCE) ends
// connections the caller leaked (an unclosed pool in code under test), which
// would otherwise make DROP DATABASE fail and leave the database behind.
func (db *DB) Close(ctx context.Context) error {
	if db.Pool != nil {
		db.Pool.Close()
	}
	conn, err := connect(ctx, db.admin)
	if err != nil {
		return fmt.Errorf("testdb: drop database %s: %w", db.Name, err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if _, err := conn.Exec(ctx, "drop database if exists "+pgx.Identifier{db.Name}.Sanitize()+" with (force)"); err != nil {
		return fmt.Errorf("testdb: drop database %s: %w", db.Name, err)
	}
	return nil
}

// New creates a fresh database, applies the gateway's migrations to it and
// returns a pool on it together with its connection URL (for code under test
// that opens its own connections). The database is dropped when the test
// ends, after the cleanups the caller registers later.
//
// An unreachable server fails the test instead of skipping it: a suite that
// silently skips when its service is down reports green for code it never ran.
func New(tb testing.TB) (pool *pgxpool.Pool, url string) {
	tb.Helper()
	return newDB(tb, Options{})
}

// NewEmpty is New without the migrations, for tests of the migrations
// themselves.
func NewEmpty(tb testing.TB) (pool *pgxpool.Pool, url string) {
	tb.Helper()
	return newDB(tb, Options{Empty: true})
}

func newDB(tb testing.TB, o Options) (*pgxpool.Pool, string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), createTimeout)
	defer cancel()
	db, err := Create(ctx, o)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), dropTimeout)
		defer cancel()
		if err := db.Close(ctx); err != nil {
			tb.Errorf("%v", err)
		}
	})
	return db.Pool, db.URL
}

// adminConfig returns the settings of base for the connections that CREATE
// and DROP DATABASE run on. It parses through pgxpool so that pool settings
// in the URL (pool_max_conns and the like, which a pool honours) are
// accepted rather than sent to the server as unknown parameters.
func adminConfig(base string) (*pgx.ConnConfig, error) {
	pc, err := pgxpool.ParseConfig(base)
	if err != nil {
		return nil, fmt.Errorf("testdb: the database URL is not a valid connection string: %w", err)
	}
	return pc.ConnConfig, nil
}

// connect opens a single connection for CREATE and DROP DATABASE, which cannot
// run inside a transaction and need no pool; it gives up after at most 10 s.
func connect(ctx context.Context, cfg *pgx.ConnConfig) (*pgx.Conn, error) {
	cfg = cfg.Copy()
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > 10*time.Second {
		cfg.ConnectTimeout = 10 * time.Second
	}
	return pgx.ConnectConfig(ctx, cfg)
}

// withDatabase returns base pointing at database name instead, keeping every
// other setting (host, user, sslmode...). Both URL and keyword/value forms are
// accepted because pgx accepts both in DATABASE_URL.
func withDatabase(base, name string) (string, error) {
	if strings.HasPrefix(base, "postgres://") || strings.HasPrefix(base, "postgresql://") {
		u, err := url.Parse(base)
		if err != nil {
			return "", fmt.Errorf("parse the database URL: %w", err)
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	// In the keyword/value form the last occurrence of a keyword wins.
	return base + " dbname=" + name, nil
}

// validPrefix reports whether p is a plain identifier start: lower-case
// letters, digits and underscores, beginning with a letter, short enough to
// leave room for the suffix within PostgreSQL's 63-byte names.
func validPrefix(p string) bool {
	if p == "" || len(p) > 40 || !isLetter(p[0]) {
		return false
	}
	for i := range len(p) {
		if c := p[i]; !isLetter(c) && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' }

// randomHex returns 16 random hex digits: enough that parallel test binaries
// never pick the same database name.
func randomHex() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("testdb: random name: %w", err)
	}
	return hex.EncodeToString(b), nil
}
