package storetest

// The delivery.DetailStore cases (issue 12, the portal's delivery detail):
// one delivery with its event, exactly as stored, and its attempts in
// attempt order, scoped to the workspace and the webhook like every read.

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/leadlex/api-gateway/gateway/delivery"
)

// detailStore returns s as a delivery.DetailStore, failing the test when the
// store does not implement it: every store must.
func detailStore(t *testing.T, s DeliveryStore) delivery.DetailStore {
	t.Helper()
	ds, ok := s.(delivery.DetailStore)
	if !ok {
		t.Fatalf("%T does not implement delivery.DetailStore", s)
	}
	return ds
}

// testGetDelivery covers a delivery before any attempt, after a failed
// attempt and a successful retry, and every way of asking for one that is
// not there.
func testGetDelivery(t *testing.T, s DeliveryStore) {
	ds := detailStore(t, s)
	workspace, hook := mustActiveHook(t, s)
	ev := newEvent(workspace, hook.Events[0], base)
	ev.Data = []byte(`{"b": 1,  "a": "é\u00e9"}`) // kept as published, spaces and order included
	d := mustPublish(t, s, ev)[0]

	got, err := ds.GetDelivery(ctx(t), strings.ToUpper(workspace), strings.ToUpper(hook.ID), strings.ToUpper(d.ID))
	if err != nil {
		t.Fatalf("GetDelivery: %v", err)
	}
	assertDelivery(t, got.Delivery, d)
	Fields(t, []Field{
		F("Event.ID", got.Event.ID, ev.ID),
		F("Event.WorkspaceID", got.Event.WorkspaceID, workspace),
		F("Event.Type", got.Event.Type, ev.Type),
	})
	UTCTime(t, "Event.CreatedAt", got.Event.CreatedAt, ev.CreatedAt)
	if !bytes.Equal(got.Event.Data, ev.Data) {
		t.Errorf("Event.Data = %s, want %s", got.Event.Data, ev.Data)
	}
	if got.Attempts == nil || len(got.Attempts) != 0 {
		t.Errorf("Attempts before any attempt = %#v, want an empty list", got.Attempts)
	}

	c := mustClaim(t, s, d.ID, base)
	first := outcome(c, delivery.StatusFailed, base.Add(time.Second), ptr(base.Add(time.Minute)))
	mustRecord(t, s, first)
	c = mustClaim(t, s, d.ID, base.Add(time.Minute))
	second := outcome(c, delivery.StatusSuccess, base.Add(time.Minute+time.Second), nil)
	mustRecord(t, s, second)
	// Another delivery of the same webhook does not mix in.
	other := mustPublishOne(t, s, hook, base)
	mustRecord(t, s, outcome(mustClaim(t, s, other.ID, base), delivery.StatusSuccess, base.Add(time.Second), nil))

	got, err = ds.GetDelivery(ctx(t), workspace, hook.ID, d.ID)
	if err != nil {
		t.Fatalf("GetDelivery after two attempts: %v", err)
	}
	Fields(t, []Field{
		F("Delivery.Status", got.Delivery.Status, delivery.StatusSuccess),
		F("Delivery.Attempts", got.Delivery.Attempts, 2),
	})
	if len(got.Attempts) != 2 {
		t.Fatalf("Attempts = %d entries, want 2: %+v", len(got.Attempts), got.Attempts)
	}
	assertAttempt(t, got.Attempts[0], first.Attempt)
	assertAttempt(t, got.Attempts[1], second.Attempt)

	sibling := mustHook(t, s, workspace, true, typeCreated)
	for _, tc := range []struct{ name, workspace, hook, id string }{
		{"unknown delivery", workspace, hook.ID, uuid.NewString()},
		{"other workspace", uuid.NewString(), hook.ID, d.ID},
		{"other webhook", workspace, sibling.ID, d.ID},
		{"malformed delivery id", workspace, hook.ID, "dlv_1"},
		{"malformed webhook id", workspace, "wh", d.ID},
		{"malformed workspace id", "", hook.ID, d.ID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ds.GetDelivery(ctx(t), tc.workspace, tc.hook, tc.id)
			if !errors.Is(err, delivery.ErrNotFound) || r != nil {
				t.Errorf("GetDelivery = %+v, %v; want ErrNotFound", r, err)
			}
		})
	}
}
