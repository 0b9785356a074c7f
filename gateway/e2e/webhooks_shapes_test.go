package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"
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
	_, admin, g := startWithKey(t, "webhooks:write", "--tier", "unmetered")

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

// TestDeliveryLogEntries: each log entry is one attempt with its own
// outcome; a delivery waiting for its next attempt adds one entry on top
// (pending, the coming attempt, next_attempt_at, null response fields);
// ?status=failed finds every failed attempt and pages count the same
// entries. Before, the retried failure itself was listed as pending.
func TestDeliveryLogEntries(t *testing.T) {
	d := newDeliveryEnv(t, 1, map[string]string{"DELIVERY_RETRY_SCHEDULE": "1h"})
	d.rc.answer = func(int, *http.Request) (int, http.Header) { return http.StatusInternalServerError, nil }
	hookID, _ := d.hook(t, "/log-entries", "deal.created")
	d.publish(t, "deal.created", `{"id": "d-9"}`)
	waitFor(t, 20*time.Second, "the first attempt", func() bool { return len(d.rc.got()) == 1 })
	waitFor(t, 5*time.Second, "the attempt in the log", func() bool { return len(d.logs(t, hookID, "?status=failed")) == 1 })

	r := d.g.do(req{method: "GET", path: "/v1/webhooks/" + hookID + "/logs", key: d.admin.Key})
	logs := r.items(t, "logs")
	if len(logs) != 2 || r.Body["meta"].(map[string]any)["total"] != float64(2) {
		t.Fatalf("logs: %s", r.Raw)
	}
	waiting, failed := logs[0].(map[string]any), logs[1].(map[string]any)
	next, err := time.Parse(time.RFC3339, fmt.Sprint(waiting["next_attempt_at"]))
	if waiting["status"] != "pending" || waiting["attempt"] != float64(2) || err != nil || time.Until(next) < 50*time.Minute {
		t.Errorf("waiting entry %v", waiting)
	}
	for _, k := range []string{"response_status_code", "response_body", "duration_ms", "error", "delivered_at"} {
		if v, ok := waiting[k]; !ok || v != nil {
			t.Errorf("waiting entry %s = %v (present %v), want null", k, v, ok)
		}
	}
	if failed["status"] != "failed" || failed["attempt"] != float64(1) || failed["response_status_code"] != float64(500) ||
		failed["error"] != "http_error" || failed["next_attempt_at"] != nil || failed["delivered_at"] == nil ||
		failed["delivery_id"] != waiting["delivery_id"] {
		t.Errorf("attempt entry %v", failed)
	}
	for _, tc := range []struct {
		query string
		want  []string
		total float64
	}{
		{"?status=failed", []string{"failed"}, 1},
		{"?status=pending", []string{"pending"}, 1},
		{"?status=success", []string{}, 0},
		{"?per_page=1", []string{"pending"}, 2},
		{"?per_page=1&page=2", []string{"failed"}, 2},
		{"?per_page=1&page=3", []string{}, 2},
	} {
		r := d.g.do(req{method: "GET", path: "/v1/webhooks/" + hookID + "/logs" + tc.query, key: d.admin.Key})
		got := []string{}
		for _, e := range r.items(t, "logs") {
			got = append(got, e.(map[string]any)["status"].(string))
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) || r.Body["meta"].(map[string]any)["total"] != tc.total {
			t.Errorf("%s: %v (meta %v), want %v total %v", tc.query, got, r.Body["meta"], tc.want, tc.total)
		}
	}
}
