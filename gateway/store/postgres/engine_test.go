package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/gateway/webhooks"
)

// waitWake waits up to d for a wake-up on ch and reports whether one came.
func waitWake(t *testing.T, ch <-chan struct{}, d time.Duration) bool {
	t.Helper()
	select {
	case _, ok := <-ch:
		if !ok {
			t.Fatal("the wake-up channel was closed")
		}
		return true
	case <-time.After(d):
		return false
	}
}

// drain empties ch without waiting.
func drain(ch <-chan struct{}) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// TestSubscribe checks the LISTEN wake-ups: one at connect, none from a
// publish or a retry by itself, one per Notify (coalesced), one after the
// listener's backend was killed (the reconnect), and the channel closed
// when the context ends.
func TestSubscribe(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	sub, cancel := context.WithCancel(ctx(t))
	ch := s.Subscribe(sub)
	if !waitWake(t, ch, 10*time.Second) {
		t.Fatal("no wake-up after connecting")
	}

	// Publishing and retrying do not notify inside their transactions
	// (which would serialise every publish on the notify queue's lock):
	// the API notifies after the commit, through Notify.
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	w, d := deliveryFixture(t, s, at)
	if _, err := s.RetryDelivery(ctx(t), w.WorkspaceID, w.ID, d.ID, at); err != nil {
		t.Fatal(err)
	}
	if waitWake(t, ch, 500*time.Millisecond) {
		t.Error("a wake-up from a publish or a retry itself; the API's Notify should be the only source")
	}
	s.Notify(ctx(t))
	if !waitWake(t, ch, 10*time.Second) {
		t.Fatal("no wake-up after Notify")
	}

	// Several notifications coalesce into one pending wake-up.
	for range 3 {
		s.Notify(ctx(t))
	}
	if !waitWake(t, ch, 10*time.Second) {
		t.Fatal("no wake-up after three Notify")
	}
	time.Sleep(200 * time.Millisecond)
	drain(ch)

	// The listener's connection dies: it reconnects and wakes the engine.
	var killed int
	err := s.pool.QueryRow(ctx(t), `select count(pg_terminate_backend(pid)) from pg_stat_activity
		where datname = current_database() and query ilike 'listen %'`).Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("terminating the listener: %d backends, %v", killed, err)
	}
	if !waitWake(t, ch, 10*time.Second) {
		t.Fatal("no wake-up after the reconnect")
	}
	drain(ch)
	s.Notify(ctx(t))
	if !waitWake(t, ch, 10*time.Second) {
		t.Fatal("no wake-up after Notify, once reconnected")
	}

	cancel()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("the channel is still open after the context ended")
		}
	}
}

// TestRecordAttemptsConcurrentBatches records batches over the same
// webhooks from several goroutines, each listing them in another order:
// the functions lock webhooks and deliveries in id order, so none deadlocks,
// and every outcome is applied exactly once.
func TestRecordAttemptsConcurrentBatches(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	const hooks, perHook, batches = 4, 12, 6
	for range hooks {
		w, _ := deliveryFixture(t, s, at) // one delivery each, plus more below
		for range perHook - 1 {
			_, _, err := s.PublishEvent(ctx(t), delivery.Event{ID: uuid.NewString(), WorkspaceID: w.WorkspaceID,
				Type: "lead.created", Data: []byte(`{}`), CreatedAt: at})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	claims, err := s.ClaimDue(ctx(t), delivery.ClaimParams{Worker: uuid.NewString(), Now: at, Lease: time.Minute,
		Limit: 1000, InitialLimit: 100, MaxLimit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(claims) != hooks*perHook {
		t.Fatalf("claimed %d, want %d", len(claims), hooks*perHook)
	}
	// Batch i takes every batches-th claim, in an order that differs per batch.
	groups := make([][]delivery.Outcome, batches)
	for i, c := range claims {
		code := 200
		groups[i%batches] = append(groups[i%batches], delivery.Outcome{Attempt: delivery.Attempt{
			DeliveryID: c.Delivery.ID, WebhookID: c.Delivery.WebhookID, WorkspaceID: c.Delivery.WorkspaceID,
			Attempt: c.Delivery.Attempts, Status: delivery.StatusSuccess, ResponseStatusCode: &code,
			DeliveredAt: at.Add(time.Duration(i) * time.Millisecond),
		}})
	}
	for i := range groups {
		if i%2 == 1 {
			for l, r := 0, len(groups[i])-1; l < r; l, r = l+1, r-1 {
				groups[i][l], groups[i][r] = groups[i][r], groups[i][l]
			}
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, batches)
	for i := range batches {
		wg.Go(func() {
			var results []error
			results, errs[i] = s.RecordAttempts(ctx(t), groups[i], nil)
			for j, r := range results {
				if r != nil && errs[i] == nil {
					errs[i] = fmt.Errorf("outcome %d: %w", j, r)
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	var pending, success int
	if err := s.pool.QueryRow(ctx(t), `select count(*) filter (where status = 'pending'),
		count(*) filter (where status = 'success') from deliveries`).Scan(&pending, &success); err != nil {
		t.Fatal(err)
	}
	if pending != 0 || success != hooks*perHook {
		t.Errorf("%d pending and %d succeeded, want 0 and %d", pending, success, hooks*perHook)
	}
}

// TestClaimDueUsesTheIndexes checks the plan of the claim's per-webhook
// scan: the due rows of a webhook come from deliveries_webhook_due_idx and
// the in-flight count from deliveries_leased_idx, never from a scan of the
// whole table (which a 100,000-row backlog would make slow).
func TestClaimDueUsesTheIndexes(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	hooks := seedBacklog(t, s, 20, 1000, at)
	for _, tc := range []struct{ name, query, index string }{
		{"due rows", `select id from deliveries where webhook_id = $1 and status = 'pending' and not test
			and next_attempt_at <= $2 and (lease_until is null or lease_until < $2) order by next_attempt_at, id limit 32`,
			"deliveries_webhook_due_idx"},
		{"in flight", `select count(*) from deliveries where webhook_id = $1 and lease_until >= $2`, "deliveries_leased_idx"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := s.pool.Query(ctx(t), "explain "+tc.query, hooks[0].ID, at.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			plan := strings.Join(lines, "\n")
			if !strings.Contains(plan, tc.index) || strings.Contains(plan, "Seq Scan") {
				t.Errorf("the plan does not use %s:\n%s", tc.index, plan)
			}
		})
	}
}

// seedBacklog stores hooks webhooks in hooks/10+1 workspaces with perHook
// pending deliveries each, due from at on, in bulk.
func seedBacklog(tb testing.TB, s *Store, hooks, perHook int, at time.Time) []*webhooks.Webhook {
	tb.Helper()
	c, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out []*webhooks.Webhook
	workspaces := make([]string, hooks/10+1)
	for i := range workspaces {
		workspaces[i] = uuid.NewString()
	}
	for i := range hooks {
		url := "https://" + uuid.NewString() + ".example/hook"
		w := &webhooks.Webhook{ID: uuid.NewString(), WorkspaceID: workspaces[i%len(workspaces)], URL: url, URLKey: url,
			Events: []string{"lead.created"}, Active: true, SecretCiphertext: "c", CreatedAt: at, UpdatedAt: at}
		if err := s.CreateWebhook(c, w, 1000); err != nil {
			tb.Fatal(err)
		}
		_, err := s.pool.Exec(c, `
			with ev as (
				insert into events (id, workspace_id, type, data, created_at)
				select gen_random_uuid(), $1, 'lead.created', '{}', $3::timestamptz + n * interval '1 millisecond'
				  from generate_series(1, $4::int) n
				returning id, created_at)
			insert into deliveries (id, workspace_id, webhook_id, event_id, event_type, status, attempts,
			                        next_attempt_at, created_at, updated_at)
			select gen_random_uuid(), $1, $2, ev.id, 'lead.created', 'pending', 0, ev.created_at, ev.created_at, ev.created_at
			  from ev`, w.WorkspaceID, w.ID, at, perHook)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, w)
	}
	if _, err := s.pool.Exec(c, `analyze deliveries; analyze events; analyze webhooks`); err != nil {
		tb.Fatal(err)
	}
	return out
}
