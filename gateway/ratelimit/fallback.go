package ratelimit

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// Prober is a Primary that can check its own health without deciding
// anything. With it, Fallback finds out that Redis is back in the
// background, so that no request waits on a dead Redis after the first
// failure.
type Prober interface {
	Probe(ctx context.Context) error
}

// Fallback uses Primary (Redis) and, when it fails, decides with Secondary
// (in-process) instead: limits fail open to per-instance limits rather than
// to no limits or to errors. After a failure Primary is not asked again for
// Cooldown. Then exactly one caller claims the next check: when Primary is a
// Prober that check runs in the background while every request keeps
// deciding in-process, so a dead (or hanging) Redis costs one request one
// failed call in all, not one per Cooldown; otherwise the claiming request
// asks Primary itself, and only that one request pays.
type Fallback struct {
	Primary   Limiter
	Secondary Limiter
	Cooldown  time.Duration
	Logger    *slog.Logger

	downUntil atomic.Int64 // unix nanos; 0 when Primary is believed healthy
	// downSince is when the current degradation began (unix nanos, valid
	// while downUntil is not 0); downTotal sums the ended ones.
	downSince, downTotal atomic.Int64
	// primary and secondary count the decisions each made.
	primary, secondary counter
}

// Allow implements Limiter.
func (f *Fallback) Allow(ctx context.Context, subject string, l Limits, now time.Time) (Decision, error) {
	until := f.downUntil.Load()
	if until == 0 {
		d, err := f.Primary.Allow(ctx, subject, l, now)
		if err == nil {
			return f.primary.count(d, nil)
		}
		if t := time.Now(); f.downUntil.CompareAndSwap(0, t.Add(f.Cooldown).UnixNano()) {
			f.downSince.Store(t.UnixNano())
			f.Logger.Error("rate limiter: redis failed; using in-process limits", "error", err.Error())
		}
		return f.secondary.count(f.Secondary.Allow(ctx, subject, l, now))
	}
	claim, ok := f.claim(until)
	if !ok {
		return f.secondary.count(f.Secondary.Allow(ctx, subject, l, now))
	}
	if p, isProber := f.Primary.(Prober); isProber {
		go f.probe(p, claim)
		return f.secondary.count(f.Secondary.Allow(ctx, subject, l, now))
	}
	d, err := f.Primary.Allow(ctx, subject, l, now)
	if err != nil {
		return f.secondary.count(f.Secondary.Allow(ctx, subject, l, now))
	}
	f.restored(claim)
	return f.primary.count(d, nil)
}

// Counts returns the decisions made so far by Primary and by Secondary.
func (f *Fallback) Counts() (primary, secondary Counts) {
	return f.primary.counts(), f.secondary.counts()
}

// claim decides who checks Primary once the cooldown that ends at until is
// over: the one caller that pushes the deadline out by another Cooldown.
func (f *Fallback) claim(until int64) (int64, bool) {
	t := time.Now()
	if t.UnixNano() < until {
		return 0, false
	}
	claim := t.Add(f.Cooldown).UnixNano()
	return claim, f.downUntil.CompareAndSwap(until, claim)
}

// probe checks Primary off the request path, bounded by Cooldown.
func (f *Fallback) probe(p Prober, claim int64) {
	ctx, cancel := context.WithTimeout(context.Background(), f.Cooldown)
	defer cancel()
	if p.Probe(ctx) == nil {
		f.restored(claim)
	}
}

func (f *Fallback) restored(claim int64) {
	if f.downUntil.CompareAndSwap(claim, 0) {
		f.downTotal.Add(time.Now().UnixNano() - f.downSince.Load())
		f.Logger.Info("rate limiter: redis is back; shared limits restored")
	}
}

// DegradedFor returns the total time decisions have come from the
// fallback, the current degradation included (for metrics).
func (f *Fallback) DegradedFor() time.Duration {
	total := f.downTotal.Load()
	if f.Degraded() {
		total += time.Now().UnixNano() - f.downSince.Load()
	}
	return time.Duration(max(total, 0))
}

// Degraded reports whether decisions currently come from the fallback: from
// the first failure until a check finds Primary healthy.
func (f *Fallback) Degraded() bool {
	return f.downUntil.Load() != 0
}
