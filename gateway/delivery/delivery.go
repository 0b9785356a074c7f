// Package delivery sends events to webhooks: the event and its deliveries are
// written to the store, whose deliveries table is the queue, and an Engine
// claims due deliveries in batches, signs, sends and records them, adapting
// each endpoint's concurrency. The store holds the only copy, so there is
// no second queue to lose or repair; wake-ups only save latency.
package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/leadlex/api-gateway/gateway"
)

// Delivery statuses. A delivery is pending until it succeeds, fails for good
// or is cancelled (its webhook was deleted or paused).
const (
	StatusPending   = "pending"
	StatusSuccess   = "success"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// Attempt error classes, as the logs show them (contract §4).
const (
	ErrClassTimeout           = "timeout"
	ErrClassConnectionRefused = "connection_refused"
	ErrClassDNS               = "dns_failure"
	ErrClassTLS               = "tls_error"
	ErrClassRedirect          = "redirect"
	ErrClassHTTP              = "http_error"
	ErrClassBlocked           = "blocked_address"
)

// errClasses lists every error class; the SQL check constraint
// delivery_attempts_error_check (migration 20261127000003) lists the same,
// which the stores' conformance suite checks on every store.
var errClasses = []string{ErrClassTimeout, ErrClassConnectionRefused, ErrClassDNS, ErrClassTLS, ErrClassRedirect, ErrClassHTTP, ErrClassBlocked}

// ErrClasses lists every attempt error class.
func ErrClasses() []string { return append([]string(nil), errClasses...) }

// ValidErrClass reports whether class is one of the error classes.
func ValidErrClass(class string) bool {
	for _, c := range errClasses {
		if c == class {
			return true
		}
	}
	return false
}

// Event is a published event. Data is kept exactly as published (stored as
// text, not jsonb), so that every attempt sends the same bytes.
type Event struct {
	ID          string
	WorkspaceID string
	Type        string
	Data        json.RawMessage
	CreatedAt   time.Time
}

// Delivery is one event to one webhook. Its ID is the X-LeadLex-Delivery-ID,
// the same on every attempt, so receivers can de-duplicate.
type Delivery struct {
	ID          string
	WorkspaceID string
	WebhookID   string
	EventID     string
	EventType   string
	// Test marks a one-shot delivery made by POST .../test: never retried.
	Test          bool
	Status        string
	Attempts      int
	NextAttemptAt *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Claim is a leased delivery with everything needed to send it.
type Claim struct {
	Delivery Delivery
	Event    Event
	Target   Target
	// Endpoint is the webhook's stored endpoint state (ClaimDue only; a
	// zero Limit means none is stored yet).
	Endpoint EndpointState
}

// Target is what a worker needs to send a claimed delivery: the webhook's URL
// and secrets (sealed), read in the same claim so that a paused or deleted
// webhook is noticed before sending.
type Target struct {
	URL                      string
	Active                   bool
	SecretCiphertext         string
	PreviousSecretCiphertext string
	PreviousSecretExpiresAt  *time.Time
}

// Attempt is one try of a delivery, as the logs show it, or (Status
// pending, ID empty) the entry of a delivery waiting for its next attempt:
// Attempt is then the coming attempt's number, NextAttemptAt when it is due,
// and there is no response (DeliveredAt zero).
type Attempt struct {
	ID                 string
	DeliveryID         string
	WebhookID          string
	WorkspaceID        string
	EventType          string
	Attempt            int
	Status             string // the attempt's outcome, success or failed; pending for a waiting delivery's entry
	ResponseStatusCode *int
	ResponseBody       string // at most 2 KB
	DurationMS         int
	Error              *string // an ErrClass, nil on success
	DeliveredAt        time.Time
	// NextAttemptAt is set only on a waiting delivery's entry.
	NextAttemptAt *time.Time
}

// CanonicalIDs returns the attempt's workspace, webhook and delivery ids in
// canonical form (see gateway.CanonicalID), and false when any of them is not
// a UUID: the stores then answer ErrNotFound, as no such delivery can exist.
func (a Attempt) CanonicalIDs() (workspaceID, webhookID, deliveryID string, ok bool) {
	workspaceID, ok1 := gateway.CanonicalID(a.WorkspaceID)
	webhookID, ok2 := gateway.CanonicalID(a.WebhookID)
	deliveryID, ok3 := gateway.CanonicalID(a.DeliveryID)
	if !ok1 || !ok2 || !ok3 {
		return "", "", "", false
	}
	return workspaceID, webhookID, deliveryID, true
}

// Outcome is what a worker records after an attempt.
type Outcome struct {
	Attempt Attempt
	// NextAttemptAt schedules another try after a failed attempt (the
	// delivery stays pending); nil ends the delivery with Attempt.Status
	// (success or failed).
	NextAttemptAt *time.Time
	// DisableAfter: a webhook whose deliveries have all failed for longer
	// than this (since its first failure without a success since) is set
	// inactive with a disabled_reason. Zero disables the rule.
	DisableAfter time.Duration
}

// Store errors.
var (
	// ErrNotFound: no such delivery (or webhook) in the workspace.
	ErrNotFound = errors.New("delivery: not found")
	// ErrNotClaimed: the delivery is not pending, not due, or leased by
	// another worker; the caller does nothing.
	ErrNotClaimed = errors.New("delivery: not claimable")
)

// Store persists events, deliveries and attempts.
type Store interface {
	// PublishEvent stores the event and one pending delivery (due at
	// ev.CreatedAt, with a new UUID) for every active webhook of the
	// workspace subscribed to its type, in one transaction, and returns the
	// deliveries. If an event with this ID already exists in the workspace,
	// nothing is written, created is false and the existing event's
	// deliveries are returned (publishing is idempotent by event ID).
	PublishEvent(ctx context.Context, ev Event) (deliveries []Delivery, created bool, err error)
	// ClaimDelivery leases a pending delivery that is due (next_attempt_at <=
	// now) and not leased, for lease; it increments Attempts and returns the
	// claim. ErrNotClaimed otherwise (also for unknown ids). When the
	// webhook is inactive and the delivery is not a test, the delivery is
	// set cancelled and ErrNotClaimed is returned (a deleted webhook's
	// deliveries are deleted with it).
	ClaimDelivery(ctx context.Context, id string, now time.Time, lease time.Duration) (*Claim, error)
	// RecordAttempt stores the attempt, sets the delivery's status (pending
	// with NextAttemptAt, success or failed), releases the lease, updates the
	// webhook's last_delivery_status/at, and applies the auto-disable rule,
	// atomically. The outcome applies only if Attempt.Attempt is the claim's
	// attempt number and the delivery is still pending and leased: a worker
	// whose lease ran out cannot overwrite a newer claim, and a repeated
	// record is not applied twice (the attempt is still logged, and
	// ErrNotClaimed returned).
	RecordAttempt(ctx context.Context, o Outcome) error
	// ClaimDue leases up to p.Limit due deliveries for worker p.Worker, in
	// one atomic step that concurrent workers serialise on, and returns
	// their claims, each with its endpoint's state (see ClaimParams for the
	// selection rules: per-endpoint in-flight limits, pauses, fairness).
	// Deliveries of inactive webhooks it meets are cancelled and not
	// returned; test deliveries are never claimed here (the API call that
	// made one sends it). An empty slice means nothing is claimable now.
	ClaimDue(ctx context.Context, p ClaimParams) ([]Claim, error)
	// RecordAttempts records a batch of outcomes, each with the rules of
	// RecordAttempt, and stores the endpoint states computed from them, in
	// one transaction. results[i] is nil when outcomes[i] was applied,
	// ErrNotClaimed when it was stale (logged, not applied) and ErrNotFound
	// when its delivery does not exist; err is set only when nothing was
	// written. A webhook row is updated at most once per batch
	// (last_delivery_status/at follow the batch's newest attempt of it,
	// failing_since and the auto-disable rule apply as if the attempts were
	// recorded one by one in delivered_at order). Endpoint states are
	// upserted: Limit, Failures and Circuit are replaced, PausedUntil is
	// the later of the stored and the given one.
	RecordAttempts(ctx context.Context, outcomes []Outcome, endpoints []EndpointState) (results []error, err error)
	// Heartbeat marks worker alive at now and releases the leases of every
	// worker whose last heartbeat is older than now-deadAfter (their
	// deliveries become claimable at once, attempt counts unchanged), then
	// forgets those workers. It returns how many leases it released.
	Heartbeat(ctx context.Context, worker string, now time.Time, deadAfter time.Duration) (released int, err error)
	// RetireWorker forgets a worker that stopped cleanly (after recording
	// everything it claimed); its leases, if any remain, are released.
	RetireWorker(ctx context.Context, worker string) error
	// Backlog reports the delivery engine's state at now (for metrics).
	Backlog(ctx context.Context, now time.Time) (Backlog, error)
	// CreateTestDelivery stores ev and a one-shot delivery (Test, due at
	// ev.CreatedAt) of it to one webhook of the workspace, whatever the
	// webhook's subscriptions and active flag. ErrNotFound if no such webhook.
	CreateTestDelivery(ctx context.Context, ev Event, webhookID string) (*Delivery, error)
	// RetryDelivery makes a delivery of the workspace's webhook pending and
	// due at now again, whatever its status; a test delivery becomes an
	// ordinary one (Test false), which the engine claims and sends like any
	// other. ErrNotFound if there is none.
	RetryDelivery(ctx context.Context, workspaceID, webhookID, deliveryID string, now time.Time) (*Delivery, error)
	// ListAttempts returns a page of a webhook's delivery log (contract
	// §4.1) and its total: one pending entry per delivery waiting for its
	// next attempt on top, newest delivery first (see Attempt), then every
	// attempt with its own outcome, newest first, ties by id descending;
	// optionally only the entries with status. ErrNotFound if the workspace
	// has no such webhook.
	ListAttempts(ctx context.Context, workspaceID, webhookID, status string, offset, limit int) ([]Attempt, int, error)
	// DeleteAttemptsBefore removes attempts older than cutoff (the 30-day
	// retention) and returns how many.
	DeleteAttemptsBefore(ctx context.Context, cutoff time.Time) (int, error)
}

// Wakeups tell an engine that deliveries may have become due (an event was
// published, a delivery retried). They only save latency: a missed one
// costs at most the engine's poll interval, since the store is the queue.
type Wakeups interface {
	// Subscribe returns a channel that receives (coalesced) wake-ups until
	// ctx ends.
	Subscribe(ctx context.Context) <-chan struct{}
}

// Notifier sends wake-ups to every engine (for example over Redis
// pub/sub); stores whose SQL notifies by itself need none.
type Notifier interface {
	Notify(ctx context.Context)
}

// ClaimParams select the deliveries ClaimDue leases. A delivery is
// claimable when it is pending, not a test, due (next_attempt_at <= Now),
// not leased (or its lease ended before Now), and its endpoint (webhook) is
// not paused (PausedUntil is null or <= Now). Per endpoint, the number of
// unexpired leases after the claim never exceeds its Limit: the stored
// EndpointState.Limit, or InitialLimit for an endpoint without a stored
// state, always clamped to [1, MaxLimit]. Among the claimable, the order is
// fair: deliveries are ranked within their webhook (oldest due first, ties
// by id), then within their workspace by (webhook rank, next_attempt_at,
// id), and the claim takes the lowest (workspace rank, next_attempt_at, id)
// first; so every workspace, and every webhook of a workspace, gets its
// turn however many deliveries another has waiting. A claim sets the lease
// to Now+Lease, records Worker as the holder and counts the attempt.
type ClaimParams struct {
	Worker       string // the claiming worker's id (a UUID)
	Now          time.Time
	Lease        time.Duration
	Limit        int // at most this many claims
	InitialLimit int // in-flight limit of an endpoint with no stored state
	MaxLimit     int // no endpoint ever has more attempts in flight
}

// Circuit states of an endpoint.
const (
	// CircuitClosed: deliveries flow, up to the endpoint's Limit.
	CircuitClosed = "closed"
	// CircuitOpen: the endpoint failed every recent attempt; it is paused
	// until PausedUntil, then probed with one attempt at a time (Limit 1)
	// until one succeeds.
	CircuitOpen = "open"
)

// EndpointState is what the engine keeps about one webhook's endpoint
// across workers: its adaptive in-flight limit, a pause (from Retry-After
// or an open circuit) and its run of consecutive failures. The engine
// computes it (see Adapt); the store only keeps it and enforces Limit and
// PausedUntil when claiming.
type EndpointState struct {
	WebhookID   string
	WorkspaceID string
	Limit       int        // attempts in flight allowed across all workers
	PausedUntil *time.Time // nothing is claimed for the endpoint before this
	Failures    int        // consecutive failed attempts
	Circuit     string     // CircuitClosed or CircuitOpen
}

// Backlog is the delivery engine's state as the store sees it.
type Backlog struct {
	Due             int        // pending, due, not leased (waiting for a slot)
	OldestDue       *time.Time // next_attempt_at of the oldest of those, nil if none
	InFlight        int        // unexpired leases
	PausedEndpoints int        // endpoints with PausedUntil after now
	OpenCircuits    int        // endpoints with an open circuit
	AutoDisabled    int        // webhooks the auto-disable rule set inactive
}

// Result is the outcome of one attempt, as the sender reports it to the
// worker (*sender.Sender produces it).
type Result struct {
	// StatusCode is the receiver's status, nil when no answer came (or its
	// status was outside 100-599).
	StatusCode *int
	// Body is the first MaxBody bytes of the answer (after any transparent
	// decompression), made valid UTF-8 without NUL characters, so that it
	// can be stored as text; it never grows past MaxBody bytes.
	Body string
	// Duration is how long the attempt took.
	Duration time.Duration
	// ErrClass is one of the ErrClass* values, or "" for a 2xx.
	ErrClass string
	// RetryAfter is the wait a 429 or 503 answer asked for in Retry-After
	// (delay seconds or an HTTP date), zero otherwise.
	RetryAfter time.Duration
	// Gone reports a 410 answer: the receiver wants no more deliveries.
	Gone bool
}
