// Package wake carries the delivery engine's wake-ups between processes
// over Redis pub/sub: the API side publishes on one channel after it made
// deliveries due, and every engine subscribed to it claims at once instead
// of at its next poll. Wake-ups only save latency: the store is the queue,
// so a Redis outage, a flush or a lost message costs at most the engines'
// poll interval, never a delivery.
package wake

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Channel is the pub/sub channel's name after the key prefix.
const Channel = "deliveries:wake"

// DefaultTimeout bounds one publish when Redis.Timeout is zero: a dead
// Redis must not slow down POST /v1/events by more than this.
const DefaultTimeout = 250 * time.Millisecond

// Redis is a delivery.Notifier and delivery.Wakeups over Redis pub/sub.
// Its fields are set once before use; it is then safe for concurrent use.
type Redis struct {
	Client *redis.Client
	// Channel is the full channel name, e.g. REDIS_KEY_PREFIX + Channel.
	Channel string
	// Timeout bounds one publish; zero means DefaultTimeout.
	Timeout time.Duration
	// Logger receives the first failure of a run of failed publishes (and
	// the recovery); nil discards them.
	Logger *slog.Logger

	failing atomic.Bool
}

// Notify publishes one wake-up, bounded by Timeout. A failure is logged
// once per outage and otherwise ignored: the engines poll anyway.
func (r *Redis) Notify(ctx context.Context) {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := r.Client.Publish(ctx, r.Channel, "1").Err()
	switch {
	case err != nil && !r.failing.Swap(true):
		r.logger().LogAttrs(ctx, slog.LevelWarn, "delivery wake-up over redis failed; engines fall back to polling",
			slog.String("error", err.Error()))
	case err == nil && r.failing.Swap(false):
		r.logger().LogAttrs(ctx, slog.LevelInfo, "delivery wake-ups over redis work again")
	}
}

// Subscribe returns a channel that receives (coalesced) wake-ups until ctx
// ends, then is closed. The subscription reconnects by itself after a
// Redis outage (go-redis resubscribes); meanwhile nothing arrives.
func (r *Redis) Subscribe(ctx context.Context) <-chan struct{} {
	out := make(chan struct{}, 1)
	ps := r.Client.Subscribe(ctx, r.Channel)
	go func() {
		defer close(out)
		defer func() { _ = ps.Close() }()
		msgs := ps.Channel(redis.WithChannelHealthCheckInterval(5 * time.Second))
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-msgs:
				if !ok {
					return
				}
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}
	}()
	return out
}

func (r *Redis) logger() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}
