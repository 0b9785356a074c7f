package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// allowScript decides both windows atomically in one round trip.
// KEYS[1]: the minute window: a list of the times (ms) of the last
// per-minute accepted requests, newest first. A request fits iff fewer than
// per-minute requests were accepted in the last 60 s, that is iff the
// per-minute-th newest time is 60 s old or older (or missing). This is the
// exact sliding window of a sorted-set log at a fraction of its Redis CPU:
// LINDEX/LPUSH/LTRIM instead of skiplist updates, and at most per-minute
// entries per key.
// KEYS[2]: the day counter.
// ARGV: now (ms), per-minute limit, per-day limit, seconds to keep the day
// counter.
// Returns {allowed (0/1), exceeded window (0 none, 1 minute, 2 day), day count,
// retry after in ms}. A rejected request changes nothing, so a client that
// keeps knocking while limited does not push its own window further out.
var allowScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local per_minute = tonumber(ARGV[2])
local per_day = tonumber(ARGV[3])
-- Count the request first: the common, allowed path then makes one call
-- fewer; a rejection takes the count back.
local day = redis.call('INCR', KEYS[2])
if day == 1 then
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[4]))
end
if per_day > 0 and day > per_day then
  redis.call('DECR', KEYS[2])
  return {0, 2, day - 1, 0}
end
if per_minute > 0 then
  local oldest = redis.call('LINDEX', KEYS[1], per_minute - 1)
  if oldest and tonumber(oldest) > now - 60000 then
    redis.call('DECR', KEYS[2])
    return {0, 1, day - 1, tonumber(oldest) + 60000 - now}
  end
  redis.call('LPUSH', KEYS[1], now)
  redis.call('LTRIM', KEYS[1], 0, per_minute - 1)
  redis.call('PEXPIRE', KEYS[1], 60000)
end
return {1, 0, day, 0}
`)

// Redis is the shared limiter. Every gateway instance sees the same counts.
// Instances' clocks are assumed to agree to within milliseconds (NTP); the
// window is exact up to that skew.
type Redis struct {
	client redis.Scripter
	prefix string
}

// NewRedis returns a limiter that keeps its keys under prefix (e.g. "rl:").
func NewRedis(client redis.Scripter, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix}
}

// Load makes sure the script is cached on the server, so that the first
// request does not pay for sending it.
func (r *Redis) Load(ctx context.Context) error {
	return allowScript.Load(ctx, r.client).Err()
}

// Probe implements Prober: it loads the script again, which is cheap,
// decides nothing, and means the first decision after Redis restarted
// (empty script cache) needs no second round trip.
func (r *Redis) Probe(ctx context.Context) error { return r.Load(ctx) }

// Allow implements Limiter with one EVALSHA.
func (r *Redis) Allow(ctx context.Context, subject string, l Limits, now time.Time) (Decision, error) {
	// The hash tag keeps both keys in one Redis Cluster slot.
	base := r.prefix + "{" + subject + "}"
	keys := []string{base + ":m", base + ":d:" + dayStamp(now)}
	ttl := int64(nextMidnight(now).Sub(now)/time.Second) + 60
	res, err := allowScript.Run(ctx, r.client, keys, now.UnixMilli(), l.PerMinute, l.PerDay, ttl).Int64Slice()
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
