package ratelimit

import (
	"context"
	"sync/atomic"
	"time"
)

// Counts are decisions by result, for metrics. A failed call is not a
// decision and is not counted.
type Counts struct{ Allowed, Limited int64 }

// counter counts decisions.
type counter struct{ allowed, limited atomic.Int64 }

// count counts d when err is nil, and passes both on.
func (c *counter) count(d Decision, err error) (Decision, error) {
	switch {
	case err != nil:
	case d.Allowed:
		c.allowed.Add(1)
	default:
		c.limited.Add(1)
	}
	return d, err
}

func (c *counter) counts() Counts {
	return Counts{Allowed: c.allowed.Load(), Limited: c.limited.Load()}
}

// Counted counts the decisions of a Limiter used on its own (the
// in-process limits of an instance without Redis); Fallback counts its
// own by source.
type Counted struct {
	Limiter Limiter
	c       counter
}

// Allow implements Limiter.
func (c *Counted) Allow(ctx context.Context, subject string, l Limits, now time.Time) (Decision, error) {
	return c.c.count(c.Limiter.Allow(ctx, subject, l, now))
}

// Counts returns the decisions made so far.
func (c *Counted) Counts() Counts { return c.c.counts() }
