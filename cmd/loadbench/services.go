package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadlex/api-gateway/internal/testdb"
)

// databasePrefix starts the name of the throwaway database, so that a
// leftover from a killed run is recognisable (and safe to drop).
const databasePrefix = "gwbench_"

// createDatabase creates and migrates the run's throwaway database (with
// internal/testdb, as the tests do), arranges for it to be dropped at the
// end, and returns its URL.
func (b *bench) createDatabase(ctx context.Context) (string, error) {
	db, err := testdb.Create(ctx, testdb.Options{BaseURL: b.opts.databaseURL, Prefix: databasePrefix})
	if err != nil {
		return "", err
	}
	// The gateway opens its own pool on the URL; this one was only for the
	// migrations, and would otherwise hold a connection through the run.
	db.Pool.Close()
	b.onClose(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := db.Close(ctx); err != nil {
			b.warnf("%v (drop it by hand)", err)
		}
	})
	return db.URL, nil
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
