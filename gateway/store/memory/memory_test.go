package memory_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/gateway/store/memory"
	"github.com/leadlex/api-gateway/gateway/store/storetest"
	"github.com/leadlex/api-gateway/gateway/webhooks"
)

func TestWebhooksConformance(t *testing.T) {
	t.Parallel()
	storetest.RunWebhooks(t, func(*testing.T) webhooks.Store { return memory.New() })
}

func TestAPIKeysConformance(t *testing.T) {
	t.Parallel()
	storetest.RunAPIKeys(t, func(*testing.T) apikeys.Store { return memory.New() })
}

// validWebhook returns a webhook the schema accepts.
func validWebhook() *webhooks.Webhook {
	now := time.Now()
	return &webhooks.Webhook{
		ID: uuid.NewString(), WorkspaceID: uuid.NewString(),
		URL: "https://example.com/hook", URLKey: "https://example.com/hook",
		Events: []string{"lead.created"}, SecretCiphertext: "c",
		CreatedAt: now, UpdatedAt: now,
	}
}

// validKey returns a key the schema accepts.
func validKey() *apikeys.Key {
	return &apikeys.Key{
		ID: uuid.NewString(), WorkspaceID: uuid.NewString(),
		Hash:        strings.Repeat("ab", 32),
		Permissions: []gateway.Permission{gateway.PermEventsRead},
		Plan:        "starter", Tier: "standard", CreatedAt: time.Now(),
	}
}

// The memory store refuses what the schema's constraints refuse, so that code
// developed against it does not start failing on Postgres.
func TestCreateWebhookMirrorsSchemaConstraints(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		modify func(w *webhooks.Webhook)
	}{
		{"id not a uuid", func(w *webhooks.Webhook) { w.ID = "x" }},
		{"workspace not a uuid", func(w *webhooks.Webhook) { w.WorkspaceID = "" }},
		{"url over 2048 characters", func(w *webhooks.Webhook) { w.URL = "https://e.com/" + strings.Repeat("é", 2035) }},
		{"description over 200 characters", func(w *webhooks.Webhook) { w.Description = strings.Repeat("é", 201) }},
		{"no events", func(w *webhooks.Webhook) { w.Events = nil }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := validWebhook()
			tc.modify(w)
			err := memory.New().CreateWebhook(context.Background(), w, 10)
			if err == nil || errors.Is(err, webhooks.ErrDuplicateURL) || errors.Is(err, webhooks.ErrLimitReached) {
				t.Fatalf("CreateWebhook = %v, want a plain validation error", err)
			}
		})
	}

	t.Run("limits are inclusive", func(t *testing.T) {
		w := validWebhook()
		w.URL = "https://e.com/" + strings.Repeat("é", 2048-len("https://e.com/"))
		w.Description = strings.Repeat("é", 200)
		if err := memory.New().CreateWebhook(context.Background(), w, 10); err != nil {
			t.Fatalf("CreateWebhook at the limits: %v", err)
		}
	})
}

func TestCreateWebhookChecksLimitBeforeDuplicate(t *testing.T) {
	t.Parallel()
	// gateway_create_webhook counts before it inserts, so a duplicate in a
	// full workspace reports the limit.
	s := memory.New()
	first := validWebhook()
	if err := s.CreateWebhook(context.Background(), first, 1); err != nil {
		t.Fatal(err)
	}
	dup := validWebhook()
	dup.WorkspaceID = first.WorkspaceID
	if err := s.CreateWebhook(context.Background(), dup, 1); !errors.Is(err, webhooks.ErrLimitReached) {
		t.Fatalf("CreateWebhook = %v, want ErrLimitReached", err)
	}
}

func TestCreateWebhookLikeTheSQLFunction(t *testing.T) {
	t.Parallel()
	// gateway_create_webhook sets updated_at to created_at and leaves the
	// delivery columns null, whatever the caller passed.
	s := memory.New()
	w := validWebhook()
	w.UpdatedAt = w.CreatedAt.Add(time.Hour)
	status := "delivered"
	w.LastDeliveryStatus = &status
	w.LastDeliveryAt = &w.CreatedAt
	if err := s.CreateWebhook(context.Background(), w, 10); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetWebhook(context.Background(), w.WorkspaceID, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.UpdatedAt.Equal(got.CreatedAt) || got.LastDeliveryStatus != nil || got.LastDeliveryAt != nil {
		t.Fatalf("got UpdatedAt %v (CreatedAt %v), LastDeliveryStatus %v, LastDeliveryAt %v",
			got.UpdatedAt, got.CreatedAt, got.LastDeliveryStatus, got.LastDeliveryAt)
	}
}

func TestCreateKeyMirrorsSchemaConstraints(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		modify func(k *apikeys.Key)
	}{
		{"id not a uuid", func(k *apikeys.Key) { k.ID = "x" }},
		{"workspace not a uuid", func(k *apikeys.Key) { k.WorkspaceID = "" }},
		{"upper-case hash", func(k *apikeys.Key) { k.Hash = strings.Repeat("AB", 32) }},
		{"short hash", func(k *apikeys.Key) { k.Hash = "abcd" }},
		{"unknown plan", func(k *apikeys.Key) { k.Plan = "enterprise" }},
		{"unknown tier", func(k *apikeys.Key) { k.Tier = "" }},
		{"description over 500 characters", func(k *apikeys.Key) { k.Description = strings.Repeat("é", 501) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := validKey()
			tc.modify(k)
			if err := memory.New().CreateKey(context.Background(), k); err == nil {
				t.Fatal("CreateKey succeeded")
			}
		})
	}

	t.Run("duplicate id", func(t *testing.T) {
		s := memory.New()
		k := validKey()
		if err := s.CreateKey(context.Background(), k); err != nil {
			t.Fatal(err)
		}
		again := validKey()
		again.ID = k.ID
		again.Hash = strings.Repeat("cd", 32)
		if err := s.CreateKey(context.Background(), again); err == nil {
			t.Fatal("CreateKey with a duplicate id succeeded")
		}
	})
}

func TestCreateKeyDefaultsCreatedAt(t *testing.T) {
	t.Parallel()
	// The column default is now(); a zero time must not be stored as year 1,
	// which would sort the key last for ever.
	s := memory.New()
	k := validKey()
	k.CreatedAt = time.Time{}
	before := time.Now().Add(-time.Second)
	if err := s.CreateKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	got, err := s.KeyByHash(context.Background(), k.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedAt.Before(before) {
		t.Fatalf("CreatedAt = %v, want about now", got.CreatedAt)
	}
}

func TestCanceledContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := memory.New()
	if err := s.CreateWebhook(ctx, validWebhook(), 10); !errors.Is(err, context.Canceled) {
		t.Fatalf("CreateWebhook = %v, want context.Canceled", err)
	}
	if err := s.CreateKey(ctx, validKey()); !errors.Is(err, context.Canceled) {
		t.Fatalf("CreateKey = %v, want context.Canceled", err)
	}
	w := validWebhook()
	if err := s.CreateWebhook(context.Background(), w, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateWebhook(ctx, w.WorkspaceID, w.ID, webhooks.Patch{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("UpdateWebhook = %v, want context.Canceled", err)
	}
	if err := s.DeleteWebhook(ctx, w.WorkspaceID, w.ID); !errors.Is(err, context.Canceled) {
		t.Fatalf("DeleteWebhook = %v, want context.Canceled", err)
	}
	if _, err := s.RotateSecret(ctx, w.WorkspaceID, w.ID, w.SecretCiphertext, "c2", time.Now(), time.Now()); !errors.Is(err, context.Canceled) {
		t.Fatalf("RotateSecret = %v, want context.Canceled", err)
	}
	if _, err := s.GetWebhook(context.Background(), w.WorkspaceID, w.ID); err != nil {
		t.Fatalf("a canceled call changed the store: %v", err)
	}
}
