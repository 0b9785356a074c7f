package storetest

// Recording attempts: outcomes (pending, success, failed), the table's
// checks, unknown and stale claims, last_delivery_status, error classes.

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/leadlex/api-gateway/gateway/delivery"
)

func testRecordPending(t *testing.T, s DeliveryStore) {
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
	if w.LastDeliveryStatus == nil || *w.LastDeliveryStatus != delivery.StatusPending {
		t.Errorf("LastDeliveryStatus = %v, want pending", deref(w.LastDeliveryStatus))
	}
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
	UTCTimePtr(t, "LastDeliveryAt", w.LastDeliveryAt, &at)
	page, _ := mustListAttempts(t, s, hook, delivery.StatusFailed, 0, 10)
	if len(page) != 1 {
		t.Fatalf("got %d failed attempts, want 1", len(page))
	}
	assertAttempt(t, page[0], o.Attempt)
}

func testRecordRefusesInvalid(t *testing.T, s DeliveryStore) {
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
	page, _ := mustListAttempts(t, s, hook, "", 0, 10)
	if len(page) != 1 {
		t.Fatalf("got %d attempts, want 1", len(page))
	}
	if _, err := uuid.Parse(page[0].ID); err != nil {
		t.Errorf("attempt id %q is not a UUID", page[0].ID)
	}
}

func testRecordUnknownDelivery(t *testing.T, s DeliveryStore) {
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
	if _, total := mustListAttempts(t, s, other, "", 0, 10); total != 0 {
		t.Fatalf("%d attempts logged for unknown deliveries", total)
	}
}

func testRecordStale(t *testing.T, s DeliveryStore) {
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

func testLastDeliveryFollowsNewest(t *testing.T, s DeliveryStore) {
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
	UTCTimePtr(t, "LastDeliveryAt", w.LastDeliveryAt, &newer)
}

// testRecordEveryErrorClass: every error class the delivery domain defines
// is one the store keeps (the SQL check constraint lists the same, and an
// unknown class is refused: RecordRefusesInvalidAttempts).
func testRecordEveryErrorClass(t *testing.T, s DeliveryStore) {
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
