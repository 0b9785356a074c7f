package postgres

import (
	"context"
	"time"
)

// Wake-ups over LISTEN/NOTIFY: the API's Notify (after a publish or a
// retry has committed) and the lease releases of gateway_release_leases
// notify the channel gateway_deliveries, and Subscribe listens on it.

// wakeupChannel is the channel the SQL functions notify.
const wakeupChannel = "gateway_deliveries"

// Reconnect backoff of the listener, and the bound on each statement it
// sends (acquiring the connection, LISTEN).
const (
	listenBackoffMin = 100 * time.Millisecond
	listenBackoffMax = 5 * time.Second
	listenTimeout    = 5 * time.Second
)

// notifyTimeout bounds one NOTIFY of Notify.
const notifyTimeout = time.Second

// Notify implements delivery.Notifier: one NOTIFY gateway_deliveries, as a
// statement of its own (no transaction of the caller's waits on the notify
// queue's lock). Wrap it in delivery.Coalesce so that a burst of publishes
// costs one. A failure is ignored: engines poll anyway.
func (s *Store) Notify(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, notifyTimeout)
	defer cancel()
	_, _ = s.pool.Exec(ctx, "select pg_notify($1, '')", wakeupChannel)
}

// Subscribe implements delivery.Wakeups: it takes a connection of its own
// out of the pool (it is never returned: a connection that listens must not
// serve other queries), LISTENs on gateway_deliveries and turns
// notifications into wake-ups on a channel of capacity 1, so that a burst of
// them coalesces into one. When the connection fails (Postgres restarted,
// the backend was terminated) it reconnects with a doubling backoff from
// 100 ms to 5 s, and after every (re)connect it sends one wake-up, because
// notifications sent while it was away are lost. The channel is closed when
// ctx ends.
func (s *Store) Subscribe(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	go s.listen(ctx, ch)
	return ch
}

// wake sends a wake-up unless one is pending already.
func wake(ch chan<- struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// listen runs Subscribe's connection loop until ctx ends.
func (s *Store) listen(ctx context.Context, ch chan<- struct{}) {
	defer close(ch)
	backoff := listenBackoffMin
	for ctx.Err() == nil {
		if s.listenOnce(ctx, ch) {
			backoff = listenBackoffMin
		}
		if ctx.Err() != nil {
			return
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, listenBackoffMax)
	}
}

// listenOnce connects, listens and forwards notifications until the
// connection fails or ctx ends; it reports whether it got as far as
// listening (then the backoff starts over).
func (s *Store) listenOnce(ctx context.Context, ch chan<- struct{}) bool {
	acquireCtx, cancel := context.WithTimeout(ctx, listenTimeout)
	pooled, err := s.pool.Acquire(acquireCtx)
	cancel()
	if err != nil {
		return false
	}
	conn := pooled.Hijack()
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), listenTimeout)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	listenCtx, cancel := context.WithTimeout(ctx, listenTimeout)
	_, err = conn.Exec(listenCtx, "listen "+wakeupChannel)
	cancel()
	if err != nil {
		return false
	}
	wake(ch)
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return true
		}
		wake(ch)
	}
}
