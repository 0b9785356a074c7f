package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
)

func (r reply) data() map[string]any {
	d, _ := r.Body["data"].(map[string]any)
	return d
}

func TestWebhookLifecycle(t *testing.T) {
	e := newEnv(t)
	k := e.createKey(workspaceA, "webhooks:write", "--plan", "org", "--tier", "unmetered")
	reader := e.createKey(workspaceA, "webhooks:read", "--tier", "unmetered")
	stranger := e.createKey(uuid.NewString(), "webhooks:write", "--tier", "unmetered")
	g := e.start(nil)

	var ids []string
	for i := range 3 {
		r := g.create(k, hookBody(fmt.Sprintf("https://93.184.215.14/life/%d", i), "contact.created"))
		if r.Status != 201 {
			t.Fatalf("create %d: %d %s", i, r.Status, r.Raw)
		}
		ids = append(ids, r.webhook()["id"].(string))
		time.Sleep(1100 * time.Millisecond) // distinct created_at seconds, so "newest first" is observable
	}

	t.Run("list newest first with pagination", func(t *testing.T) {
		r := g.do(req{method: "GET", path: "/v1/webhooks?per_page=2", key: reader.Key})
		list := r.items(t, "webhooks")
		meta, _ := r.Body["meta"].(map[string]any)
		if r.Status != 200 || len(list) != 2 || meta["total"] != float64(3) || meta["page"] != float64(1) || meta["per_page"] != float64(2) {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
		if list[0].(map[string]any)["id"] != ids[2] || list[1].(map[string]any)["id"] != ids[1] {
			t.Errorf("order: %s", r.Raw)
		}
		for _, w := range list {
			if _, has := w.(map[string]any)["secret"]; has {
				t.Errorf("list shows a secret: %s", r.Raw)
			}
		}
		r = g.do(req{method: "GET", path: "/v1/webhooks?per_page=2&page=2", key: reader.Key})
		if list := r.items(t, "webhooks"); len(list) != 1 || list[0].(map[string]any)["id"] != ids[0] {
			t.Errorf("page 2: %s", r.Raw)
		}
		for _, q := range []string{"per_page=101", "per_page=0", "page=0", "page=x"} {
			if r := g.do(req{method: "GET", path: "/v1/webhooks?" + q, key: reader.Key}); r.Status != 400 || r.errCode() != "validation_error" {
				t.Errorf("%s: %d %s", q, r.Status, r.Raw)
			}
		}
		// Another workspace sees none of them.
		if r := g.do(req{method: "GET", path: "/v1/webhooks", key: stranger.Key}); r.Body["meta"].(map[string]any)["total"] != float64(0) {
			t.Errorf("stranger sees %s", r.Raw)
		}
	})

	t.Run("get", func(t *testing.T) {
		r := g.do(req{method: "GET", path: "/v1/webhooks/" + ids[0], key: reader.Key})
		w, _ := r.data()["webhook"].(map[string]any)
		if r.Status != 200 || w["id"] != ids[0] || w["updated_at"] == nil || w["last_delivery_status"] != nil {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
		if _, has := w["secret"]; has {
			t.Error("get shows the secret")
		}
	})

	notFound := []struct{ name, id string }{
		{"unknown", uuid.NewString()},
		{"malformed", "not-a-uuid"},
		{"upper case", "ABC"},
	}
	t.Run("not found", func(t *testing.T) {
		for _, nf := range notFound {
			for _, rq := range []req{
				{method: "GET", path: "/v1/webhooks/" + nf.id, key: k.Key},
				{method: "PATCH", path: "/v1/webhooks/" + nf.id, key: k.Key, body: `{"active": false}`},
				{method: "DELETE", path: "/v1/webhooks/" + nf.id, key: k.Key},
				{method: "POST", path: "/v1/webhooks/" + nf.id + "/rotate-secret", key: k.Key},
			} {
				if r := g.do(rq); r.Status != 404 || r.errCode() != "webhook_not_found" {
					t.Errorf("%s %s (%s): %d %s", rq.method, rq.path, nf.name, r.Status, r.Raw)
				}
			}
		}
		// Another workspace's webhook is a 404, and stays untouched.
		for _, rq := range []req{
			{method: "GET", path: "/v1/webhooks/" + ids[0], key: stranger.Key},
			{method: "PATCH", path: "/v1/webhooks/" + ids[0], key: stranger.Key, body: `{"active": false}`},
			{method: "DELETE", path: "/v1/webhooks/" + ids[0], key: stranger.Key},
			{method: "POST", path: "/v1/webhooks/" + ids[0] + "/rotate-secret", key: stranger.Key},
		} {
			if r := g.do(rq); r.Status != 404 || r.errCode() != "webhook_not_found" {
				t.Errorf("cross-workspace %s: %d %s", rq.method, r.Status, r.Raw)
			}
		}
		if r := g.do(req{method: "GET", path: "/v1/webhooks/" + ids[0], key: k.Key}); r.data()["webhook"].(map[string]any)["active"] != true {
			t.Errorf("a cross-workspace PATCH changed the webhook: %s", r.Raw)
		}
	})

	t.Run("patch", func(t *testing.T) {
		var before string
		_ = e.pool.QueryRow(context.Background(), "select secret_ciphertext from webhooks where id = $1", ids[0]).Scan(&before)
		r := g.do(req{method: "PATCH", path: "/v1/webhooks/" + ids[0], key: k.Key,
			body: `{"url": "https://93.184.215.14/life/new", "events": ["deal.created", "deal.updated"], "description": "changed", "active": false}`})
		w, _ := r.data()["webhook"].(map[string]any)
		if r.Status != 200 || w["url"] != "https://93.184.215.14/life/new" || w["description"] != "changed" || w["active"] != false ||
			fmt.Sprint(w["events"]) != "[deal.created deal.updated]" || w["updated_at"] == w["created_at"] {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
		var after string
		_ = e.pool.QueryRow(context.Background(), "select secret_ciphertext from webhooks where id = $1", ids[0]).Scan(&after)
		if after != before {
			t.Error("PATCH changed the secret")
		}
		bad := []struct {
			body, code string
		}{
			{`{}`, "validation_error"},
			{`{"url": "http://93.184.215.14/x"}`, "invalid_url"},
			{`{"url": "https://10.0.0.1/x"}`, "invalid_url"},
			{`{"events": []}`, "invalid_events"},
			{`{"events": ["nope"]}`, "invalid_events"},
			{`{"active": "no"}`, "validation_error"},
			{`{"secret": "mine"}`, "validation_error"},
			{`{"url": "https://93.184.215.14/life/1"}`, "duplicate_webhook"},
		}
		for _, b := range bad {
			r := g.do(req{method: "PATCH", path: "/v1/webhooks/" + ids[0], key: k.Key, body: b.body})
			if r.errCode() != b.code {
				t.Errorf("%s: %d %s, want %s", b.body, r.Status, r.Raw, b.code)
			}
		}
		if r := g.do(req{method: "PATCH", path: "/v1/webhooks/" + ids[0], key: reader.Key, body: `{"active": true}`}); r.Status != 403 {
			t.Errorf("reader patched: %d", r.Status)
		}
		// The bad requests changed nothing.
		r = g.do(req{method: "GET", path: "/v1/webhooks/" + ids[0], key: k.Key})
		if w := r.data()["webhook"].(map[string]any); w["url"] != "https://93.184.215.14/life/new" || w["active"] != false {
			t.Errorf("after bad PATCHes: %s", r.Raw)
		}
	})

	t.Run("rotate secret", func(t *testing.T) {
		r := g.do(req{method: "POST", path: "/v1/webhooks/" + ids[1] + "/rotate-secret", key: k.Key, body: `{"expire_previous_in_seconds": 3600}`})
		w, _ := r.data()["webhook"].(map[string]any)
		secret, _ := w["secret"].(string)
		if r.Status != 200 || !secretRE.MatchString(secret) || w["previous_secret_expires_at"] == nil {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
		exp, _ := time.Parse(time.RFC3339, w["previous_secret_expires_at"].(string))
		if d := time.Until(exp); d < 59*time.Minute || d > 61*time.Minute {
			t.Errorf("previous secret expires in %s, want 1h", d)
		}
		var cur, prev string
		_ = e.pool.QueryRow(context.Background(), "select secret_ciphertext, coalesce(previous_secret_ciphertext, '') from webhooks where id = $1", ids[1]).Scan(&cur, &prev)
		if prev == "" || cur == prev {
			t.Error("previous secret not kept")
		}
		// Another rotation during that overlap would push the previous
		// secret out early: refused.
		r = g.do(req{method: "POST", path: "/v1/webhooks/" + ids[1] + "/rotate-secret", key: k.Key})
		if r.Status != 409 || r.errCode() != "rotation_in_progress" {
			t.Errorf("rotation during the overlap: %d %s", r.Status, r.Raw)
		}
		// No body: the default overlap of 24 h.
		r = g.do(req{method: "POST", path: "/v1/webhooks/" + ids[0] + "/rotate-secret", key: k.Key})
		if r.Status != 200 {
			t.Fatalf("default overlap: %d %s", r.Status, r.Raw)
		}
		exp, _ = time.Parse(time.RFC3339, r.data()["webhook"].(map[string]any)["previous_secret_expires_at"].(string))
		if time.Until(exp) < 23*time.Hour {
			t.Errorf("default overlap: %d %s", r.Status, r.Raw)
		}
		// Ending the overlap now is always allowed.
		if r := g.do(req{method: "POST", path: "/v1/webhooks/" + ids[1] + "/rotate-secret", key: k.Key, body: `{"expire_previous_in_seconds": 0}`}); r.Status != 200 {
			t.Errorf("rotation ending the overlap: %d %s", r.Status, r.Raw)
		}
		if r := g.do(req{method: "POST", path: "/v1/webhooks/" + ids[1] + "/rotate-secret", key: k.Key, body: `{"expire_previous_in_seconds": -1}`}); r.errCode() != "validation_error" {
			t.Errorf("negative overlap: %d %s", r.Status, r.Raw)
		}
		// Never shown again.
		r = g.do(req{method: "GET", path: "/v1/webhooks/" + ids[1], key: k.Key})
		if _, has := r.data()["webhook"].(map[string]any)["secret"]; has {
			t.Error("get shows the rotated secret")
		}
	})

	t.Run("delete", func(t *testing.T) {
		r := g.do(req{method: "DELETE", path: "/v1/webhooks/" + ids[2], key: k.Key})
		if r.Status != 200 || r.data()["deleted"] != true || r.data()["id"] != ids[2] {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
		if r := g.do(req{method: "GET", path: "/v1/webhooks/" + ids[2], key: k.Key}); r.Status != 404 {
			t.Errorf("deleted webhook still there: %d", r.Status)
		}
		if r := g.do(req{method: "DELETE", path: "/v1/webhooks/" + ids[2], key: k.Key}); r.Status != 404 {
			t.Errorf("second delete: %d", r.Status)
		}
		// Its URL is free again.
		if r := g.create(k, hookBody("https://93.184.215.14/life/2")); r.Status != 201 {
			t.Errorf("recreate: %d %s", r.Status, r.Raw)
		}
	})
}

func TestConcurrentPatchesToOneURL(t *testing.T) {
	e, k, g := startWithKey(t, "webhooks:write", "--tier", "unmetered")
	const n = 10
	ids := make([]string, n)
	for i := range n {
		ids[i] = g.createHook(k, hookBody(fmt.Sprintf("https://93.184.215.14/p/%d", i)))
	}
	results := concurrently(n, func(i int) reply {
		return g.do(req{method: "PATCH", path: "/v1/webhooks/" + ids[i], key: k.Key, body: `{"url": "https://93.184.215.14/p/same"}`})
	})
	won := 0
	for _, r := range results {
		switch {
		case r.Status == 200:
			won++
		case r.Status == 409 && r.errCode() == "duplicate_webhook":
		default:
			t.Errorf("unexpected %d %s", r.Status, r.Raw)
		}
	}
	var holders int
	_ = e.pool.QueryRow(context.Background(), "select count(*) from webhooks where url = 'https://93.184.215.14/p/same'").Scan(&holders)
	if won != 1 || holders != 1 {
		t.Fatalf("%d PATCHes won, %d rows hold the URL; want 1 and 1", won, holders)
	}
}
