// Package ratelimit decides whether a request fits its per-minute and per-day
// windows. The minute window is an exact sliding window (no more than N
// requests in any 60 seconds); the day window is a counter that resets at
// 00:00 UTC, as the contract's X-RateLimit-Reset describes.
//
// Redis holds the shared state with one script call per decision; Memory is
// the same algorithm in-process, for development and as the fallback that
// Fallback switches to while Redis is unreachable.
package ratelimit

import (
	"context"
	"time"
)

// Limits are the windows for one subject. Zero means no limit on that window.
type Limits struct {
	PerMinute int
	PerDay    int
}

// Window names, as the contract's error details use them.
const (
	WindowMinute = "minute"
	WindowDay    = "day"
)

// Decision is the outcome of one Allow call.
type Decision struct {
	Allowed bool
	// Window is the exceeded window when !Allowed.
	Window string
	// Limit is the limit of the exceeded window (when !Allowed).
	Limit int
	// RetryAfter is how long until a request would fit again (when !Allowed).
	RetryAfter time.Duration
	// DayLimit, DayRemaining and DayReset describe the daily window after this
	// decision, for the X-RateLimit-* headers.
	DayLimit     int
	DayRemaining int
	DayReset     time.Time
}

// Limiter makes rate-limit decisions.
type Limiter interface {
	Allow(ctx context.Context, subject string, l Limits, now time.Time) (Decision, error)
}

// nextMidnight returns the next 00:00 UTC after now.
func nextMidnight(now time.Time) time.Time {
	y, m, d := now.UTC().Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
}

// dayStamp names the UTC day of now, e.g. "20261127".
func dayStamp(now time.Time) string { return now.UTC().Format("20060102") }

// finish fills the day-window fields of a decision from the day count.
func finish(d Decision, l Limits, dayCount int, now time.Time) Decision {
	d.DayLimit = l.PerDay
	d.DayReset = nextMidnight(now)
	if l.PerDay > 0 {
		d.DayRemaining = max(l.PerDay-dayCount, 0)
	}
	if !d.Allowed && d.Window == WindowDay {
		d.Limit = l.PerDay
		d.RetryAfter = d.DayReset.Sub(now)
	}
	if !d.Allowed && d.Window == WindowMinute {
		d.Limit = l.PerMinute
	}
	return d
}
