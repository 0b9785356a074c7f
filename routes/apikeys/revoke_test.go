package apikeys_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/gateway/plan"
)

func TestRevoke(t *testing.T) {
	h := newHarness(t)
	k := h.createKeys(h.adminA, 1)[0]

	r := h.do(request{caller: h.adminA, method: http.MethodDelete, path: "/v1/api-keys/" + k.id})
	if r.status != http.StatusOK {
		t.Fatalf("status = %d; body %s", r.status, r.raw)
	}
	want := map[string]any{"data": map[string]any{"revoked": true, "id": k.id}}
	if !reflect.DeepEqual(r.body, want) {
		t.Fatalf("body = %s, want %v", r.raw, want)
	}
	if _, err := h.keys.Authenticate(context.Background(), k.plain); !errors.Is(err, apikeys.ErrRevoked) {
		t.Fatalf("Authenticate(revoked key) = %v, want ErrRevoked", err)
	}
	firstRevoke := h.clock.Now().Truncate(time.Second).Format(time.RFC3339)

	t.Run("gone from the default list", func(t *testing.T) {
		r := h.do(request{caller: h.adminA, method: http.MethodGet, path: "/v1/api-keys"})
		for _, id := range listOf(t, r, 1, 25, 2) {
			if id == k.id {
				t.Error("revoked key still listed")
			}
		}
	})

	t.Run("again is idempotent and keeps the first time", func(t *testing.T) {
		h.clock.Advance(time.Hour)
		for _, id := range []string{k.id, strings.ToUpper(k.id)} {
			r := h.do(request{caller: h.adminA, method: http.MethodDelete, path: "/v1/api-keys/" + id})
			if r.status != http.StatusOK || !reflect.DeepEqual(r.body, want) {
				t.Fatalf("DELETE %s = %d %s, want 200 %v", id, r.status, r.raw, want)
			}
		}
		g := h.do(request{caller: h.adminA, method: http.MethodGet, path: "/v1/api-keys/" + k.id})
		if got := apiKeyOf(t, g)["revoked_at"]; got != firstRevoke {
			t.Errorf("revoked_at = %v, want %s", got, firstRevoke)
		}
	})

	t.Run("a key may revoke itself", func(t *testing.T) {
		self := h.seedKey(h.wsA, "self", []gateway.Permission{gateway.PermAdminAPIKeys}, "pro", plan.TierStandard)
		r := h.do(request{caller: self, method: http.MethodDelete, path: "/v1/api-keys/" + self.KeyID})
		if r.status != http.StatusOK {
			t.Fatalf("status = %d; body %s", r.status, r.raw)
		}
	})
}

func TestRevokeNotFound(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name string
		id   func(h *harness) string
	}{
		{name: "another workspace's key", id: func(h *harness) string { return h.adminB.KeyID }},
		{name: "unknown id", id: func(*harness) string { return uuid.NewString() }},
		{name: "nil UUID", id: func(*harness) string { return uuid.Nil.String() }},
		{name: "malformed id", id: func(*harness) string { return "key_123" }},
		{name: "UUID without hyphens", id: func(h *harness) string { return strings.ReplaceAll(h.adminA.KeyID, "-", "") }},
		{name: "UUID in braces", id: func(h *harness) string { return "%7B" + h.adminA.KeyID + "%7D" }},
		{name: "UUID with trailing text", id: func(h *harness) string { return h.adminA.KeyID + "x" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := h.snapshot()
			writes := h.store.writes.Load()
			r := h.do(request{caller: h.adminA, method: http.MethodDelete, path: "/v1/api-keys/" + tc.id(h)})
			expectError(t, r, http.StatusNotFound, gateway.CodeNotFound)
			if msg := errorOf(t, r)["message"]; msg != "No API key with that id." {
				t.Errorf("message = %q", msg)
			}
			if after := h.snapshot(); !reflect.DeepEqual(after, before) {
				t.Error("store changed on a 404")
			}
			// The target is read first; a key that is not found is never
			// written to, and malformed ids never reach the store.
			if got := h.store.writes.Load() - writes; got != 0 {
				t.Errorf("store write calls = %d, want 0", got)
			}
		})
	}
	// Workspace B's key was not touched by A's attempt.
	keys, err := h.keys.List(context.Background(), h.wsB, false)
	if err != nil || len(keys) != 1 || keys[0].RevokedAt != nil {
		t.Fatalf("workspace B keys = %+v, %v", keys, err)
	}
}

func TestGet(t *testing.T) {
	h := newHarness(t)
	k := h.createKeys(h.adminA, 1)[0]
	t.Run("own key without plaintext", func(t *testing.T) {
		r := h.do(request{caller: h.adminA, method: http.MethodGet, path: "/v1/api-keys/" + k.id})
		if r.status != http.StatusOK {
			t.Fatalf("status = %d; body %s", r.status, r.raw)
		}
		v := apiKeyOf(t, r)
		if v["id"] != k.id || v["prefix"] != k.plain[:10] || len(v) != 11 || v["created_by"] != h.adminA.KeyID {
			t.Errorf("api_key = %v", v)
		}
		if strings.Contains(r.raw, k.plain) || strings.Contains(r.raw, `"key"`) {
			t.Errorf("GET exposes the plaintext: %s", r.raw)
		}
	})
	for name, id := range map[string]string{
		"another workspace's key": h.adminB.KeyID,
		"unknown id":              uuid.NewString(),
		"malformed id":            "nope",
	} {
		t.Run(name, func(t *testing.T) {
			r := h.do(request{caller: h.adminA, method: http.MethodGet, path: "/v1/api-keys/" + id})
			expectError(t, r, http.StatusNotFound, gateway.CodeNotFound)
		})
	}
}
