package storetest

// Publishing: fan-out to subscribed active webhooks, idempotency by event id,
// concurrency, canonical and malformed ids.

import (
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/leadlex/api-gateway/gateway/delivery"
)

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
