package storetest

// Auto-disable: a webhook whose deliveries have all failed for long enough
// is paused with a reason; a success, the rule being off, or reactivation
// reset it. These are decisions the SQL function gateway_record_attempt
// makes; every store runs the same cases.

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/gateway/webhooks"
)

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
	UTCTime(t, "UpdatedAt", w.UpdatedAt, disabledAt)
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

func testAutoDisableResetBySuccess(t *testing.T, s DeliveryStore) {
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

func testAutoDisableOff(t *testing.T, s DeliveryStore) {
	workspace := uuid.NewString()
	hook := mustHook(t, s, workspace, true, typeCreated)
	attemptAt(t, s, hook, base, delivery.StatusFailed, 0)
	attemptAt(t, s, hook, base.Add(1000*time.Hour), delivery.StatusFailed, 0)
	attemptAt(t, s, hook, base.Add(2000*time.Hour), delivery.StatusFailed, -time.Hour)
	assertActive(t, s, hook, true)
}

func testAutoDisableResetByReactivation(t *testing.T, s DeliveryStore) {
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
