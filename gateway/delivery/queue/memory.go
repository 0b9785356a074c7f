package queue

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"
)

// ErrServing is returned by Memory.Serve when the queue is already served.
var ErrServing = errors.New("queue: memory queue is already being served")

// MemoryOptions configures a Memory queue.
type MemoryOptions struct {
	// ShutdownTimeout is how long Serve lets running handlers finish after
	// its context ends before cancelling theirs; zero means
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// Logger receives handler errors and panics; nil discards them.
	Logger *slog.Logger
}

// Memory is an in-process delivery.Queue: a heap of timers served by
// goroutines. Tasks live only as long as the process (the sweeper
// re-enqueues what a restart loses). Like Asynq, it drops a task whose
// delivery and time (to the millisecond) are already queued or running.
type Memory struct {
	opts MemoryOptions
	log  *slog.Logger

	mu      sync.Mutex
	items   taskHeap
	keys    map[taskKey]struct{} // queued or running
	seq     uint64
	serving bool
	wake    chan struct{} // one pending signal: the heap changed
}

// taskKey identifies a task, as TaskID does for Asynq.
type taskKey struct {
	id string
	at int64 // Unix milliseconds
}

// task is a queued task; seq keeps tasks due at the same time in FIFO order.
type task struct {
	key taskKey
	at  time.Time
	seq uint64
}

// NewMemory returns an empty in-process queue.
func NewMemory(opts MemoryOptions) *Memory {
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = DefaultShutdownTimeout
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Memory{opts: opts, log: log, keys: map[taskKey]struct{}{}, wake: make(chan struct{}, 1)}
}

// Enqueue schedules an attempt of deliveryID at at (as soon as it is served
// if at has passed). A task for the same delivery and millisecond that is
// queued or running already is kept instead, and nil returned.
func (m *Memory) Enqueue(ctx context.Context, deliveryID string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory queue: enqueue %s: %w", deliveryID, err)
	}
	k := taskKey{deliveryID, at.UnixMilli()}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, dup := m.keys[k]; dup {
		return nil
	}
	m.keys[k] = struct{}{}
	m.seq++
	heap.Push(&m.items, task{key: k, at: at, seq: m.seq})
	select {
	case m.wake <- struct{}{}:
	default:
	}
	return nil
}

// Len returns how many tasks are queued, due or not (running ones excluded).
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.items.Len()
}

// Serve runs handler on due tasks, at most concurrency at a time (zero or
// less means the number of CPUs), until ctx ends. It then starts no more
// tasks (queued ones stay queued), waits up to ShutdownTimeout for running
// handlers, cancels the context of any still running, waits for them and
// returns nil. Handlers get a context carrying ctx's values but not its
// cancellation, so that an attempt under way at shutdown is finished and
// recorded. A handler error or panic is logged. Only one Serve may run at a
// time; another returns ErrServing.
func (m *Memory) Serve(ctx context.Context, handler Handler, concurrency int) error {
	m.mu.Lock()
	if m.serving {
		m.mu.Unlock()
		return ErrServing
	}
	m.serving = true
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.serving = false
		m.mu.Unlock()
	}()
	if concurrency < 1 {
		concurrency = runtime.NumCPU()
	}

	hctx, cancelHandlers := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHandlers()
	slots := make(chan struct{}, concurrency)
	var running sync.WaitGroup
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()

loop:
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			break loop
		}
		for {
			k, wait, ok := m.next()
			if ok {
				running.Go(func() {
					defer func() { <-slots }()
					m.run(hctx, handler, k)
				})
				break
			}
			var fire <-chan time.Time
			if wait > 0 {
				timer.Reset(wait)
				fire = timer.C
			}
			select {
			case <-ctx.Done():
				break loop
			case <-m.wake:
			case <-fire:
			}
			timer.Stop()
		}
	}

	done := make(chan struct{})
	go func() { running.Wait(); close(done) }()
	grace := time.NewTimer(m.opts.ShutdownTimeout)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
		cancelHandlers()
		<-done
	}
	return nil
}

// next pops a due task, or returns how long until the earliest one is due
// (zero when the queue is empty: wait for an Enqueue).
func (m *Memory) next() (taskKey, time.Duration, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.items.Len() == 0 {
		return taskKey{}, 0, false
	}
	if wait := time.Until(m.items[0].at); wait > 0 {
		return taskKey{}, wait, false
	}
	t := heap.Pop(&m.items).(task)
	return t.key, 0, true
}

// run calls handler for one task, logs its error or panic, and forgets the
// task's key so that it can be enqueued again.
func (m *Memory) run(ctx context.Context, handler Handler, k taskKey) {
	defer func() {
		m.mu.Lock()
		delete(m.keys, k)
		m.mu.Unlock()
	}()
	defer func() {
		if p := recover(); p != nil {
			m.log.LogAttrs(ctx, slog.LevelError, "delivery task panicked",
				slog.String("delivery_id", k.id), slog.String("panic", fmt.Sprint(p)))
		}
	}()
	if err := handler(ctx, k.id); err != nil {
		m.log.LogAttrs(ctx, slog.LevelError, "delivery task failed",
			slog.String("delivery_id", k.id), slog.String("error", err.Error()))
	}
}

// taskHeap orders tasks by time, then by enqueue order.
type taskHeap []task

func (h taskHeap) Len() int { return len(h) }
func (h taskHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h taskHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *taskHeap) Push(x any)   { *h = append(*h, x.(task)) }
func (h *taskHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}
