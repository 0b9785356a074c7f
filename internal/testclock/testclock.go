// Package testclock is a gateway.Clock for tests: it stands still until the
// test moves it, so that time-dependent rules (key expiry, cache TTLs, rate
// windows, idempotency TTLs) are tested without sleeping.
package testclock

import (
	"sync"
	"time"
)

// Clock is a hand-moved clock, safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a clock showing t.
func New(t time.Time) *Clock { return &Clock{now: t} }

// Now implements gateway.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
