package testservices_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/leadlex/api-gateway/internal/testservices"
)

// TestPostgresSurvivesRestart: the throwaway server answers, its restart
// drops the session, and a new session works afterwards.
func TestPostgresSurvivesRestart(t *testing.T) {
	t.Parallel()
	pg := testservices.StartPostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var port int
	if err := conn.QueryRow(ctx, "select current_setting('port')::int").Scan(&port); err != nil || port != pg.Port() {
		t.Fatalf("port %d (%v), want %d", port, err, pg.Port())
	}
	pg.Restart()
	if err := conn.Ping(ctx); err == nil {
		t.Error("the session survived the restart; the server was not restarted")
	}
	again, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		t.Fatalf("after the restart: %v", err)
	}
	defer again.Close(context.Background())
	var one int
	if err := again.QueryRow(ctx, "select 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("select 1 after the restart: %d %v", one, err)
	}
}

// TestRedisFlushDB: the throwaway server keeps a key until FlushDB.
func TestRedisFlushDB(t *testing.T) {
	t.Parallel()
	r := testservices.StartRedis(t)
	opts, err := redis.ParseURL(r.URL())
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n := c.Exists(ctx, "k").Val(); n != 1 {
		t.Fatalf("key missing before the flush: %d", n)
	}
	r.FlushDB()
	if n := c.DBSize(ctx).Val(); n != 0 {
		t.Fatalf("%d keys after FLUSHDB", n)
	}
}
