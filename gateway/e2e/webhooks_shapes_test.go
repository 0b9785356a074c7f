package e2e

import (
	"testing"
)

// items returns the list under data.<name> of a list answer, failing the
// test unless "data" is an object holding exactly that one key (contract
// §4.1: a list sits under its plural name, with meta beside data).
func (r reply) items(t *testing.T, name string) []any {
	t.Helper()
	d, ok := r.Body["data"].(map[string]any)
	if !ok || len(d) != 1 {
		t.Fatalf("data is not {%q: [...]}: %d %s", name, r.Status, r.Raw)
	}
	list, ok := d[name].([]any)
	if !ok {
		t.Fatalf("data.%s is not an array: %d %s", name, r.Status, r.Raw)
	}
	if _, ok := r.Body["meta"].(map[string]any); !ok {
		t.Fatalf("no meta beside data: %s", r.Raw)
	}
	return list
}

// TestWebhookListShapes: GET /v1/webhooks answers {"data": {"webhooks":
// [...]}, "meta": ...} and GET .../logs {"data": {"logs": [...]}, "meta": ...},
// also when empty.
func TestWebhookListShapes(t *testing.T) {
	e := newEnv(t)
	admin := e.createKey(workspaceA, "webhooks:write", "--tier", "unmetered")
	g := e.start(nil)

	if list := g.do(req{method: "GET", path: "/v1/webhooks", key: admin.Key}).items(t, "webhooks"); len(list) != 0 {
		t.Errorf("empty workspace lists %d webhooks", len(list))
	}
	r := g.do(req{method: "POST", path: "/v1/webhooks", key: admin.Key,
		body: `{"url": "https://93.184.215.14/shapes", "events": ["contact.created"]}`})
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Raw)
	}
	id := r.webhook()["id"].(string)
	r = g.do(req{method: "GET", path: "/v1/webhooks", key: admin.Key})
	list := r.items(t, "webhooks")
	if len(list) != 1 || list[0].(map[string]any)["id"] != id {
		t.Errorf("list: %s", r.Raw)
	}
	if meta := r.Body["meta"].(map[string]any); meta["total"] != float64(1) || meta["page"] != float64(1) || meta["per_page"] != float64(50) {
		t.Errorf("meta: %s", r.Raw)
	}
	r = g.do(req{method: "GET", path: "/v1/webhooks/" + id + "/logs", key: admin.Key})
	if logs := r.items(t, "logs"); len(logs) != 0 || r.Body["meta"].(map[string]any)["total"] != float64(0) {
		t.Errorf("logs of a new webhook: %s", r.Raw)
	}
}
