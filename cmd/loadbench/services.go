package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/leadlex/api-gateway/deploy"
	"github.com/leadlex/api-gateway/gateway/migrate"
)

// databasePrefix starts the name of the throwaway database, so that a
// leftover from a killed run is recognisable (and safe to drop).
const databasePrefix = "gwbench_"

// createDatabase creates and migrates the run's throwaway database, arranges
// for it to be dropped at the end, and returns its URL.
func (b *bench) createDatabase(ctx context.Context) (string, error) {
	admin, err := adminConfig(b.opts.databaseURL)
	if err != nil {
		return "", err
	}
	where := fmt.Sprintf("%s:%d", admin.Host, admin.Port)
	name := databasePrefix + b.runID
	// The name is made here of a fixed prefix and hex digits only.
	ident := pgx.Identifier{name}.Sanitize()

	if err := adminExec(ctx, admin, "create database "+ident); err != nil {
		return "", fmt.Errorf("create database %s on %s: %w", name, where, err)
	}
	b.onClose(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// WITH (FORCE) ends connections still open, such as a pool that a
		// failed setup did not get to close.
		if err := adminExec(ctx, admin, "drop database if exists "+ident+" with (force)"); err != nil {
			b.warnf("drop database %s on %s: %v (drop it by hand)", name, where, err)
		}
	})

	dbURL, err := withDatabase(b.opts.databaseURL, name)
	if err != nil {
		return "", err
	}
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return "", fmt.Errorf("connect to %s: %w", name, err)
	}
	defer pool.Close()
	files, err := fs.Sub(deploy.Migrations, deploy.MigrationsDir)
	if err != nil {
		return "", fmt.Errorf("embedded migrations: %w", err)
	}
	if _, err := migrate.Up(ctx, pool, files); err != nil {
		return "", fmt.Errorf("migrate %s: %w", name, err)
	}
	return dbURL, nil
}

// adminConfig returns the connection settings of base for CREATE and DROP
// DATABASE. It goes through pgxpool so that pool settings in the URL (such
// as pool_max_conns, which the gateway's pool honours) are accepted.
func adminConfig(base string) (*pgx.ConnConfig, error) {
	pc, err := pgxpool.ParseConfig(base)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	cc := pc.ConnConfig
	if cc.ConnectTimeout == 0 || cc.ConnectTimeout > 10*time.Second {
		cc.ConnectTimeout = 10 * time.Second
	}
	return cc, nil
}

// adminExec runs one statement on a connection of its own: CREATE and DROP
// DATABASE cannot run in a transaction and need no pool.
func adminExec(ctx context.Context, cfg *pgx.ConnConfig, sql string) error {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.Background()) }()
	_, err = conn.Exec(ctx, sql)
	return err
}

// withDatabase returns base with its database replaced by name, keeping
// every other setting. Both the URL and the keyword/value forms are accepted.
func withDatabase(base, name string) (string, error) {
	if !strings.HasPrefix(base, "postgres://") && !strings.HasPrefix(base, "postgresql://") {
		// In the keyword/value form the last occurrence of a keyword wins.
		return base + " dbname=" + name, nil
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("database URL: %w", err)
	}
	u.Path, u.RawPath = "/"+name, ""
	return u.String(), nil
}

// deleteMatching deletes the Redis keys matching pattern and returns how
// many there were.
func deleteMatching(ctx context.Context, client *redis.Client, pattern string) (int, error) {
	var keys []string
	iter := client.Scan(ctx, 0, pattern, 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return 0, err
	}
	found := len(keys)
	for len(keys) > 0 {
		n := min(len(keys), 500)
		if err := client.Unlink(ctx, keys[:n]...).Err(); err != nil {
			return 0, err
		}
		keys = keys[n:]
	}
	return found, nil
}

// sumCounters returns the sum of the integer values of the Redis keys
// matching pattern.
func sumCounters(ctx context.Context, client *redis.Client, pattern string) (int64, error) {
	var sum int64
	iter := client.Scan(ctx, 0, pattern, 1000).Iterator()
	for iter.Next(ctx) {
		n, err := client.Get(ctx, iter.Val()).Int64()
		if err != nil {
			return 0, fmt.Errorf("%s: %w", iter.Val(), err)
		}
		sum += n
	}
	return sum, iter.Err()
}

// maxAlerts bounds how many gateway warnings are copied to stderr.
const maxAlerts = 20

// logSink is the gateway's log handler in the benchmark. Records at the
// configured level and above are formatted as JSON, as in production, and
// thrown away, so that logging costs what it costs without a terminal in the
// way. Records at Warn and above are also counted, and the first few are
// shown on stderr: a gateway that warns under load (a limiter falling back,
// a store failing) has not been measured as it should run.
type logSink struct {
	level    slog.Level
	format   slog.Handler
	alert    slog.Handler
	warnings *atomic.Int64
}

func newLogSink(level slog.Level, stderr io.Writer, warnings *atomic.Int64) *logSink {
	return &logSink{
		level:    level,
		format:   slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}),
		alert:    slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}),
		warnings: warnings,
	}
}

// Enabled implements slog.Handler.
func (h *logSink) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level || l >= slog.LevelWarn
}

// Handle implements slog.Handler.
func (h *logSink) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= h.level {
		_ = h.format.Handle(ctx, r)
	}
	if r.Level >= slog.LevelWarn && h.warnings.Add(1) <= maxAlerts {
		return h.alert.Handle(ctx, r)
	}
	return nil
}

// WithAttrs implements slog.Handler.
func (h *logSink) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logSink{level: h.level, format: h.format.WithAttrs(attrs), alert: h.alert.WithAttrs(attrs), warnings: h.warnings}
}

// WithGroup implements slog.Handler.
func (h *logSink) WithGroup(name string) slog.Handler {
	return &logSink{level: h.level, format: h.format.WithGroup(name), alert: h.alert.WithGroup(name), warnings: h.warnings}
}
