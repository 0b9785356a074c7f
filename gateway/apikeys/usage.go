package apikeys

import (
	"context"
	"sync"
	"time"
)

// Usage recording: a key's last_used_at is refreshed off the request path.
// Authenticate notes a use in memory (one map lookup under a mutex); at most
// once per TouchInterval per key and instance the use is queued, without
// blocking, for one background goroutine that writes it to the store under
// its own timeout. A full queue drops the use (the next request retries), so
// a slow or dead database never slows or fails a request.
const (
	// TouchInterval is how stale last_used_at may be: the contract's "at
	// most once a minute".
	TouchInterval = time.Minute
	// touchQueue bounds the uses waiting to be written.
	touchQueue = 1024
	// touchTimeout bounds one write.
	touchTimeout = 2 * time.Second
)

type touch struct {
	id string
	at time.Time
}

// usage is the debounce and the writer. The writer starts with the first use
// and stops with Close.
type usage struct {
	store Store

	mu      sync.Mutex
	last    map[string]time.Time
	queue   chan touch
	start   sync.Once
	stop    sync.Once
	done    chan struct{}
	stopped chan struct{}
	// written, when set (tests), receives every finished write's outcome.
	written func(touch, error)
}

func (u *usage) init(store Store) {
	u.store = store
	u.last = map[string]time.Time{}
	u.queue = make(chan touch, touchQueue)
	u.done = make(chan struct{})
	u.stopped = make(chan struct{})
}

// note records that key id authenticated at now and queues a write if the
// last one for this key is TouchInterval old.
func (u *usage) note(id string, now time.Time) {
	u.mu.Lock()
	if t, ok := u.last[id]; ok && now.Sub(t) < TouchInterval && !now.Before(t) {
		u.mu.Unlock()
		return
	}
	if len(u.last) >= maxCached {
		clear(u.last)
	}
	u.last[id] = now
	u.mu.Unlock()

	u.start.Do(func() { go u.run() })
	select {
	case u.queue <- touch{id: id, at: now}:
	default:
		// Full: forget the note so that the key's next request tries again.
		u.mu.Lock()
		if u.last[id].Equal(now) {
			delete(u.last, id)
		}
		u.mu.Unlock()
	}
}

func (u *usage) run() {
	defer close(u.stopped)
	for {
		select {
		case <-u.done:
			return
		case t := <-u.queue:
			ctx, cancel := context.WithTimeout(context.Background(), touchTimeout)
			err := u.store.TouchKey(ctx, t.id, t.at)
			cancel()
			if u.written != nil {
				u.written(t, err)
			}
		}
	}
}

// close stops the writer, waiting for a write in progress (at most
// touchTimeout). Uses still queued are dropped: last_used_at is a hint.
func (u *usage) close() {
	u.stop.Do(func() {
		close(u.done)
		u.start.Do(func() { close(u.stopped) })
		<-u.stopped
	})
}

// Close stops the background writer of last_used_at. The Service keeps
// authenticating afterwards, but records no more uses.
func (s *Service) Close() { s.usage.close() }
