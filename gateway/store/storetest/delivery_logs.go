package storetest

// The delivery log and its neighbours: listing attempts, retention, test
// deliveries, retries, and copies returned to callers.

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/leadlex/api-gateway/gateway/delivery"
)

func testListAttempts(t *testing.T, s DeliveryStore) {
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

	page, total := mustListAttempts(t, s, hook, "", 0, 50)
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
			page, total := mustListAttempts(t, s, hook, status, 0, 50)
			if total != len(wantIDs) || !slices.Equal(attemptIDs(page), wantIDs) {
				t.Errorf("status %s: %v (total %d), want %v", status, attemptIDs(page), total, wantIDs)
			}
		}
		page, total := mustListAttempts(t, s, hook, "cancelled", 0, 50)
		if total != 0 || len(page) != 0 {
			t.Errorf("status cancelled: %d attempts", total)
		}
	})
	t.Run("paging", func(t *testing.T) {
		// Pages across the waiting entry and the attempts agree with the
		// whole list and its total.
		for _, p := range []struct{ offset, limit int }{{0, 1}, {0, 2}, {1, 2}, {2, 3}, {4, 10}, {5, 1}} {
			page, total := mustListAttempts(t, s, hook, "", p.offset, p.limit)
			w := wantAll[min(p.offset, len(wantAll)):min(p.offset+p.limit, len(wantAll))]
			if total != 6 || !slices.Equal(attemptIDs(page), attemptIDs(w)) {
				t.Errorf("offset %d limit %d: %v (total %d), want %v", p.offset, p.limit, attemptIDs(page), total, attemptIDs(w))
			}
		}
		page, total := mustListAttempts(t, s, hook, "", 40, 10)
		if total != 6 || len(page) != 0 {
			t.Errorf("past the end: %d attempts, total %d; want none, 6", len(page), total)
		}
		page, total = mustListAttempts(t, s, hook, "", 0, 0)
		if total != 6 || len(page) != 0 {
			t.Errorf("limit 0: %d attempts, total %d; want none, 6", len(page), total)
		}
		var failed []delivery.Attempt
		for _, a := range wantAll {
			if a.Status == delivery.StatusFailed {
				failed = append(failed, a)
			}
		}
		page, total = mustListAttempts(t, s, hook, delivery.StatusFailed, 1, 2)
		if total != 3 || !slices.Equal(attemptIDs(page), attemptIDs(failed[1:3])) {
			t.Errorf("failed, offset 1: %v (total %d), want %v", attemptIDs(page), total, attemptIDs(failed[1:3]))
		}
		page, total = mustListAttempts(t, s, hook, delivery.StatusSuccess, 1, 1)
		if total != 2 || len(page) != 1 {
			t.Errorf("filtered page: %d attempts, total %d; want 1, 2", len(page), total)
		}
	})
	t.Run("other webhook has only waiting deliveries", func(t *testing.T) {
		// It got the same five events and none was attempted yet: five
		// entries waiting for attempt 1, no attempt.
		page, total := mustListAttempts(t, s, other, "", 0, 50)
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

func testListAttemptsUnknownWebhook(t *testing.T, s DeliveryStore) {
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

func testDeleteAttemptsBefore(t *testing.T, s DeliveryStore) {
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
	page, total := mustListAttempts(t, s, hook, "", 0, 10)
	if total != 1 || len(page) != 1 || page[0].ID != kept.Attempt.ID {
		t.Errorf("left %v (total %d), want only %s", attemptIDs(page), total, kept.Attempt.ID)
	}
	if n, err := s.DeleteAttemptsBefore(ctx(t), cutoff); err != nil || n != 0 {
		t.Errorf("DeleteAttemptsBefore again = %d, %v; want 0, nil", n, err)
	}
}

func testTestDelivery(t *testing.T, s DeliveryStore) {
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
	page, _ := mustListAttempts(t, s, hook, "", 0, 10)
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
	UTCTime(t, "UpdatedAt", w.UpdatedAt, base)
	if w.LastDeliveryStatus == nil || *w.LastDeliveryStatus != delivery.StatusFailed {
		t.Errorf("LastDeliveryStatus = %v, want failed", deref(w.LastDeliveryStatus))
	}
}

func testTestDeliveryUnknownWebhook(t *testing.T, s DeliveryStore) {
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

func testRetryDelivery(t *testing.T, s DeliveryStore) {
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

func testRetryUnknownDelivery(t *testing.T, s DeliveryStore) {
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

func testDeliveryReturnsCopies(t *testing.T, s DeliveryStore) {
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
	UTCTimePtr(t, "NextAttemptAt", c2.Delivery.NextAttemptAt, &base)

	mustRecord(t, s, outcome(c2, delivery.StatusFailed, base.Add(time.Minute), nil))
	page, _ := mustListAttempts(t, s, hook, "", 0, 10)
	*page[0].Error = "changed"
	again, _ := mustListAttempts(t, s, hook, "", 0, 10)
	if *again[0].Error != delivery.ErrClassTimeout {
		t.Fatalf("the store shares an attempt's error: %q", *again[0].Error)
	}
}
