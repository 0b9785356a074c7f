package memory_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/gateway/store/memory"
	"github.com/leadlex/api-gateway/gateway/webhooks"
)

// engineFixture is a memory store with helpers for the engine's methods.
type engineFixture struct {
	t   *testing.T
	ctx context.Context
	s   *memory.Store
	t0  time.Time
}

func newEngineFixture(t *testing.T) *engineFixture {
	t.Helper()
	return &engineFixture{t: t, ctx: context.Background(), s: memory.New(),
		t0: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
}

// webhook creates an active webhook in workspace (a new one when empty).
func (f *engineFixture) webhook(workspace string) *webhooks.Webhook {
	f.t.Helper()
	w := validWebhook()
	if workspace != "" {
		w.WorkspaceID = workspace
	}
	w.URL = "https://example.com/" + w.ID
	w.URLKey = w.URL
	w.Active = true
	if err := f.s.CreateWebhook(f.ctx, w, 100); err != nil {
		f.t.Fatal(err)
	}
	return w
}

// publish publishes n events to w's workspace, one second apart from at.
func (f *engineFixture) publish(w *webhooks.Webhook, n int, at time.Time) {
	f.t.Helper()
	for i := range n {
		_, _, err := f.s.PublishEvent(f.ctx, delivery.Event{ID: uuid.NewString(), WorkspaceID: w.WorkspaceID,
			Type: w.Events[0], Data: []byte(`{}`), CreatedAt: at.Add(time.Duration(i) * time.Second)})
		if err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *engineFixture) claim(p delivery.ClaimParams) []delivery.Claim {
	f.t.Helper()
	if p.Worker == "" {
		p.Worker = uuid.NewString()
	}
	if p.Lease == 0 {
		p.Lease = time.Minute
	}
	if p.Now.IsZero() {
		p.Now = f.t0.Add(time.Hour)
	}
	cs, err := f.s.ClaimDue(f.ctx, p)
	if err != nil {
		f.t.Fatal(err)
	}
	return cs
}

// countBy counts claims per webhook id.
func countBy(cs []delivery.Claim) map[string]int {
	m := map[string]int{}
	for _, c := range cs {
		m[c.Delivery.WebhookID]++
	}
	return m
}

func success(c delivery.Claim, at time.Time) delivery.Outcome {
	return delivery.Outcome{Attempt: delivery.Attempt{DeliveryID: c.Delivery.ID, WebhookID: c.Delivery.WebhookID,
		WorkspaceID: c.Delivery.WorkspaceID, Attempt: c.Delivery.Attempts, Status: delivery.StatusSuccess, DeliveredAt: at}}
}

func TestClaimDueLimitsAndFairness(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		run   func(f *engineFixture) map[string]int
		check func(t *testing.T, got map[string]int, f *engineFixture)
	}{
		{"initial limit per endpoint", func(f *engineFixture) map[string]int {
			a, b := f.webhook(""), f.webhook("")
			f.publish(a, 10, f.t0)
			f.publish(b, 1, f.t0)
			got := countBy(f.claim(delivery.ClaimParams{Limit: 100, InitialLimit: 3, MaxLimit: 16}))
			return map[string]int{"a": got[a.ID], "b": got[b.ID]}
		}, func(t *testing.T, got map[string]int, _ *engineFixture) {
			if got["a"] != 3 || got["b"] != 1 {
				t.Errorf("claimed %v, want a 3 and b 1", got)
			}
		}},
		{"unexpired leases count against the limit", func(f *engineFixture) map[string]int {
			a := f.webhook("")
			f.publish(a, 10, f.t0)
			first := len(f.claim(delivery.ClaimParams{Limit: 2, InitialLimit: 3, MaxLimit: 16}))
			second := len(f.claim(delivery.ClaimParams{Limit: 100, InitialLimit: 3, MaxLimit: 16}))
			return map[string]int{"first": first, "second": second}
		}, func(t *testing.T, got map[string]int, _ *engineFixture) {
			if got["first"] != 2 || got["second"] != 1 {
				t.Errorf("claimed %v, want 2 then 1", got)
			}
		}},
		{"stored limit clamped to max", func(f *engineFixture) map[string]int {
			a := f.webhook("")
			f.publish(a, 30, f.t0)
			if _, err := f.s.RecordAttempts(f.ctx, nil, []delivery.EndpointState{{WebhookID: a.ID, Limit: 50, Circuit: delivery.CircuitClosed}}); err != nil {
				f.t.Fatal(err)
			}
			return map[string]int{"a": len(f.claim(delivery.ClaimParams{Limit: 100, InitialLimit: 3, MaxLimit: 20}))}
		}, func(t *testing.T, got map[string]int, _ *engineFixture) {
			if got["a"] != 20 {
				t.Errorf("claimed %v, want 20", got)
			}
		}},
		{"workspace with a burst does not starve another", func(f *engineFixture) map[string]int {
			big := f.webhook("")
			small := f.webhook("")
			f.publish(big, 50, f.t0)
			f.publish(small, 1, f.t0.Add(40*time.Second)) // newer than most of the burst
			got := countBy(f.claim(delivery.ClaimParams{Limit: 2, InitialLimit: 16, MaxLimit: 16}))
			return map[string]int{"big": got[big.ID], "small": got[small.ID]}
		}, func(t *testing.T, got map[string]int, _ *engineFixture) {
			if got["big"] != 1 || got["small"] != 1 {
				t.Errorf("claimed %v, want one each", got)
			}
		}},
		{"paused endpoint is skipped", func(f *engineFixture) map[string]int {
			a, b := f.webhook(""), f.webhook("")
			f.publish(a, 2, f.t0)
			f.publish(b, 2, f.t0)
			until := f.t0.Add(2 * time.Hour)
			if _, err := f.s.RecordAttempts(f.ctx, nil, []delivery.EndpointState{{WebhookID: a.ID, Limit: 4, PausedUntil: &until, Circuit: delivery.CircuitClosed}}); err != nil {
				f.t.Fatal(err)
			}
			got := countBy(f.claim(delivery.ClaimParams{Limit: 10, InitialLimit: 4, MaxLimit: 16}))
			later := countBy(f.claim(delivery.ClaimParams{Limit: 10, InitialLimit: 4, MaxLimit: 16, Now: until}))
			return map[string]int{"a": got[a.ID], "b": got[b.ID], "a later": later[a.ID]}
		}, func(t *testing.T, got map[string]int, _ *engineFixture) {
			if got["a"] != 0 || got["b"] != 2 || got["a later"] != 2 {
				t.Errorf("claimed %v, want a 0, b 2, a later 2", got)
			}
		}},
		{"inactive webhook's deliveries are cancelled", func(f *engineFixture) map[string]int {
			a := f.webhook("")
			f.publish(a, 2, f.t0)
			off := false
			if _, err := f.s.UpdateWebhook(f.ctx, a.WorkspaceID, a.ID, webhooks.Patch{Active: &off}); err != nil {
				f.t.Fatal(err)
			}
			n := len(f.claim(delivery.ClaimParams{Limit: 10, InitialLimit: 4, MaxLimit: 16}))
			b, err := f.s.Backlog(f.ctx, f.t0.Add(time.Hour))
			if err != nil {
				f.t.Fatal(err)
			}
			return map[string]int{"claimed": n, "due": b.Due}
		}, func(t *testing.T, got map[string]int, _ *engineFixture) {
			if got["claimed"] != 0 || got["due"] != 0 {
				t.Errorf("got %v, want nothing claimed and nothing left due", got)
			}
		}},
		{"not yet due and test deliveries are not claimed", func(f *engineFixture) map[string]int {
			a := f.webhook("")
			f.publish(a, 1, f.t0.Add(2*time.Hour))
			if _, err := f.s.CreateTestDelivery(f.ctx, delivery.Event{ID: uuid.NewString(), WorkspaceID: a.WorkspaceID,
				Type: a.Events[0], Data: []byte(`{}`), CreatedAt: f.t0}, a.ID); err != nil {
				f.t.Fatal(err)
			}
			return map[string]int{"claimed": len(f.claim(delivery.ClaimParams{Limit: 10, InitialLimit: 4, MaxLimit: 16}))}
		}, func(t *testing.T, got map[string]int, _ *engineFixture) {
			if got["claimed"] != 0 {
				t.Errorf("got %v, want nothing", got)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newEngineFixture(t)
			tc.check(t, tc.run(f), f)
		})
	}
}

func TestClaimDueReturnsEndpointStateAndCountsTheAttempt(t *testing.T) {
	t.Parallel()
	f := newEngineFixture(t)
	a := f.webhook("")
	f.publish(a, 1, f.t0)
	cs := f.claim(delivery.ClaimParams{Limit: 1, InitialLimit: 4, MaxLimit: 16})
	if len(cs) != 1 || cs[0].Delivery.Attempts != 1 || cs[0].Endpoint.Limit != 0 || cs[0].Target.URL != a.URL {
		t.Fatalf("first claim = %+v, want attempt 1 without endpoint state", cs)
	}
	st := delivery.EndpointState{WebhookID: a.ID, Limit: 7, Failures: 2, Circuit: delivery.CircuitClosed}
	o := success(cs[0], f.t0.Add(time.Hour))
	o.Attempt.Status = delivery.StatusFailed
	class := delivery.ErrClassHTTP
	o.Attempt.Error = &class
	next := f.t0.Add(time.Hour)
	o.NextAttemptAt = &next
	res, err := f.s.RecordAttempts(f.ctx, []delivery.Outcome{o}, []delivery.EndpointState{st})
	if err != nil || len(res) != 1 || res[0] != nil {
		t.Fatalf("RecordAttempts = %v, %v", res, err)
	}
	cs = f.claim(delivery.ClaimParams{Limit: 1, InitialLimit: 4, MaxLimit: 16})
	if len(cs) != 1 || cs[0].Delivery.Attempts != 2 {
		t.Fatalf("second claim = %+v, want attempt 2", cs)
	}
	got := cs[0].Endpoint
	if got.Limit != 7 || got.Failures != 2 || got.Circuit != delivery.CircuitClosed || got.WorkspaceID != a.WorkspaceID {
		t.Errorf("endpoint = %+v, want the stored state", got)
	}
}

func TestRecordAttemptsResults(t *testing.T) {
	t.Parallel()
	f := newEngineFixture(t)
	a := f.webhook("")
	f.publish(a, 3, f.t0)
	cs := f.claim(delivery.ClaimParams{Limit: 3, InitialLimit: 4, MaxLimit: 16})
	if len(cs) != 3 {
		t.Fatalf("claimed %d, want 3", len(cs))
	}
	at := f.t0.Add(time.Hour)
	stale := success(cs[1], at)
	stale.Attempt.Attempt = 7
	missing := success(cs[2], at)
	missing.Attempt.DeliveryID = uuid.NewString()
	res, err := f.s.RecordAttempts(f.ctx, []delivery.Outcome{success(cs[0], at), stale, missing}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res[0] != nil || !errors.Is(res[1], delivery.ErrNotClaimed) || !errors.Is(res[2], delivery.ErrNotFound) {
		t.Errorf("results = %v, want nil, not claimed, not found", res)
	}
	// A malformed outcome fails the batch and writes nothing.
	bad := success(cs[2], at)
	bad.Attempt.Attempt = 0
	if _, err := f.s.RecordAttempts(f.ctx, []delivery.Outcome{success(cs[2], at), bad}, nil); err == nil {
		t.Fatal("a malformed outcome was accepted")
	}
	res, err = f.s.RecordAttempts(f.ctx, []delivery.Outcome{success(cs[2], at)}, nil)
	if err != nil || res[0] != nil {
		t.Errorf("after the failed batch, recording = %v, %v; want applied", res, err)
	}
	got, err := f.s.GetWebhook(f.ctx, a.WorkspaceID, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.LastDeliveryStatus == nil || *got.LastDeliveryStatus != delivery.StatusSuccess {
		t.Errorf("last delivery status = %v, want success", got.LastDeliveryStatus)
	}
}

func TestRecordAttemptsKeepsTheLaterPause(t *testing.T) {
	t.Parallel()
	f := newEngineFixture(t)
	a := f.webhook("")
	later, earlier := f.t0.Add(2*time.Hour), f.t0.Add(time.Hour)
	for _, p := range []*time.Time{&later, &earlier, nil} {
		st := delivery.EndpointState{WebhookID: a.ID, Limit: 1, PausedUntil: p, Circuit: delivery.CircuitOpen, Failures: 9}
		if _, err := f.s.RecordAttempts(f.ctx, nil, []delivery.EndpointState{st}); err != nil {
			t.Fatal(err)
		}
	}
	b, err := f.s.Backlog(f.ctx, f.t0.Add(90*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if b.PausedEndpoints != 1 || b.OpenCircuits != 1 {
		t.Errorf("backlog = %+v, want one paused endpoint with an open circuit", b)
	}
	if _, err := f.s.RecordAttempts(f.ctx, nil, []delivery.EndpointState{{WebhookID: a.ID, Limit: 0, Circuit: "half"}}); err == nil {
		t.Error("an invalid endpoint state was accepted")
	}
}

func TestHeartbeatReleasesDeadWorkersLeases(t *testing.T) {
	t.Parallel()
	f := newEngineFixture(t)
	a := f.webhook("")
	f.publish(a, 3, f.t0)
	dead, live := uuid.NewString(), uuid.NewString()
	now := f.t0.Add(time.Hour)
	if _, err := f.s.Heartbeat(f.ctx, dead, now, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if n := len(f.claim(delivery.ClaimParams{Worker: dead, Now: now, Limit: 3, InitialLimit: 4, MaxLimit: 16})); n != 3 {
		t.Fatalf("claimed %d, want 3", n)
	}
	tests := []struct {
		name     string
		at       time.Duration
		released int
	}{
		{"dead worker still within deadAfter", 4 * time.Second, 0},
		{"dead worker past deadAfter", 6 * time.Second, 3},
		{"already forgotten", 7 * time.Second, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := f.s.Heartbeat(f.ctx, live, now.Add(tc.at), 5*time.Second)
			if err != nil || n != tc.released {
				t.Errorf("Heartbeat = %d, %v; want %d", n, err, tc.released)
			}
		})
	}
	cs := f.claim(delivery.ClaimParams{Worker: live, Now: now.Add(8 * time.Second), Limit: 3, InitialLimit: 4, MaxLimit: 16})
	if len(cs) != 3 || cs[0].Delivery.Attempts != 2 {
		t.Fatalf("reclaimed %d (attempts %v), want 3 at attempt 2", len(cs), cs)
	}
	// RetireWorker releases what remains.
	if err := f.s.RetireWorker(f.ctx, live); err != nil {
		t.Fatal(err)
	}
	if n := len(f.claim(delivery.ClaimParams{Now: now.Add(9 * time.Second), Limit: 3, InitialLimit: 4, MaxLimit: 16})); n != 3 {
		t.Errorf("after RetireWorker claimed %d, want 3", n)
	}
}

func TestBacklogCounts(t *testing.T) {
	t.Parallel()
	f := newEngineFixture(t)
	a := f.webhook("")
	f.publish(a, 5, f.t0)
	now := f.t0.Add(time.Hour)
	f.claim(delivery.ClaimParams{Now: now, Limit: 2, InitialLimit: 4, MaxLimit: 16})
	b, err := f.s.Backlog(f.ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if b.Due != 3 || b.InFlight != 2 || b.OldestDue == nil || !b.OldestDue.Equal(f.t0.Add(2*time.Second)) {
		t.Errorf("backlog = %+v, want 3 due (oldest at +2s), 2 in flight", b)
	}
}

// A worker that claimed but never heartbeat is known from its claim: its
// leases are released like any dead worker's.
func TestClaimDueRegistersTheWorker(t *testing.T) {
	t.Parallel()
	f := newEngineFixture(t)
	a := f.webhook("")
	f.publish(a, 2, f.t0)
	now := f.t0.Add(time.Hour)
	f.claim(delivery.ClaimParams{Worker: uuid.NewString(), Now: now, Limit: 2, InitialLimit: 4, MaxLimit: 16})
	n, err := f.s.Heartbeat(f.ctx, uuid.NewString(), now.Add(6*time.Second), 5*time.Second)
	if err != nil || n != 2 {
		t.Errorf("Heartbeat = %d, %v; want the 2 leases of the silent claimer released", n, err)
	}
}
