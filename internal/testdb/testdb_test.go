package testdb_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/leadlex/api-gateway/internal/testdb"
)

// adminURL is the server the tests inspect from outside testdb.
func adminURL() string {
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return u
	}
	return testdb.DefaultURL
}

// databaseExists reports whether the server has a database called name.
func databaseExists(t *testing.T, name string) bool {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, adminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = admin.Close(ctx) }()
	var exists bool
	if err := admin.QueryRow(ctx, "select exists (select 1 from pg_database where datname = $1)", name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	return exists
}

// hasWebhooksTable reports whether the database behind url was migrated.
func hasWebhooksTable(t *testing.T, ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) bool {
	t.Helper()
	var migrated bool
	if err := q.QueryRow(ctx, "select to_regclass('webhooks') is not null").Scan(&migrated); err != nil {
		t.Fatal(err)
	}
	return migrated
}

func TestNewCreatesMigratedDatabaseAndDropsIt(t *testing.T) {
	var name string
	t.Run("use", func(t *testing.T) {
		pool, url := testdb.New(t)
		ctx := context.Background()
		if err := pool.QueryRow(ctx, "select current_database()").Scan(&name); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(name, testdb.Prefix) {
			t.Fatalf("database %q lacks the %q prefix", name, testdb.Prefix)
		}
		if !strings.Contains(url, name) {
			t.Fatalf("url %q does not name database %q", url, name)
		}
		if !hasWebhooksTable(t, ctx, pool) {
			t.Fatal("webhooks table missing")
		}
		// A connection the test forgot to close must not stop the drop.
		leaked, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatalf("connect with the returned url: %v", err)
		}
		_ = leaked
	})
	if databaseExists(t, name) {
		t.Fatalf("database %s still exists after the test ended", name)
	}
}

func TestNewEmptyHasNoTables(t *testing.T) {
	pool, _ := testdb.NewEmpty(t)
	if hasWebhooksTable(t, context.Background(), pool) {
		t.Fatal("NewEmpty applied the migrations")
	}
}

// TestCreateWithoutTesting is the entry point for callers without a
// testing.TB (the benchmark command): its options, and Close as the only
// cleanup.
func TestCreateWithoutTesting(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// A pool setting in the URL is accepted, as in the gateway's own
	// DATABASE_URL, and kept in the returned URL.
	base := adminURL()
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	withPoolSetting := base + sep + "pool_max_conns=3"
	if !strings.HasPrefix(base, "postgres") {
		withPoolSetting = base + " pool_max_conns=3"
	}

	tests := []struct {
		name       string
		opts       testdb.Options
		wantPrefix string
		migrated   bool
	}{
		{"defaults", testdb.Options{}, testdb.Prefix, true},
		{"own prefix", testdb.Options{Prefix: "gwbench_"}, "gwbench_", true},
		{"empty", testdb.Options{Empty: true}, testdb.Prefix, false},
		{"base URL with a pool setting", testdb.Options{BaseURL: withPoolSetting}, testdb.Prefix, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := testdb.Create(ctx, tt.opts)
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			closed := false
			defer func() {
				if !closed {
					_ = db.Close(context.Background())
				}
			}()
			if !strings.HasPrefix(db.Name, tt.wantPrefix) || len(db.Name) != len(tt.wantPrefix)+16 {
				t.Fatalf("name %q, want %q and 16 hex digits", db.Name, tt.wantPrefix)
			}
			var current string
			if err := db.Pool.QueryRow(ctx, "select current_database()").Scan(&current); err != nil || current != db.Name {
				t.Fatalf("the pool is on %q (%v), want %q", current, err, db.Name)
			}
			conn, err := pgx.Connect(ctx, strings.ReplaceAll(db.URL, "pool_max_conns=3", ""))
			if err != nil {
				t.Fatalf("connect with the returned URL: %v", err)
			}
			if got := hasWebhooksTable(t, ctx, conn); got != tt.migrated {
				t.Errorf("migrated = %v, want %v", got, tt.migrated)
			}
			// Left open on purpose: Close must end it.
			_ = conn

			if err := db.Close(ctx); err != nil {
				t.Fatalf("Close: %v", err)
			}
			closed = true
			if databaseExists(t, db.Name) {
				t.Fatalf("database %s still exists after Close", db.Name)
			}
		})
	}
}

func TestCreateRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		opts testdb.Options
		want string
	}{
		{"upper case prefix", testdb.Options{Prefix: "GW_"}, "prefix"},
		{"prefix with a quote", testdb.Options{Prefix: `gw"; drop`}, "prefix"},
		{"prefix starting with a digit", testdb.Options{Prefix: "1gw"}, "prefix"},
		{"prefix too long", testdb.Options{Prefix: strings.Repeat("g", 41)}, "prefix"},
		{"bad URL", testdb.Options{BaseURL: "postgres://%zz"}, "not a valid connection string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := testdb.Create(ctx, tt.opts)
			if err == nil {
				_ = db.Close(ctx)
				t.Fatal("Create accepted it")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

// unreachableURL is port 1 on loopback: nothing listens there, so the
// connection is refused at once.
const unreachableURL = "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2"

func TestCreateReportsUnreachableServer(t *testing.T) {
	_, err := testdb.Create(context.Background(), testdb.Options{BaseURL: unreachableURL})
	if !errors.Is(err, testdb.ErrUnreachable) {
		t.Fatalf("error %v, want ErrUnreachable", err)
	}
}

// fatalTB records Fatalf instead of failing the real test, so that the test
// can check New fails (rather than skips) when the server is down.
type fatalTB struct {
	testing.TB
	mu      sync.Mutex
	fatal   string
	skipped bool
}

// Fatalf records the failure and ends the goroutine, as testing.T does.
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.fatal = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

// Skip records that New skipped, which is the behaviour under test to refuse.
func (f *fatalTB) Skip(...any) { f.skip() }

// Skipf records that New skipped.
func (f *fatalTB) Skipf(string, ...any) { f.skip() }

// SkipNow records that New skipped.
func (f *fatalTB) SkipNow() { f.skip() }

func (f *fatalTB) skip() {
	f.mu.Lock()
	f.skipped = true
	f.mu.Unlock()
	runtime.Goexit()
}

func TestNewFailsWhenServerUnreachable(t *testing.T) {
	t.Setenv("DATABASE_URL", unreachableURL)
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		testdb.New(f)
	}()
	<-done
	if f.skipped {
		t.Fatal("New skipped the test; an unreachable server must fail it")
	}
	if !strings.Contains(f.fatal, "cannot reach PostgreSQL") || !strings.Contains(f.fatal, "127.0.0.1:1") {
		t.Fatalf("Fatalf message = %q, want one about the unreachable server at 127.0.0.1:1", f.fatal)
	}
}
