// Package testredis gives tests a connection to the real Redis and a key
// prefix of their own. Tests never flush or touch keys outside that prefix.
package testredis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultURL is where `make test` starts or finds Redis.
const DefaultURL = "redis://127.0.0.1:6379/0"

// URL returns REDIS_URL or the default.
func URL() string {
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// New connects to Redis and returns the client and a unique key prefix; on
// cleanup it deletes every key under that prefix. An unreachable Redis fails
// the test: a missing service is never a skip.
func New(tb testing.TB) (*redis.Client, string) {
	tb.Helper()
	opts, err := redis.ParseURL(URL())
	if err != nil {
		tb.Fatalf("testredis: REDIS_URL: %v", err)
	}
	client := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		tb.Fatalf("testredis: Redis at %s is not reachable (run `make test`, which starts it): %v", URL(), err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "gwtest:" + hex.EncodeToString(b) + ":"
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		iter := client.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			client.Del(ctx, iter.Val())
		}
		_ = client.Close()
	})
	return client, prefix
}
