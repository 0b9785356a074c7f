// Package queue holds the two delivery.Queue implementations: Asynq, backed
// by Redis through github.com/hibiken/asynq, for deployments, and Memory, in
// process, for `make run` without Redis. Both run the same hook,
// func(ctx, deliveryID) error (delivery.Worker.Process), through Serve.
//
// Neither retries a task itself: the store schedules every retry and the
// worker enqueues it, and the sweeper re-enqueues whatever a queue loses. A
// queue only has to run each task about once, at or after its time.
package queue

import (
	"context"

	"github.com/leadlex/api-gateway/gateway/delivery"
)

// Handler processes one delivery; delivery.Worker.Process is one. An error
// is logged (and, with Asynq, the task archived); it never causes a retry.
type Handler = func(ctx context.Context, deliveryID string) error

// Compile-time guards.
var (
	_ delivery.Queue = (*Asynq)(nil)
	_ delivery.Queue = (*Memory)(nil)
)
