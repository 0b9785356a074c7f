package memory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/leadlex/api-gateway/gateway/delivery"
)

// Compile-time guard, as for the other interfaces.
var _ delivery.Store = (*Store)(nil)

// Limits and sets copied from the delivery tables' check constraints
// (deploy/supabase/migrations/20261127000003_delivery.sql).
const (
	maxResponseBodyBytes = 2048
	minStatusCode        = 100
	maxStatusCode        = 599
)

// attemptStatuses are the statuses a stored attempt may have (the error
// classes are delivery.ValidErrClass's).
var attemptStatuses = []string{delivery.StatusSuccess, delivery.StatusFailed}

// deliveryState holds the rows of the events, deliveries and delivery_attempts
// tables and the two delivery columns of webhooks, all under Store.mu.
type deliveryState struct {
	events     map[eventKey]*delivery.Event
	deliveries map[string]*storedDelivery
	attempts   map[string]*delivery.Attempt
	// health holds webhooks.failing_since and webhooks.disabled_reason, which
	// webhooks.Webhook does not carry, by webhook id.
	health map[string]*webhookHealth
	// endpoints holds the endpoint_states rows by webhook id.
	endpoints map[string]*delivery.EndpointState
	// workers holds each live worker's last heartbeat.
	workers map[string]time.Time
}

// eventKey is the events table's primary key: event ids are unique per
// workspace only.
type eventKey struct{ workspaceID, id string }

// storedDelivery is a deliveries row: the delivery and its lease.
type storedDelivery struct {
	d          delivery.Delivery
	leaseUntil *time.Time
	// holder is the worker whose ClaimDue holds the lease ("" for a
	// ClaimDelivery lease, which no heartbeat covers).
	holder string
}

// webhookHealth is what the auto-disable rule keeps about a webhook.
type webhookHealth struct {
	failingSince   *time.Time
	disabledReason string
}

// newDeliveryState returns empty tables.
func newDeliveryState() deliveryState {
	return deliveryState{
		events:     make(map[eventKey]*delivery.Event),
		deliveries: make(map[string]*storedDelivery),
		attempts:   make(map[string]*delivery.Attempt),
		health:     make(map[string]*webhookHealth),
		endpoints:  make(map[string]*delivery.EndpointState),
		workers:    make(map[string]time.Time),
	}
}

// dropWebhook mirrors the ON DELETE CASCADE from webhooks to deliveries and
// delivery_attempts. The caller holds s.mu.
func (st *deliveryState) dropWebhook(webhookID string) {
	for id, d := range st.deliveries {
		if d.d.WebhookID == webhookID {
			delete(st.deliveries, id)
		}
	}
	for id, a := range st.attempts {
		if a.WebhookID == webhookID {
			delete(st.attempts, id)
		}
	}
	delete(st.health, webhookID)
	delete(st.endpoints, webhookID)
}

// reactivated mirrors the webhooks_reactivated trigger: a webhook made active
// again loses its failing_since and disabled_reason. The caller holds s.mu.
func (st *deliveryState) reactivated(webhookID string) {
	delete(st.health, webhookID)
}

// PublishEvent does what gateway_publish_event does: it stores a copy of ev
// and one pending delivery due at ev.CreatedAt for every active webhook of
// the workspace subscribed to ev.Type, unless the workspace already has an
// event with ev.ID, and returns copies of the event's deliveries ordered by
// id. A zero CreatedAt means the current time. Ids that are not UUIDs, and
// text Postgres would refuse, are errors.
func (s *Store) PublishEvent(ctx context.Context, ev delivery.Event) ([]delivery.Delivery, bool, error) {
	const op = "publish event"
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("memory: %s: %w", op, err)
	}
	stored, err := eventRow(ev)
	if err != nil {
		return nil, false, fmt.Errorf("memory: %s: %w", op, err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	key := eventKey{stored.WorkspaceID, stored.ID}
	_, exists := s.delivery.events[key]
	if !exists {
		s.delivery.events[key] = stored
		for _, w := range s.webhooks {
			if w.WorkspaceID == stored.WorkspaceID && w.Active && slices.Contains(w.Events, stored.Type) {
				s.insertDelivery(stored, w.ID, false)
			}
		}
	}
	out := []delivery.Delivery{}
	for _, d := range s.delivery.deliveries {
		if d.d.WorkspaceID == stored.WorkspaceID && d.d.EventID == stored.ID {
			out = append(out, copyDelivery(d.d))
		}
	}
	slices.SortFunc(out, func(a, b delivery.Delivery) int { return cmp.Compare(a.ID, b.ID) })
	return out, !exists, nil
}

// eventRow validates ev as the events table would and returns the row to
// store: canonical ids, the creation time as stored, a copy of the data.
func eventRow(ev delivery.Event) (*delivery.Event, error) {
	id, workspace, err := rowIDs("event id", ev.ID, ev.WorkspaceID)
	if err != nil {
		return nil, err
	}
	if err := checkText("event type", ev.Type); err != nil {
		return nil, err
	}
	if err := checkText("event data", string(ev.Data)); err != nil {
		return nil, err
	}
	createdAt := orNow(ev.CreatedAt)
	return &delivery.Event{
		ID:          id,
		WorkspaceID: workspace,
		Type:        ev.Type,
		Data:        cloneData(ev.Data),
		CreatedAt:   dbTime(createdAt),
	}, nil
}

// insertDelivery adds a pending delivery of ev to webhookID, due when the
// event was created, with a new id. The caller holds s.mu.
func (s *Store) insertDelivery(ev *delivery.Event, webhookID string, test bool) *storedDelivery {
	due := ev.CreatedAt
	d := &storedDelivery{d: delivery.Delivery{
		ID:            uuid.NewString(),
		WorkspaceID:   ev.WorkspaceID,
		WebhookID:     webhookID,
		EventID:       ev.ID,
		EventType:     ev.Type,
		Test:          test,
		Status:        delivery.StatusPending,
		NextAttemptAt: &due,
		CreatedAt:     ev.CreatedAt,
		UpdatedAt:     ev.CreatedAt,
	}}
	s.delivery.deliveries[d.d.ID] = d
	return d
}

// ClaimDelivery persists what gateway_claim_delivery does, with the
// decision to cancel taken by delivery.CancelOnClaim: a pending delivery due
// at now and not leased (a lease ending before now has expired) is leased
// until now+lease (whole milliseconds), its Attempts is incremented and the
// claim returned; if its webhook is inactive and it is not a test, it is
// cancelled instead. delivery.ErrNotClaimed in every other case, also for
// ids that are not UUIDs. A zero now means the current time; a lease under a
// millisecond is an error.
func (s *Store) ClaimDelivery(ctx context.Context, id string, now time.Time, lease time.Duration) (*delivery.Claim, error) {
	const op = "claim delivery"
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory: %s: %w", op, err)
	}
	notClaimed := fmt.Errorf("memory: %s: %w", op, delivery.ErrNotClaimed)
	id, err := canonicalUUID(id)
	if err != nil {
		return nil, notClaimed
	}
	leaseMS := lease.Milliseconds()
	if leaseMS <= 0 {
		return nil, fmt.Errorf("memory: %s: the lease must be at least one millisecond, got %s", op, lease)
	}
	now = dbNow(now)

	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.delivery.deliveries[id]
	if d == nil || d.d.Status != delivery.StatusPending || d.d.NextAttemptAt.After(now) ||
		(d.leaseUntil != nil && !d.leaseUntil.Before(now)) {
		return nil, notClaimed
	}
	w := s.webhooks[d.d.WebhookID]
	ev := s.delivery.events[eventKey{d.d.WorkspaceID, d.d.EventID}]
	if w == nil || ev == nil {
		// The foreign keys make this impossible; the SQL's join would find
		// no row.
		return nil, notClaimed
	}
	d.d.UpdatedAt = now
	if delivery.CancelOnClaim(w.Active, d.d.Test) {
		d.d.Status = delivery.StatusCancelled
		d.d.NextAttemptAt = nil
		d.leaseUntil = nil
		d.holder = ""
		return nil, notClaimed
	}
	d.d.Attempts++
	until := now.Add(time.Duration(leaseMS) * time.Millisecond)
	d.leaseUntil = &until
	d.holder = ""
	return &delivery.Claim{
		Delivery: copyDelivery(d.d),
		Event:    copyEvent(ev),
		Target: delivery.Target{
			URL:                      w.URL,
			Active:                   w.Active,
			SecretCiphertext:         w.SecretCiphertext,
			PreviousSecretCiphertext: w.PreviousSecretCiphertext,
			PreviousSecretExpiresAt:  clonePtr(w.PreviousSecretExpiresAt),
		},
	}, nil
}

// RecordAttempt persists what gateway_record_attempt does, with every
// decision taken by the delivery package's functions (Stale, Newest,
// FailingSince, ShouldDisable, DisabledReason), which the SQL function is the
// atomic twin of; storetest.RunDelivery holds both to the same cases. The
// attempt is checked
// as the delivery_attempts constraints check it and stored with the
// delivery's event type (a new id when Attempt.ID is empty; a zero
// DeliveredAt means the current time). Then, if the claim that made the
// attempt still holds the delivery (it is pending, leased, and its Attempts
// equals Attempt.Attempt), the outcome is applied to the delivery and the
// webhook (see delivery.Store); otherwise the attempt stays logged and
// delivery.ErrNotClaimed is returned. delivery.ErrNotFound, with nothing
// stored, when the workspace's webhook has no such delivery (also for ids
// that are not UUIDs).
func (s *Store) RecordAttempt(ctx context.Context, o delivery.Outcome) error {
	const op = "record attempt"
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: %s: %w", op, err)
	}
	r, err := prepareRecord(o)
	if err != nil {
		return fmt.Errorf("memory: %s: %w", op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.checkRecord(r, nil)
	if err != nil {
		return fmt.Errorf("memory: %s: %w", op, err)
	}
	if err := s.applyRecord(r, d); err != nil {
		return fmt.Errorf("memory: %s: %w", op, err)
	}
	return nil
}

// record is an outcome checked and turned into the rows it writes, before
// the store's lock is taken.
type record struct {
	o delivery.Outcome
	// row is the attempt to store; its EventType is the delivery's, set
	// by checkRecord.
	row *delivery.Attempt
	// deliveryStatus is the delivery's status after the outcome applies.
	deliveryStatus string
}

// prepareRecord checks what RecordAttempt can check without the store's
// state: the ids (delivery.ErrNotFound when one is not a UUID), the status
// and next attempt, the attempt id and the attempt's check constraints.
func prepareRecord(o delivery.Outcome) (*record, error) {
	a := o.Attempt
	workspace, webhookID, deliveryID, ok := a.CanonicalIDs()
	if !ok {
		return nil, delivery.ErrNotFound
	}
	// As gateway_record_attempt: a.Status is the attempt's outcome; a
	// failed attempt with a next attempt leaves the delivery pending (and
	// "pending" is still read as "failed, retried").
	attemptStatus, deliveryStatus := a.Status, a.Status
	if a.Status == delivery.StatusPending {
		attemptStatus = delivery.StatusFailed
	}
	switch {
	case a.Status == delivery.StatusPending && o.NextAttemptAt == nil,
		a.Status == delivery.StatusSuccess && o.NextAttemptAt != nil:
		return nil, errors.New("a next attempt comes only after a failed attempt")
	case o.NextAttemptAt != nil:
		deliveryStatus = delivery.StatusPending
	}
	attemptID := uuid.NewString()
	if a.ID != "" {
		var err error
		if attemptID, err = canonicalUUID(a.ID); err != nil {
			return nil, fmt.Errorf("attempt id: %w", err)
		}
	}
	row := &delivery.Attempt{
		ID:                 attemptID,
		DeliveryID:         deliveryID,
		WebhookID:          webhookID,
		WorkspaceID:        workspace,
		Attempt:            a.Attempt,
		Status:             attemptStatus,
		ResponseStatusCode: clonePtr(a.ResponseStatusCode),
		ResponseBody:       a.ResponseBody,
		DurationMS:         a.DurationMS,
		Error:              clonePtr(a.Error),
		DeliveredAt:        dbNow(a.DeliveredAt),
	}
	if err := checkAttempt(row); err != nil {
		return nil, err
	}
	return &record{o: o, row: row, deliveryStatus: deliveryStatus}, nil
}

// checkRecord finds the delivery r records an attempt of
// (delivery.ErrNotFound when the workspace's webhook has none) and refuses
// an attempt id that is taken, in the store or by another record of the
// same batch (ids, when not nil). The caller holds s.mu.
func (s *Store) checkRecord(r *record, ids map[string]bool) (*storedDelivery, error) {
	d := s.delivery.deliveries[r.row.DeliveryID]
	if d == nil || d.d.WorkspaceID != r.row.WorkspaceID || d.d.WebhookID != r.row.WebhookID {
		return nil, delivery.ErrNotFound
	}
	if _, taken := s.delivery.attempts[r.row.ID]; taken || ids[r.row.ID] {
		return nil, fmt.Errorf("attempt id %s already exists", r.row.ID)
	}
	if ids != nil {
		ids[r.row.ID] = true
	}
	r.row.EventType = d.d.EventType
	return d, nil
}

// applyRecord stores r's attempt and, unless it is stale
// (delivery.ErrNotClaimed), applies the outcome to delivery d and its
// webhook. The caller holds s.mu and has checked r with checkRecord.
func (s *Store) applyRecord(r *record, d *storedDelivery) error {
	row, o := r.row, r.o
	deliveredAt := row.DeliveredAt
	s.delivery.attempts[row.ID] = row

	if delivery.Stale(d.d.Status, d.d.Attempts, d.leaseUntil != nil, row.Attempt) {
		return delivery.ErrNotClaimed
	}
	d.d.Status = r.deliveryStatus
	d.d.NextAttemptAt = dbTimePtr(o.NextAttemptAt)
	d.leaseUntil = nil
	d.holder = ""
	d.d.UpdatedAt = deliveredAt

	w := s.webhooks[row.WebhookID]
	if delivery.Newest(w.LastDeliveryAt, deliveredAt) {
		status, at := r.deliveryStatus, deliveredAt
		w.LastDeliveryStatus = &status
		w.LastDeliveryAt = &at
	}
	h := s.delivery.health[row.WebhookID]
	if h == nil {
		h = &webhookHealth{}
		s.delivery.health[row.WebhookID] = h
	}
	h.failingSince = delivery.FailingSince(h.failingSince, row.Status, deliveredAt)
	if h.failingSince == nil {
		return nil
	}
	if delivery.ShouldDisable(w.Active, *h.failingSince, deliveredAt, o.DisableAfter) {
		w.Active = false
		h.disabledReason = delivery.DisabledReason(*h.failingSince)
		reason := h.disabledReason
		w.DisabledReason = &reason
		if deliveredAt.After(w.UpdatedAt) {
			w.UpdatedAt = deliveredAt
		}
	}
	return nil
}

// checkAttempt applies the delivery_attempts table's check constraints.
func checkAttempt(a *delivery.Attempt) error {
	switch {
	case !slices.Contains(attemptStatuses, a.Status):
		return fmt.Errorf("unknown attempt status %q", a.Status)
	case a.Attempt < 1:
		return fmt.Errorf("attempt number %d is below 1", a.Attempt)
	case a.ResponseStatusCode != nil && (*a.ResponseStatusCode < minStatusCode || *a.ResponseStatusCode > maxStatusCode):
		return fmt.Errorf("response status code %d out of range", *a.ResponseStatusCode)
	case len(a.ResponseBody) > maxResponseBodyBytes:
		return fmt.Errorf("response body longer than %d bytes", maxResponseBodyBytes)
	case a.DurationMS < 0:
		return fmt.Errorf("negative duration %d", a.DurationMS)
	case a.Error != nil && !delivery.ValidErrClass(*a.Error):
		return fmt.Errorf("unknown error class %q", *a.Error)
	case (a.Status == delivery.StatusSuccess) != (a.Error == nil):
		return errors.New("an error class is required exactly for attempts that did not succeed")
	}
	return checkText("response body", a.ResponseBody)
}

// checkText refuses what a Postgres text value cannot hold: invalid UTF-8
// and NUL characters.
func checkText(what, s string) error {
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return fmt.Errorf("%s is not valid UTF-8 text without NUL characters", what)
	}
	return nil
}

// DueDeliveries returns the ids of up to limit pending deliveries due at or
// before now whose lease, if any, ended before now, by due time then id. A
// zero now means the current time.
func (s *Store) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory: due deliveries: %w", err)
	}
	ids := []string{}
	if limit <= 0 {
		return ids, nil
	}
	now = dbNow(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []*storedDelivery
	for _, d := range s.delivery.deliveries {
		if d.d.Status == delivery.StatusPending && !d.d.NextAttemptAt.After(now) &&
			(d.leaseUntil == nil || d.leaseUntil.Before(now)) {
			due = append(due, d)
		}
	}
	slices.SortFunc(due, func(a, b *storedDelivery) int {
		if c := a.d.NextAttemptAt.Compare(*b.d.NextAttemptAt); c != 0 {
			return c
		}
		return cmp.Compare(a.d.ID, b.d.ID)
	})
	for _, d := range due[:min(limit, len(due))] {
		ids = append(ids, d.d.ID)
	}
	return ids, nil
}

// CreateTestDelivery does what gateway_create_test_delivery does: when the
// workspace has the webhook, whatever its subscriptions and active flag, it
// stores a copy of ev and a test delivery of it due at ev.CreatedAt (a zero
// CreatedAt means the current time), and returns a copy of the delivery.
// delivery.ErrNotFound, with nothing stored, otherwise (also for ids that are
// not UUIDs). An event id the workspace already has is an error.
func (s *Store) CreateTestDelivery(ctx context.Context, ev delivery.Event, webhookID string) (*delivery.Delivery, error) {
	const op = "create test delivery"
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory: %s: %w", op, err)
	}
	notFound := fmt.Errorf("memory: %s: %w", op, delivery.ErrNotFound)
	if _, err := canonicalUUID(ev.WorkspaceID); err != nil {
		return nil, notFound
	}
	if _, err := canonicalUUID(webhookID); err != nil {
		return nil, notFound
	}
	stored, err := eventRow(ev)
	if err != nil {
		return nil, fmt.Errorf("memory: %s: %w", op, err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.lookup(stored.WorkspaceID, webhookID)
	if w == nil {
		return nil, notFound
	}
	key := eventKey{stored.WorkspaceID, stored.ID}
	if _, taken := s.delivery.events[key]; taken {
		return nil, fmt.Errorf("memory: %s: event id %s already exists", op, stored.ID)
	}
	s.delivery.events[key] = stored
	d := s.insertDelivery(stored, w.ID, true)
	out := copyDelivery(d.d)
	return &out, nil
}

// RetryDelivery does what gateway_retry_delivery does: the delivery becomes
// pending and due at now (a zero now means the current time), whatever its
// status, keeping its attempts count and any lease. It returns a copy, or
// delivery.ErrNotFound when the workspace's webhook has no such delivery
// (also for ids that are not UUIDs).
func (s *Store) RetryDelivery(ctx context.Context, workspaceID, webhookID, deliveryID string, now time.Time) (*delivery.Delivery, error) {
	const op = "retry delivery"
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory: %s: %w", op, err)
	}
	notFound := fmt.Errorf("memory: %s: %w", op, delivery.ErrNotFound)
	workspace, err1 := canonicalUUID(workspaceID)
	webhook, err2 := canonicalUUID(webhookID)
	id, err3 := canonicalUUID(deliveryID)
	if errors.Join(err1, err2, err3) != nil {
		return nil, notFound
	}
	now = dbNow(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.delivery.deliveries[id]
	if d == nil || d.d.WorkspaceID != workspace || d.d.WebhookID != webhook {
		return nil, notFound
	}
	due := now
	d.d.Status = delivery.StatusPending
	d.d.Test = false // as gateway_retry_delivery: the engine sends it
	d.d.NextAttemptAt = &due
	d.d.UpdatedAt = now
	out := copyDelivery(d.d)
	return &out, nil
}

// ListAttempts returns copies of one page of the webhook's delivery log, as
// gateway_list_delivery_log builds it: one pending entry per delivery
// waiting for its next attempt on top (newest delivery first), then the
// attempts, newest first with ties broken by id descending; only entries
// with status unless it is empty, and their total. delivery.ErrNotFound when
// the workspace has no such webhook (also for ids that are not UUIDs). A
// negative offset or limit counts as zero.
func (s *Store) ListAttempts(ctx context.Context, workspaceID, webhookID, status string, offset, limit int) ([]delivery.Attempt, int, error) {
	const op = "list attempts"
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("memory: %s: %w", op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.lookup(workspaceID, webhookID)
	if w == nil {
		return nil, 0, fmt.Errorf("memory: %s: %w", op, delivery.ErrNotFound)
	}
	var waiting []*storedDelivery
	if status == "" || status == delivery.StatusPending {
		for _, d := range s.delivery.deliveries {
			if d.d.WebhookID == w.ID && d.d.WorkspaceID == w.WorkspaceID && d.d.Status == delivery.StatusPending {
				waiting = append(waiting, d)
			}
		}
	}
	slices.SortFunc(waiting, func(a, b *storedDelivery) int {
		if c := b.d.CreatedAt.Compare(a.d.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.d.ID, a.d.ID)
	})
	var attempts []*delivery.Attempt
	for _, a := range s.delivery.attempts {
		if a.WebhookID == w.ID && a.WorkspaceID == w.WorkspaceID && (status == "" || a.Status == status) {
			attempts = append(attempts, a)
		}
	}
	slices.SortFunc(attempts, func(a, b *delivery.Attempt) int {
		if c := b.DeliveredAt.Compare(a.DeliveredAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	total := len(waiting) + len(attempts)
	offset, limit = max(offset, 0), max(limit, 0)
	page := []delivery.Attempt{}
	for i := offset; i < total && i < offset+limit; i++ {
		if i < len(waiting) {
			page = append(page, waitingEntry(waiting[i]))
		} else {
			page = append(page, copyAttempt(attempts[i-len(waiting)]))
		}
	}
	return page, total, nil
}

// waitingEntry is the log entry of a delivery waiting for its next attempt:
// the attempt in flight while it is leased, else the next one.
func waitingEntry(d *storedDelivery) delivery.Attempt {
	coming := d.d.Attempts + 1
	if d.leaseUntil != nil {
		coming = d.d.Attempts
	}
	return delivery.Attempt{DeliveryID: d.d.ID, WebhookID: d.d.WebhookID, WorkspaceID: d.d.WorkspaceID,
		EventType: d.d.EventType, Attempt: coming, Status: delivery.StatusPending, NextAttemptAt: clonePtr(d.d.NextAttemptAt)}
}

// DeleteAttemptsBefore removes the attempts delivered before cutoff, in every
// workspace, and returns how many it removed.
func (s *Store) DeleteAttemptsBefore(ctx context.Context, cutoff time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("memory: delete attempts: %w", err)
	}
	cutoff = dbTime(cutoff)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, a := range s.delivery.attempts {
		if a.DeliveredAt.Before(cutoff) {
			delete(s.delivery.attempts, id)
			n++
		}
	}
	return n, nil
}

// copyDelivery returns d without shared pointers.
func copyDelivery(d delivery.Delivery) delivery.Delivery {
	d.NextAttemptAt = clonePtr(d.NextAttemptAt)
	return d
}

// copyEvent returns a copy of ev with its own data.
func copyEvent(ev *delivery.Event) delivery.Event {
	c := *ev
	c.Data = cloneData(ev.Data)
	return c
}

// cloneData copies event data; nil becomes empty, as the NOT NULL text column
// gives it back.
func cloneData(b []byte) []byte {
	return append([]byte{}, b...)
}

// copyAttempt returns a copy of a without shared pointers.
func copyAttempt(a *delivery.Attempt) delivery.Attempt {
	c := *a
	c.ResponseStatusCode = clonePtr(a.ResponseStatusCode)
	c.Error = clonePtr(a.Error)
	return c
}
