package storetest

// Recording attempts and reading them back: outcomes (pending, success,
// failed), the table's checks, unknown and stale claims,
// last_delivery_status, error classes, auto-disable (a webhook whose
// deliveries have all failed for long enough is paused with a reason; a
// success, the rule being off, or reactivation reset it: decisions
// gateway_record_attempt makes, held to the same cases on every store); the
// delivery log, retention, test deliveries, retries, and copies returned to
// callers.

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/gateway/webhooks"
)

func testRecordPending(t *testing.T, s DeliveryStore) {
	workspace, hook, d := mustPendingDelivery(t, s)
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
	page, total := mustListAttempts(t, s, hook, "", 0, 10)
	if total != 2 || len(page) != 2 {
		t.Fatalf("ListAttempts = %v, total %d; want the waiting delivery and the attempt", attemptIDs(page), total)
	}
	assertAttempt(t, page[0], waitingEntry(d, 2, next))
	assertAttempt(t, page[1], o.Attempt)
	for status, want := range map[string][]string{
		delivery.StatusPending: {"waiting:" + d.ID}, delivery.StatusFailed: {o.Attempt.ID}, delivery.StatusSuccess: {},
	} {
		page, total := mustListAttempts(t, s, hook, status, 0, 10)
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
	PtrField(t, "LastDeliveryStatus", w.LastDeliveryStatus, ptr(delivery.StatusPending))
	UTCTimePtr(t, "LastDeliveryAt", w.LastDeliveryAt, &deliveredAt)
	if !w.Active {
		t.Error("one failure disabled the webhook")
	}

	// While the second attempt is in flight, the waiting entry shows it.
	page, total = mustListAttempts(t, s, hook, "", 0, 10)
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

func testRecordSuccess(t *testing.T, s DeliveryStore) {
	workspace, hook, d := mustPendingDelivery(t, s)
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
	PtrField(t, "LastDeliveryStatus", w.LastDeliveryStatus, ptr(delivery.StatusSuccess))
	UTCTimePtr(t, "LastDeliveryAt", w.LastDeliveryAt, &at)
	UTCTime(t, "webhook UpdatedAt", w.UpdatedAt, base) // bookkeeping is not an edit

	page, _ := mustListAttempts(t, s, hook, "", 0, 10)
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

func testRecordFailed(t *testing.T, s DeliveryStore) {
	_, hook, d := mustPendingDelivery(t, s)
	c := mustClaim(t, s, d.ID, base)
	at := base.Add(10 * time.Second)
	o := outcome(c, delivery.StatusFailed, at, nil)
	o.Attempt.ResponseStatusCode = ptr(410)
	o.Attempt.Error = ptr(delivery.ErrClassHTTP)
	o.Attempt.ResponseBody = "gone"
	mustRecord(t, s, o)

	assertNotClaimed(t, s, d.ID, at.Add(24*time.Hour))
	w := mustGetHook(t, s, hook)
	PtrField(t, "LastDeliveryStatus", w.LastDeliveryStatus, ptr(delivery.StatusFailed))
	UTCTimePtr(t, "LastDeliveryAt", w.LastDeliveryAt, &at)
	page, _ := mustListAttempts(t, s, hook, delivery.StatusFailed, 0, 10)
	if len(page) != 1 {
		t.Fatalf("got %d failed attempts, want 1", len(page))
	}
	assertAttempt(t, page[0], o.Attempt)
}

func testRecordRefusesInvalid(t *testing.T, s DeliveryStore) {
	_, hook, d := mustPendingDelivery(t, s)
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
	page, _ := mustListAttempts(t, s, hook, "", 0, 10)
	if len(page) != 1 {
		t.Fatalf("got %d attempts, want 1", len(page))
	}
	if _, err := uuid.Parse(page[0].ID); err != nil {
		t.Errorf("attempt id %q is not a UUID", page[0].ID)
	}
}

func testRecordUnknownDelivery(t *testing.T, s DeliveryStore) {
	workspace, hook := mustActiveHook(t, s)
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
	if _, total := mustListAttempts(t, s, other, "", 0, 10); total != 0 {
		t.Fatalf("%d attempts logged for unknown deliveries", total)
	}
}

func testRecordStale(t *testing.T, s DeliveryStore) {
	_, hook, d := mustPendingDelivery(t, s)
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

func testLastDeliveryFollowsNewest(t *testing.T, s DeliveryStore) {
	_, hook := mustActiveHook(t, s)
	newer := base.Add(time.Hour)
	attemptAt(t, s, hook, newer, delivery.StatusSuccess, 0)
	// An older attempt recorded later (a slow worker) does not overwrite the
	// newer one's status.
	attemptAt(t, s, hook, base, delivery.StatusFailed, 0)
	w := mustGetHook(t, s, hook)
	PtrField(t, "LastDeliveryStatus", w.LastDeliveryStatus, ptr(delivery.StatusSuccess))
	UTCTimePtr(t, "LastDeliveryAt", w.LastDeliveryAt, &newer)
}

// testRecordEveryErrorClass: every error class the delivery domain defines
// is one the store keeps (the SQL check constraint lists the same, and an
// unknown class is refused: RecordRefusesInvalidAttempts).
func testRecordEveryErrorClass(t *testing.T, s DeliveryStore) {
	_, hook := mustActiveHook(t, s)
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

func testListAttempts(t *testing.T, s DeliveryStore) {
	workspace, hook := mustActiveHook(t, s)
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
	workspace, hook := mustActiveHook(t, s)
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
	_, hook := mustActiveHook(t, s)
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

	// Retried, it becomes an ordinary delivery, which ClaimDue may take.
	r, err := s.RetryDelivery(ctx(t), workspace, hook.ID, d.ID, base.Add(2*time.Second))
	if err != nil {
		t.Fatalf("RetryDelivery of a test delivery: %v", err)
	}
	if r.Test || r.Status != delivery.StatusPending {
		t.Errorf("retried test delivery: test %v, status %s; want an ordinary pending delivery", r.Test, r.Status)
	}

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
	PtrField(t, "LastDeliveryStatus", w.LastDeliveryStatus, ptr(delivery.StatusFailed))
}

func testTestDeliveryUnknownWebhook(t *testing.T, s DeliveryStore) {
	workspace, hook := mustActiveHook(t, s)
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
	workspace, hook, d := mustPendingDelivery(t, s)
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
	workspace, hook := mustActiveHook(t, s)
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
	workspace, hook := mustActiveHook(t, s)
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

// assertActive checks the webhook's active flag.
func assertActive(t *testing.T, s DeliveryStore, hook *webhooks.Webhook, want bool) *webhooks.Webhook {
	t.Helper()
	w := mustGetHook(t, s, hook)
	if w.Active != want {
		t.Fatalf("Active = %v, want %v", w.Active, want)
	}
	return w
}

func testAutoDisable(t *testing.T, s DeliveryStore) {
	const after = 72 * time.Hour
	workspace, hook := mustActiveHook(t, s)
	t0 := base.Add(time.Hour)
	attemptAt(t, s, hook, t0, delivery.StatusPending, after) // a retried failure counts
	assertActive(t, s, hook, true)
	attemptAt(t, s, hook, t0.Add(after/2), delivery.StatusFailed, after)
	attemptAt(t, s, hook, t0.Add(after-time.Millisecond), delivery.StatusPending, after)
	assertActive(t, s, hook, true)
	disabledAt := t0.Add(after)
	attemptAt(t, s, hook, disabledAt, delivery.StatusFailed, after)
	w := assertActive(t, s, hook, false)
	UTCTime(t, "UpdatedAt", w.UpdatedAt, disabledAt)
	if want := "deliveries have failed since " + t0.UTC().Format(time.RFC3339); w.DisabledReason == nil || *w.DisabledReason != want {
		t.Errorf("DisabledReason = %v, want %q", deref(w.DisabledReason), want)
	}
	PtrField(t, "LastDeliveryStatus", w.LastDeliveryStatus, ptr(delivery.StatusFailed))
	// A disabled webhook gets no new deliveries.
	if ds := mustPublish(t, s, newEvent(workspace, typeCreated, disabledAt)); len(ds) != 0 {
		t.Errorf("a disabled webhook got %d deliveries", len(ds))
	}
}

func testAutoDisableResetBySuccess(t *testing.T, s DeliveryStore) {
	const after = 72 * time.Hour
	_, hook := mustActiveHook(t, s)
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

func testAutoDisableOff(t *testing.T, s DeliveryStore) {
	_, hook := mustActiveHook(t, s)
	attemptAt(t, s, hook, base, delivery.StatusFailed, 0)
	attemptAt(t, s, hook, base.Add(1000*time.Hour), delivery.StatusFailed, 0)
	attemptAt(t, s, hook, base.Add(2000*time.Hour), delivery.StatusFailed, -time.Hour)
	assertActive(t, s, hook, true)
}

func testAutoDisableResetByReactivation(t *testing.T, s DeliveryStore) {
	const after = 72 * time.Hour
	workspace, hook := mustActiveHook(t, s)
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
