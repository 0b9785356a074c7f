package delivery

import (
	"context"
	"sync"
)

// Coalesce returns a Notifier that never makes its caller wait: Notify only
// marks a wake-up as wanted, and one goroutine at a time sends it through n,
// again and again while more were asked for meanwhile, then ends. A burst of
// publishes thus costs one wake-up per round trip of n, not one each, and
// POST /v1/events never waits for Redis or for a NOTIFY (which Postgres
// serialises across all notifying transactions until their commit is on
// disk, so notifying inside every publish would cap publishing at one commit
// flush at a time).
func Coalesce(n Notifier) Notifier { return &coalescer{n: n} }

// coalescer is Coalesce's Notifier.
type coalescer struct {
	n       Notifier
	mu      sync.Mutex
	wanted  bool // a wake-up was asked for since the last send began
	running bool // a goroutine is sending
}

// Notify asks for a wake-up; it returns at once. The send is detached from
// ctx's cancellation (n bounds its own time), so that a request that ends
// still wakes the engines.
func (c *coalescer) Notify(ctx context.Context) {
	c.mu.Lock()
	c.wanted = true
	start := !c.running
	c.running = true
	c.mu.Unlock()
	if start {
		go c.send(context.WithoutCancel(ctx))
	}
}

// send delivers wake-ups until none is wanted any more.
func (c *coalescer) send(ctx context.Context) {
	for {
		c.mu.Lock()
		if !c.wanted {
			c.running = false
			c.mu.Unlock()
			return
		}
		c.wanted = false
		c.mu.Unlock()
		c.n.Notify(ctx)
	}
}
