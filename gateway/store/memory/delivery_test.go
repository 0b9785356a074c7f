package memory_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/gateway/store/memory"
	"github.com/leadlex/api-gateway/gateway/store/storetest"
	"github.com/leadlex/api-gateway/gateway/webhooks"
)

func TestDeliveryConformance(t *testing.T) {
	t.Parallel()
	storetest.RunDelivery(t, func(*testing.T) storetest.DeliveryStore { return memory.New() })
}

// The auto-disable rule's bookkeeping is not visible through the interfaces;
// check it the way the SQL keeps it: failing_since from the first failure,
// the reason naming it, both cleared when the webhook is turned back on.
func TestAutoDisableBookkeeping(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := memory.New()
	w := validWebhook()
	w.Active = true
	if err := s.CreateWebhook(ctx, w, 10); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 27, 9, 30, 15, 123456000, time.FixedZone("UTC+2", 2*60*60))
	fail := func(at time.Time) {
		t.Helper()
		ds, _, err := s.PublishEvent(ctx, delivery.Event{
			ID: uuid.NewString(), WorkspaceID: w.WorkspaceID, Type: w.Events[0], Data: []byte(`{}`), CreatedAt: at,
		})
		if err != nil || len(ds) != 1 {
			t.Fatalf("PublishEvent = %v, %v", ds, err)
		}
		c, err := s.ClaimDelivery(ctx, ds[0].ID, at, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		class := delivery.ErrClassTimeout
		err = s.RecordAttempt(ctx, delivery.Outcome{
			Attempt: delivery.Attempt{
				DeliveryID: c.Delivery.ID, WebhookID: w.ID, WorkspaceID: w.WorkspaceID,
				Attempt: 1, Status: delivery.StatusFailed, Error: &class, DeliveredAt: at,
			},
			DisableAfter: time.Hour,
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	fail(t0)
	since, reason, ok := s.WebhookHealth(w.WorkspaceID, w.ID)
	if !ok || since == nil || !since.Equal(t0) || since.Location() != time.UTC || reason != "" {
		t.Fatalf("after one failure: failing_since %v, reason %q", since, reason)
	}
	fail(t0.Add(time.Hour))
	since, reason, _ = s.WebhookHealth(w.WorkspaceID, w.ID)
	if !since.Equal(t0) || reason != "deliveries have failed since 2026-11-27T07:30:15Z" {
		t.Fatalf("after disabling: failing_since %v, reason %q", since, reason)
	}

	active := true
	if _, err := s.UpdateWebhook(ctx, w.WorkspaceID, w.ID, webhooks.Patch{Active: &active}); err != nil {
		t.Fatal(err)
	}
	if since, reason, _ = s.WebhookHealth(w.WorkspaceID, w.ID); since != nil || reason != "" {
		t.Fatalf("after reactivation: failing_since %v, reason %q", since, reason)
	}

	// Deleting the webhook drops its state with it.
	if err := s.DeleteWebhook(ctx, w.WorkspaceID, w.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := s.WebhookHealth(w.WorkspaceID, w.ID); ok {
		t.Fatal("a deleted webhook still has health")
	}
}

func TestDeliveryCanceledContext(t *testing.T) {
	t.Parallel()
	c, cancel := context.WithCancel(context.Background())
	cancel()
	s := memory.New()
	id := uuid.NewString()
	calls := map[string]func() error{
		"publish": func() error {
			_, _, err := s.PublishEvent(c, delivery.Event{ID: id, WorkspaceID: id, Type: "t", CreatedAt: time.Now()})
			return err
		},
		"claim": func() error { _, err := s.ClaimDelivery(c, id, time.Now(), time.Minute); return err },
		"record": func() error {
			return s.RecordAttempt(c, delivery.Outcome{Attempt: delivery.Attempt{DeliveryID: id, WebhookID: id, WorkspaceID: id}})
		},
		"due": func() error { _, err := s.DueDeliveries(c, time.Now(), 10); return err },
		"test": func() error {
			_, err := s.CreateTestDelivery(c, delivery.Event{ID: id, WorkspaceID: id}, id)
			return err
		},
		"retry": func() error {
			_, err := s.RetryDelivery(c, id, id, id, time.Now())
			return err
		},
		"list":   func() error { _, _, err := s.ListAttempts(c, id, id, "", 0, 10); return err },
		"delete": func() error { _, err := s.DeleteAttemptsBefore(c, time.Now()); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s = %v, want context.Canceled", name, err)
		}
	}
}
