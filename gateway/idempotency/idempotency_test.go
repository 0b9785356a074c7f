package idempotency

import (
	"context"
	"errors"
	"github.com/leadlex/api-gateway/internal/testclock"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadlex/api-gateway/internal/testredis"
)

// store is the contract both implementations keep.
type store interface {
	Begin(ctx context.Context, key string, lockTTL time.Duration) (string, error)
	Complete(ctx context.Context, key, record string, ttl time.Duration) error
	Release(ctx context.Context, key string) error
}

var (
	_ store = (*Redis)(nil)
	_ store = (*Memory)(nil)
)

const (
	lockTTL   = time.Minute
	recordTTL = 24 * time.Hour
)

// backend is one implementation under test. advance moves time for Memory;
// for Redis, which keeps its own time, ttl reads a key's remaining time
// instead, so that no test sleeps.
type backend struct {
	name    string
	s       store
	advance func(d time.Duration) // nil for Redis
	ttl     func(key string) time.Duration
	exists  func(key string) bool
}

func backends(t *testing.T) []backend {
	t.Helper()
	clock := testclock.New(time.Date(2026, 4, 17, 12, 0, 0, 0, time.UTC))
	m := NewMemory()
	m.now = clock.Now
	client, prefix := testredis.New(t)
	ctx := context.Background()
	return []backend{
		{
			name: "memory", s: m, advance: clock.Advance,
			ttl: func(key string) time.Duration {
				m.mu.Lock()
				defer m.mu.Unlock()
				e, ok := m.entries[key]
				if !ok {
					return -2
				}
				return e.expires.Sub(clock.Now())
			},
			exists: func(key string) bool {
				v, _ := m.Begin(ctx, key, 0) // lockTTL 0 leaves no reservation behind
				return v != ""
			},
		},
		{
			name: "redis", s: NewRedis(client, prefix),
			ttl: func(key string) time.Duration { return client.PTTL(ctx, prefix+key).Val() },
			exists: func(key string) bool {
				n, err := client.Exists(ctx, prefix+key).Result()
				if err != nil {
					t.Fatal(err)
				}
				return n == 1
			},
		},
	}
}

func begin(t *testing.T, s store, key string) string {
	t.Helper()
	v, err := s.Begin(context.Background(), key, lockTTL)
	if err != nil {
		t.Fatalf("Begin(%s): %v", key, err)
	}
	return v
}

func TestStores(t *testing.T) {
	ctx := context.Background()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Run("begin reserves once", func(t *testing.T) {
				if v := begin(t, b.s, "k-reserve"); v != "" {
					t.Fatalf("first Begin = %q, want the reservation", v)
				}
				if v := begin(t, b.s, "k-reserve"); v != Pending {
					t.Fatalf("second Begin = %q, want %q", v, Pending)
				}
				if ttl := b.ttl("k-reserve"); ttl <= 0 || ttl > lockTTL {
					t.Errorf("reservation TTL %s, want (0, %s]", ttl, lockTTL)
				}
			})
			t.Run("complete keeps the record for its TTL", func(t *testing.T) {
				begin(t, b.s, "k-complete")
				if err := b.s.Complete(ctx, "k-complete", "sealed-record", recordTTL); err != nil {
					t.Fatal(err)
				}
				if v := begin(t, b.s, "k-complete"); v != "sealed-record" {
					t.Fatalf("Begin after Complete = %q, want the record", v)
				}
				if ttl := b.ttl("k-complete"); ttl <= recordTTL-time.Minute || ttl > recordTTL {
					t.Errorf("record TTL %s, want about %s (not the lock's)", ttl, recordTTL)
				}
			})
			t.Run("release frees the key", func(t *testing.T) {
				begin(t, b.s, "k-release")
				if err := b.s.Release(ctx, "k-release"); err != nil {
					t.Fatal(err)
				}
				if b.exists("k-release") {
					t.Fatal("key still held after Release")
				}
				if v := begin(t, b.s, "k-release"); v != "" {
					t.Fatalf("Begin after Release = %q, want a new reservation", v)
				}
				if err := b.s.Release(ctx, "k-never-used"); err != nil {
					t.Errorf("Release of an unknown key: %v", err)
				}
			})
			t.Run("keys are independent", func(t *testing.T) {
				begin(t, b.s, "{key-a}:x")
				if v := begin(t, b.s, "{key-b}:x"); v != "" {
					t.Errorf("Begin of another key = %q", v)
				}
			})
			t.Run("exactly one concurrent Begin wins", func(t *testing.T) {
				const n = 32
				results := make(chan string, n)
				var wg sync.WaitGroup
				for range n {
					wg.Go(func() {
						v, err := b.s.Begin(ctx, "k-race", lockTTL)
						if err != nil {
							t.Error(err)
						}
						results <- v
					})
				}
				wg.Wait()
				close(results)
				won := 0
				for v := range results {
					switch v {
					case "":
						won++
					case Pending:
					default:
						t.Errorf("Begin = %q", v)
					}
				}
				if won != 1 {
					t.Errorf("%d of %d concurrent Begins reserved the key, want 1", won, n)
				}
			})
			if b.advance == nil {
				return
			}
			t.Run("an abandoned reservation expires after the lock TTL", func(t *testing.T) {
				begin(t, b.s, "k-abandoned")
				b.advance(lockTTL - time.Nanosecond)
				if v := begin(t, b.s, "k-abandoned"); v != Pending {
					t.Fatalf("just before the lock TTL: %q, want %q", v, Pending)
				}
				b.advance(time.Nanosecond)
				if v := begin(t, b.s, "k-abandoned"); v != "" {
					t.Fatalf("at the lock TTL: %q, want a new reservation", v)
				}
			})
			t.Run("a record expires after its TTL", func(t *testing.T) {
				begin(t, b.s, "k-expire")
				if err := b.s.Complete(ctx, "k-expire", "rec", recordTTL); err != nil {
					t.Fatal(err)
				}
				b.advance(recordTTL - time.Nanosecond)
				if v := begin(t, b.s, "k-expire"); v != "rec" {
					t.Fatalf("just before the TTL: %q, want the record", v)
				}
				b.advance(time.Nanosecond)
				if v := begin(t, b.s, "k-expire"); v != "" {
					t.Fatalf("at the TTL: %q, want a new reservation", v)
				}
			})
		})
	}
}

func TestRedisUsesPrefixOnly(t *testing.T) {
	client, prefix := testredis.New(t)
	ctx := context.Background()
	r := NewRedis(client, prefix)
	begin(t, r, "{k}:abc")
	if err := r.Complete(ctx, "{k}:abc", "rec", recordTTL); err != nil {
		t.Fatal(err)
	}
	keys, err := client.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != prefix+"{k}:abc" {
		t.Errorf("keys under the prefix: %v", keys)
	}
	if v, _ := client.Get(ctx, prefix+"{k}:abc").Result(); v != "rec" {
		t.Errorf("stored %q", v)
	}
}

func TestRedisErrors(t *testing.T) {
	// Nothing listens on port 1: every call fails at once.
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = client.Close() })
	r := NewRedis(client, "gwtest:none:")
	ctx := context.Background()
	if v, err := r.Begin(ctx, "k", lockTTL); err == nil || v != "" {
		t.Errorf("Begin = %q, %v; want an error", v, err)
	} else if errors.Is(err, redis.Nil) {
		t.Errorf("Begin error %v looks like a free key", err)
	}
	if err := r.Complete(ctx, "k", "rec", recordTTL); err == nil {
		t.Error("Complete: no error")
	}
	if err := r.Release(ctx, "k"); err == nil {
		t.Error("Release: no error")
	}

	live, prefix := testredis.New(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewRedis(live, prefix).Begin(cancelled, "k", lockTTL); err == nil {
		t.Error("Begin with a cancelled context: no error")
	}
}

func TestMemoryPrunesExpired(t *testing.T) {
	clock := testclock.New(time.Date(2026, 4, 17, 12, 0, 0, 0, time.UTC))
	m := NewMemory()
	m.now = clock.Now
	ctx := context.Background()
	const n = 100_001
	for i := range n {
		if _, err := m.Begin(ctx, "old-"+strconv.Itoa(i), time.Second); err != nil {
			t.Fatal(err)
		}
	}
	begin(t, m, "live")
	clock.Advance(2 * time.Second)
	begin(t, m, "new")
	m.mu.Lock()
	size := len(m.entries)
	m.mu.Unlock()
	if size != 2 {
		t.Errorf("%d entries after pruning, want 2 (live and new)", size)
	}
	if v := begin(t, m, "live"); v != Pending {
		t.Errorf("a live reservation was pruned: %q", v)
	}
}
