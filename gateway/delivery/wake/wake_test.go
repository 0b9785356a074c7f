package wake_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadlex/api-gateway/gateway/delivery/wake"
	"github.com/leadlex/api-gateway/internal/testredis"
)

// receive waits up to d for a wake-up on ch.
func receive(t *testing.T, ch <-chan struct{}, d time.Duration) bool {
	t.Helper()
	select {
	case _, ok := <-ch:
		return ok
	case <-time.After(d):
		return false
	}
}

// A notify reaches every subscriber of the channel (each engine), and only
// those of the same prefix.
func TestNotifyReachesSubscribers(t *testing.T) {
	client, prefix := testredis.New(t)
	r := &wake.Redis{Client: client, Channel: prefix + wake.Channel}
	other := &wake.Redis{Client: client, Channel: prefix + "other:" + wake.Channel}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, b, o := r.Subscribe(ctx), r.Subscribe(ctx), other.Subscribe(ctx)
	// Subscribing is asynchronous: notify until the first arrives.
	deadline := time.Now().Add(5 * time.Second)
	for !receive(t, a, 50*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no wake-up arrived")
		}
		r.Notify(ctx)
	}
	r.Notify(ctx)
	if !receive(t, b, 2*time.Second) {
		t.Error("the second subscriber got no wake-up")
	}
	if receive(t, o, 100*time.Millisecond) {
		t.Error("another channel's subscriber was woken")
	}
	cancel()
	waitClosed := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-a:
			if !ok {
				return
			}
		case <-waitClosed:
			t.Fatal("the subscription did not end with its context")
		}
	}
}

// With Redis unreachable, Notify returns within its timeout: a publish
// never waits on a dead Redis for long.
func TestNotifyIsBoundedWhenRedisIsDown(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: time.Second, MaxRetries: -1})
	defer client.Close()
	r := &wake.Redis{Client: client, Channel: "x", Timeout: 100 * time.Millisecond}
	start := time.Now()
	r.Notify(context.Background())
	if d := time.Since(start); d > time.Second {
		t.Errorf("Notify took %s with Redis down, want at most about its 100ms timeout", d)
	}
}
