package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/gateway/store/storetest"
	"github.com/leadlex/api-gateway/gateway/webhooks"
	"github.com/leadlex/api-gateway/internal/testdb"
)

// newStore returns a store on a fresh database, dropped when t ends.
func newStore(t *testing.T) *Store {
	t.Helper()
	pool, _ := testdb.New(t)
	return New(pool)
}

// The conformance suites share one database per suite: every subtest uses
// fresh random workspaces, ids and hashes, so they cannot see each other's
// rows, and a database already holding other workspaces is the realistic
// case for the scoping checks. (A database per subtest cost about 20 seconds
// more, for no extra coverage.)

func TestWebhooksConformance(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	storetest.RunWebhooks(t, func(*testing.T) webhooks.Store { return s })
}

func TestAPIKeysConformance(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	storetest.RunAPIKeys(t, func(*testing.T) apikeys.Store { return s })
}

// ctx bounds a test's database calls.
func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestMapError(t *testing.T) {
	t.Parallel()
	cause := errors.New("connection reset")
	tests := []struct {
		name     string
		err      error
		notFound error
		want     error
		notWant  []error
	}{
		{
			name: "unique violation on the webhook url key",
			err:  &pgconn.PgError{Code: "23505", ConstraintName: "webhooks_workspace_url_key"},
			want: webhooks.ErrDuplicateURL,
		},
		{
			name: "wrapped unique violation on the webhook url key",
			err:  fmt.Errorf("exec: %w", &pgconn.PgError{Code: "23505", ConstraintName: "webhooks_workspace_url_key"}),
			want: webhooks.ErrDuplicateURL,
		},
		{
			// A clashing id is a bug, not a client's duplicate URL.
			name:    "unique violation on the webhook primary key",
			err:     &pgconn.PgError{Code: "23505", ConstraintName: "webhooks_pkey"},
			notWant: []error{webhooks.ErrDuplicateURL},
		},
		{
			name:    "unique violation on the key hash",
			err:     &pgconn.PgError{Code: "23505", ConstraintName: "api_keys_key_hash_key"},
			notWant: []error{webhooks.ErrDuplicateURL, apikeys.ErrNotFound},
		},
		{
			name: "limit raised by gateway_create_webhook",
			err:  &pgconn.PgError{Code: "LL001", Message: "webhook_limit_reached"},
			want: webhooks.ErrLimitReached,
		},
		{
			name:     "no rows, webhooks",
			err:      pgx.ErrNoRows,
			notFound: webhooks.ErrNotFound,
			want:     webhooks.ErrNotFound,
		},
		{
			name:     "no rows, keys",
			err:      pgx.ErrNoRows,
			notFound: apikeys.ErrNotFound,
			want:     apikeys.ErrNotFound,
			notWant:  []error{webhooks.ErrNotFound},
		},
		{
			name:     "malformed id",
			err:      errMalformedID,
			notFound: webhooks.ErrNotFound,
			want:     webhooks.ErrNotFound,
		},
		{
			name:    "invalid text representation is not mistaken for not found",
			err:     &pgconn.PgError{Code: "22P02"},
			notWant: []error{webhooks.ErrNotFound, apikeys.ErrNotFound},
		},
		{
			name: "other errors keep their cause",
			err:  cause,
			want: cause,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			notFound := tc.notFound
			if notFound == nil {
				notFound = webhooks.ErrNotFound
			}
			got := mapError("do thing", notFound, tc.err)
			if got == nil {
				t.Fatal("mapError returned nil")
			}
			if !strings.HasPrefix(got.Error(), "postgres: do thing: ") {
				t.Errorf("message %q lacks the operation", got)
			}
			if tc.want != nil && !errors.Is(got, tc.want) {
				t.Errorf("mapError = %v, want errors.Is %v", got, tc.want)
			}
			for _, bad := range tc.notWant {
				if errors.Is(got, bad) {
					t.Errorf("mapError = %v, must not match %v", got, bad)
				}
			}
		})
	}
}

// The mapping relies on the constraint name surviving the trip through the
// plpgsql function; check it on the real server.
func TestCreateWebhookKeepsDatabaseErrorInChain(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	w := &webhooks.Webhook{
		ID: uuid.NewString(), WorkspaceID: uuid.NewString(),
		URL: "https://a.example", URLKey: "https://a.example",
		Events: []string{"e"}, SecretCiphertext: "c", CreatedAt: time.Now(),
	}
	if err := s.CreateWebhook(ctx(t), w, 10); err != nil {
		t.Fatal(err)
	}
	dup := *w
	dup.ID = uuid.NewString()
	err := s.CreateWebhook(ctx(t), &dup, 10)
	var pgErr *pgconn.PgError
	if !errors.Is(err, webhooks.ErrDuplicateURL) || !errors.As(err, &pgErr) || pgErr.ConstraintName != constraintWebhookURLKey {
		t.Fatalf("CreateWebhook = %v, want ErrDuplicateURL wrapping the 23505 on %s", err, constraintWebhookURLKey)
	}
}

func TestCreateWebhookRejectsInvalidInput(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	tests := []struct {
		name   string
		modify func(w *webhooks.Webhook)
	}{
		{"id not a uuid", func(w *webhooks.Webhook) { w.ID = "x" }},
		{"no events", func(w *webhooks.Webhook) { w.Events = nil }},
		{"description over 200 characters", func(w *webhooks.Webhook) { w.Description = strings.Repeat("é", 201) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := &webhooks.Webhook{
				ID: uuid.NewString(), WorkspaceID: uuid.NewString(),
				URL: "https://a.example", URLKey: "https://a.example",
				Events: []string{"e"}, SecretCiphertext: "c", CreatedAt: time.Now(),
			}
			tc.modify(w)
			err := s.CreateWebhook(ctx(t), w, 10)
			if err == nil || errors.Is(err, webhooks.ErrNotFound) || errors.Is(err, webhooks.ErrDuplicateURL) {
				t.Fatalf("CreateWebhook = %v, want a plain database error", err)
			}
			if !strings.HasPrefix(err.Error(), "postgres: create webhook: ") {
				t.Fatalf("error %q lacks context", err)
			}
		})
	}
}

func TestCreateKeyDefaultsCreatedAt(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	k := &apikeys.Key{
		ID: uuid.NewString(), WorkspaceID: uuid.NewString(), Hash: strings.Repeat("ab", 32),
		Plan: "starter", Tier: "standard",
	}
	before := time.Now().Add(-time.Minute)
	if err := s.CreateKey(ctx(t), k); err != nil {
		t.Fatal(err)
	}
	got, err := s.KeyByHash(ctx(t), k.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedAt.Before(before) {
		t.Fatalf("CreatedAt = %v, want about now", got.CreatedAt)
	}
	if got.Permissions == nil || len(got.Permissions) != 0 {
		t.Fatalf("Permissions = %#v, want empty", got.Permissions)
	}
}

func TestPing(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	if err := s.Ping(ctx(t)); err != nil {
		t.Fatalf("Ping on a live database: %v", err)
	}
	s.pool.Close()
	if err := s.Ping(ctx(t)); err == nil {
		t.Fatal("Ping on a closed pool succeeded")
	}
}

// TestRowLevelSecurity checks what the architecture relies on for Supabase:
// both tables have RLS on and no policy, so a role without BYPASSRLS (like
// PostgREST's anon and authenticated) reads nothing even when granted SELECT,
// and may not call gateway_create_webhook.
func TestRowLevelSecurity(t *testing.T) {
	t.Parallel()
	pool, _ := testdb.New(t)
	s := New(pool)

	for _, table := range []string{"api_keys", "webhooks"} {
		var rls, force bool
		err := pool.QueryRow(ctx(t),
			"select relrowsecurity, relforcerowsecurity from pg_class where oid = $1::regclass", table).Scan(&rls, &force)
		if err != nil {
			t.Fatalf("read pg_class for %s: %v", table, err)
		}
		if !rls {
			t.Errorf("row-level security is off on %s", table)
		}
		if force {
			// FORCE would lock the owner out, i.e. the gateway's own
			// direct connection on plain Postgres.
			t.Errorf("row-level security is forced on %s", table)
		}
	}

	workspace := uuid.NewString()
	now := time.Now()
	if err := s.CreateWebhook(ctx(t), &webhooks.Webhook{
		ID: uuid.NewString(), WorkspaceID: workspace, URL: "https://rls.example", URLKey: "https://rls.example",
		Events: []string{"e"}, SecretCiphertext: "c", CreatedAt: now,
	}, 10); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateKey(ctx(t), &apikeys.Key{
		ID: uuid.NewString(), WorkspaceID: workspace, Hash: strings.Repeat("ef", 32),
		Permissions: []gateway.Permission{gateway.PermEventsRead}, Plan: "pro", Tier: "high", CreatedAt: now,
	}); err != nil {
		t.Fatal(err)
	}

	role := throwawayRole(t, pool)
	for _, table := range []string{"api_keys", "webhooks"} {
		t.Run(table, func(t *testing.T) {
			var direct, asRole int
			if err := pool.QueryRow(ctx(t), "select count(*) from "+table).Scan(&direct); err != nil {
				t.Fatal(err)
			}
			if direct != 1 {
				t.Fatalf("direct connection sees %d rows, want 1", direct)
			}
			err := pgx.BeginFunc(ctx(t), pool, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx(t), "set local role "+pgx.Identifier{role}.Sanitize()); err != nil {
					return err
				}
				return tx.QueryRow(ctx(t), "select count(*) from "+table).Scan(&asRole)
			})
			if err != nil {
				t.Fatalf("count as %s: %v", role, err)
			}
			if asRole != 0 {
				t.Fatalf("role without BYPASSRLS sees %d rows, want 0", asRole)
			}
		})
	}

	t.Run("gateway_create_webhook", func(t *testing.T) {
		err := pgx.BeginFunc(ctx(t), pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx(t), "set local role "+pgx.Identifier{role}.Sanitize()); err != nil {
				return err
			}
			_, err := tx.Exec(ctx(t),
				"select gateway_create_webhook($1, $2, 'https://x', 'https://x', '{e}', '', true, 'c', now(), 10)",
				uuid.NewString(), workspace)
			return err
		})
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Fatalf("calling gateway_create_webhook as %s: %v, want insufficient_privilege (42501)", role, err)
		}
	})

	t.Run("gateway_rotate_webhook_secret", func(t *testing.T) {
		err := pgx.BeginFunc(ctx(t), pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx(t), "set local role "+pgx.Identifier{role}.Sanitize()); err != nil {
				return err
			}
			_, err := tx.Exec(ctx(t),
				"select gateway_rotate_webhook_secret($1, $2, 'stolen', now(), now())",
				workspace, uuid.NewString())
			return err
		})
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Fatalf("calling gateway_rotate_webhook_secret as %s: %v, want insufficient_privilege (42501)", role, err)
		}
	})
}

// The duplicate mapping on update relies on the same constraint name as on
// create; check that the database error stays in the chain for the logs.
func TestUpdateWebhookKeepsDatabaseErrorInChain(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	workspace := uuid.NewString()
	mk := func(url string) *webhooks.Webhook {
		w := &webhooks.Webhook{
			ID: uuid.NewString(), WorkspaceID: workspace, URL: url, URLKey: url,
			Events: []string{"e"}, SecretCiphertext: "c", CreatedAt: time.Now(),
		}
		if err := s.CreateWebhook(ctx(t), w, 10); err != nil {
			t.Fatal(err)
		}
		return w
	}
	a, b := mk("https://a.example"), mk("https://b.example")
	_, err := s.UpdateWebhook(ctx(t), workspace, b.ID, webhooks.Patch{URL: &a.URL, URLKey: &a.URLKey, UpdatedAt: time.Now()})
	var pgErr *pgconn.PgError
	if !errors.Is(err, webhooks.ErrDuplicateURL) || !errors.As(err, &pgErr) || pgErr.ConstraintName != constraintWebhookURLKey {
		t.Fatalf("UpdateWebhook = %v, want ErrDuplicateURL wrapping the 23505 on %s", err, constraintWebhookURLKey)
	}
	if !strings.HasPrefix(err.Error(), "postgres: update webhook: ") {
		t.Fatalf("error %q lacks context", err)
	}
}

// Values travel as parameters, never as SQL text: quotes, placeholders and
// statement separators in them are stored as they are.
func TestUpdateWebhookValuesAreNotSQL(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	w := &webhooks.Webhook{
		ID: uuid.NewString(), WorkspaceID: uuid.NewString(), URL: "https://a.example", URLKey: "https://a.example",
		Events: []string{"e"}, SecretCiphertext: "c", CreatedAt: time.Now(),
	}
	if err := s.CreateWebhook(ctx(t), w, 10); err != nil {
		t.Fatal(err)
	}
	hostile := `x', secret_ciphertext = 'owned' where true; drop table webhooks; -- $1 $2`
	got, err := s.UpdateWebhook(ctx(t), w.WorkspaceID, w.ID, webhooks.Patch{
		URL: &hostile, URLKey: &hostile, Events: []string{hostile}, Description: &hostile, UpdatedAt: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.URL != hostile || got.URLKey != hostile || got.Description != hostile ||
		len(got.Events) != 1 || got.Events[0] != hostile || got.SecretCiphertext != "c" {
		t.Fatalf("UpdateWebhook stored %+v", got)
	}
}

// throwawayRole creates a role with SELECT on both tables and nothing else,
// the way PostgREST's public roles are set up. Roles belong to the whole
// cluster, not the test database, so it gets a unique name and is dropped
// when the test ends, before the test database is.
func throwawayRole(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	role := "gwtest_role_" + hex.EncodeToString(b)
	quoted := pgx.Identifier{role}.Sanitize()
	if _, err := pool.Exec(ctx(t), "create role "+quoted+" nologin nobypassrls"); err != nil {
		t.Fatalf("create role: %v", err)
	}
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// DROP OWNED revokes the grants made in this database, which would
		// otherwise keep DROP ROLE from succeeding.
		if _, err := pool.Exec(c, "drop owned by "+quoted); err != nil {
			t.Errorf("drop owned by %s: %v", role, err)
		}
		if _, err := pool.Exec(c, "drop role "+quoted); err != nil {
			t.Errorf("drop role %s: %v", role, err)
		}
	})
	if _, err := pool.Exec(ctx(t), "grant usage on schema public to "+quoted); err != nil {
		t.Fatalf("grant usage: %v", err)
	}
	if _, err := pool.Exec(ctx(t), "grant select on api_keys, webhooks to "+quoted); err != nil {
		t.Fatalf("grant select: %v", err)
	}
	return role
}
