package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// TaskType is the asynq task type of a delivery attempt; its payload is the
// delivery id.
const TaskType = "delivery:attempt"

// Asynq defaults, used when the corresponding option is zero.
const (
	// DefaultQueueName is the asynq queue deliveries go through.
	DefaultQueueName = "deliveries"
	// DefaultPollInterval is how often an idle server looks for due tasks.
	// asynq's own defaults (1 s for pending, 5 s for scheduled tasks) would
	// add up to 5 s to the contract's 5-second first retry.
	DefaultPollInterval = 200 * time.Millisecond
	// DefaultTaskTimeout bounds one handler run: an attempt (10 s) and the
	// store calls around it, with a wide margin.
	DefaultTaskTimeout = 2 * time.Minute
	// DefaultShutdownTimeout is how long Serve lets running attempts finish
	// after its context ends; it outlasts an attempt, so that a deploy does
	// not cut attempts off.
	DefaultShutdownTimeout = 30 * time.Second
)

// AsynqOptions configures an Asynq queue.
type AsynqOptions struct {
	// Queue is the asynq queue name; zero means DefaultQueueName. asynq has
	// no key prefix: every key of a queue is "asynq:{<queue>}:…", plus the
	// shared set asynq:queues and server heartbeats. So the queue name is
	// the namespace: deployments sharing one Redis, and tests, use distinct
	// names (the assembly can derive it from REDIS_KEY_PREFIX).
	Queue string
	// PollInterval is how often an idle server looks for pending and for
	// due scheduled tasks; zero means DefaultPollInterval.
	PollInterval time.Duration
	// TaskTimeout bounds a handler run; zero means DefaultTaskTimeout.
	TaskTimeout time.Duration
	// ShutdownTimeout bounds the graceful shutdown of Serve; zero means
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// Logger receives asynq's own messages and handler errors; nil discards
	// them.
	Logger *slog.Logger
}

// Asynq is a delivery.Queue on Redis through asynq. Enqueue schedules a task
// with asynq.ProcessAt; Serve runs a server that hands due tasks to a
// Handler. It uses the caller's Redis client and never closes it.
type Asynq struct {
	rdb    redis.UniversalClient
	client *asynq.Client
	opts   AsynqOptions
	log    *slog.Logger
}

// NewAsynq returns a queue on rdb. The client should not have go-redis's
// short request timeouts meant for rate limiting: asynq's scripts can take
// longer under load.
func NewAsynq(rdb redis.UniversalClient, opts AsynqOptions) *Asynq {
	if opts.Queue == "" {
		opts.Queue = DefaultQueueName
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.TaskTimeout <= 0 {
		opts.TaskTimeout = DefaultTaskTimeout
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = DefaultShutdownTimeout
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Asynq{rdb: rdb, client: asynq.NewClientFromRedisClient(rdb), opts: opts, log: log}
}

// QueueName returns the asynq queue the tasks go to.
func (q *Asynq) QueueName() string { return q.opts.Queue }

// TaskID returns the asynq task id of an attempt of deliveryID at at: the
// same delivery for the same millisecond is one task, so that enqueueing it
// twice is dropped by asynq.
func TaskID(deliveryID string, at time.Time) string {
	return deliveryID + ":" + strconv.FormatInt(at.UnixMilli(), 10)
}

// Enqueue schedules an attempt of deliveryID at at (at once if at has
// passed), never before at: asynq counts in whole seconds, so the task runs
// up to a second plus the poll interval late. A task with the same id already in the queue (pending, scheduled,
// running or archived) is a success: the first one will run.
func (q *Asynq) Enqueue(ctx context.Context, deliveryID string, at time.Time) error {
	task := asynq.NewTask(TaskType, []byte(deliveryID))
	opts := []asynq.Option{
		asynq.Queue(q.opts.Queue),
		asynq.TaskID(TaskID(deliveryID, at)),
		asynq.MaxRetry(0), // the store schedules retries
		asynq.Timeout(q.opts.TaskTimeout),
	}
	// A due attempt (a fresh delivery) goes straight to the pending list,
	// where a worker picks it up at once; only later attempts wait in the
	// scheduled set, whose whole-second times cost up to a second.
	if at.After(time.Now()) {
		opts = append(opts, asynq.ProcessAt(ceilSecond(at)))
	}
	_, err := q.client.EnqueueContext(ctx, task, opts...)
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("asynq: enqueue %s: %w", deliveryID, err)
	}
	return nil
}

// ceilSecond rounds t up to a whole second. asynq keeps the time of a
// scheduled task in whole Unix seconds, truncated, so a task for 12:00:05.7
// would run from 12:00:05.0; the store would then find the delivery not yet
// due and refuse the claim, leaving it to the sweeper.
func ceilSecond(t time.Time) time.Time {
	if r := t.Truncate(time.Second); r.Before(t) {
		return r.Add(time.Second)
	}
	return t
}

// Serve runs handler on due tasks, at most concurrency at a time (zero or
// less means the number of CPUs), until ctx ends; it then stops taking
// tasks, lets running ones finish for up to ShutdownTimeout (asynq puts
// those it has to cut off back in the queue) and returns nil. Handlers get a
// context carrying ctx's values but not its cancellation, so that an attempt
// under way when shutdown begins is finished and recorded. A handler error
// archives the task (asynq's dead letters, visible with its inspector); it is
// never retried by asynq. Serve returns an error only if the server cannot
// start.
func (q *Asynq) Serve(ctx context.Context, handler Handler, concurrency int) error {
	base := context.WithoutCancel(ctx)
	srv := asynq.NewServerFromRedisClient(q.rdb, asynq.Config{
		Concurrency:              concurrency,
		BaseContext:              func() context.Context { return base },
		Queues:                   map[string]int{q.opts.Queue: 1},
		TaskCheckInterval:        q.opts.PollInterval,
		DelayedTaskCheckInterval: q.opts.PollInterval,
		ShutdownTimeout:          q.opts.ShutdownTimeout,
		Logger:                   slogAdapter{q.log},
		LogLevel:                 asynq.InfoLevel,
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			q.log.LogAttrs(ctx, slog.LevelError, "delivery task failed",
				slog.String("delivery_id", string(t.Payload())), slog.String("error", err.Error()))
		}),
	})
	err := srv.Start(asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		return handler(ctx, string(t.Payload()))
	}))
	if err != nil {
		return fmt.Errorf("asynq: start: %w", err)
	}
	<-ctx.Done()
	srv.Shutdown()
	return nil
}

// slogAdapter lets asynq log through slog. asynq calls Fatal only when asked
// to by code of ours, which never does; it is logged as an error, without
// exiting the process.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...), "component", "asynq") }
func (a slogAdapter) Info(args ...any)  { a.l.Info(fmt.Sprint(args...), "component", "asynq") }
func (a slogAdapter) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...), "component", "asynq") }
func (a slogAdapter) Error(args ...any) { a.l.Error(fmt.Sprint(args...), "component", "asynq") }
func (a slogAdapter) Fatal(args ...any) { a.l.Error(fmt.Sprint(args...), "component", "asynq") }
