package ratelimit

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// Fallback uses Primary (Redis) and, when it fails, decides with Secondary
// (in-process) instead: limits fail open to per-instance limits rather than
// to no limits or to errors. After a failure Primary is not asked again for
// Cooldown, so a dead Redis costs one timeout per Cooldown, not one per request.
type Fallback struct {
	Primary   Limiter
	Secondary Limiter
	Cooldown  time.Duration
	Logger    *slog.Logger

	downUntil atomic.Int64 // unix nanos; 0 when Primary is believed healthy
}

// Allow implements Limiter.
func (f *Fallback) Allow(ctx context.Context, subject string, l Limits, now time.Time) (Decision, error) {
	if until := f.downUntil.Load(); until == 0 || time.Now().UnixNano() >= until {
		d, err := f.Primary.Allow(ctx, subject, l, now)
		if err == nil {
			if until != 0 && f.downUntil.CompareAndSwap(until, 0) {
				f.Logger.Info("rate limiter: redis is back; shared limits restored")
			}
			return d, nil
		}
		if f.downUntil.Swap(time.Now().Add(f.Cooldown).UnixNano()) == 0 {
			f.Logger.Error("rate limiter: redis failed; using in-process limits", "error", err.Error())
		}
	}
	return f.Secondary.Allow(ctx, subject, l, now)
}

// Degraded reports whether decisions currently come from the fallback.
func (f *Fallback) Degraded() bool {
	until := f.downUntil.Load()
	return until != 0 && time.Now().UnixNano() < until
}
