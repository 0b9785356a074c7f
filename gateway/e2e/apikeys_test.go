package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestAPIKeysOverTheAPI(t *testing.T) {
	e := newEnv(t)
	admin := e.createKey(workspaceA, "admin:api_keys,webhooks:write,events:read", "--plan", "pro", "--tier", "high")
	plain := e.createKey(workspaceA, "webhooks:write", "--tier", "unmetered")
	stranger := e.createKey(uuid.NewString(), "admin:api_keys", "--tier", "unmetered")
	g := e.start(nil)

	expires := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
	r := g.do(req{method: "POST", path: "/v1/api-keys", key: admin.Key,
		body: `{"name": "sync", "permissions": ["webhooks:read", "events:read"], "description": "read-only", "rate_limit_tier": "standard", "expires_at": "` + expires + `"}`})
	if r.Status != http.StatusCreated {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	created := r.data()
	newKey, _ := created["key"].(string)
	newID, _ := created["id"].(string)
	if len(newKey) != 56 || created["rate_limit_tier"] != "standard" || created["expires_at"] != expires || r.Header.Get("Location") != base+"/v1/api-keys/"+newID {
		t.Fatalf("created %s (Location %q)", r.Raw, r.Header.Get("Location"))
	}
	// The new key works, with exactly what it was given.
	if r := g.do(req{method: "GET", path: "/v1/webhooks", key: newKey}); r.Status != 200 {
		t.Errorf("new key cannot read webhooks: %d %s", r.Status, r.Raw)
	}
	if r := g.create(key{Key: newKey}, hookBody("https://93.184.215.14/k")); r.Status != 403 {
		t.Errorf("new key can write webhooks: %d", r.Status)
	}

	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			name   string
			k      string
			body   string
			status int
			code   string
		}{
			{"not admin", plain.Key, `{"name": "x", "permissions": ["webhooks:read"]}`, 403, "insufficient_permissions"},
			{"grants what it lacks", admin.Key, `{"name": "x", "permissions": ["events:publish"]}`, 403, "insufficient_permissions"},
			{"higher tier", admin.Key, `{"name": "x", "permissions": ["webhooks:read"], "rate_limit_tier": "unmetered"}`, 403, "insufficient_permissions"},
			{"unknown permission", admin.Key, `{"name": "x", "permissions": ["webhooks:delete"]}`, 400, "validation_error"},
			{"no permissions", admin.Key, `{"name": "x", "permissions": []}`, 400, "validation_error"},
			{"missing name", admin.Key, `{"permissions": ["webhooks:read"]}`, 400, "missing_required_field"},
			{"past expiry", admin.Key, `{"name": "x", "permissions": ["webhooks:read"], "expires_at": "2020-01-01T00:00:00Z"}`, 400, "validation_error"},
			{"bad expiry", admin.Key, `{"name": "x", "permissions": ["webhooks:read"], "expires_at": "tomorrow"}`, 400, "validation_error"},
			{"unknown field", admin.Key, `{"name": "x", "permissions": ["webhooks:read"], "workspace_id": "` + uuid.NewString() + `"}`, 400, "validation_error"},
		}
		before := e.count("api_keys", "")
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := g.do(req{method: "POST", path: "/v1/api-keys", key: tt.k, body: tt.body})
				if r.Status != tt.status || r.errCode() != tt.code {
					t.Fatalf("%d %s, want %d %s", r.Status, r.Raw, tt.status, tt.code)
				}
			})
		}
		if after := e.count("api_keys", ""); after != before {
			t.Errorf("rejected requests wrote %d keys", after-before)
		}
	})

	t.Run("list", func(t *testing.T) {
		r := g.do(req{method: "GET", path: "/v1/api-keys", key: admin.Key})
		list := apiKeys(t, r)
		if r.Status != 200 || len(list) != 3 || r.Body["meta"].(map[string]any)["total"] != float64(3) {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
		for _, k := range list {
			if _, has := k.(map[string]any)["key"]; has {
				t.Fatalf("list shows a key: %s", r.Raw)
			}
		}
		if r := g.do(req{method: "GET", path: "/v1/api-keys", key: stranger.Key}); r.Body["meta"].(map[string]any)["total"] != float64(1) {
			t.Errorf("stranger sees: %s", r.Raw)
		}
		if r := g.do(req{method: "GET", path: "/v1/api-keys?include_revoked=maybe", key: admin.Key}); r.Status != 400 {
			t.Errorf("bad include_revoked: %d", r.Status)
		}
	})

	t.Run("revoke", func(t *testing.T) {
		if r := g.do(req{method: "DELETE", path: "/v1/api-keys/" + newID, key: stranger.Key}); r.Status != 404 || r.errCode() != "not_found" {
			t.Errorf("cross-workspace revoke: %d %s", r.Status, r.Raw)
		}
		r := g.do(req{method: "DELETE", path: "/v1/api-keys/" + newID, key: admin.Key})
		if r.Status != 200 || r.data()["revoked"] != true {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
		// This instance forgets the key at once.
		if r := g.do(req{method: "GET", path: "/v1/webhooks", key: newKey}); r.Status != 401 {
			t.Errorf("revoked key still works: %d", r.Status)
		}
		if r := g.do(req{method: "GET", path: "/v1/api-keys", key: admin.Key}); len(apiKeys(t, r)) != 2 {
			t.Errorf("revoked key still listed: %s", r.Raw)
		}
		r = g.do(req{method: "GET", path: "/v1/api-keys?include_revoked=true", key: admin.Key})
		if len(apiKeys(t, r)) != 3 {
			t.Errorf("include_revoked: %s", r.Raw)
		}
		for _, id := range []string{uuid.NewString(), "nope"} {
			if r := g.do(req{method: "DELETE", path: "/v1/api-keys/" + id, key: admin.Key}); r.Status != 404 {
				t.Errorf("revoke %s: %d", id, r.Status)
			}
		}
	})
}

func TestEventCatalog(t *testing.T) {
	e := newEnv(t)
	reader := e.createKey(workspaceA, "events:read", "--tier", "unmetered")
	hooks := e.createKey(workspaceA, "webhooks:write", "--tier", "unmetered")
	publisher := e.createKey(workspaceA, "events:publish", "--tier", "unmetered")
	g := e.start(nil)
	for _, k := range []key{reader, hooks} {
		r := g.do(req{method: "GET", path: "/v1/events/catalog", key: k.Key})
		events, _ := r.data()["events"].([]any)
		if r.Status != 200 || len(events) != 28 || r.data()["total"] != float64(28) {
			t.Fatalf("%d, %d events, total %v", r.Status, len(events), r.data()["total"])
		}
		for _, ev := range events {
			m := ev.(map[string]any)
			for _, f := range []string{"type", "category", "description", "data_schema", "example_payload", "introduced_in", "stability"} {
				if m[f] == nil {
					t.Errorf("%v lacks %s", m["type"], f)
				}
			}
		}
	}
	r := g.do(req{method: "GET", path: "/v1/events/catalog?category=deal", key: reader.Key})
	if r.data()["total"] != float64(5) {
		t.Errorf("deal events: %s", r.Raw)
	}
	if r := g.do(req{method: "GET", path: "/v1/events/catalog?category=spaceship", key: reader.Key}); r.Status != 400 || r.errCode() != "validation_error" {
		t.Errorf("unknown category: %d %s", r.Status, r.Raw)
	}
	if r := g.do(req{method: "GET", path: "/v1/events/catalog", key: publisher.Key}); r.Status != 403 {
		t.Errorf("publisher reads the catalog: %d", r.Status)
	}
}

func TestOpenAPIDocumentIsServedWithoutAuth(t *testing.T) {
	e := newEnv(t)
	g := e.start(nil)
	r := g.do(req{method: "GET", path: "/v1/openapi.json"})
	paths, _ := r.Body["paths"].(map[string]any)
	if r.Status != 200 || r.Body["openapi"] != "3.1.0" || len(paths) < 8 {
		t.Fatalf("%d %.300s", r.Status, r.Raw)
	}
	for _, p := range []string{"/v1/webhooks", "/v1/webhooks/{id}", "/v1/webhooks/{id}/rotate-secret", "/v1/events/catalog", "/v1/api-keys", "/v1/api-keys/{id}"} {
		if paths[p] == nil {
			t.Errorf("document lacks %s", p)
		}
	}
	servers := fmt.Sprint(r.Body["servers"])
	if servers != "[map[url:"+base+"]]" {
		t.Errorf("servers = %s", servers)
	}
}
