package delivery_test

import (
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/delivery"
)

// service is the API side over the harness's store, engine and notifier.
func (h *harness) service() *delivery.Service {
	return &delivery.Service{Store: h.store, Notifier: h.notifier, Processor: h.engine, Clock: h.clock, Logger: slog.New(slog.DiscardHandler)}
}

// TestPublishAndRetryNotify checks that a publish with deliveries and a
// retry wake the engines, and that the stored data is compacted.
func TestPublishAndRetryNotify(t *testing.T) {
	h := newHarness(t)
	p, err := h.service().Publish(h.ctx, h.workspace, "", eventType, []byte("{ \"id\" :  \"c-1\" }"))
	if err != nil || !p.Created || p.Deliveries != 1 {
		t.Fatalf("Publish = %+v, %v", p, err)
	}
	if string(p.Event.Data) != `{"id":"c-1"}` {
		t.Errorf("data stored as %s, want it compacted", p.Event.Data)
	}
	if n := h.notifier.n.Load(); n != 1 {
		t.Errorf("%d wake-ups after a publish, want 1", n)
	}
	// No subscriber: nothing to wake anyone for.
	if _, err := h.service().Publish(h.ctx, uuid.NewString(), "", eventType, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if n := h.notifier.n.Load(); n != 1 {
		t.Errorf("%d wake-ups after a publish without deliveries, want still 1", n)
	}
	_, id := h.publish()
	h.process(id)
	if _, err := h.service().Retry(h.ctx, h.workspace, h.webhook, id); err != nil {
		t.Fatal(err)
	}
	if n := h.notifier.n.Load(); n != 2 {
		t.Errorf("%d wake-ups after a retry, want 2", n)
	}
	if !h.due(id, h.clock.Now()) {
		t.Error("the retried delivery is not due")
	}
}

func TestPublishIsIdempotentByID(t *testing.T) {
	h := newHarness(t)
	s, id := h.service(), uuid.NewString()
	first, err := s.Publish(h.ctx, h.workspace, id, eventType, []byte(eventData))
	if err != nil || !first.Created {
		t.Fatal(first, err)
	}
	again, err := s.Publish(h.ctx, h.workspace, id, eventType, []byte(eventData))
	if err != nil || again.Created || again.Deliveries != 1 {
		t.Fatalf("again = %+v, %v", again, err)
	}
	if n := h.notifier.n.Load(); n != 1 {
		t.Errorf("%d wake-ups, want 1: a repeated publish sends nothing new", n)
	}
}

func TestServiceErrors(t *testing.T) {
	h := newHarness(t)
	s := h.service()
	_, err := s.Publish(h.ctx, h.workspace, "", "contact.exploded", []byte(`{}`))
	if gateway.CodeOf(err) != gateway.CodeInvalidEvents {
		t.Errorf("unknown type: %v", err)
	}
	if _, err := s.Publish(h.ctx, h.workspace, "", eventType, []byte(`{`)); gateway.CodeOf(err) != gateway.CodeValidation {
		t.Errorf("broken data: %v", err)
	}
	if b, _ := h.store.Backlog(h.ctx, t0.Add(time.Hour)); b.Due != 0 {
		t.Errorf("rejected publishes stored %d deliveries", b.Due)
	}
	page := gateway.Page{Page: 1, PerPage: 50}
	if _, _, err := s.Logs(h.ctx, h.workspace, h.webhook, "lost", page); gateway.CodeOf(err) != gateway.CodeValidation {
		t.Errorf("bad status filter: %v", err)
	}
	if _, _, err := s.Logs(h.ctx, uuid.NewString(), h.webhook, "", page); gateway.CodeOf(err) != gateway.CodeWebhookNotFound {
		t.Errorf("another workspace's logs: %v", err)
	}
	if _, err := s.Retry(h.ctx, h.workspace, h.webhook, uuid.NewString()); gateway.CodeOf(err) != gateway.CodeDeliveryNotFound {
		t.Errorf("retry of an unknown delivery: %v", err)
	}
	if _, err := s.SendTest(h.ctx, uuid.NewString(), h.webhook, eventType, []byte(`{}`)); gateway.CodeOf(err) != gateway.CodeWebhookNotFound {
		t.Errorf("test to another workspace's webhook: %v", err)
	}
}

// TestSendTestAnswersWithItsOwnAttempt makes the webhook busy first: the
// answer must be the test delivery's attempt, however many others it has.
func TestSendTestAnswersWithItsOwnAttempt(t *testing.T) {
	h := newHarness(t)
	h.recv.respond(answer(http.StatusServiceUnavailable))
	for range 25 {
		_, id := h.publish()
		h.process(id)
	}
	h.recv.respond(answer(http.StatusOK))
	a, err := h.service().SendTest(h.ctx, h.workspace, h.webhook, eventType, []byte(`{"test":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != delivery.StatusSuccess || a.ResponseStatusCode == nil || *a.ResponseStatusCode != 200 || a.Attempt != 1 {
		t.Fatalf("test attempt %+v", a)
	}
	found := false
	for _, r := range h.attempts() {
		if r.ID == a.ID {
			found = r.DeliveryID == a.DeliveryID && r.Status == a.Status
		}
	}
	if !found || len(h.attempts()) != 26 {
		t.Errorf("the answer %s is not among the %d recorded attempts", a.ID, len(h.attempts()))
	}
}
