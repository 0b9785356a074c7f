package memory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/leadlex/api-gateway/gateway/delivery"
)

// The delivery engine's side of the store: the deliveries table as the
// queue (ClaimDue, RecordAttempts), endpoint states and worker heartbeats.
// The SQL functions are the rules' home; this mirrors them, and the shared
// conformance suite holds both to the same cases.

// ClaimDue leases up to p.Limit due deliveries for p.Worker, as delivery.Store
// and delivery.ClaimParams describe: claimable deliveries (pending, not a
// test, due, not leased, endpoint not paused) are ranked within their
// webhook, kept only while the endpoint's unexpired leases stay within its
// limit, ranked within their workspace, and taken by (workspace rank,
// next_attempt_at, id). Deliveries of inactive webhooks met on the way are
// cancelled. A zero p.Now means the current time; a lease under a
// millisecond is an error.
func (s *Store) ClaimDue(ctx context.Context, p delivery.ClaimParams) ([]delivery.Claim, error) {
	const op = "claim due"
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory: %s: %w", op, err)
	}
	leaseMS := p.Lease.Milliseconds()
	if leaseMS <= 0 {
		return nil, fmt.Errorf("memory: %s: the lease must be at least one millisecond, got %s", op, p.Lease)
	}
	worker, err := canonicalUUID(p.Worker)
	if err != nil {
		return nil, fmt.Errorf("memory: %s: worker id: %w", op, err)
	}
	out := []delivery.Claim{}
	if p.Limit <= 0 {
		return out, nil
	}
	now := dbNow(p.Now)
	until := now.Add(time.Duration(leaseMS) * time.Millisecond)

	s.mu.Lock()
	defer s.mu.Unlock()
	// As gateway_claim_due: a claiming worker is known from its first
	// claim, so that its leases are released if it dies before its first
	// heartbeat.
	if _, known := s.delivery.workers[worker]; !known {
		s.delivery.workers[worker] = now
	}

	// In flight per endpoint, and the claimable deliveries per endpoint.
	inFlight := map[string]int{}
	byWebhook := map[string][]*storedDelivery{}
	for _, d := range s.delivery.deliveries {
		if d.d.Status != delivery.StatusPending {
			continue
		}
		if d.leaseUntil != nil && !d.leaseUntil.Before(now) {
			inFlight[d.d.WebhookID]++
			continue
		}
		if d.d.Test || d.d.NextAttemptAt.After(now) {
			continue
		}
		w := s.webhooks[d.d.WebhookID]
		if w == nil {
			continue
		}
		if delivery.CancelOnClaim(w.Active, d.d.Test) {
			d.d.Status = delivery.StatusCancelled
			d.d.NextAttemptAt = nil
			d.leaseUntil = nil
			d.holder = ""
			d.d.UpdatedAt = now
			continue
		}
		if st := s.delivery.endpoints[d.d.WebhookID]; st != nil && st.PausedUntil != nil && st.PausedUntil.After(now) {
			continue
		}
		byWebhook[d.d.WebhookID] = append(byWebhook[d.d.WebhookID], d)
	}

	// Rank within each webhook and keep what its limit allows.
	type ranked struct {
		d           *storedDelivery
		webhookRank int
		spaceRank   int
	}
	bySpace := map[string][]*ranked{}
	for webhookID, ds := range byWebhook {
		free := endpointLimit(s.delivery.endpoints[webhookID], p) - inFlight[webhookID]
		for i, d := range smallest(ds, max(0, min(free, p.Limit))) {
			bySpace[d.d.WorkspaceID] = append(bySpace[d.d.WorkspaceID], &ranked{d: d, webhookRank: i + 1})
		}
	}
	// Rank within each workspace, then take the lowest ranks first.
	var all []*ranked
	for _, rs := range bySpace {
		slices.SortFunc(rs, func(a, b *ranked) int {
			if c := cmp.Compare(a.webhookRank, b.webhookRank); c != 0 {
				return c
			}
			return byDue(a.d, b.d)
		})
		for i, r := range rs {
			r.spaceRank = i + 1
		}
		all = append(all, rs...)
	}
	slices.SortFunc(all, func(a, b *ranked) int {
		if c := cmp.Compare(a.spaceRank, b.spaceRank); c != 0 {
			return c
		}
		return byDue(a.d, b.d)
	})

	for _, r := range all[:min(p.Limit, len(all))] {
		d := r.d
		w := s.webhooks[d.d.WebhookID]
		ev := s.delivery.events[eventKey{d.d.WorkspaceID, d.d.EventID}]
		if ev == nil {
			continue // the foreign key makes this impossible
		}
		d.d.Attempts++
		d.d.UpdatedAt = now
		lease := until
		d.leaseUntil = &lease
		d.holder = worker
		c := delivery.Claim{
			Delivery: copyDelivery(d.d),
			Event:    copyEvent(ev),
			Target: delivery.Target{
				URL:                      w.URL,
				Active:                   w.Active,
				SecretCiphertext:         w.SecretCiphertext,
				PreviousSecretCiphertext: w.PreviousSecretCiphertext,
				PreviousSecretExpiresAt:  clonePtr(w.PreviousSecretExpiresAt),
			},
		}
		if st := s.delivery.endpoints[d.d.WebhookID]; st != nil {
			c.Endpoint = copyEndpoint(st)
		}
		out = append(out, c)
	}
	return out, nil
}

// smallest returns the k first of ds in byDue order, sorted, without
// sorting all of ds: a claim takes a few deliveries of each endpoint however
// many wait.
func smallest(ds []*storedDelivery, k int) []*storedDelivery {
	if k <= 0 {
		return nil
	}
	if k >= len(ds) {
		slices.SortFunc(ds, byDue)
		return ds
	}
	out := make([]*storedDelivery, 0, k+1)
	for _, d := range ds {
		if len(out) == k && byDue(d, out[k-1]) >= 0 {
			continue
		}
		i, _ := slices.BinarySearchFunc(out, d, byDue)
		out = slices.Insert(out, i, d)
		if len(out) > k {
			out = out[:k]
		}
	}
	return out
}

// byDue orders deliveries oldest due first, ties by id.
func byDue(a, b *storedDelivery) int {
	if c := a.d.NextAttemptAt.Compare(*b.d.NextAttemptAt); c != 0 {
		return c
	}
	return cmp.Compare(a.d.ID, b.d.ID)
}

// endpointLimit is an endpoint's in-flight limit: its stored Limit, or
// p.InitialLimit without a stored state, clamped to [1, p.MaxLimit].
func endpointLimit(st *delivery.EndpointState, p delivery.ClaimParams) int {
	limit := p.InitialLimit
	if st != nil && st.Limit > 0 {
		limit = st.Limit
	}
	if p.MaxLimit > 0 {
		limit = min(limit, p.MaxLimit)
	}
	return max(limit, 1)
}

// copyEndpoint returns st without shared pointers.
func copyEndpoint(st *delivery.EndpointState) delivery.EndpointState {
	c := *st
	c.PausedUntil = clonePtr(st.PausedUntil)
	return c
}

// RecordAttempts records a batch of outcomes and endpoint states
// atomically, as delivery.Store describes: every outcome is checked first
// (a malformed one, or an attempt id already taken, fails the whole batch
// with nothing written), then the outcomes are applied one by one in
// delivered_at order with RecordAttempt's rules, so that the webhook ends
// as if each had been recorded alone, and the endpoint states of existing
// webhooks are upserted. results[i] is nil, delivery.ErrNotClaimed or
// delivery.ErrNotFound.
func (s *Store) RecordAttempts(ctx context.Context, outcomes []delivery.Outcome, endpoints []delivery.EndpointState) ([]error, error) {
	const op = "record attempts"
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory: %s: %w", op, err)
	}
	results := make([]error, len(outcomes))
	records := make([]*record, len(outcomes))
	for i, o := range outcomes {
		r, err := prepareRecord(o)
		switch {
		case errors.Is(err, delivery.ErrNotFound):
			results[i] = delivery.ErrNotFound
		case err != nil:
			return nil, fmt.Errorf("memory: %s: outcome %d: %w", op, i, err)
		default:
			records[i] = r
		}
	}
	states := make([]delivery.EndpointState, 0, len(endpoints))
	for _, st := range endpoints {
		id, err := canonicalUUID(st.WebhookID)
		if err != nil {
			return nil, fmt.Errorf("memory: %s: endpoint webhook id: %w", op, err)
		}
		if st.Limit < 1 || st.Failures < 0 || (st.Circuit != delivery.CircuitClosed && st.Circuit != delivery.CircuitOpen) {
			return nil, fmt.Errorf("memory: %s: invalid endpoint state (limit %d, failures %d, circuit %q)", op, st.Limit, st.Failures, st.Circuit)
		}
		st.WebhookID = id
		st.PausedUntil = dbTimePtr(st.PausedUntil)
		states = append(states, st)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	found := make([]*storedDelivery, len(outcomes))
	ids := map[string]bool{}
	for i, r := range records {
		if r == nil {
			continue
		}
		d, err := s.checkRecord(r, ids)
		switch {
		case errors.Is(err, delivery.ErrNotFound):
			results[i], records[i] = delivery.ErrNotFound, nil
		case err != nil:
			return nil, fmt.Errorf("memory: %s: outcome %d: %w", op, i, err)
		default:
			found[i] = d
		}
	}
	order := make([]int, 0, len(records))
	for i, r := range records {
		if r != nil {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return records[a].row.DeliveredAt.Compare(records[b].row.DeliveredAt)
	})
	for _, i := range order {
		results[i] = s.applyRecord(records[i], found[i])
	}
	for _, st := range states {
		w := s.webhooks[st.WebhookID]
		if w == nil {
			continue // deleted meanwhile: its state goes with it
		}
		st.WorkspaceID = w.WorkspaceID
		if old := s.delivery.endpoints[st.WebhookID]; old != nil && old.PausedUntil != nil &&
			(st.PausedUntil == nil || old.PausedUntil.After(*st.PausedUntil)) {
			st.PausedUntil = clonePtr(old.PausedUntil)
		}
		s.delivery.endpoints[st.WebhookID] = &st
	}
	return results, nil
}

// Heartbeat marks worker alive at now (a zero now means the current time)
// and releases every lease held by a worker whose last heartbeat is older
// than now-deadAfter, then forgets those workers; it returns how many
// leases it released.
func (s *Store) Heartbeat(ctx context.Context, worker string, now time.Time, deadAfter time.Duration) (int, error) {
	const op = "heartbeat"
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("memory: %s: %w", op, err)
	}
	worker, err := canonicalUUID(worker)
	if err != nil {
		return 0, fmt.Errorf("memory: %s: worker id: %w", op, err)
	}
	if deadAfter <= 0 {
		return 0, fmt.Errorf("memory: %s: deadAfter must be positive, got %s", op, deadAfter)
	}
	now = dbNow(now)
	cutoff := now.Add(-deadAfter)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delivery.workers[worker] = now
	released := 0
	for id, seen := range s.delivery.workers {
		if id != worker && seen.Before(cutoff) {
			released += s.releaseLeases(id)
			delete(s.delivery.workers, id)
		}
	}
	return released, nil
}

// RetireWorker forgets worker and releases any lease it still holds.
func (s *Store) RetireWorker(ctx context.Context, worker string) error {
	const op = "retire worker"
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: %s: %w", op, err)
	}
	worker, err := canonicalUUID(worker)
	if err != nil {
		return fmt.Errorf("memory: %s: worker id: %w", op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLeases(worker)
	delete(s.delivery.workers, worker)
	return nil
}

// releaseLeases makes the deliveries worker holds claimable at once,
// attempt counts unchanged, and returns how many. The caller holds s.mu.
func (s *Store) releaseLeases(worker string) int {
	n := 0
	for _, d := range s.delivery.deliveries {
		if d.holder == worker && d.leaseUntil != nil {
			d.leaseUntil = nil
			d.holder = ""
			n++
		}
	}
	return n
}

// Backlog reports the engine's state at now (a zero now means the current
// time): due deliveries waiting for a slot (pending, not tests, due, not
// leased) and the oldest one's due time, unexpired leases, paused
// endpoints and open circuits.
func (s *Store) Backlog(ctx context.Context, now time.Time) (delivery.Backlog, error) {
	if err := ctx.Err(); err != nil {
		return delivery.Backlog{}, fmt.Errorf("memory: backlog: %w", err)
	}
	now = dbNow(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	var b delivery.Backlog
	for _, d := range s.delivery.deliveries {
		if d.d.Status != delivery.StatusPending {
			continue
		}
		if d.leaseUntil != nil && !d.leaseUntil.Before(now) {
			b.InFlight++
			continue
		}
		if d.d.Test || d.d.NextAttemptAt.After(now) {
			continue
		}
		b.Due++
		if b.OldestDue == nil || d.d.NextAttemptAt.Before(*b.OldestDue) {
			b.OldestDue = clonePtr(d.d.NextAttemptAt)
		}
	}
	for _, st := range s.delivery.endpoints {
		if st.PausedUntil != nil && st.PausedUntil.After(now) {
			b.PausedEndpoints++
		}
		if st.Circuit == delivery.CircuitOpen {
			b.OpenCircuits++
		}
	}
	for _, w := range s.webhooks {
		if h := s.delivery.health[w.ID]; !w.Active && h != nil && h.disabledReason != "" {
			b.AutoDisabled++
		}
	}
	return b, nil
}
