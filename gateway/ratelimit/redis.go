package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// allowScript decides both windows atomically in one round trip.
// KEYS[1]: the minute window's sorted set (score = request time in ms).
// KEYS[2]: the day counter.
// ARGV: now (ms), per-minute limit, per-day limit, seconds to keep the day
// counter, a unique member for this request.
// Returns {allowed (0/1), exceeded window (0 none, 1 minute, 2 day), day count,
// retry after in ms}. A rejected request changes nothing, so a client that
// keeps knocking while limited does not push its own window further out.
var allowScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local per_minute = tonumber(ARGV[2])
local per_day = tonumber(ARGV[3])
local day = tonumber(redis.call('GET', KEYS[2]) or '0')
if per_day > 0 and day >= per_day then
  return {0, 2, day, 0}
end
if per_minute > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 60000)
  if redis.call('ZCARD', KEYS[1]) >= per_minute then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    return {0, 1, day, tonumber(oldest[2]) + 60000 - now}
  end
  redis.call('ZADD', KEYS[1], now, ARGV[5])
  redis.call('PEXPIRE', KEYS[1], 60000)
end
day = redis.call('INCR', KEYS[2])
if day == 1 then
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[4]))
end
return {1, 0, day, 0}
`)

// Redis is the shared limiter. Every gateway instance sees the same counts.
type Redis struct {
	client redis.Scripter
	prefix string
	// instance and seq make sliding-window members unique across instances
	// even when two requests share a millisecond.
	instance string
	seq      atomic.Uint64
}

// NewRedis returns a limiter that keeps its keys under prefix (e.g. "rl:").
func NewRedis(client redis.Scripter, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix, instance: uuid.NewString()[:8]}
}

// Load makes sure the script is cached on the server, so that the first
// request does not pay for sending it.
func (r *Redis) Load(ctx context.Context) error {
	return allowScript.Load(ctx, r.client).Err()
}

// Allow implements Limiter with one EVALSHA.
func (r *Redis) Allow(ctx context.Context, subject string, l Limits, now time.Time) (Decision, error) {
	// The hash tag keeps both keys in one Redis Cluster slot.
	base := r.prefix + "{" + subject + "}"
	keys := []string{base + ":m", base + ":d:" + dayStamp(now)}
	ttl := int64(nextMidnight(now).Sub(now)/time.Second) + 60
	member := r.instance + ":" + strconv.FormatUint(r.seq.Add(1), 36)
	res, err := allowScript.Run(ctx, r.client, keys, now.UnixMilli(), l.PerMinute, l.PerDay, ttl, member).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: redis: %w", err)
	}
	if len(res) != 4 {
		return Decision{}, fmt.Errorf("ratelimit: redis: unexpected reply %v", res)
	}
	d := Decision{Allowed: res[0] == 1}
	switch res[1] {
	case 1:
		d.Window = WindowMinute
		d.RetryAfter = time.Duration(res[3]) * time.Millisecond
	case 2:
		d.Window = WindowDay
	}
	return finish(d, l, int(res[2]), now), nil
}
