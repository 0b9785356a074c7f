package postgres

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/gateway/store/storetest"
	"github.com/leadlex/api-gateway/gateway/webhooks"
	"github.com/leadlex/api-gateway/internal/testdb"
)

func TestDeliveryConformance(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	storetest.RunDelivery(t, func(*testing.T) storetest.DeliveryStore { return s })
}

// deliveryFixture creates an active webhook subscribed to lead.created and
// publishes one event to it, returning both and the delivery.
func deliveryFixture(t *testing.T, s *Store, at time.Time) (*webhooks.Webhook, delivery.Delivery) {
	t.Helper()
	w := &webhooks.Webhook{
		ID: uuid.NewString(), WorkspaceID: uuid.NewString(), URL: "https://d.example", URLKey: "https://d.example",
		Events: []string{"lead.created"}, Active: true, SecretCiphertext: "c", CreatedAt: at,
	}
	if err := s.CreateWebhook(ctx(t), w, 10); err != nil {
		t.Fatal(err)
	}
	ds, _, err := s.PublishEvent(ctx(t), delivery.Event{
		ID: uuid.NewString(), WorkspaceID: w.WorkspaceID, Type: "lead.created", Data: []byte(`{}`), CreatedAt: at,
	})
	if err != nil || len(ds) != 1 {
		t.Fatalf("PublishEvent = %v, %v", ds, err)
	}
	return w, ds[0]
}

// failNow claims d at `at` and records a failure with the disable rule.
func failNow(t *testing.T, s *Store, d delivery.Delivery, at time.Time, disableAfter time.Duration) {
	t.Helper()
	c, err := s.ClaimDelivery(ctx(t), d.ID, at, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	class := delivery.ErrClassConnectionRefused
	err = s.RecordAttempt(ctx(t), delivery.Outcome{
		Attempt: delivery.Attempt{
			DeliveryID: d.ID, WebhookID: d.WebhookID, WorkspaceID: d.WorkspaceID, Attempt: c.Delivery.Attempts,
			Status: delivery.StatusFailed, Error: &class, DeliveredAt: at,
		},
		DisableAfter: disableAfter,
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The auto-disable bookkeeping lives in columns webhooks.Webhook does not
// carry; read them directly.
func TestAutoDisableColumns(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	t0 := time.Date(2026, 11, 27, 9, 30, 15, 123456000, time.FixedZone("UTC+2", 2*60*60))
	w, d := deliveryFixture(t, s, t0)
	health := func() (since *time.Time, reason *string) {
		t.Helper()
		err := s.pool.QueryRow(ctx(t), `select failing_since, disabled_reason from webhooks where id = $1`, w.ID).Scan(&since, &reason)
		if err != nil {
			t.Fatal(err)
		}
		return since, reason
	}
	failNow(t, s, d, t0, time.Hour)
	if since, reason := health(); since == nil || !since.Equal(t0) || reason != nil {
		t.Fatalf("after one failure: failing_since %v, disabled_reason %v", since, reason)
	}

	ds, _, err := s.PublishEvent(ctx(t), delivery.Event{
		ID: uuid.NewString(), WorkspaceID: w.WorkspaceID, Type: "lead.created", Data: []byte(`{}`), CreatedAt: t0,
	})
	if err != nil {
		t.Fatal(err)
	}
	failNow(t, s, ds[0], t0.Add(time.Hour), time.Hour)
	if since, reason := health(); since == nil || !since.Equal(t0) || reason == nil ||
		*reason != "deliveries have failed since 2026-11-27T07:30:15Z" {
		t.Fatalf("after disabling: failing_since %v, disabled_reason %v", since, reason)
	}

	active := true
	if _, err := s.UpdateWebhook(ctx(t), w.WorkspaceID, w.ID, webhooks.Patch{Active: &active}); err != nil {
		t.Fatal(err)
	}
	if since, reason := health(); since != nil || reason != nil {
		t.Fatalf("after reactivation: failing_since %v, disabled_reason %v", since, reason)
	}

	// Other updates leave the bookkeeping alone (the trigger fires only on
	// false -> true).
	if _, err := s.pool.Exec(ctx(t), `update webhooks set failing_since = $2 where id = $1`, w.ID, t0); err != nil {
		t.Fatal(err)
	}
	desc := "still failing"
	if _, err := s.UpdateWebhook(ctx(t), w.WorkspaceID, w.ID, webhooks.Patch{Description: &desc, Active: &active}); err != nil {
		t.Fatal(err)
	}
	if since, _ := health(); since == nil {
		t.Fatal("an update that did not reactivate cleared failing_since")
	}
}

// Deleting a webhook must remove its rows, not merely hide them.
func TestDeleteWebhookCascades(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	t0 := time.Now()
	w, d := deliveryFixture(t, s, t0)
	failNow(t, s, d, t0, 0)
	count := func(table string) int {
		t.Helper()
		var n int
		if err := s.pool.QueryRow(ctx(t), "select count(*) from "+table+" where webhook_id = $1", w.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if count("deliveries") != 1 || count("delivery_attempts") != 1 {
		t.Fatal("fixture rows missing")
	}
	if err := s.DeleteWebhook(ctx(t), w.WorkspaceID, w.ID); err != nil {
		t.Fatal(err)
	}
	if n, m := count("deliveries"), count("delivery_attempts"); n != 0 || m != 0 {
		t.Fatalf("%d deliveries and %d attempts survived their webhook", n, m)
	}
}

// The composite foreign keys keep a delivery from pointing at another
// workspace's webhook, whatever writes it.
func TestDeliveryCannotCrossWorkspaces(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	_, d := deliveryFixture(t, s, time.Now())
	_, err := s.pool.Exec(ctx(t),
		`insert into deliveries (id, workspace_id, webhook_id, event_id, event_type, status, next_attempt_at, created_at, updated_at)
		 select gen_random_uuid(), workspace_id, $1, event_id, event_type, 'pending', now(), now(), now()
		   from deliveries where id = $2`,
		uuid.NewString(), d.ID)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23503" {
		t.Fatalf("a delivery to a webhook outside the workspace: %v, want a foreign key violation", err)
	}
}

// TestDeliveryRowLevelSecurity extends TestRowLevelSecurity to the delivery
// tables and functions: RLS on without FORCE, nothing visible to a role
// without BYPASSRLS, and no EXECUTE on the functions for such a role.
func TestDeliveryRowLevelSecurity(t *testing.T) {
	t.Parallel()
	pool, _ := testdb.New(t)
	s := New(pool)
	_, d := deliveryFixture(t, s, time.Now())
	failNow(t, s, d, time.Now(), 0)

	tables := []string{"events", "deliveries", "delivery_attempts"}
	for _, table := range tables {
		var rls, force bool
		err := pool.QueryRow(ctx(t),
			"select relrowsecurity, relforcerowsecurity from pg_class where oid = $1::regclass", table).Scan(&rls, &force)
		if err != nil {
			t.Fatalf("read pg_class for %s: %v", table, err)
		}
		if !rls || force {
			t.Errorf("%s: row-level security %v, forced %v; want on, not forced", table, rls, force)
		}
	}

	role := throwawayRole(t, pool)
	if _, err := pool.Exec(ctx(t), "grant select on events, deliveries, delivery_attempts to "+pgx.Identifier{role}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	asRole := func(t *testing.T, sql string, args ...any) error {
		t.Helper()
		return pgx.BeginFunc(ctx(t), pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx(t), "set local role "+pgx.Identifier{role}.Sanitize()); err != nil {
				return err
			}
			_, err := tx.Exec(ctx(t), sql, args...)
			return err
		})
	}
	for _, table := range tables {
		t.Run(table, func(t *testing.T) {
			var n int
			err := pgx.BeginFunc(ctx(t), pool, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx(t), "set local role "+pgx.Identifier{role}.Sanitize()); err != nil {
					return err
				}
				return tx.QueryRow(ctx(t), "select count(*) from "+table).Scan(&n)
			})
			if err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Fatalf("role without BYPASSRLS sees %d rows", n)
			}
		})
	}

	id, now := uuid.NewString(), time.Now()
	calls := map[string][]any{
		"select gateway_publish_event($1, $1, 't', '{}', $2)":                                          {id, now},
		"select gateway_claim_delivery($1, $2, 1000)":                                                  {d.ID, now},
		"select gateway_record_attempt(null, $1, $1, $1, 1, 'success', 200, '', 1, null, $2, null, 0)": {id, now},
		"select gateway_create_test_delivery($1, $1, 't', '{}', $2, $1)":                               {id, now},
		"select gateway_retry_delivery($1, $1, $1, $2)":                                                {id, now},
	}
	for sql, args := range calls {
		err := asRole(t, sql, args...)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Errorf("%s as %s: %v, want insufficient_privilege (42501)", sql, role, err)
		}
	}
}

// A claim that fails on the server (here: a lease under a millisecond) is a
// plain error, not ErrNotClaimed, so that a misconfigured worker is noticed.
func TestClaimKeepsDatabaseErrorInChain(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	_, d := deliveryFixture(t, s, time.Now())
	_, err := s.ClaimDelivery(ctx(t), d.ID, time.Now(), 0)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "22023" || errors.Is(err, delivery.ErrNotClaimed) {
		t.Fatalf("ClaimDelivery with a zero lease = %v, want the 22023 in the chain", err)
	}
}
