package webhooks_test

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/secretbox"
	"github.com/leadlex/api-gateway/gateway/store/memory"
	"github.com/leadlex/api-gateway/gateway/urlcheck"
	"github.com/leadlex/api-gateway/gateway/webhooks"
)

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// failingStore fails every write, as a database outage would.
type failingStore struct{ webhooks.Store }

func (failingStore) CreateWebhook(context.Context, *webhooks.Webhook, int) error {
	return errors.New("connection refused")
}

const ws = "2c7e1c3a-4b1f-4e8e-a1d2-5f6a7b8c9d0e"

func newService(t *testing.T, store webhooks.Store, limit int) (*webhooks.Service, *secretbox.Box) {
	t.Helper()
	box, err := secretbox.New(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return &webhooks.Service{
		Store: store, URLs: &urlcheck.Checker{}, Sealer: box, Limit: limit,
		Clock: fixedClock{time.Date(2026, 4, 17, 14, 23, 5, 987654321, time.UTC)},
	}, box
}

func TestCreateStoresAnEncryptedSecret(t *testing.T) {
	store := memory.New()
	svc, box := newService(t, store, 10)
	created, err := svc.Create(context.Background(), ws, webhooks.CreateInput{
		URL: "https://93.184.215.14/hook", Events: []string{"contact.created"}, Description: "d", Active: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^whsec_[0-9a-f]{48}$`).MatchString(created.Secret) {
		t.Errorf("secret %q", created.Secret)
	}
	w, err := store.GetWebhook(context.Background(), ws, created.Webhook.ID)
	if err != nil {
		t.Fatal(err)
	}
	if w.CreatedAt != time.Date(2026, 4, 17, 14, 23, 5, 0, time.UTC) || w.URLKey != "https://93.184.215.14/hook" {
		t.Errorf("stored %+v", w)
	}
	if bytes.Contains([]byte(w.SecretCiphertext), []byte(created.Secret[6:])) {
		t.Fatal("secret stored in plaintext")
	}
	plain, err := box.Open(w.SecretCiphertext, []byte(w.ID))
	if err != nil || string(plain) != created.Secret {
		t.Fatalf("stored secret does not open to the one returned: %v", err)
	}
	// Bound to the row: it does not open as another webhook's secret.
	if _, err := box.Open(w.SecretCiphertext, []byte("another-id")); err == nil {
		t.Fatal("ciphertext opens under another id")
	}
}

func TestCreateMapsStoreOutcomes(t *testing.T) {
	in := webhooks.CreateInput{URL: "https://93.184.215.14/x", Events: []string{"deal.created"}, Active: true}
	t.Run("duplicate", func(t *testing.T) {
		svc, _ := newService(t, memory.New(), 10)
		if _, err := svc.Create(context.Background(), ws, in); err != nil {
			t.Fatal(err)
		}
		_, err := svc.Create(context.Background(), ws, in)
		if gateway.CodeOf(err) != gateway.CodeDuplicateWebhook {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("limit", func(t *testing.T) {
		svc, _ := newService(t, memory.New(), 1)
		if _, err := svc.Create(context.Background(), ws, in); err != nil {
			t.Fatal(err)
		}
		in2 := in
		in2.URL = "https://93.184.215.14/y"
		_, err := svc.Create(context.Background(), ws, in2)
		if gateway.CodeOf(err) != gateway.CodeWebhookLimitReached {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("store down", func(t *testing.T) {
		svc, _ := newService(t, failingStore{memory.New()}, 10)
		_, err := svc.Create(context.Background(), ws, in)
		e := gateway.AsError(err)
		if e.Code != gateway.CodeUnavailable || bytes.Contains([]byte(e.Message), []byte("refused")) {
			t.Fatalf("err = %#v", e)
		}
	})
}

func TestValidateEvents(t *testing.T) {
	tests := []struct {
		name   string
		events []string
		ok     bool
	}{
		{"one", []string{"contact.created"}, true},
		{"all categories", []string{"contact.merged", "company.deleted", "deal.bulk_updated", "list.contacts_removed", "campaign.step_created", "activity.created", "task.dismissed"}, true},
		{"empty", nil, false},
		{"unknown", []string{"contact.created", "contact.exploded"}, false},
		{"case matters", []string{"Contact.Created"}, false},
		{"repeated", []string{"deal.updated", "deal.updated"}, false},
		{"empty name", []string{""}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webhooks.ValidateEvents(tt.events)
			if tt.ok != (err == nil) || (!tt.ok && gateway.CodeOf(err) != gateway.CodeInvalidEvents) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}
