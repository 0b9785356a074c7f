package testdb_test

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/leadlex/api-gateway/internal/testdb"
)

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
		var migrated bool
		if err := pool.QueryRow(ctx, "select to_regclass('webhooks') is not null").Scan(&migrated); err != nil || !migrated {
			t.Fatalf("webhooks table missing (%v)", err)
		}
		// A connection the test forgot to close must not stop the drop.
		leaked, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatalf("connect with the returned url: %v", err)
		}
		_ = leaked
	})

	admin, err := pgx.Connect(context.Background(), testdb.DefaultURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = admin.Close(context.Background()) }()
	var exists bool
	if err := admin.QueryRow(context.Background(),
		"select exists (select 1 from pg_database where datname = $1)", name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Fatalf("database %s still exists after the test ended", name)
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
	f.fatal = format
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
	// Port 1 on loopback: nothing listens there, so the connection is refused
	// at once.
	t.Setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2")
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
	if !strings.Contains(f.fatal, "cannot reach PostgreSQL") {
		t.Fatalf("Fatalf format = %q, want a message about the unreachable server", f.fatal)
	}
}
