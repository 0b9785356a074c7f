package delivery

import (
	"sync"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of an engine's counters (since it was made) and
// gauges, in plain numbers for logs, tests and, later, a metrics exporter.
// Store.Backlog adds the store's view (due count, oldest due).
type Stats struct {
	WorkerID string
	// InFlight is the attempts being sent or waiting to be recorded.
	InFlight int64
	// ClaimCalls counts ClaimDue calls that answered, Claimed the
	// deliveries they returned, ClaimErrors the calls that failed.
	ClaimCalls, Claimed, ClaimErrors int64
	// Attempts counts made attempts by outcome: "success", "retry" (failed,
	// another attempt scheduled) and "failed" (failed for good).
	Attempts map[string]int64
	// Errors counts failed attempts by error class (ErrClass*).
	Errors map[string]int64
	// RecordBatches counts RecordAttempts calls that succeeded, Recorded
	// the outcomes they applied, Stale those the store refused as stale or
	// gone, RecordErrors the failed calls (retried), Dropped the outcomes
	// given up at a stop deadline.
	RecordBatches, Recorded, Stale, RecordErrors, Dropped int64
	// SecretErrors counts claims whose webhook secret did not open;
	// Deferred the claims left unsent because their endpoint was paused
	// for longer than the engine waits (see Engine.waitOutPause).
	SecretErrors, Deferred int64
	// HeartbeatErrors counts failed heartbeats, Released the leases of
	// dead workers this engine's heartbeats released.
	HeartbeatErrors, Released int64
	// LogsDeleted counts the attempts the retention cleanup deleted.
	LogsDeleted int64
	// PausedEndpoints and OpenCircuits count the endpoints this engine has
	// seen that are paused at the time of the snapshot, or open.
	PausedEndpoints, OpenCircuits int
}

// counters are the engine's live counters.
type counters struct {
	inFlight                                         atomic.Int64
	sending                                          atomic.Int64 // attempts not yet handed to the recorder
	claimCalls, claimed, claimErrors                 atomic.Int64
	recordBatches, recorded, stale, recordErrors     atomic.Int64
	dropped, secretErrors, heartbeatErrors, released atomic.Int64
	deferred, logsDeleted                            atomic.Int64

	mu       sync.Mutex
	attempts map[string]int64
	errors   map[string]int64
}

// Attempt outcomes as Stats and AttemptObserver name them.
const (
	OutcomeSuccess = StatusSuccess
	OutcomeRetry   = "retry"
	OutcomeFailed  = StatusFailed
)

// AttemptObserver is told of every attempt an engine makes, as it ends:
// metrics keep the latency distribution this way, which counters in Stats
// cannot give. It must return quickly and be safe for concurrent use.
type AttemptObserver interface {
	ObserveAttempt(outcome string, took time.Duration)
}

// outcomeOf names an outcome: success, retry (failed, another attempt
// scheduled) or failed (for good).
func outcomeOf(o Outcome) string {
	if o.Attempt.Status == StatusFailed && o.NextAttemptAt != nil {
		return OutcomeRetry
	}
	return o.Attempt.Status
}

// countResult counts one made attempt by outcome and error class.
func (c *counters) countResult(res Result, outcome string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.attempts == nil {
		c.attempts, c.errors = map[string]int64{}, map[string]int64{}
	}
	c.attempts[outcome]++
	if res.ErrClass != "" {
		c.errors[res.ErrClass]++
	}
}

// Stats returns a snapshot of the engine's counters and gauges.
func (e *Engine) Stats() Stats {
	e.init()
	c := &e.stats
	s := Stats{
		InFlight:   c.inFlight.Load(),
		ClaimCalls: c.claimCalls.Load(), Claimed: c.claimed.Load(), ClaimErrors: c.claimErrors.Load(),
		RecordBatches: c.recordBatches.Load(), Recorded: c.recorded.Load(), Stale: c.stale.Load(),
		RecordErrors: c.recordErrors.Load(), Dropped: c.dropped.Load(), SecretErrors: c.secretErrors.Load(), Deferred: c.deferred.Load(),
		HeartbeatErrors: c.heartbeatErrors.Load(), Released: c.released.Load(), LogsDeleted: c.logsDeleted.Load(),
		Attempts: map[string]int64{}, Errors: map[string]int64{},
	}
	if w, ok := e.worker.Load().(string); ok {
		s.WorkerID = w
	}
	c.mu.Lock()
	for k, v := range c.attempts {
		s.Attempts[k] = v
	}
	for k, v := range c.errors {
		s.Errors[k] = v
	}
	c.mu.Unlock()
	s.PausedEndpoints, s.OpenCircuits = e.eps.counts(e.now())
	return s
}

// endpoints is the engine's view of each endpoint it has met: the latest
// state, from the claims and then from Adapt per outcome, and how many of
// its outcomes wait to be recorded (while some do, a claim's older stored
// state does not replace the newer one here).
type endpoints struct {
	mu sync.Mutex
	m  map[string]*endpointEntry
}

type endpointEntry struct {
	st      EndpointState
	pending int
}

// entry returns c's endpoint's entry, made when missing. The caller holds
// mu.
func (x *endpoints) entry(c Claim) *endpointEntry {
	id := c.Delivery.WebhookID
	en := x.m[id]
	if en == nil {
		en = &endpointEntry{st: EndpointState{WebhookID: id, WorkspaceID: c.Delivery.WorkspaceID}}
		x.m[id] = en
	}
	return en
}

// fromClaim takes the stored state a claim carries, unless this engine has
// newer outcomes of the endpoint still to record.
func (x *endpoints) fromClaim(c Claim) {
	x.mu.Lock()
	defer x.mu.Unlock()
	en := x.entry(c)
	if c.Endpoint.Limit > 0 && en.pending == 0 {
		en.st = c.Endpoint
		en.st.WebhookID, en.st.WorkspaceID = c.Delivery.WebhookID, c.Delivery.WorkspaceID
	}
}

// adapt applies one result to c's endpoint and returns the new state.
func (x *endpoints) adapt(c Claim, res Result, now time.Time, p EndpointPolicy) EndpointState {
	x.mu.Lock()
	defer x.mu.Unlock()
	en := x.entry(c)
	en.st = Adapt(en.st, res, now, p)
	return en.st
}

// pausedUntil returns the end of the endpoint's pause as this engine knows
// it, and whether that is after now.
func (x *endpoints) pausedUntil(webhookID string, now time.Time) (time.Time, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	en := x.m[webhookID]
	if en == nil || en.st.PausedUntil == nil || !en.st.PausedUntil.After(now) {
		return time.Time{}, false
	}
	return *en.st.PausedUntil, true
}

// pending adds delta to the endpoint's outcomes waiting to be recorded.
func (x *endpoints) pending(webhookID string, delta int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if en := x.m[webhookID]; en != nil {
		en.pending += delta
	}
}

// latest returns the current state of each endpoint of the batch, once.
func (x *endpoints) latest(batch []recorded) []EndpointState {
	x.mu.Lock()
	defer x.mu.Unlock()
	seen := make(map[string]bool, 4)
	var out []EndpointState
	for _, it := range batch {
		id := it.st.WebhookID
		if seen[id] {
			continue
		}
		seen[id] = true
		if en := x.m[id]; en != nil && en.st.Limit > 0 {
			st := en.st
			st.PausedUntil = clonePtr(st.PausedUntil)
			out = append(out, st)
		}
	}
	return out
}

// counts returns how many known endpoints are paused at now, and open.
func (x *endpoints) counts(now time.Time) (paused, open int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, en := range x.m {
		if en.st.PausedUntil != nil && en.st.PausedUntil.After(now) {
			paused++
		}
		if en.st.Circuit == CircuitOpen {
			open++
		}
	}
	return paused, open
}

// clonePtr returns a copy of *p, or nil.
func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
