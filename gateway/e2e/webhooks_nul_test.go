package e2e

import (
	"testing"
)

// TestStoredStringsRefuseNUL: a NUL character (U+0000, which PostgreSQL
// refuses in text and jsonb) anywhere in a body, and a body that is not
// UTF-8, are 400 before anything reaches the database, naming the field,
// on every route that stores strings. Before the rule they were 503/500.
func TestStoredStringsRefuseNUL(t *testing.T) {
	_, admin, g := startWithKey(t, "webhooks:write,events:publish,admin:api_keys", "--tier", "unmetered")
	id := g.createHook(admin, `{"url": "https://93.184.215.14/nul", "events": ["contact.created"]}`)

	for _, tc := range []struct {
		name, method, path, body string
		code, field              string
	}{
		{"create description", "POST", "/v1/webhooks", `{"url": "https://93.184.215.14/a", "events": ["contact.created"], "description": "a\u0000b"}`, "validation_error", "description"},
		{"create url", "POST", "/v1/webhooks", `{"url": "https://93.184.215.14/a\u0000", "events": ["contact.created"]}`, "validation_error", "url"},
		{"create events", "POST", "/v1/webhooks", `{"url": "https://93.184.215.14/a", "events": ["contact.created", "\u0000"]}`, "validation_error", "events[1]"},
		{"patch description", "PATCH", "/v1/webhooks/" + id, `{"description": "\u0000"}`, "validation_error", "description"},
		{"api key name", "POST", "/v1/api-keys", `{"name": "n\u0000", "permissions": ["webhooks:read"], "rate_limit_tier": "standard"}`, "validation_error", "name"},
		{"api key description", "POST", "/v1/api-keys", `{"name": "n", "description": "\u0000", "permissions": ["webhooks:read"], "rate_limit_tier": "standard"}`, "validation_error", "description"},
		{"event data nested", "POST", "/v1/events", `{"type": "contact.created", "data": {"contact": {"tags": ["ok", "x\u0000y"]}}}`, "validation_error", "data.contact.tags[1]"},
		{"event data key", "POST", "/v1/events", `{"type": "contact.created", "data": {"a\u0000": 1}}`, "validation_error", `data.a\x00`},
		{"invalid UTF-8", "PATCH", "/v1/webhooks/" + id, "{\"description\": \"\xff\xfe\"}", "invalid_json", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := g.do(req{method: tc.method, path: tc.path, key: admin.Key, body: tc.body})
			if r.Status != 400 || r.errCode() != tc.code {
				t.Fatalf("%d %s, want 400 %s", r.Status, r.Raw, tc.code)
			}
			if tc.field != "" && r.errDetails()["field"] != tc.field {
				t.Errorf("details.field = %v, want %q", r.errDetails()["field"], tc.field)
			}
		})
	}
	// Nothing was written: still one webhook, its description unchanged.
	r := g.do(req{method: "GET", path: "/v1/webhooks/" + id, key: admin.Key})
	if r.Status != 200 || r.webhook()["description"] != "" {
		t.Errorf("webhook after the refused writes: %d %s", r.Status, r.Raw)
	}
	if list := g.do(req{method: "GET", path: "/v1/webhooks", key: admin.Key}).items(t, "webhooks"); len(list) != 1 {
		t.Errorf("%d webhooks after refused creates, want 1", len(list))
	}
	// A lone surrogate decodes to U+FFFD, which is stored and read back.
	r = g.do(req{method: "PATCH", path: "/v1/webhooks/" + id, key: admin.Key, body: `{"description": "a\ud800b"}`})
	if r.Status != 200 || r.webhook()["description"] != "a\uFFFDb" {
		t.Errorf("lone surrogate: %d %s", r.Status, r.Raw)
	}
}
