package e2e

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestIdempotentCreateReturnsTheSecretAgain(t *testing.T) {
	e, k, g := startWithKey(t, "webhooks:write", "--plan", "org")
	body := hookBody("https://93.184.215.14/idem", "deal.created")
	withKey := func(ikey, body string) reply {
		return g.do(req{method: "POST", path: "/v1/webhooks", key: k.Key, body: body, headers: map[string]string{"Idempotency-Key": ikey}})
	}
	first := withKey("create-1", body)
	if first.Status != 201 {
		t.Fatalf("first: %d %s", first.Status, first.Raw)
	}
	// The client lost the answer and retries: same status, same body, same
	// secret, and still one webhook.
	again := withKey("create-1", body)
	if again.Status != 201 || !bytes.Equal(again.Raw, first.Raw) {
		t.Fatalf("replay: %d %s\nwant %s", again.Status, again.Raw, first.Raw)
	}
	if again.Header.Get("Idempotent-Replayed") != "true" || again.Header.Get("Location") != first.Header.Get("Location") {
		t.Errorf("replay headers: %v", again.Header)
	}
	if n := e.count("webhooks", workspaceA); n != 1 {
		t.Fatalf("%d rows after a replay, want 1", n)
	}
	// Without the key the retry is a duplicate.
	if r := g.create(k, body); r.Status != 409 || r.errCode() != "duplicate_webhook" {
		t.Errorf("retry without key: %d %s", r.Status, r.Raw)
	}
	t.Run("same key, different body", func(t *testing.T) {
		r := withKey("create-1", hookBody("https://93.184.215.14/other"))
		if r.Status != 409 || r.errCode() != "idempotency_key_reused" {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
	})
	t.Run("keys are scoped to the API key", func(t *testing.T) {
		other := e.createKey(uuid.NewString(), "webhooks:write")
		r := g.do(req{method: "POST", path: "/v1/webhooks", key: other.Key, body: body, headers: map[string]string{"Idempotency-Key": "create-1"}})
		if r.Status != 201 || bytes.Equal(r.Raw, first.Raw) {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
	})
	t.Run("errors are kept too", func(t *testing.T) {
		bad := hookBody("https://10.0.0.1/x")
		r1, r2 := withKey("bad-1", bad), withKey("bad-1", bad)
		if r1.Status != 400 || r2.Status != 400 || r2.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("%d / %d %v", r1.Status, r2.Status, r2.Header)
		}
	})
	t.Run("invalid Idempotency-Key", func(t *testing.T) {
		r := withKey(strings.Repeat("k", 256), body)
		if r.Status != 400 || r.errCode() != "validation_error" {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
	})
	t.Run("the kept response is encrypted in Redis", func(t *testing.T) {
		secret := first.webhook()["secret"].(string)
		ctx := context.Background()
		keys, err := e.redis.Keys(ctx, e.prefix+"idem:*").Result()
		if err != nil || len(keys) == 0 {
			t.Fatalf("no idempotency records under %s: %v", e.prefix, err)
		}
		for _, rk := range keys {
			v, _ := e.redis.Get(ctx, rk).Result()
			if strings.Contains(v, secret) || strings.Contains(v, "whsec_") || strings.Contains(v, "93.184.215.14") {
				t.Errorf("record %s holds plaintext", rk)
			}
		}
	})
}
