package storetest

// The delivery.Store suite: what the worker and the API rely on (fan-out,
// idempotent publishing, one winner per claim, outcomes, auto-disable, logs)
// cannot differ between the store used in development and the ones used in
// production. This file holds the suite's table and helpers, and the
// publishing cases (fan-out, idempotency by event id, concurrency, ids).

import (
	"context"
	"errors"
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

// DeliveryStore is what the delivery suite needs: a delivery store that also manages the
// webhooks its deliveries go to, and lists what is due without claiming it, so that the
// suite can check that finished, cancelled and deleted deliveries never are (the engine
// itself only claims, through ClaimDue).
type DeliveryStore interface {
	webhooks.Store
	delivery.Store
	// DueDeliveries lists ids of pending deliveries due at or before now whose lease (if
	// any) has expired, oldest first, at most limit.
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]string, error)
}

// RunDelivery runs the delivery.Store suite. newStore is called once per subtest; since every
// subtest uses fresh random workspaces and ids, returning one shared store is
// also fine, provided the subtests run one after the other (they do) and
// nothing else writes to it: DueDeliveries and DeleteAttemptsBefore are not
// scoped to a workspace, so their subtests use times (1995, 2001) that no
// other subtest uses, and expect to see only their own rows there.
func RunDelivery(t *testing.T, newStore func(t *testing.T) DeliveryStore) {
	t.Helper()
	runSuite(t, newStore, append([]suiteCase[DeliveryStore]{
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
		{"ReturnsCopies", testDeliveryReturnsCopies},
		{"GetDelivery", testGetDelivery},
	}, append(engineCases, traceCases...)...))
}

// lease is the lease most claims take.
const lease = 30 * time.Second

// Event types used by the suite.
const (
	typeCreated = "lead.created"
	typeUpdated = "lead.updated"
)

// mustHook creates a webhook of workspace subscribed to events.
func mustHook(t *testing.T, s DeliveryStore, workspace string, active bool, events ...string) *webhooks.Webhook {
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
func mustPublish(t *testing.T, s DeliveryStore, ev delivery.Event) []delivery.Delivery {
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

// mustPendingDelivery makes a workspace with one active webhook on
// typeCreated and publishes one event to it at base: the start of most
// claim and record cases.
func mustPendingDelivery(t *testing.T, s DeliveryStore) (workspace string, hook *webhooks.Webhook, d delivery.Delivery) {
	t.Helper()
	workspace, hook = mustActiveHook(t, s)
	return workspace, hook, mustPublishOne(t, s, hook, base)
}

// mustActiveHook makes a workspace with one active webhook on typeCreated.
func mustActiveHook(t *testing.T, s DeliveryStore) (workspace string, hook *webhooks.Webhook) {
	t.Helper()
	workspace = uuid.NewString()
	return workspace, mustHook(t, s, workspace, true, typeCreated)
}

// mustPublishOne publishes a new event of the hook's first type at `at` and
// returns the hook's one delivery.
func mustPublishOne(t *testing.T, s DeliveryStore, hook *webhooks.Webhook, at time.Time) delivery.Delivery {
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
func mustClaim(t *testing.T, s DeliveryStore, id string, now time.Time) *delivery.Claim {
	t.Helper()
	c, err := s.ClaimDelivery(ctx(t), id, now, lease)
	if err != nil {
		t.Fatalf("ClaimDelivery(%s, %v): %v", id, now, err)
	}
	return c
}

// assertNotClaimed checks that claiming id at now gives ErrNotClaimed.
func assertNotClaimed(t *testing.T, s DeliveryStore, id string, now time.Time) {
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
func mustRecord(t *testing.T, s DeliveryStore, o delivery.Outcome) {
	t.Helper()
	if err := s.RecordAttempt(ctx(t), o); err != nil {
		t.Fatalf("RecordAttempt(%+v): %v", o.Attempt, err)
	}
}

// attemptAt makes one attempt on a new delivery to hook at `at`: publish,
// claim and record with status (a pending outcome is retried an hour later).
// It returns the outcome recorded.
func attemptAt(t *testing.T, s DeliveryStore, hook *webhooks.Webhook, at time.Time, status string, disableAfter time.Duration) delivery.Outcome {
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
func mustGetHook(t *testing.T, s DeliveryStore, hook *webhooks.Webhook) *webhooks.Webhook {
	t.Helper()
	w, err := s.GetWebhook(ctx(t), hook.WorkspaceID, hook.ID)
	if err != nil {
		t.Fatalf("GetWebhook: %v", err)
	}
	return w
}

// mustListAttempts lists attempts and fails the test on error.
func mustListAttempts(t *testing.T, s DeliveryStore, hook *webhooks.Webhook, status string, offset, limit int) ([]delivery.Attempt, int) {
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
	Fields(t, []Field{
		F("WorkspaceID", got.WorkspaceID, want.WorkspaceID),
		F("WebhookID", got.WebhookID, want.WebhookID),
		F("EventID", got.EventID, want.EventID),
		F("EventType", got.EventType, want.EventType),
		F("Test", got.Test, want.Test),
		F("Status", got.Status, want.Status),
		F("Attempts", got.Attempts, want.Attempts),
	})
	UTCTimePtr(t, "NextAttemptAt", got.NextAttemptAt, want.NextAttemptAt)
	UTCTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	UTCTime(t, "UpdatedAt", got.UpdatedAt, want.UpdatedAt)
}

// assertAttempt compares every field of an attempt.
func assertAttempt(t *testing.T, got, want delivery.Attempt) {
	t.Helper()
	Fields(t, []Field{
		F("ID", got.ID, want.ID),
		F("DeliveryID", got.DeliveryID, want.DeliveryID),
		F("WebhookID", got.WebhookID, want.WebhookID),
		F("WorkspaceID", got.WorkspaceID, want.WorkspaceID),
		F("EventType", got.EventType, want.EventType),
		F("Attempt", got.Attempt, want.Attempt),
		F("Status", got.Status, want.Status),
		F("ResponseBody", got.ResponseBody, want.ResponseBody),
		F("DurationMS", got.DurationMS, want.DurationMS),
	})
	PtrField(t, "ResponseStatusCode", got.ResponseStatusCode, want.ResponseStatusCode)
	PtrField(t, "Error", got.Error, want.Error)
	UTCTime(t, "DeliveredAt", got.DeliveredAt, want.DeliveredAt)
	UTCTimePtr(t, "NextAttemptAt", got.NextAttemptAt, want.NextAttemptAt)
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
func mustAttempts(t *testing.T, s DeliveryStore, hook *webhooks.Webhook) []delivery.Attempt {
	t.Helper()
	page, _ := mustListAttempts(t, s, hook, "", 0, 100)
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

// dueEra is when testDueDeliveries' deliveries are due; no other subtest
// uses times this early, so the unscoped due list sees only them.
var dueEra = time.Date(2001, 3, 4, 5, 6, 7, 891011000, time.FixedZone("UTC-3", -3*60*60))

// retentionEra is when testDeleteAttemptsBefore's attempts are made; no other
// subtest makes attempts this early.
var retentionEra = time.Date(1995, 1, 1, 0, 0, 0, 0, time.UTC)

func testPublishFansOut(t *testing.T, s DeliveryStore) {
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
	UTCTime(t, "Event.CreatedAt", c.Event.CreatedAt, base)
}

func testPublishWithoutSubscribers(t *testing.T, s DeliveryStore) {
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

func testPublishIsIdempotent(t *testing.T, s DeliveryStore) {
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

func testConcurrentPublishes(t *testing.T, s DeliveryStore) {
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

func testPublishCanonicalIDs(t *testing.T, s DeliveryStore) {
	workspace, hook := mustActiveHook(t, s)
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

func testPublishRejectsMalformedIDs(t *testing.T, s DeliveryStore) {
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
