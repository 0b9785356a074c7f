package migrate_test

import (
	"context"
	"io/fs"
	"slices"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/leadlex/api-gateway/deploy"
	"github.com/leadlex/api-gateway/gateway/migrate"
	"github.com/leadlex/api-gateway/internal/testdb"
)

// shipped returns the migrations the binary embeds and their file names.
func shipped(t *testing.T) (fs.FS, []string) {
	t.Helper()
	files, err := fs.Sub(deploy.Migrations, deploy.MigrationsDir)
	if err != nil {
		t.Fatal(err)
	}
	names, err := fs.Glob(files, "*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("no embedded migrations (%v)", err)
	}
	return files, names
}

// ctx bounds a test's database calls.
func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// recorded returns the versions in gateway_schema_migrations, in order.
func recorded(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(ctx(t), "select version from gateway_schema_migrations order by version")
	if err != nil {
		t.Fatalf("read gateway_schema_migrations: %v", err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("read gateway_schema_migrations: %v", err)
	}
	return versions
}

// tableExists reports whether a table of that name is visible.
func tableExists(t *testing.T, pool *pgxpool.Pool, name string) bool {
	t.Helper()
	var exists bool
	if err := pool.QueryRow(ctx(t), "select to_regclass($1) is not null", name).Scan(&exists); err != nil {
		t.Fatalf("look up table %s: %v", name, err)
	}
	return exists
}

// upApplies runs migrate.Up on files and fails the test unless it succeeds
// having applied exactly want, in that order (nothing when want is empty).
func upApplies(t *testing.T, pool *pgxpool.Pool, files fs.FS, label string, want ...string) {
	t.Helper()
	applied, err := migrate.Up(ctx(t), pool, files)
	if err != nil {
		t.Fatalf("%s: %v", label, err)
	}
	if !slices.Equal(applied, want) {
		t.Fatalf("%s applied %v, want %v", label, applied, want)
	}
}

func TestUpAppliesShippedMigrationsOnce(t *testing.T) {
	t.Parallel()
	pool, _ := testdb.NewEmpty(t)
	files, names := shipped(t)

	upApplies(t, pool, files, "first Up", names...)
	if got := recorded(t, pool); !slices.Equal(got, names) {
		t.Fatalf("recorded %v, want %v", got, names)
	}
	for _, table := range []string{"api_keys", "webhooks"} {
		if !tableExists(t, pool, table) {
			t.Errorf("table %s missing after Up", table)
		}
	}

	upApplies(t, pool, files, "second Up")
}

func TestUpConcurrentRuns(t *testing.T) {
	t.Parallel()
	pool, _ := testdb.NewEmpty(t)
	files, names := shipped(t)

	const n = 5
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		applied []string
		start   = make(chan struct{})
		c       = ctx(t)
	)
	for range n {
		wg.Go(func() {
			<-start
			got, err := migrate.Up(c, pool, files)
			if err != nil {
				t.Errorf("concurrent Up: %v", err)
			}
			mu.Lock()
			applied = append(applied, got...)
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()

	// Between them, the runs applied every file exactly once.
	slices.Sort(applied)
	if !slices.Equal(applied, names) {
		t.Fatalf("concurrent runs applied %v in total, want %v once each", applied, names)
	}
	if got := recorded(t, pool); !slices.Equal(got, names) {
		t.Fatalf("recorded %v, want %v", got, names)
	}
}

func TestUpBrokenMigrationRollsBack(t *testing.T) {
	t.Parallel()
	pool, _ := testdb.NewEmpty(t)
	files := fstest.MapFS{
		"001_first.sql": {Data: []byte("create table first_t (id int);")},
		// The first statement succeeds, the second fails: the transaction
		// must take the first one back with it.
		"002_broken.sql": {Data: []byte("create table broken_t (id int);\nselect * from no_such_table;")},
		"003_later.sql":  {Data: []byte("create table later_t (id int);")},
		"README.md":      {Data: []byte("not a migration")},
	}

	applied, err := migrate.Up(ctx(t), pool, files)
	if err == nil {
		t.Fatal("Up with a broken migration succeeded")
	}
	if want := []string{"001_first.sql"}; !slices.Equal(applied, want) {
		t.Fatalf("applied %v, want %v", applied, want)
	}
	if got, want := recorded(t, pool), []string{"001_first.sql"}; !slices.Equal(got, want) {
		t.Fatalf("recorded %v, want %v", got, want)
	}
	tables := []struct {
		name string
		want bool
	}{
		{"first_t", true},
		{"broken_t", false},
		{"later_t", false},
	}
	for _, tc := range tables {
		if got := tableExists(t, pool, tc.name); got != tc.want {
			t.Errorf("table %s exists = %v, want %v", tc.name, got, tc.want)
		}
	}

	// Once the file is fixed, the next run picks up where the last one stopped.
	files["002_broken.sql"] = &fstest.MapFile{Data: []byte("create table broken_t (id int);")}
	upApplies(t, pool, files, "Up after the fix", "002_broken.sql", "003_later.sql")
}

func TestUpAppliesInFileNameOrder(t *testing.T) {
	t.Parallel()
	pool, _ := testdb.NewEmpty(t)
	// Each file depends on the one before it by name, so any other order
	// fails.
	files := fstest.MapFS{
		"20260103_c.sql": {Data: []byte("insert into ordered (step) values (3);")},
		"20260101_a.sql": {Data: []byte("create table ordered (step int);")},
		"20260102_b.sql": {Data: []byte("insert into ordered (step) values (2);")},
	}
	upApplies(t, pool, files, "Up", "20260101_a.sql", "20260102_b.sql", "20260103_c.sql")
}

func TestUpRefusesFSWithoutMigrations(t *testing.T) {
	t.Parallel()
	pool, _ := testdb.NewEmpty(t)
	tests := []struct {
		name  string
		files fs.FS
	}{
		{"empty", fstest.MapFS{}},
		// The embed root holds only the supabase directory: passing it
		// unwrapped is the mistake this error exists for.
		{"embed root instead of its migrations directory", deploy.Migrations},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if applied, err := migrate.Up(ctx(t), pool, tc.files); err == nil {
				t.Fatalf("Up succeeded, applied %v", applied)
			}
		})
	}
	if tableExists(t, pool, "gateway_schema_migrations") {
		t.Fatal("Up created its table although it had nothing to apply")
	}
}
