// Package idempotency stores the first response to a request carrying an
// Idempotency-Key, shared by every gateway instance through Redis (or held
// in-process in development).
package idempotency

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Pending is the value of a reserved key whose first request is still running.
const Pending = "pending"

// Redis keeps records in Redis under a prefix.
type Redis struct {
	client redis.Cmdable
	prefix string
}

// NewRedis returns a Redis-backed store.
func NewRedis(client redis.Cmdable, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix}
}

// Begin reserves key for lockTTL unless it is taken, in one round trip
// (SET NX GET). It returns the existing value when taken, "" when reserved.
func (r *Redis) Begin(ctx context.Context, key string, lockTTL time.Duration) (string, error) {
	old, err := r.client.SetArgs(ctx, r.prefix+key, Pending, redis.SetArgs{Mode: "NX", Get: true, TTL: lockTTL}).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("idempotency: redis: %w", err)
	}
	return old, nil
}

// Complete stores the final record for ttl, replacing the reservation.
func (r *Redis) Complete(ctx context.Context, key, record string, ttl time.Duration) error {
	return r.client.Set(ctx, r.prefix+key, record, ttl).Err()
}

// Release drops a reservation, so that a retry after a failure runs again.
func (r *Redis) Release(ctx context.Context, key string) error {
	return r.client.Del(ctx, r.prefix+key).Err()
}

// Memory is the in-process store for development.
type Memory struct {
	mu      sync.Mutex
	entries map[string]memEntry
	now     func() time.Time
}

type memEntry struct {
	value   string
	expires time.Time
}

// NewMemory returns an empty in-process store.
func NewMemory() *Memory { return &Memory{entries: map[string]memEntry{}, now: time.Now} }

// Begin implements the store contract of Redis.Begin.
func (m *Memory) Begin(_ context.Context, key string, lockTTL time.Duration) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if e, ok := m.entries[key]; ok && now.Before(e.expires) {
		return e.value, nil
	}
	if len(m.entries) > 100_000 {
		for k, e := range m.entries {
			if !now.Before(e.expires) {
				delete(m.entries, k)
			}
		}
	}
	m.entries[key] = memEntry{Pending, now.Add(lockTTL)}
	return "", nil
}

// Complete implements the store contract of Redis.Complete.
func (m *Memory) Complete(_ context.Context, key, record string, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries[key] = memEntry{record, m.now().Add(ttl)}
	return nil
}

// Release implements the store contract of Redis.Release.
func (m *Memory) Release(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.entries, key)
	return nil
}
