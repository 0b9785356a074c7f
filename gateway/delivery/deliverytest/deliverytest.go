// Package deliverytest is the conformance suite every delivery.Store must
// pass. The memory and postgres stores run the same tests, so that what the
// worker and the API rely on (fan-out, idempotent publishing, one winner per
// claim, outcomes, auto-disable, logs) cannot differ between the store used
// in development and the one used in production.
package deliverytest

import (
	"context"
	"errors"
	"fmt"
	"github.com/leadlex/api-gateway/internal/storecheck"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/gateway/webhooks"
)

// Store is what the suite needs: a delivery store that also manages the
// webhooks its deliveries go to.
type Store interface {
	webhooks.Store
	delivery.Store
}

// Run runs the suite. newStore is called once per subtest; since every
// subtest uses fresh random workspaces and ids, returning one shared store is
// also fine, provided the subtests run one after the other (they do) and
// nothing else writes to it: DueDeliveries and DeleteAttemptsBefore are not
// scoped to a workspace, so their subtests use times (1995, 2001) that no
// other subtest uses, and expect to see only their own rows there.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s Store)
	}{
		{"PublishFansOut", testPublishFansOut},
		{"PublishWithoutSubscribers", testPublishWithoutSubscribers},
		{"PublishIsIdempotent", testPublishIsIdempotent},
		{"ConcurrentPublishes", testConcurrentPublishes},
		{"PublishCanonicalIDs", testPublishCanonicalIDs},
		{"PublishRejectsMalformedIDs", testPublishRejectsMalformedIDs},
		{"Claim", testClaim},
		{"ClaimTarget", testClaimTarget},
		{"ClaimUnknownOrMalformedID", testClaimUnknownOrMalformedID},
		{"ConcurrentClaims", testConcurrentClaims},
		{"ClaimCancelsForPausedWebhook", testClaimCancelsForPausedWebhook},
		{"DeletedWebhookTakesItsDeliveries", testDeletedWebhook},
		{"RecordPending", testRecordPending},
		{"RecordSuccess", testRecordSuccess},
		{"RecordFailed", testRecordFailed},
		{"RecordRefusesInvalidAttempts", testRecordRefusesInvalid},
		{"RecordAcceptsEveryErrorClass", testRecordEveryErrorClass},
		{"RecordUnknownDelivery", testRecordUnknownDelivery},
		{"RecordStaleAttempt", testRecordStale},
		{"LastDeliveryFollowsNewestAttempt", testLastDeliveryFollowsNewest},
		{"AutoDisable", testAutoDisable},
		{"AutoDisableResetBySuccess", testAutoDisableResetBySuccess},
		{"AutoDisableOff", testAutoDisableOff},
		{"AutoDisableResetByReactivation", testAutoDisableResetByReactivation},
		{"ListAttempts", testListAttempts},
		{"ListAttemptsUnknownWebhook", testListAttemptsUnknownWebhook},
		{"DueDeliveries", testDueDeliveries},
		{"DeleteAttemptsBefore", testDeleteAttemptsBefore},
		{"TestDelivery", testTestDelivery},
		{"TestDeliveryUnknownWebhook", testTestDeliveryUnknownWebhook},
		{"RetryDelivery", testRetryDelivery},
		{"RetryUnknownDelivery", testRetryUnknownDelivery},
		{"ReturnsCopies", testReturnsCopies},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

// base is a time outside UTC and with microseconds, so that the suite
// notices a store that keeps the caller's zone or drops sub-second
// precision. Microseconds are what timestamptz holds.
var base = time.Date(2026, 11, 27, 9, 30, 15, 123456000, time.FixedZone("UTC+2", 2*60*60))

// lease is the lease most claims take.
const lease = 30 * time.Second

// Event types used by the suite.
const (
	typeCreated = "lead.created"
	typeUpdated = "lead.updated"
)

// ctx bounds every store call, so that a store that hangs fails the test
// instead of the whole test binary.
func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// mustHook creates a webhook of workspace subscribed to events.
func mustHook(t *testing.T, s Store, workspace string, active bool, events ...string) *webhooks.Webhook {
	t.Helper()
	host := "https://" + uuid.NewString() + ".example/hook"
	w := &webhooks.Webhook{
		ID:               uuid.NewString(),
		WorkspaceID:      workspace,
		URL:              host,
		URLKey:           host,
		Events:           events,
		Active:           active,
		SecretCiphertext: "sealed:" + uuid.NewString(),
		CreatedAt:        base,
		UpdatedAt:        base,
	}
	if err := s.CreateWebhook(ctx(t), w, 100); err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	return w
}

// newEvent returns an event of workspace with a fresh id.
func newEvent(workspace, typ string, at time.Time) delivery.Event {
	return delivery.Event{
		ID:          uuid.NewString(),
		WorkspaceID: workspace,
		Type:        typ,
		Data:        []byte(`{"lead": {"id": "` + uuid.NewString() + `"}}`),
		CreatedAt:   at,
	}
}

// mustPublish publishes ev and fails the test unless it is new.
func mustPublish(t *testing.T, s Store, ev delivery.Event) []delivery.Delivery {
	t.Helper()
	ds, created, err := s.PublishEvent(ctx(t), ev)
	if err != nil {
		t.Fatalf("PublishEvent: %v", err)
	}
	if !created {
		t.Fatal("PublishEvent: created = false for a new event")
	}
	return ds
}

// mustPublishOne publishes a new event of the hook's first type at `at` and
// returns the hook's one delivery.
func mustPublishOne(t *testing.T, s Store, hook *webhooks.Webhook, at time.Time) delivery.Delivery {
	t.Helper()
	ds := mustPublish(t, s, newEvent(hook.WorkspaceID, hook.Events[0], at))
	for _, d := range ds {
		if d.WebhookID == hook.ID {
			return d
		}
	}
	t.Fatalf("PublishEvent made no delivery to webhook %s: %+v", hook.ID, ds)
	return delivery.Delivery{}
}

// mustClaim claims id at now and fails the test if it cannot.
func mustClaim(t *testing.T, s Store, id string, now time.Time) *delivery.Claim {
	t.Helper()
	c, err := s.ClaimDelivery(ctx(t), id, now, lease)
	if err != nil {
		t.Fatalf("ClaimDelivery(%s, %v): %v", id, now, err)
	}
	return c
}

// assertNotClaimed checks that claiming id at now gives ErrNotClaimed.
func assertNotClaimed(t *testing.T, s Store, id string, now time.Time) {
	t.Helper()
	c, err := s.ClaimDelivery(ctx(t), id, now, lease)
	if !errors.Is(err, delivery.ErrNotClaimed) {
		t.Fatalf("ClaimDelivery(%s, %v) = %+v, %v; want ErrNotClaimed", id, now, c, err)
	}
	if c != nil {
		t.Errorf("a claim with the error: %+v", c)
	}
}

// outcome builds the outcome of claim c with status, delivered at `at`; a
// pending one is retried at next. Failures are timeouts.
func outcome(c *delivery.Claim, status string, at time.Time, next *time.Time) delivery.Outcome {
	a := delivery.Attempt{
		ID:           uuid.NewString(),
		DeliveryID:   c.Delivery.ID,
		WebhookID:    c.Delivery.WebhookID,
		WorkspaceID:  c.Delivery.WorkspaceID,
		EventType:    c.Delivery.EventType,
		Attempt:      c.Delivery.Attempts,
		Status:       status,
		DurationMS:   42,
		DeliveredAt:  at,
		ResponseBody: "",
	}
	if status == delivery.StatusSuccess {
		a.ResponseStatusCode = ptr(204)
	} else {
		a.Error = ptr(delivery.ErrClassTimeout)
	}
	return delivery.Outcome{Attempt: a, NextAttemptAt: next}
}

// mustRecord records o and fails the test on error.
func mustRecord(t *testing.T, s Store, o delivery.Outcome) {
	t.Helper()
	if err := s.RecordAttempt(ctx(t), o); err != nil {
		t.Fatalf("RecordAttempt(%+v): %v", o.Attempt, err)
	}
}

// attemptAt makes one attempt on a new delivery to hook at `at`: publish,
// claim and record with status (a pending outcome is retried an hour later).
// It returns the outcome recorded.
func attemptAt(t *testing.T, s Store, hook *webhooks.Webhook, at time.Time, status string, disableAfter time.Duration) delivery.Outcome {
	t.Helper()
	d := mustPublishOne(t, s, hook, at)
	c := mustClaim(t, s, d.ID, at)
	var next *time.Time
	if status == delivery.StatusPending {
		next = ptr(at.Add(time.Hour))
	}
	o := outcome(c, status, at, next)
	o.DisableAfter = disableAfter
	mustRecord(t, s, o)
	return o
}

// mustGetHook fetches a webhook and fails the test on error.
func mustGetHook(t *testing.T, s Store, hook *webhooks.Webhook) *webhooks.Webhook {
	t.Helper()
	w, err := s.GetWebhook(ctx(t), hook.WorkspaceID, hook.ID)
	if err != nil {
		t.Fatalf("GetWebhook: %v", err)
	}
	return w
}

// mustList lists attempts and fails the test on error.
func mustList(t *testing.T, s Store, hook *webhooks.Webhook, status string, offset, limit int) ([]delivery.Attempt, int) {
	t.Helper()
	page, total, err := s.ListAttempts(ctx(t), hook.WorkspaceID, hook.ID, status, offset, limit)
	if err != nil {
		t.Fatalf("ListAttempts(%q, %d, %d): %v", status, offset, limit, err)
	}
	if page == nil {
		t.Error("ListAttempts returned a nil page")
	}
	return page, total
}

// assertDelivery compares every field of a delivery; ID is compared only
// when want has one.
func assertDelivery(t *testing.T, got, want delivery.Delivery) {
	t.Helper()
	if want.ID != "" && got.ID != want.ID {
		t.Errorf("ID = %s, want %s", got.ID, want.ID)
	}
	if _, err := uuid.Parse(got.ID); err != nil || got.ID != strings.ToLower(got.ID) {
		t.Errorf("ID %q is not a canonical UUID", got.ID)
	}
	storecheck.Fields(t, []storecheck.Field{
		storecheck.F("WorkspaceID", got.WorkspaceID, want.WorkspaceID),
		storecheck.F("WebhookID", got.WebhookID, want.WebhookID),
		storecheck.F("EventID", got.EventID, want.EventID),
		storecheck.F("EventType", got.EventType, want.EventType),
		storecheck.F("Test", got.Test, want.Test),
		storecheck.F("Status", got.Status, want.Status),
		storecheck.F("Attempts", got.Attempts, want.Attempts),
	})
	storecheck.UTCTimePtr(t, "NextAttemptAt", got.NextAttemptAt, want.NextAttemptAt)
	storecheck.UTCTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	storecheck.UTCTime(t, "UpdatedAt", got.UpdatedAt, want.UpdatedAt)
}

// assertAttempt compares every field of an attempt.
func assertAttempt(t *testing.T, got, want delivery.Attempt) {
	t.Helper()
	storecheck.Fields(t, []storecheck.Field{
		storecheck.F("ID", got.ID, want.ID),
		storecheck.F("DeliveryID", got.DeliveryID, want.DeliveryID),
		storecheck.F("WebhookID", got.WebhookID, want.WebhookID),
		storecheck.F("WorkspaceID", got.WorkspaceID, want.WorkspaceID),
		storecheck.F("EventType", got.EventType, want.EventType),
		storecheck.F("Attempt", got.Attempt, want.Attempt),
		storecheck.F("Status", got.Status, want.Status),
		storecheck.F("ResponseBody", got.ResponseBody, want.ResponseBody),
		storecheck.F("DurationMS", got.DurationMS, want.DurationMS),
	})
	if !reflect.DeepEqual(got.ResponseStatusCode, want.ResponseStatusCode) {
		t.Errorf("ResponseStatusCode = %v, want %v", deref(got.ResponseStatusCode), deref(want.ResponseStatusCode))
	}
	if !reflect.DeepEqual(got.Error, want.Error) {
		t.Errorf("Error = %v, want %v", deref(got.Error), deref(want.Error))
	}
	storecheck.UTCTime(t, "DeliveredAt", got.DeliveredAt, want.DeliveredAt)
	storecheck.UTCTimePtr(t, "NextAttemptAt", got.NextAttemptAt, want.NextAttemptAt)
}

// attemptIDs returns the ids of log entries, for readable comparisons: an
// attempt's id, or "waiting:" and the delivery id for a waiting delivery.
func attemptIDs(page []delivery.Attempt) []string {
	out := make([]string, len(page))
	for i, a := range page {
		out[i] = a.ID
		if a.ID == "" {
			out[i] = "waiting:" + a.DeliveryID
		}
	}
	return out
}

// mustAttempts lists the webhook's whole log and returns only its attempts
// (not the entries of deliveries waiting for their next attempt).
func mustAttempts(t *testing.T, s Store, hook *webhooks.Webhook) []delivery.Attempt {
	t.Helper()
	page, _ := mustList(t, s, hook, "", 0, 100)
	out := []delivery.Attempt{}
	for _, a := range page {
		if a.ID != "" {
			out = append(out, a)
		}
	}
	return out
}

// waitingEntry is the log entry a delivery waiting for attempt number
// coming, due at next, must have.
func waitingEntry(d delivery.Delivery, coming int, next time.Time) delivery.Attempt {
	return delivery.Attempt{DeliveryID: d.ID, WebhookID: d.WebhookID, WorkspaceID: d.WorkspaceID, EventType: d.EventType,
		Attempt: coming, Status: delivery.StatusPending, NextAttemptAt: &next}
}

// deliveryIDs returns the ids of deliveries.
func deliveryIDs(ds []delivery.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// assertPlainError checks that err is an error but none of the sentinels: a
// refused write is not "not found" or "not claimable".
func assertPlainError(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s succeeded, want an error", what)
	}
	if errors.Is(err, delivery.ErrNotFound) || errors.Is(err, delivery.ErrNotClaimed) {
		t.Fatalf("%s = %v, want a plain error", what, err)
	}
}

func testPublishFansOut(t *testing.T, s Store) {
	workspace, other := uuid.NewString(), uuid.NewString()
	both := mustHook(t, s, workspace, true, typeUpdated, typeCreated)
	only := mustHook(t, s, workspace, true, typeCreated)
	mustHook(t, s, workspace, true, typeUpdated)                  // not subscribed
	mustHook(t, s, workspace, false, typeCreated)                 // paused
	mustHook(t, s, other, true, typeCreated, typeUpdated)         // another workspace
	mustHook(t, s, workspace, true, "lead.created.extra")         // a different type
	mustHook(t, s, workspace, true, strings.ToUpper(typeCreated)) // types are exact

	ev := newEvent(workspace, typeCreated, base)
	// Odd spacing and key order: the bytes must come back as they were.
	ev.Data = []byte("{\"z\": 1,  \"a\" :[1,2.50, \"é\\u00e9\"],\n\"n\":null}")
	ds := mustPublish(t, s, ev)
	if len(ds) != 2 {
		t.Fatalf("PublishEvent made %d deliveries, want 2 (one per active subscribed webhook of the workspace): %+v", len(ds), ds)
	}
	if !slices.IsSortedFunc(ds, func(a, b delivery.Delivery) int { return strings.Compare(a.ID, b.ID) }) {
		t.Errorf("deliveries not ordered by id: %v", deliveryIDs(ds))
	}
	if ds[0].ID == ds[1].ID {
		t.Fatalf("two deliveries share the id %s", ds[0].ID)
	}
	got := []string{ds[0].WebhookID, ds[1].WebhookID}
	want := []string{both.ID, only.ID}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("deliveries go to %v, want %v", got, want)
	}
	for _, d := range ds {
		assertDelivery(t, d, delivery.Delivery{
			WorkspaceID: workspace, WebhookID: d.WebhookID, EventID: ev.ID, EventType: typeCreated,
			Status: delivery.StatusPending, NextAttemptAt: &base, CreatedAt: base, UpdatedAt: base,
		})
	}

	c := mustClaim(t, s, ds[0].ID, base)
	if string(c.Event.Data) != string(ev.Data) {
		t.Errorf("event data came back as %q, want the published bytes %q", c.Event.Data, ev.Data)
	}
	if c.Event.ID != ev.ID || c.Event.WorkspaceID != workspace || c.Event.Type != typeCreated {
		t.Errorf("claimed event %+v, want id %s, workspace %s, type %s", c.Event, ev.ID, workspace, typeCreated)
	}
	storecheck.UTCTime(t, "Event.CreatedAt", c.Event.CreatedAt, base)
}

func testPublishWithoutSubscribers(t *testing.T, s Store) {
	workspace := uuid.NewString()
	mustHook(t, s, workspace, true, typeUpdated)
	ev := newEvent(workspace, typeCreated, base)
	if ds := mustPublish(t, s, ev); len(ds) != 0 {
		t.Fatalf("PublishEvent made %d deliveries, want none", len(ds))
	}
	ds, created, err := s.PublishEvent(ctx(t), ev)
	if err != nil || created || len(ds) != 0 {
		t.Fatalf("PublishEvent again = %d deliveries, created %v, %v; want none, false, nil", len(ds), created, err)
	}
}

func testPublishIsIdempotent(t *testing.T, s Store) {
	workspace := uuid.NewString()
	hook := mustHook(t, s, workspace, true, typeCreated, typeUpdated)
	ev := newEvent(workspace, typeCreated, base)
	first := mustPublish(t, s, ev)

	// A webhook added since, and a different payload under the same id,
	// change nothing: the event was published already.
	mustHook(t, s, workspace, true, typeCreated, typeUpdated)
	again := ev
	again.Type = typeUpdated
	again.Data = []byte(`{"other":true}`)
	again.CreatedAt = base.Add(time.Hour)
	second, created, err := s.PublishEvent(ctx(t), again)
	if err != nil {
		t.Fatalf("PublishEvent again: %v", err)
	}
	if created {
		t.Error("PublishEvent again: created = true")
	}
	if !reflect.DeepEqual(second, first) {
		t.Fatalf("PublishEvent again returned\n%+v\nwant the first deliveries\n%+v", second, first)
	}
	c := mustClaim(t, s, first[0].ID, base)
	if string(c.Event.Data) != string(ev.Data) || c.Event.Type != typeCreated {
		t.Errorf("the second publish changed the event: %+v", c.Event)
	}

	// Once a delivery has moved on, publishing again returns it as it is now.
	mustRecord(t, s, outcome(c, delivery.StatusSuccess, base.Add(time.Second), nil))
	third, created, err := s.PublishEvent(ctx(t), ev)
	if err != nil || created || len(third) != 1 {
		t.Fatalf("PublishEvent a third time = %+v, %v, %v", third, created, err)
	}
	assertDelivery(t, third[0], delivery.Delivery{
		ID: first[0].ID, WorkspaceID: workspace, WebhookID: hook.ID, EventID: ev.ID, EventType: typeCreated,
		Status: delivery.StatusSuccess, Attempts: 1, CreatedAt: base, UpdatedAt: base.Add(time.Second),
	})

	// Event ids are unique per workspace: the same id elsewhere is another event.
	elsewhere := uuid.NewString()
	otherHook := mustHook(t, s, elsewhere, true, typeCreated)
	ev.WorkspaceID = elsewhere
	ds := mustPublish(t, s, ev)
	if len(ds) != 1 || ds[0].WebhookID != otherHook.ID || ds[0].ID == first[0].ID {
		t.Fatalf("publishing the id in another workspace gave %+v", ds)
	}
}

func testConcurrentPublishes(t *testing.T, s Store) {
	workspace := uuid.NewString()
	mustHook(t, s, workspace, true, typeCreated)
	mustHook(t, s, workspace, true, typeCreated)
	ev := newEvent(workspace, typeCreated, base)

	const n = 10
	type result struct {
		ids     []string
		created bool
		err     error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ds, created, err := s.PublishEvent(ctx(t), ev)
			results[i] = result{deliveryIDs(ds), created, err}
		})
	}
	wg.Wait()
	created := 0
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("publish %d: %v", i, r.err)
		}
		if r.created {
			created++
		}
		if len(r.ids) != 2 || !slices.Equal(r.ids, results[0].ids) {
			t.Errorf("publish %d returned %v, publish 0 %v", i, r.ids, results[0].ids)
		}
	}
	if created != 1 {
		t.Fatalf("%d of %d concurrent publishes of one event created it, want exactly 1", created, n)
	}
}

func testPublishCanonicalIDs(t *testing.T, s Store) {
	workspace := uuid.NewString()
	hook := mustHook(t, s, workspace, true, typeCreated)
	ev := newEvent(strings.ToUpper(workspace), typeCreated, base)
	ev.ID = strings.ToUpper(ev.ID)
	ds := mustPublish(t, s, ev)
	if len(ds) != 1 {
		t.Fatalf("got %d deliveries, want 1", len(ds))
	}
	if ds[0].WorkspaceID != workspace || ds[0].EventID != strings.ToLower(ev.ID) || ds[0].WebhookID != hook.ID {
		t.Errorf("delivery %+v does not carry canonical ids", ds[0])
	}
	lower := ev
	lower.ID = strings.ToLower(ev.ID)
	lower.WorkspaceID = workspace
	if _, created, err := s.PublishEvent(ctx(t), lower); err != nil || created {
		t.Errorf("the lower-case spelling of the id is another event: created %v, %v", created, err)
	}
}

func testPublishRejectsMalformedIDs(t *testing.T, s Store) {
	workspace := uuid.NewString()
	mustHook(t, s, workspace, true, typeCreated)
	badID := newEvent(workspace, typeCreated, base)
	badID.ID = "evt_1"
	_, _, err := s.PublishEvent(ctx(t), badID)
	assertPlainError(t, "PublishEvent with a malformed event id", err)
	badWorkspace := newEvent("ws_1", typeCreated, base)
	_, _, err = s.PublishEvent(ctx(t), badWorkspace)
	assertPlainError(t, "PublishEvent with a malformed workspace id", err)
}

func testClaim(t *testing.T, s Store) {
	workspace := uuid.NewString()
	hook := mustHook(t, s, workspace, true, typeCreated)
	d := mustPublishOne(t, s, hook, base)

	assertNotClaimed(t, s, d.ID, base.Add(-time.Microsecond)) // not due yet

	now := base.Add(time.Second)
	c := mustClaim(t, s, d.ID, now)
	want := d
	want.Attempts = 1
	want.UpdatedAt = now
	assertDelivery(t, c.Delivery, want)

	assertNotClaimed(t, s, d.ID, now)              // leased
	assertNotClaimed(t, s, d.ID, now.Add(lease/2)) // leased
	assertNotClaimed(t, s, d.ID, now.Add(lease))   // the lease's last instant
	later := now.Add(lease + time.Microsecond)     // expired: the worker is presumed dead
	again := mustClaim(t, s, d.ID, later)
	if again.Delivery.Attempts != 2 {
		t.Errorf("Attempts after a second claim = %d, want 2", again.Delivery.Attempts)
	}
	storecheck.UTCTime(t, "UpdatedAt", again.Delivery.UpdatedAt, later)

	// Finished deliveries are not claimable, however late.
	mustRecord(t, s, outcome(again, delivery.StatusSuccess, later.Add(time.Second), nil))
	assertNotClaimed(t, s, d.ID, later.Add(24*time.Hour))

	// A lease under a millisecond would let another worker in at once.
	d2 := mustPublishOne(t, s, hook, base)
	c2, err := s.ClaimDelivery(ctx(t), d2.ID, base, 0)
	assertPlainError(t, "ClaimDelivery with a zero lease", err)
	if c2 != nil {
		t.Errorf("a claim with the error: %+v", c2)
	}
	mustClaim(t, s, d2.ID, base)
}

func testClaimTarget(t *testing.T, s Store) {
	workspace := uuid.NewString()
	hook := mustHook(t, s, workspace, true, typeCreated)
	d := mustPublishOne(t, s, hook, base)
	c := mustClaim(t, s, d.ID, base)
	wantTarget := delivery.Target{URL: hook.URL, Active: true, SecretCiphertext: hook.SecretCiphertext}
	if !reflect.DeepEqual(c.Target, wantTarget) {
		t.Errorf("Target = %+v, want %+v", c.Target, wantTarget)
	}

	// After a rotation the claim carries both secrets: the worker signs with
	// both during the overlap.
	expires := base.Add(24 * time.Hour)
	rotated, err := s.RotateSecret(ctx(t), workspace, hook.ID, hook.SecretCiphertext, "sealed:new", expires, base)
	if err != nil {
		t.Fatal(err)
	}
	d2 := mustPublishOne(t, s, hook, base)
	c2 := mustClaim(t, s, d2.ID, base)
	if c2.Target.SecretCiphertext != "sealed:new" || c2.Target.PreviousSecretCiphertext != hook.SecretCiphertext ||
		c2.Target.URL != rotated.URL || !c2.Target.Active {
		t.Errorf("Target after rotation = %+v", c2.Target)
	}
	storecheck.UTCTimePtr(t, "PreviousSecretExpiresAt", c2.Target.PreviousSecretExpiresAt, &expires)
}

func testClaimUnknownOrMalformedID(t *testing.T, s Store) {
	for _, id := range []string{uuid.NewString(), "", "dlv_1", "not-a-uuid", uuid.NewString() + "x"} {
		assertNotClaimed(t, s, id, base)
	}
}

func testConcurrentClaims(t *testing.T, s Store) {
	workspace := uuid.NewString()
	hook := mustHook(t, s, workspace, true, typeCreated)
	d := mustPublishOne(t, s, hook, base)

	const n = 10
	errs := make([]error, n)
	claims := make([]*delivery.Claim, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			claims[i], errs[i] = s.ClaimDelivery(ctx(t), d.ID, base.Add(time.Second), lease)
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
			if claims[i].Delivery.Attempts != 1 {
				t.Errorf("the winning claim has Attempts %d, want 1", claims[i].Delivery.Attempts)
			}
		case !errors.Is(err, delivery.ErrNotClaimed):
			t.Errorf("claim %d: %v, want ErrNotClaimed", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d concurrent claims won, want exactly 1", won, n)
	}
}

func testClaimCancelsForPausedWebhook(t *testing.T, s Store) {
	workspace := uuid.NewString()
	hook := mustHook(t, s, workspace, true, typeCreated)
	d := mustPublishOne(t, s, hook, base)
	if _, err := s.UpdateWebhook(ctx(t), workspace, hook.ID, webhooks.Patch{Active: ptr(false), UpdatedAt: base}); err != nil {
		t.Fatal(err)
	}
	assertNotClaimed(t, s, d.ID, base)

	// Cancelled for good: making the webhook active again does not bring it
	// back, and the sweeper does not see it.
	if _, err := s.UpdateWebhook(ctx(t), workspace, hook.ID, webhooks.Patch{Active: ptr(true), UpdatedAt: base}); err != nil {
		t.Fatal(err)
	}
	assertNotClaimed(t, s, d.ID, base.Add(time.Hour))
	due, err := s.DueDeliveries(ctx(t), base.Add(time.Hour), 1000)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(due, d.ID) {
		t.Error("DueDeliveries lists a cancelled delivery")
	}

	// The cancellation was not an attempt; a retry makes it pending again.
	r, err := s.RetryDelivery(ctx(t), workspace, hook.ID, d.ID, base.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if r.Attempts != 0 {
		t.Errorf("Attempts after a cancelled claim = %d, want 0", r.Attempts)
	}
	if c := mustClaim(t, s, d.ID, base.Add(time.Hour)); c.Delivery.Attempts != 1 {
		t.Errorf("Attempts = %d, want 1", c.Delivery.Attempts)
	}
}

func testDeletedWebhook(t *testing.T, s Store) {
	workspace := uuid.NewString()
	hook := mustHook(t, s, workspace, true, typeCreated)
	kept := mustHook(t, s, workspace, true, typeCreated)
	ds := mustPublish(t, s, newEvent(workspace, typeCreated, base))
	var gone, stays delivery.Delivery
	for _, d := range ds {
		if d.WebhookID == hook.ID {
			gone = d
		} else {
			stays = d
		}
	}
	c := mustClaim(t, s, gone.ID, base)
	next := base.Add(time.Minute)
	mustRecord(t, s, outcome(c, delivery.StatusPending, base.Add(time.Second), &next))
	c2 := mustClaim(t, s, gone.ID, next)

	if err := s.DeleteWebhook(ctx(t), workspace, hook.ID); err != nil {
		t.Fatal(err)
	}
	assertNotClaimed(t, s, gone.ID, next.Add(time.Hour))
	err := s.RecordAttempt(ctx(t), outcome(c2, delivery.StatusSuccess, next.Add(time.Second), nil))
	if !errors.Is(err, delivery.ErrNotFound) {
		t.Errorf("RecordAttempt after the webhook was deleted = %v, want ErrNotFound", err)
	}
	if _, err := s.RetryDelivery(ctx(t), workspace, hook.ID, gone.ID, next); !errors.Is(err, delivery.ErrNotFound) {
		t.Errorf("RetryDelivery after the webhook was deleted = %v, want ErrNotFound", err)
	}
	if _, _, err := s.ListAttempts(ctx(t), workspace, hook.ID, "", 0, 10); !errors.Is(err, delivery.ErrNotFound) {
		t.Errorf("ListAttempts after the webhook was deleted = %v, want ErrNotFound", err)
	}
	due, err := s.DueDeliveries(ctx(t), next.Add(time.Hour), 1000)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(due, gone.ID) {
		t.Error("DueDeliveries lists a delivery of a deleted webhook")
	}
	// The other webhook's delivery of the same event is untouched.
	mustClaim(t, s, stays.ID, base)
	if _, err := s.RetryDelivery(ctx(t), workspace, kept.ID, stays.ID, base); err != nil {
		t.Errorf("RetryDelivery of the other webhook's delivery: %v", err)
	}
}

func testRecordPending(t *testing.T, s Store) {
	workspace := uuid.NewString()
	hook := mustHook(t, s, workspace, true, typeCreated)
	d := mustPublishOne(t, s, hook, base)
	mustClaim(t, s, d.ID, base)

	deliveredAt := base.Add(1500 * time.Millisecond)
	next := base.Add(5 * time.Second)
	o := delivery.Outcome{
		Attempt: delivery.Attempt{
			ID: uuid.NewString(), DeliveryID: d.ID, WebhookID: hook.ID, WorkspaceID: workspace,
			EventType: typeCreated, Attempt: 1, Status: delivery.StatusFailed,
			ResponseStatusCode: ptr(503), ResponseBody: `{"error":"maintenance"}`, DurationMS: 1234,
			Error: ptr(delivery.ErrClassHTTP), DeliveredAt: deliveredAt,
		},
		NextAttemptAt: &next,
		DisableAfter:  72 * time.Hour,
	}
	mustRecord(t, s, o)

	// The log: the delivery waiting for attempt 2 on top, then the failed
	// attempt with its own outcome.
	page, total := mustList(t, s, hook, "", 0, 10)
	if total != 2 || len(page) != 2 {
		t.Fatalf("ListAttempts = %v, total %d; want the waiting delivery and the attempt", attemptIDs(page), total)
	}
	assertAttempt(t, page[0], waitingEntry(d, 2, next))
	assertAttempt(t, page[1], o.Attempt)
	for status, want := range map[string][]string{
		delivery.StatusPending: {"waiting:" + d.ID}, delivery.StatusFailed: {o.Attempt.ID}, delivery.StatusSuccess: {},
	} {
		page, total := mustList(t, s, hook, status, 0, 10)
		if total != len(want) || !slices.Equal(attemptIDs(page), want) {
			t.Errorf("status %s: %v (total %d), want %v", status, attemptIDs(page), total, want)
		}
	}

	// The lease is released: the delivery is claimable as soon as it is due
	// again, well inside the 30 s the first claim took.
	assertNotClaimed(t, s, d.ID, next.Add(-time.Microsecond))
	c2 := mustClaim(t, s, d.ID, next)
	want := d
	want.Attempts = 2
	want.NextAttemptAt = &next
	want.UpdatedAt = next
	assertDelivery(t, c2.Delivery, want)

	w := mustGetHook(t, s, hook)
	if w.LastDeliveryStatus == nil || *w.LastDeliveryStatus != delivery.StatusPending {
		t.Errorf("LastDeliveryStatus = %v, want pending", deref(w.LastDeliveryStatus))
	}
	storecheck.UTCTimePtr(t, "LastDeliveryAt", w.LastDeliveryAt, &deliveredAt)
	if !w.Active {
		t.Error("one failure disabled the webhook")
	}

	// While the second attempt is in flight, the waiting entry shows it.
	page, total = mustList(t, s, hook, "", 0, 10)
	if total != 2 || len(page) != 2 {
		t.Fatalf("ListAttempts = %v, total %d; want 2 entries", attemptIDs(page), total)
	}
	assertAttempt(t, page[0], waitingEntry(d, 2, next))
	assertAttempt(t, page[1], o.Attempt)

	// An attempt recorded as "pending" (workers before the log change)
	// is stored as the failed attempt it was.
	next2 := next.Add(30 * time.Second)
	legacy := outcome(c2, delivery.StatusPending, next.Add(time.Second), &next2)
	mustRecord(t, s, legacy)
	if got := mustAttempts(t, s, hook); len(got) != 2 || got[0].Status != delivery.StatusFailed || got[0].ID != legacy.Attempt.ID {
		t.Errorf("attempts after a legacy pending record: %+v", got)
	}
}

func testRecordSuccess(t *testing.T, s Store) {
	workspace := uuid.NewString()
	hook := mustHook(t, s, workspace, true, typeCreated)
	d := mustPublishOne(t, s, hook, base)
	c := mustClaim(t, s, d.ID, base)
	at := base.Add(2 * time.Second)
	o := outcome(c, delivery.StatusSuccess, at, nil)
	o.Attempt.ResponseBody = strings.Repeat("é", 1024) // 2,048 bytes: the limit
	mustRecord(t, s, o)

	assertNotClaimed(t, s, d.ID, at.Add(time.Hour))
	due, err := s.DueDeliveries(ctx(t), at.Add(time.Hour), 1000)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(due, d.ID) {
		t.Error("DueDeliveries lists a delivered delivery")
	}
	w := mustGetHook(t, s, hook)
	if w.LastDeliveryStatus == nil || *w.LastDeliveryStatus != delivery.StatusSuccess {
		t.Errorf("LastDeliveryStatus = %v, want success", deref(w.LastDeliveryStatus))
	}
	storecheck.UTCTimePtr(t, "LastDeliveryAt", w.LastDeliveryAt, &at)
	storecheck.UTCTime(t, "webhook UpdatedAt", w.UpdatedAt, base) // bookkeeping is not an edit

	page, _ := mustList(t, s, hook, "", 0, 10)
	if len(page) != 1 {
		t.Fatalf("got %d attempts, want 1", len(page))
	}
	assertAttempt(t, page[0], o.Attempt)

	r, err := s.RetryDelivery(ctx(t), workspace, hook.ID, d.ID, at.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != delivery.StatusPending || r.Attempts != 1 {
		t.Errorf("after a retry: status %s, attempts %d", r.Status, r.Attempts)
	}
}

func testRecordFailed(t *testing.T, s Store) {
	workspace := uuid.NewString()
	hook := mustHook(t, s, workspace, true, typeCreated)
	d := mustPublishOne(t, s, hook, base)
	c := mustClaim(t, s, d.ID, base)
	at := base.Add(10 * time.Second)
	o := outcome(c, delivery.StatusFailed, at, nil)
	o.Attempt.ResponseStatusCode = ptr(410)
	o.Attempt.Error = ptr(delivery.ErrClassHTTP)
	o.Attempt.ResponseBody = "gone"
	mustRecord(t, s, o)

	assertNotClaimed(t, s, d.ID, at.Add(24*time.Hour))
	w := mustGetHook(t, s, hook)
	if w.LastDeliveryStatus == nil || *w.LastDeliveryStatus != delivery.StatusFailed {
		t.Errorf("LastDeliveryStatus = %v, want failed", deref(w.LastDeliveryStatus))
	}
	storecheck.UTCTimePtr(t, "LastDeliveryAt", w.LastDeliveryAt, &at)
	page, _ := mustList(t, s, hook, delivery.StatusFailed, 0, 10)
	if len(page) != 1 {
		t.Fatalf("got %d failed attempts, want 1", len(page))
	}
	assertAttempt(t, page[0], o.Attempt)
}

func testRecordRefusesInvalid(t *testing.T, s Store) {
	workspace := uuid.NewString()
	hook := mustHook(t, s, workspace, true, typeCreated)
	d := mustPublishOne(t, s, hook, base)
	c := mustClaim(t, s, d.ID, base)
	at := base.Add(time.Second)
	next := base.Add(time.Minute)
	tests := []struct {
		name   string
		modify func(o *delivery.Outcome)
	}{
		{"success with a next attempt", func(o *delivery.Outcome) { o.NextAttemptAt = &next }},
		{"pending without a next attempt", func(o *delivery.Outcome) {
			o.Attempt.Status, o.Attempt.ResponseStatusCode, o.Attempt.Error = delivery.StatusPending, nil, ptr(delivery.ErrClassTimeout)
		}},
		{"cancelled is not an attempt status", func(o *delivery.Outcome) { o.Attempt.Status = delivery.StatusCancelled }},
		{"unknown error class", func(o *delivery.Outcome) {
			o.Attempt.Status, o.Attempt.Error = delivery.StatusFailed, ptr("boom")
		}},
		{"failure without an error class", func(o *delivery.Outcome) { o.Attempt.Status = delivery.StatusFailed }},
		{"success with an error class", func(o *delivery.Outcome) { o.Attempt.Error = ptr(delivery.ErrClassHTTP) }},
		{"body over 2,048 bytes", func(o *delivery.Outcome) { o.Attempt.ResponseBody = strings.Repeat("é", 1024) + "x" }},
		{"body not UTF-8", func(o *delivery.Outcome) { o.Attempt.ResponseBody = "\xff\xfe" }},
		{"body with a NUL", func(o *delivery.Outcome) { o.Attempt.ResponseBody = "a\x00b" }},
		{"status code below 100", func(o *delivery.Outcome) { o.Attempt.ResponseStatusCode = ptr(99) }},
		{"status code above 599", func(o *delivery.Outcome) { o.Attempt.ResponseStatusCode = ptr(600) }},
		{"negative duration", func(o *delivery.Outcome) { o.Attempt.DurationMS = -1 }},
		{"attempt zero", func(o *delivery.Outcome) { o.Attempt.Attempt = 0 }},
		{"malformed attempt id", func(o *delivery.Outcome) { o.Attempt.ID = "att_1" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := outcome(c, delivery.StatusSuccess, at, nil)
			tc.modify(&o)
			assertPlainError(t, "RecordAttempt", s.RecordAttempt(ctx(t), o))
		})
	}
	// Nothing was written: no attempt (the claimed delivery is still
	// waiting), and the claim can still record.
	if got := mustAttempts(t, s, hook); len(got) != 0 {
		t.Fatalf("refused attempts left %d log entries", len(got))
	}
	o := outcome(c, delivery.StatusSuccess, at, nil)
	o.Attempt.ID = "" // the store picks one
	mustRecord(t, s, o)
	page, _ := mustList(t, s, hook, "", 0, 10)
	if len(page) != 1 {
		t.Fatalf("got %d attempts, want 1", len(page))
	}
	if _, err := uuid.Parse(page[0].ID); err != nil {
		t.Errorf("attempt id %q is not a UUID", page[0].ID)
	}
}

func testRecordUnknownDelivery(t *testing.T, s Store) {
	workspace := uuid.NewString()
	hook := mustHook(t, s, workspace, true, typeCreated)
	other := mustHook(t, s, workspace, true, typeUpdated)
	d := mustPublishOne(t, s, hook, base)
	c := mustClaim(t, s, d.ID, base)
	tests := []struct {
		name   string
		modify func(a *delivery.Attempt)
	}{
		{"unknown delivery", func(a *delivery.Attempt) { a.DeliveryID = uuid.NewString() }},
		{"other workspace", func(a *delivery.Attempt) { a.WorkspaceID = uuid.NewString() }},
		{"other webhook", func(a *delivery.Attempt) { a.WebhookID = other.ID }},
		{"malformed delivery id", func(a *delivery.Attempt) { a.DeliveryID = "dlv_1" }},
		{"malformed webhook id", func(a *delivery.Attempt) { a.WebhookID = "" }},
		{"malformed workspace id", func(a *delivery.Attempt) { a.WorkspaceID = "ws" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := outcome(c, delivery.StatusSuccess, base.Add(time.Second), nil)
			tc.modify(&o.Attempt)
			if err := s.RecordAttempt(ctx(t), o); !errors.Is(err, delivery.ErrNotFound) {
				t.Fatalf("RecordAttempt = %v, want ErrNotFound", err)
			}
		})
	}
	if got := mustAttempts(t, s, hook); len(got) != 0 {
		t.Fatalf("%d attempts logged for unknown deliveries", len(got))
	}
	if _, total := mustList(t, s, other, "", 0, 10); total != 0 {
		t.Fatalf("%d attempts logged for unknown deliveries", total)
	}
}

func testRecordStale(t *testing.T, s Store) {
	workspace := uuid.NewString()
	hook := mustHook(t, s, workspace, true, typeCreated)
	d := mustPublishOne(t, s, hook, base)
	slow := mustClaim(t, s, d.ID, base)
	// The first worker's lease runs out; a second one claims.
	secondAt := base.Add(lease + time.Second)
	fresh := mustClaim(t, s, d.ID, secondAt)

	// The first worker finishes late: its attempt happened and is logged, but
	// it must not end the delivery or release the second worker's lease.
	late := outcome(slow, delivery.StatusSuccess, secondAt.Add(time.Second), nil)
	if err := s.RecordAttempt(ctx(t), late); !errors.Is(err, delivery.ErrNotClaimed) {
		t.Fatalf("RecordAttempt of a superseded claim = %v, want ErrNotClaimed", err)
	}
	if w := mustGetHook(t, s, hook); w.LastDeliveryStatus != nil {
		t.Errorf("a superseded attempt set LastDeliveryStatus to %q", *w.LastDeliveryStatus)
	}
	assertNotClaimed(t, s, d.ID, secondAt.Add(2*time.Second))
	page := mustAttempts(t, s, hook)
	if len(page) != 1 {
		t.Fatalf("%d attempts logged, want the late one", len(page))
	}
	assertAttempt(t, page[0], late.Attempt)

	// The second worker's outcome applies and releases the lease; a repeat
	// of it is stale.
	next := secondAt.Add(time.Minute)
	o := outcome(fresh, delivery.StatusPending, secondAt.Add(2*time.Second), &next)
	mustRecord(t, s, o)
	o.Attempt.ID = uuid.NewString()
	if err := s.RecordAttempt(ctx(t), o); !errors.Is(err, delivery.ErrNotClaimed) {
		t.Fatalf("RecordAttempt repeated = %v, want ErrNotClaimed", err)
	}
	if c := mustClaim(t, s, d.ID, next); c.Delivery.Attempts != 3 {
		t.Errorf("Attempts = %d, want 3", c.Delivery.Attempts)
	}
}

func testLastDeliveryFollowsNewest(t *testing.T, s Store) {
	workspace := uuid.NewString()
	hook := mustHook(t, s, workspace, true, typeCreated)
	newer := base.Add(time.Hour)
	attemptAt(t, s, hook, newer, delivery.StatusSuccess, 0)
	// An older attempt recorded later (a slow worker) does not overwrite the
	// newer one's status.
	attemptAt(t, s, hook, base, delivery.StatusFailed, 0)
	w := mustGetHook(t, s, hook)
	if w.LastDeliveryStatus == nil || *w.LastDeliveryStatus != delivery.StatusSuccess {
		t.Errorf("LastDeliveryStatus = %v, want success", deref(w.LastDeliveryStatus))
	}
	storecheck.UTCTimePtr(t, "LastDeliveryAt", w.LastDeliveryAt, &newer)
}

// assertActive checks the webhook's active flag.
func assertActive(t *testing.T, s Store, hook *webhooks.Webhook, want bool) *webhooks.Webhook {
	t.Helper()
	w := mustGetHook(t, s, hook)
	if w.Active != want {
		t.Fatalf("Active = %v, want %v", w.Active, want)
	}
	return w
}

func testAutoDisable(t *testing.T, s Store) {
	const after = 72 * time.Hour
	workspace := uuid.NewString()
	hook := mustHook(t, s, workspace, true, typeCreated)
	t0 := base.Add(time.Hour)
	attemptAt(t, s, hook, t0, delivery.StatusPending, after) // a retried failure counts
	assertActive(t, s, hook, true)
	attemptAt(t, s, hook, t0.Add(after/2), delivery.StatusFailed, after)
	attemptAt(t, s, hook, t0.Add(after-time.Millisecond), delivery.StatusPending, after)
	assertActive(t, s, hook, true)
	disabledAt := t0.Add(after)
	attemptAt(t, s, hook, disabledAt, delivery.StatusFailed, after)
	w := assertActive(t, s, hook, false)
	storecheck.UTCTime(t, "UpdatedAt", w.UpdatedAt, disabledAt)
	if want := "deliveries have failed since " + t0.UTC().Format(time.RFC3339); w.DisabledReason == nil || *w.DisabledReason != want {
		t.Errorf("DisabledReason = %v, want %q", deref(w.DisabledReason), want)
	}
	if w.LastDeliveryStatus == nil || *w.LastDeliveryStatus != delivery.StatusFailed {
		t.Errorf("LastDeliveryStatus = %v, want failed", deref(w.LastDeliveryStatus))
	}
	// A disabled webhook gets no new deliveries.
	if ds := mustPublish(t, s, newEvent(workspace, typeCreated, disabledAt)); len(ds) != 0 {
		t.Errorf("a disabled webhook got %d deliveries", len(ds))
	}
}

func testAutoDisableResetBySuccess(t *testing.T, s Store) {
	const after = 72 * time.Hour
	workspace := uuid.NewString()
	hook := mustHook(t, s, workspace, true, typeCreated)
	t0 := base.Add(time.Hour)
	attemptAt(t, s, hook, t0, delivery.StatusFailed, after)
	attemptAt(t, s, hook, t0.Add(time.Hour), delivery.StatusSuccess, after)
	restart := t0.Add(2 * time.Hour)
	attemptAt(t, s, hook, restart, delivery.StatusFailed, after)
	attemptAt(t, s, hook, t0.Add(after+time.Hour), delivery.StatusFailed, after)
	assertActive(t, s, hook, true) // failing for 71 h only
	attemptAt(t, s, hook, restart.Add(after), delivery.StatusFailed, after)
	assertActive(t, s, hook, false)
}

func testAutoDisableOff(t *testing.T, s Store) {
	workspace := uuid.NewString()
	hook := mustHook(t, s, workspace, true, typeCreated)
	attemptAt(t, s, hook, base, delivery.StatusFailed, 0)
	attemptAt(t, s, hook, base.Add(1000*time.Hour), delivery.StatusFailed, 0)
	attemptAt(t, s, hook, base.Add(2000*time.Hour), delivery.StatusFailed, -time.Hour)
	assertActive(t, s, hook, true)
}

func testAutoDisableResetByReactivation(t *testing.T, s Store) {
	const after = 72 * time.Hour
	workspace := uuid.NewString()
	hook := mustHook(t, s, workspace, true, typeCreated)
	t0 := base.Add(time.Hour)
	attemptAt(t, s, hook, t0, delivery.StatusFailed, after)
	attemptAt(t, s, hook, t0.Add(after), delivery.StatusFailed, after)
	assertActive(t, s, hook, false)

	// The owner fixes the receiver and turns the webhook back on: the old
	// failures no longer count.
	back := t0.Add(after + time.Hour)
	if _, err := s.UpdateWebhook(ctx(t), workspace, hook.ID, webhooks.Patch{Active: ptr(true), UpdatedAt: back}); err != nil {
		t.Fatal(err)
	}
	if w := mustGetHook(t, s, hook); w.DisabledReason != nil {
		t.Errorf("DisabledReason after reactivation = %q, want none", *w.DisabledReason)
	}
	attemptAt(t, s, hook, back.Add(time.Hour), delivery.StatusFailed, after)
	assertActive(t, s, hook, true)
	attemptAt(t, s, hook, back.Add(time.Hour+after), delivery.StatusFailed, after)
	assertActive(t, s, hook, false)
}

func testListAttempts(t *testing.T, s Store) {
	workspace := uuid.NewString()
	hook := mustHook(t, s, workspace, true, typeCreated)
	other := mustHook(t, s, workspace, true, typeCreated) // gets the same events
	t1 := base.Add(time.Minute)
	var recorded []delivery.Outcome
	var waiting delivery.Attempt
	for i, spec := range []struct {
		at     time.Time
		status string
		retry  bool
	}{
		{t1, delivery.StatusFailed, false},
		{t1.Add(time.Second), delivery.StatusSuccess, false},
		{t1.Add(2 * time.Second), delivery.StatusFailed, true},  // waits for attempt 2
		{t1.Add(2 * time.Second), delivery.StatusFailed, false}, // a tie, broken by id
		{t1.Add(3 * time.Second), delivery.StatusSuccess, false},
	} {
		d := mustPublishOne(t, s, hook, spec.at)
		c := mustClaim(t, s, d.ID, spec.at)
		var next *time.Time
		if spec.retry {
			next = ptr(spec.at.Add(time.Hour))
			waiting = waitingEntry(d, 2, *next)
		}
		o := outcome(c, spec.status, spec.at, next)
		o.Attempt.ResponseBody = fmt.Sprintf("answer %d", i)
		o.Attempt.DurationMS = i * 100
		mustRecord(t, s, o)
		recorded = append(recorded, o)
	}
	// The waiting delivery on top, then the attempts newest first, ties by
	// id descending.
	want := slices.Clone(recorded)
	slices.SortFunc(want, func(a, b delivery.Outcome) int {
		if c := b.Attempt.DeliveredAt.Compare(a.Attempt.DeliveredAt); c != 0 {
			return c
		}
		return strings.Compare(b.Attempt.ID, a.Attempt.ID)
	})
	wantAll := []delivery.Attempt{waiting}
	for i := range want {
		wantAll = append(wantAll, want[i].Attempt)
	}

	page, total := mustList(t, s, hook, "", 0, 50)
	if total != 6 {
		t.Errorf("total = %d, want 6", total)
	}
	if !slices.Equal(attemptIDs(page), attemptIDs(wantAll)) {
		t.Fatalf("order\n got %v\nwant %v", attemptIDs(page), attemptIDs(wantAll))
	}
	for i := range page {
		assertAttempt(t, page[i], wantAll[i])
	}

	t.Run("status filter", func(t *testing.T) {
		for _, status := range []string{delivery.StatusSuccess, delivery.StatusFailed, delivery.StatusPending} {
			wantIDs := []string{}
			for _, a := range wantAll {
				if a.Status == status {
					wantIDs = append(wantIDs, attemptIDs([]delivery.Attempt{a})[0])
				}
			}
			page, total := mustList(t, s, hook, status, 0, 50)
			if total != len(wantIDs) || !slices.Equal(attemptIDs(page), wantIDs) {
				t.Errorf("status %s: %v (total %d), want %v", status, attemptIDs(page), total, wantIDs)
			}
		}
		page, total := mustList(t, s, hook, "cancelled", 0, 50)
		if total != 0 || len(page) != 0 {
			t.Errorf("status cancelled: %d attempts", total)
		}
	})
	t.Run("paging", func(t *testing.T) {
		// Pages across the waiting entry and the attempts agree with the
		// whole list and its total.
		for _, p := range []struct{ offset, limit int }{{0, 1}, {0, 2}, {1, 2}, {2, 3}, {4, 10}, {5, 1}} {
			page, total := mustList(t, s, hook, "", p.offset, p.limit)
			w := wantAll[min(p.offset, len(wantAll)):min(p.offset+p.limit, len(wantAll))]
			if total != 6 || !slices.Equal(attemptIDs(page), attemptIDs(w)) {
				t.Errorf("offset %d limit %d: %v (total %d), want %v", p.offset, p.limit, attemptIDs(page), total, attemptIDs(w))
			}
		}
		page, total := mustList(t, s, hook, "", 40, 10)
		if total != 6 || len(page) != 0 {
			t.Errorf("past the end: %d attempts, total %d; want none, 6", len(page), total)
		}
		page, total = mustList(t, s, hook, "", 0, 0)
		if total != 6 || len(page) != 0 {
			t.Errorf("limit 0: %d attempts, total %d; want none, 6", len(page), total)
		}
		var failed []delivery.Attempt
		for _, a := range wantAll {
			if a.Status == delivery.StatusFailed {
				failed = append(failed, a)
			}
		}
		page, total = mustList(t, s, hook, delivery.StatusFailed, 1, 2)
		if total != 3 || !slices.Equal(attemptIDs(page), attemptIDs(failed[1:3])) {
			t.Errorf("failed, offset 1: %v (total %d), want %v", attemptIDs(page), total, attemptIDs(failed[1:3]))
		}
		page, total = mustList(t, s, hook, delivery.StatusSuccess, 1, 1)
		if total != 2 || len(page) != 1 {
			t.Errorf("filtered page: %d attempts, total %d; want 1, 2", len(page), total)
		}
	})
	t.Run("other webhook has only waiting deliveries", func(t *testing.T) {
		// It got the same five events and none was attempted yet: five
		// entries waiting for attempt 1, no attempt.
		page, total := mustList(t, s, other, "", 0, 50)
		if total != 5 || len(page) != 5 || len(mustAttempts(t, s, other)) != 0 {
			t.Fatalf("another webhook lists %v (total %d), want 5 waiting deliveries", attemptIDs(page), total)
		}
		for _, e := range page {
			if e.Status != delivery.StatusPending || e.Attempt != 1 || e.NextAttemptAt == nil || e.ResponseStatusCode != nil {
				t.Errorf("waiting entry %+v", e)
			}
		}
	})
	t.Run("upper-case ids", func(t *testing.T) {
		page, total, err := s.ListAttempts(ctx(t), strings.ToUpper(workspace), strings.ToUpper(hook.ID), "", 0, 50)
		if err != nil || total != 6 || len(page) != 6 {
			t.Errorf("ListAttempts with upper-case ids = %d, %d, %v", len(page), total, err)
		}
	})
}

func testListAttemptsUnknownWebhook(t *testing.T, s Store) {
	workspace := uuid.NewString()
	hook := mustHook(t, s, workspace, true, typeCreated)
	attemptAt(t, s, hook, base, delivery.StatusSuccess, 0)
	for _, tc := range []struct{ name, workspace, hook string }{
		{"other workspace", uuid.NewString(), hook.ID},
		{"unknown webhook", workspace, uuid.NewString()},
		{"malformed webhook", workspace, "wh_1"},
		{"malformed workspace", "ws", hook.ID},
	} {
		for _, status := range []string{"", delivery.StatusSuccess, "bogus"} {
			page, total, err := s.ListAttempts(ctx(t), tc.workspace, tc.hook, status, 0, 10)
			if !errors.Is(err, delivery.ErrNotFound) {
				t.Errorf("%s, status %q: ListAttempts = %d, %d, %v; want ErrNotFound", tc.name, status, len(page), total, err)
			}
		}
	}
}

// dueEra is when testDueDeliveries' deliveries are due; no other subtest
// uses times this early, so the sweeper's unscoped query sees only them.
var dueEra = time.Date(2001, 3, 4, 5, 6, 7, 891011000, time.FixedZone("UTC-3", -3*60*60))

func testDueDeliveries(t *testing.T, s Store) {
	workspace := uuid.NewString()
	hook := mustHook(t, s, workspace, true, typeCreated)
	// Published out of order: the sweeper takes the oldest first.
	third := mustPublishOne(t, s, hook, dueEra.Add(2*time.Second))
	first := mustPublishOne(t, s, hook, dueEra)
	second := mustPublishOne(t, s, hook, dueEra.Add(time.Second))
	leased := mustPublishOne(t, s, hook, dueEra.Add(500*time.Millisecond))
	later := mustPublishOne(t, s, hook, dueEra.Add(time.Minute))
	done := mustPublishOne(t, s, hook, dueEra.Add(100*time.Millisecond))
	mustRecord(t, s, outcome(mustClaim(t, s, done.ID, dueEra.Add(time.Second)), delivery.StatusSuccess, dueEra.Add(time.Second), nil))
	mustClaim(t, s, leased.ID, dueEra.Add(time.Second)) // leased until +31 s

	due := func(now time.Time, limit int) []string {
		t.Helper()
		ids, err := s.DueDeliveries(ctx(t), now, limit)
		if err != nil {
			t.Fatalf("DueDeliveries: %v", err)
		}
		if ids == nil {
			t.Error("DueDeliveries returned nil")
		}
		return ids
	}
	now := dueEra.Add(5 * time.Second)
	if got, want := due(now, 100), []string{first.ID, second.ID, third.ID}; !slices.Equal(got, want) {
		t.Errorf("due at +5 s: %v, want %v (oldest first; not the leased, later or finished ones)", got, want)
	}
	if got, want := due(now, 2), []string{first.ID, second.ID}; !slices.Equal(got, want) {
		t.Errorf("limit 2: %v, want %v", got, want)
	}
	if got := due(now, 0); len(got) != 0 {
		t.Errorf("limit 0: %v", got)
	}
	if got, want := due(dueEra.Add(time.Second), 100), []string{first.ID, second.ID}; !slices.Equal(got, want) {
		t.Errorf("due exactly at +1 s: %v, want %v", got, want)
	}
	// The lease ends at +31 s: due only after that; the later one at +60 s.
	if got, want := due(dueEra.Add(lease+time.Second), 100), []string{first.ID, second.ID, third.ID}; !slices.Equal(got, want) {
		t.Errorf("at the lease's end: %v, want %v", got, want)
	}
	expired := dueEra.Add(time.Minute)
	if got, want := due(expired, 100), []string{first.ID, leased.ID, second.ID, third.ID, later.ID}; !slices.Equal(got, want) {
		t.Errorf("after the lease: %v, want %v", got, want)
	}
}

// retentionEra is when testDeleteAttemptsBefore's attempts are made; no other
// subtest makes attempts this early.
var retentionEra = time.Date(1995, 1, 1, 0, 0, 0, 0, time.UTC)

func testDeleteAttemptsBefore(t *testing.T, s Store) {
	workspace := uuid.NewString()
	hook := mustHook(t, s, workspace, true, typeCreated)
	cutoff := retentionEra.AddDate(1, 0, 0)
	attemptAt(t, s, hook, retentionEra, delivery.StatusSuccess, 0)
	attemptAt(t, s, hook, cutoff.Add(-time.Microsecond), delivery.StatusFailed, 0)
	kept := attemptAt(t, s, hook, cutoff, delivery.StatusSuccess, 0) // not older than the cutoff

	n, err := s.DeleteAttemptsBefore(ctx(t), cutoff)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("DeleteAttemptsBefore = %d, want 2", n)
	}
	page, total := mustList(t, s, hook, "", 0, 10)
	if total != 1 || len(page) != 1 || page[0].ID != kept.Attempt.ID {
		t.Errorf("left %v (total %d), want only %s", attemptIDs(page), total, kept.Attempt.ID)
	}
	if n, err := s.DeleteAttemptsBefore(ctx(t), cutoff); err != nil || n != 0 {
		t.Errorf("DeleteAttemptsBefore again = %d, %v; want 0, nil", n, err)
	}
}

func testTestDelivery(t *testing.T, s Store) {
	workspace := uuid.NewString()
	// Paused and not subscribed: a test is sent anyway.
	hook := mustHook(t, s, workspace, false, typeUpdated)
	ev := newEvent(workspace, typeCreated, base)
	d, err := s.CreateTestDelivery(ctx(t), ev, hook.ID)
	if err != nil {
		t.Fatalf("CreateTestDelivery: %v", err)
	}
	assertDelivery(t, *d, delivery.Delivery{
		WorkspaceID: workspace, WebhookID: hook.ID, EventID: ev.ID, EventType: typeCreated, Test: true,
		Status: delivery.StatusPending, NextAttemptAt: &base, CreatedAt: base, UpdatedAt: base,
	})
	c := mustClaim(t, s, d.ID, base)
	if !c.Delivery.Test || c.Target.Active || c.Target.URL != hook.URL || string(c.Event.Data) != string(ev.Data) {
		t.Errorf("claim of a test delivery: %+v", c)
	}
	o := outcome(c, delivery.StatusFailed, base.Add(time.Second), nil)
	mustRecord(t, s, o)
	page, _ := mustList(t, s, hook, "", 0, 10)
	if len(page) != 1 {
		t.Fatalf("%d attempts, want 1", len(page))
	}
	assertAttempt(t, page[0], o.Attempt)

	// The event was stored under its id.
	if _, created, err := s.PublishEvent(ctx(t), ev); err != nil || created {
		t.Errorf("publishing the test event's id = created %v, %v; want an existing event", created, err)
	}

	// Failing tests of a paused webhook do not "disable" it again, which
	// would bump its UpdatedAt.
	later := base.Add(3 * time.Hour)
	d2, err := s.CreateTestDelivery(ctx(t), newEvent(workspace, typeCreated, later), hook.ID)
	if err != nil {
		t.Fatal(err)
	}
	o2 := outcome(mustClaim(t, s, d2.ID, later), delivery.StatusFailed, later, nil)
	o2.DisableAfter = time.Hour
	mustRecord(t, s, o2)
	w := mustGetHook(t, s, hook)
	if w.Active {
		t.Error("a test delivery activated the webhook")
	}
	storecheck.UTCTime(t, "UpdatedAt", w.UpdatedAt, base)
	if w.LastDeliveryStatus == nil || *w.LastDeliveryStatus != delivery.StatusFailed {
		t.Errorf("LastDeliveryStatus = %v, want failed", deref(w.LastDeliveryStatus))
	}
}

func testTestDeliveryUnknownWebhook(t *testing.T, s Store) {
	workspace := uuid.NewString()
	hook := mustHook(t, s, workspace, true, typeCreated)
	foreign := mustHook(t, s, uuid.NewString(), true, typeCreated)
	ev := newEvent(workspace, typeCreated, base)
	for _, tc := range []struct{ name, workspace, hook string }{
		{"unknown webhook", workspace, uuid.NewString()},
		{"other workspace's webhook", workspace, foreign.ID},
		{"malformed webhook id", workspace, "wh_1"},
		{"malformed workspace id", "ws", hook.ID},
	} {
		e := ev
		e.WorkspaceID = tc.workspace
		d, err := s.CreateTestDelivery(ctx(t), e, tc.hook)
		if !errors.Is(err, delivery.ErrNotFound) || d != nil {
			t.Errorf("%s: CreateTestDelivery = %+v, %v; want ErrNotFound", tc.name, d, err)
		}
	}
	// Nothing was stored: the event id is still free.
	if ds := mustPublish(t, s, ev); len(ds) != 1 || ds[0].Test {
		t.Errorf("publishing after refused tests gave %+v", ds)
	}
	bad := newEvent(workspace, typeCreated, base)
	bad.ID = "evt_1"
	_, err := s.CreateTestDelivery(ctx(t), bad, hook.ID)
	assertPlainError(t, "CreateTestDelivery with a malformed event id", err)
}

func testRetryDelivery(t *testing.T, s Store) {
	workspace := uuid.NewString()
	hook := mustHook(t, s, workspace, true, typeCreated)
	d := mustPublishOne(t, s, hook, base)
	c := mustClaim(t, s, d.ID, base)
	mustRecord(t, s, outcome(c, delivery.StatusFailed, base.Add(time.Second), nil))

	now := base.Add(time.Hour)
	r, err := s.RetryDelivery(ctx(t), strings.ToUpper(workspace), strings.ToUpper(hook.ID), strings.ToUpper(d.ID), now)
	if err != nil {
		t.Fatalf("RetryDelivery: %v", err)
	}
	want := d
	want.Attempts = 1
	want.NextAttemptAt = &now
	want.UpdatedAt = now
	assertDelivery(t, *r, want)
	assertNotClaimed(t, s, d.ID, now.Add(-time.Microsecond))
	if c := mustClaim(t, s, d.ID, now); c.Delivery.Attempts != 2 {
		t.Errorf("Attempts = %d, want 2", c.Delivery.Attempts)
	}

	// A pending delivery that is leased keeps its lease: the worker holding
	// it finishes first.
	d2 := mustPublishOne(t, s, hook, base)
	mustClaim(t, s, d2.ID, base)
	if _, err := s.RetryDelivery(ctx(t), workspace, hook.ID, d2.ID, base.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	assertNotClaimed(t, s, d2.ID, base.Add(2*time.Second))
	mustClaim(t, s, d2.ID, base.Add(lease+time.Second))
}

func testRetryUnknownDelivery(t *testing.T, s Store) {
	workspace := uuid.NewString()
	hook := mustHook(t, s, workspace, true, typeCreated)
	sibling := mustHook(t, s, workspace, true, typeCreated)
	d := mustPublishOne(t, s, hook, base)
	for _, tc := range []struct{ name, workspace, hook, id string }{
		{"unknown delivery", workspace, hook.ID, uuid.NewString()},
		{"other workspace", uuid.NewString(), hook.ID, d.ID},
		{"other webhook", workspace, sibling.ID, d.ID},
		{"malformed delivery id", workspace, hook.ID, "dlv_1"},
		{"malformed webhook id", workspace, "wh", d.ID},
		{"malformed workspace id", "", hook.ID, d.ID},
	} {
		r, err := s.RetryDelivery(ctx(t), tc.workspace, tc.hook, tc.id, base)
		if !errors.Is(err, delivery.ErrNotFound) || r != nil {
			t.Errorf("%s: RetryDelivery = %+v, %v; want ErrNotFound", tc.name, r, err)
		}
	}
}

func testReturnsCopies(t *testing.T, s Store) {
	workspace := uuid.NewString()
	hook := mustHook(t, s, workspace, true, typeCreated)
	ev := newEvent(workspace, typeCreated, base)
	original := string(ev.Data)
	ds := mustPublish(t, s, ev)
	ev.Data[0] = 'X' // the caller reuses its buffer
	*ds[0].NextAttemptAt = base.Add(time.Hour)

	c := mustClaim(t, s, ds[0].ID, base)
	if string(c.Event.Data) != original {
		t.Fatalf("the store shares the published data: %q", c.Event.Data)
	}
	c.Event.Data[0] = 'Y'
	*c.Delivery.NextAttemptAt = base.Add(time.Hour)
	c2 := mustClaim(t, s, ds[0].ID, base.Add(lease+time.Second))
	if string(c2.Event.Data) != original {
		t.Fatalf("the store shares a claim's data: %q", c2.Event.Data)
	}
	storecheck.UTCTimePtr(t, "NextAttemptAt", c2.Delivery.NextAttemptAt, &base)

	mustRecord(t, s, outcome(c2, delivery.StatusFailed, base.Add(time.Minute), nil))
	page, _ := mustList(t, s, hook, "", 0, 10)
	*page[0].Error = "changed"
	again, _ := mustList(t, s, hook, "", 0, 10)
	if *again[0].Error != delivery.ErrClassTimeout {
		t.Fatalf("the store shares an attempt's error: %q", *again[0].Error)
	}
}

// testRecordEveryErrorClass: every error class the delivery domain defines
// is one the store keeps (the SQL check constraint lists the same, and an
// unknown class is refused: RecordRefusesInvalidAttempts).
func testRecordEveryErrorClass(t *testing.T, s Store) {
	workspace := uuid.NewString()
	hook := mustHook(t, s, workspace, true, typeCreated)
	want := delivery.ErrClasses()
	for i, class := range want {
		at := base.Add(time.Duration(i) * time.Minute)
		d := mustPublishOne(t, s, hook, at)
		c := mustClaim(t, s, d.ID, at)
		o := outcome(c, delivery.StatusFailed, at.Add(time.Second), nil)
		o.Attempt.Error = ptr(class)
		mustRecord(t, s, o)
	}
	var got []string
	for _, a := range mustAttempts(t, s, hook) {
		if a.Error != nil {
			got = append(got, *a.Error)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("stored error classes = %v, want %v", got, want)
	}
}
