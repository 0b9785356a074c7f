package queue_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/leadlex/api-gateway/gateway/delivery/queue"
	"github.com/leadlex/api-gateway/internal/testredis"
)

// poll is the Asynq test servers' poll interval; settle is how long a test
// waits to see that nothing more happens.
const (
	poll   = 50 * time.Millisecond
	settle = 8 * poll
	bound  = 10 * time.Second // no wait for something expected lasts longer
)

// served is what both implementations offer.
type served interface {
	Enqueue(ctx context.Context, deliveryID string, at time.Time) error
	Serve(ctx context.Context, handler queue.Handler, concurrency int) error
}

// impl builds a fresh, isolated queue of one implementation.
type impl struct {
	name string
	new  func(t *testing.T) served
}

func impls() []impl {
	return []impl{
		{"memory", func(t *testing.T) served {
			return queue.NewMemory(queue.MemoryOptions{ShutdownTimeout: 5 * time.Second})
		}},
		{"asynq", func(t *testing.T) served {
			q, _, _ := newAsynq(t)
			return q
		}},
	}
}

// newAsynq returns an Asynq queue on the test Redis with a queue name of its
// own (asynq has no key prefix; the queue name namespaces its keys), whose
// keys are deleted when the test ends.
func newAsynq(t *testing.T) (*queue.Asynq, redis.UniversalClient, string) {
	t.Helper()
	rdb, prefix := testredis.New(t)
	name := prefix + "deliveries"
	t.Cleanup(func() {
		// Runs after the test's servers stopped (cleanups run in reverse).
		// DeleteQueue leaves the queue's statistics counters behind.
		_ = asynq.NewInspectorFromRedisClient(rdb).DeleteQueue(name, true)
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, "asynq:{"+name+"}:*", 100).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
	return queue.NewAsynq(rdb, queue.AsynqOptions{Queue: name, PollInterval: poll, ShutdownTimeout: 5 * time.Second}), rdb, name
}

// call is one handler run.
type call struct {
	id string
	at time.Time
}

// recorder is a handler that records its calls and then runs then (if set).
type recorder struct {
	mu     sync.Mutex
	calls  []call
	called chan string
	then   func(ctx context.Context, id string) error
}

func newRecorder(then func(ctx context.Context, id string) error) *recorder {
	return &recorder{called: make(chan string, 100), then: then}
}

func (r *recorder) handle(ctx context.Context, id string) error {
	r.mu.Lock()
	r.calls = append(r.calls, call{id, time.Now()})
	r.mu.Unlock()
	r.called <- id
	if r.then != nil {
		return r.then(ctx, id)
	}
	return nil
}

// wait waits for n more calls and fails the test if they do not come.
func (r *recorder) wait(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(bound)
	for range n {
		select {
		case <-r.called:
		case <-timeout:
			t.Fatalf("handler not called in %s", bound)
		}
	}
}

// count returns how many times id was handled.
func (r *recorder) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.calls {
		if c.id == id {
			n++
		}
	}
	return n
}

// first returns when id was first handled.
func (r *recorder) first(id string) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.calls {
		if c.id == id {
			return c.at
		}
	}
	return time.Time{}
}

// serve runs q.Serve until the test ends (or stop is called) and returns
// stop, which cancels it and waits for Serve to return.
func serve(t *testing.T, q served, h queue.Handler, concurrency int) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Serve(ctx, h, concurrency) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(bound):
				err = errors.New("Serve did not return after its context ended")
			}
		})
		return err
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	})
	return stop
}

// eachImpl runs test, in parallel with the test's other parallel tests, on
// a fresh queue of each implementation in a parallel subtest of its own.
func eachImpl(t *testing.T, test func(t *testing.T, q served)) {
	t.Helper()
	t.Parallel()
	for _, im := range impls() {
		t.Run(im.name, func(t *testing.T) {
			t.Parallel()
			test(t, im.new(t))
		})
	}
}

// handledOnce serves q with concurrency handlers that run then, enqueues
// one delivery, and checks that it is handled exactly once.
func handledOnce(t *testing.T, q served, concurrency int, then func(ctx context.Context, id string) error) {
	t.Helper()
	r := newRecorder(then)
	serve(t, q, r.handle, concurrency)
	enqueue(t, q, "d1", time.Now())
	r.wait(t, 1)
	time.Sleep(settle)
	if n := r.count("d1"); n != 1 {
		t.Errorf("handled %d times, want 1", n)
	}
}

func enqueue(t *testing.T, q served, id string, at time.Time) {
	t.Helper()
	if err := q.Enqueue(context.Background(), id, at); err != nil {
		t.Fatalf("Enqueue(%s): %v", id, err)
	}
}

func TestRunsOnce(t *testing.T) {
	eachImpl(t, func(t *testing.T, q served) {
		handledOnce(t, q, 2, nil)
	})
}

func TestDuplicatesDropped(t *testing.T) {
	eachImpl(t, func(t *testing.T, q served) {
		at := time.Now()
		// Queued before serving, so that the first copy is certainly
		// still queued when the second comes.
		enqueue(t, q, "d1", at)
		enqueue(t, q, "d1", at)
		enqueue(t, q, "d1", at.Add(-time.Second)) // another time: another task
		enqueue(t, q, "d2", at)
		r := newRecorder(nil)
		serve(t, q, r.handle, 2)
		r.wait(t, 3)
		time.Sleep(settle)
		if a, b := r.count("d1"), r.count("d2"); a != 2 || b != 1 {
			t.Errorf("handled d1 %d and d2 %d times, want 2 and 1", a, b)
		}
	})
}

func TestScheduledNotBefore(t *testing.T) {
	eachImpl(t, func(t *testing.T, q served) {
		r := newRecorder(nil)
		serve(t, q, r.handle, 1)
		at := time.Now().Add(300 * time.Millisecond)
		// A time late in its second: asynq alone would run it from the
		// start of that second.
		late := time.Now().Truncate(time.Second).Add(1900 * time.Millisecond)
		enqueue(t, q, "later", at)
		enqueue(t, q, "late", late)
		enqueue(t, q, "now", time.Now())
		r.wait(t, 3)
		if got := r.first("later"); got.Before(at) {
			t.Errorf("ran %s before its time", at.Sub(got))
		}
		if got := r.first("late"); got.Before(late) {
			t.Errorf("ran %s before its time", late.Sub(got))
		}
	})
}

func TestErrorsAreNotRetried(t *testing.T) {
	eachImpl(t, func(t *testing.T, q served) {
		handledOnce(t, q, 1, func(context.Context, string) error { return errors.New("store down") })
	})
}

// TestGracefulShutdown checks that Serve, once its context ends, lets a
// running handler finish with a live context before returning.
func TestGracefulShutdown(t *testing.T) {
	eachImpl(t, func(t *testing.T, q served) {
		release := make(chan struct{})
		ctxErr := make(chan error, 1)
		r := newRecorder(func(ctx context.Context, _ string) error {
			<-release
			ctxErr <- ctx.Err()
			return nil
		})
		stop := serve(t, q, r.handle, 1)
		enqueue(t, q, "d1", time.Now())
		r.wait(t, 1)
		stopped := make(chan error, 1)
		go func() { stopped <- stop() }()
		select {
		case <-stopped:
			t.Fatal("Serve returned while a handler was running")
		case <-time.After(settle):
		}
		close(release)
		if err := <-stopped; err != nil {
			t.Fatal(err)
		}
		if err := <-ctxErr; err != nil {
			t.Errorf("handler's context ended during the graceful shutdown: %v", err)
		}
	})
}

// TestConcurrencyBound checks that no more than concurrency handlers run at
// once, and that they do run concurrently.
func TestConcurrencyBound(t *testing.T) {
	eachImpl(t, func(t *testing.T, q served) {
		var running, peak atomic.Int32
		release := make(chan struct{})
		r := newRecorder(func(context.Context, string) error {
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			<-release
			running.Add(-1)
			return nil
		})
		for _, id := range []string{"a", "b", "c", "d"} {
			enqueue(t, q, id, time.Now())
		}
		serve(t, q, r.handle, 2)
		r.wait(t, 2)
		time.Sleep(settle)
		if p := peak.Load(); p != 2 {
			t.Errorf("%d handlers ran at once, want 2", p)
		}
		close(release)
		r.wait(t, 2)
	})
}

func TestEnqueueCancelled(t *testing.T) {
	eachImpl(t, func(t *testing.T, q served) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := q.Enqueue(ctx, "d1", time.Now()); err == nil {
			t.Error("Enqueue with an ended context succeeded")
		}
	})
}

// TestAsynqTasks checks how tasks are stored in Redis: in the configured
// queue, with the delivery and time as task id, never retried by asynq, and
// archived when the handler fails.
func TestAsynqTasks(t *testing.T) {
	t.Parallel()
	q, rdb, name := newAsynq(t)
	at := time.Now().Add(time.Hour).Truncate(time.Second).Add(300 * time.Millisecond) // asynq counts whole seconds
	enqueue(t, q, "d1", at)
	insp := asynq.NewInspectorFromRedisClient(rdb)
	info, err := insp.GetTaskInfo(name, queue.TaskID("d1", at))
	if err != nil {
		t.Fatal(err)
	}
	if info.Type != queue.TaskType || string(info.Payload) != "d1" || info.MaxRetry != 0 ||
		info.State != asynq.TaskStateScheduled || info.NextProcessAt.Before(at) || info.NextProcessAt.After(at.Add(time.Second)) {
		t.Errorf("task %+v", info)
	}
	if q.QueueName() != name {
		t.Errorf("QueueName = %q, want %q", q.QueueName(), name)
	}

	r := newRecorder(func(context.Context, string) error { return errors.New("store down") })
	serve(t, q, r.handle, 1)
	enqueue(t, q, "d2", time.Now())
	r.wait(t, 1)
	deadline := time.Now().Add(bound)
	for {
		archived, err := insp.ListArchivedTasks(name)
		if err == nil && len(archived) == 1 && string(archived[0].Payload) == "d2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("archived tasks %v, %v; want d2", archived, err)
		}
		time.Sleep(poll)
	}
}

// TestMemoryServedOnce checks that a Memory queue refuses a second Serve
// while one runs, and accepts one after it ended.
func TestMemoryServedOnce(t *testing.T) {
	t.Parallel()
	q := queue.NewMemory(queue.MemoryOptions{})
	r := newRecorder(nil)
	stop := serve(t, q, r.handle, 1)
	// Serve marks the queue served before anything else; make sure it ran.
	enqueue(t, q, "d1", time.Now())
	r.wait(t, 1)
	if err := q.Serve(context.Background(), r.handle, 1); !errors.Is(err, queue.ErrServing) {
		t.Errorf("second Serve = %v, want ErrServing", err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	serve(t, q, r.handle, 1)
	enqueue(t, q, "d2", time.Now())
	r.wait(t, 1)
}

// TestMemoryKeepsQueuedTasks checks that tasks not yet due stay queued
// across a stop, and that a panicking handler does not stop the queue.
func TestMemoryKeepsQueuedTasks(t *testing.T) {
	t.Parallel()
	q := queue.NewMemory(queue.MemoryOptions{})
	r := newRecorder(func(_ context.Context, id string) error {
		if id == "boom" {
			panic("handler bug")
		}
		return nil
	})
	stop := serve(t, q, r.handle, 1)
	enqueue(t, q, "boom", time.Now())
	enqueue(t, q, "after", time.Now())
	r.wait(t, 2)
	enqueue(t, q, "tomorrow", time.Now().Add(24*time.Hour))
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n := q.Len(); n != 1 {
		t.Errorf("Len = %d after stopping, want 1", n)
	}
}

// TestMemoryShutdownTimeout checks that a handler still running after the
// shutdown timeout has its context cancelled.
func TestMemoryShutdownTimeout(t *testing.T) {
	t.Parallel()
	q := queue.NewMemory(queue.MemoryOptions{ShutdownTimeout: 50 * time.Millisecond})
	r := newRecorder(func(ctx context.Context, _ string) error {
		<-ctx.Done()
		return ctx.Err()
	})
	stop := serve(t, q, r.handle, 1)
	enqueue(t, q, "stuck", time.Now())
	r.wait(t, 1)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
