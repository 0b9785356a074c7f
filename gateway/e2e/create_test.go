package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

const workspaceA = "0b9d7a52-5c1e-4f0e-9a51-3c2f1d6e7a10"

var (
	secretRE = regexp.MustCompile(`^whsec_[0-9a-f]{48}$`)
	uuidRE   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
)

func TestCreateWebhookSuccess(t *testing.T) {
	e, k, g := startWithKey(t, "webhooks:write", "--plan", "org")

	before := time.Now().UTC().Truncate(time.Second)
	r := g.create(k, `{"url": "https://93.184.215.14/leadlex/webhook", "events": ["contact.created", "deal.updated"], "description": "Production CRM sync", "active": true}`)
	if r.Status != http.StatusCreated {
		t.Fatalf("status %d: %s", r.Status, r.Raw)
	}
	w := r.webhook()
	if w == nil {
		t.Fatalf("no data.webhook in %s", r.Raw)
	}
	id, _ := w["id"].(string)
	if !uuidRE.MatchString(id) {
		t.Errorf("id %q is not a lowercase canonical UUID", id)
	}
	if got := r.Header.Get("Location"); got != base+"/v1/webhooks/"+id {
		t.Errorf("Location = %q", got)
	}
	if s, _ := w["secret"].(string); !secretRE.MatchString(s) {
		t.Errorf("secret %q is not whsec_ + 48 hex", s)
	}
	created, err := time.Parse(time.RFC3339, w["created_at"].(string))
	if err != nil || !strings.HasSuffix(w["created_at"].(string), "Z") || strings.Contains(w["created_at"].(string), ".") {
		t.Errorf("created_at %q is not RFC 3339 UTC with second precision", w["created_at"])
	}
	if created.Before(before) || created.After(time.Now().Add(time.Second)) {
		t.Errorf("created_at %s is not now", created)
	}
	want := map[string]any{"url": "https://93.184.215.14/leadlex/webhook", "description": "Production CRM sync", "active": true,
		"events": []any{"contact.created", "deal.updated"}}
	for f, v := range want {
		if fmt.Sprint(w[f]) != fmt.Sprint(v) {
			t.Errorf("%s = %v, want %v", f, w[f], v)
		}
	}
	var keys []string
	for f := range w {
		keys = append(keys, f)
	}
	if len(w) != 7 {
		t.Errorf("webhook has fields %v, want exactly id url events description active secret created_at", keys)
	}
	// Rate-limit headers describe the daily window.
	if r.Header.Get("X-RateLimit-Limit") != "10000" || r.Header.Get("X-RateLimit-Remaining") != "9999" {
		t.Errorf("rate-limit headers %v", r.Header)
	}
	y, m, d := time.Now().UTC().Date()
	if r.Header.Get("X-RateLimit-Reset") != strconv.FormatInt(time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC).Unix(), 10) {
		t.Errorf("X-RateLimit-Reset = %s", r.Header.Get("X-RateLimit-Reset"))
	}
	if n := e.count("webhooks", workspaceA); n != 1 {
		t.Fatalf("%d rows, want 1", n)
	}

	t.Run("defaults", func(t *testing.T) {
		r := g.create(k, hookBody("https://93.184.215.14/defaults"))
		w := r.webhook()
		if r.Status != 201 || w["active"] != true || w["description"] != "" {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
	})
	t.Run("inactive, any port, IPv6", func(t *testing.T) {
		r := g.create(k, `{"url": "https://[2606:2800:220:1:248:1893:25c8:1946]:8443/x", "events": ["task.approved"], "active": false}`)
		if r.Status != 201 || r.webhook()["active"] != false {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
	})
	t.Run("duplicate after normalising scheme, host case and default port", func(t *testing.T) {
		for _, u := range []string{"https://93.184.215.14/leadlex/webhook", "HTTPS://93.184.215.14:443/leadlex/webhook"} {
			r := g.create(k, hookBody(u))
			if r.Status != 409 || r.errCode() != "duplicate_webhook" {
				t.Errorf("%s: %d %s", u, r.Status, r.Raw)
			}
		}
		// A different path is a different webhook.
		if r := g.create(k, hookBody("https://93.184.215.14/leadlex/Webhook")); r.Status != 201 {
			t.Errorf("path case: %d %s", r.Status, r.Raw)
		}
	})
	t.Run("same URL in another workspace", func(t *testing.T) {
		other := e.createKey(uuid.NewString(), "webhooks:write")
		if r := g.create(other, hookBody("https://93.184.215.14/leadlex/webhook")); r.Status != 201 {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
	})
}

func TestCreateWebhookRejectsBadInput(t *testing.T) {
	e := newEnv(t)
	k := e.createKey(workspaceA, "webhooks:write", "--plan", "org", "--tier", "unmetered")
	reader := e.createKey(workspaceA, "webhooks:read,events:publish", "--tier", "unmetered")
	g := e.start(nil)

	desc := func(n int) string { return strings.Repeat("é", n) }
	tests := []struct {
		name    string
		r       req
		status  int
		code    string
		details map[string]any
	}{
		{"malformed JSON", req{body: `{"url": "https://93.184.215.14/a",`}, 400, "invalid_json", nil},
		{"trailing garbage", req{body: hookBody("https://93.184.215.14/a") + "x"}, 400, "invalid_json", nil},
		{"empty body", req{ctype: "application/json"}, 400, "invalid_json", nil},
		{"array body", req{body: `[]`}, 400, "validation_error", nil},
		{"text/plain", req{body: hookBody("https://93.184.215.14/a"), ctype: "text/plain"}, 415, "unsupported_media_type", nil},
		{"form", req{body: "url=x", ctype: "application/x-www-form-urlencoded"}, 415, "unsupported_media_type", nil},
		// Sent as a careful client sends a large body, with Expect: the 413
		// comes before the body. Without it the client may still be writing
		// when the server, which answers at once and reads no further (see
		// middleware.AbandonUnreadBody), closes: on a loaded machine the
		// reset could then beat the answer. slow_body_test covers the
		// answer to a body that is sent anyway.
		{"oversized", req{body: `{"url": "https://93.184.215.14/a", "events": ["contact.created"], "description": "` + strings.Repeat("a", 70<<10) + `"}`,
			headers: map[string]string{"Expect": "100-continue"}}, 413, "payload_too_large", nil},
		{"unknown field", req{body: `{"url": "https://93.184.215.14/a", "events": ["contact.created"], "secret": "mine"}`}, 400, "validation_error", map[string]any{"field": "secret"}},
		{"url not a string", req{body: `{"url": 5, "events": ["contact.created"]}`}, 400, "validation_error", map[string]any{"field": "url"}},
		{"events not an array", req{body: `{"url": "https://93.184.215.14/a", "events": "contact.created"}`}, 400, "validation_error", map[string]any{"field": "events"}},
		{"event not a string", req{body: `{"url": "https://93.184.215.14/a", "events": [{}]}`}, 400, "validation_error", map[string]any{"field": "events"}},
		{"active not a boolean", req{body: `{"url": "https://93.184.215.14/a", "events": ["contact.created"], "active": "yes"}`}, 400, "validation_error", map[string]any{"field": "active"}},
		{"description not a string", req{body: `{"url": "https://93.184.215.14/a", "events": ["contact.created"], "description": 5}`}, 400, "validation_error", map[string]any{"field": "description"}},
		{"description 201 characters", req{body: `{"url": "https://93.184.215.14/a", "events": ["contact.created"], "description": "` + desc(201) + `"}`}, 400, "validation_error", map[string]any{"field": "description"}},
		{"missing url", req{body: `{"events": ["contact.created"]}`}, 400, "missing_required_field", map[string]any{"fields": []any{"url"}}},
		{"null url", req{body: `{"url": null, "events": ["contact.created"]}`}, 400, "missing_required_field", map[string]any{"fields": []any{"url"}}},
		{"missing both", req{body: `{}`}, 400, "missing_required_field", map[string]any{"fields": []any{"url", "events"}}},
		{"empty events", req{body: `{"url": "https://93.184.215.14/a", "events": []}`}, 400, "invalid_events", nil},
		{"unknown event", req{body: hookBody("https://93.184.215.14/a", "contact.created", "contact.exploded")}, 400, "invalid_events", map[string]any{"invalid": []any{"contact.exploded"}}},
		{"repeated event", req{body: hookBody("https://93.184.215.14/a", "deal.updated", "deal.updated")}, 400, "invalid_events", nil},
		{"http", req{body: hookBody("http://93.184.215.14/a")}, 400, "invalid_url", nil},
		{"not a URL", req{body: hookBody("not a url")}, 400, "invalid_url", nil},
		{"no host", req{body: hookBody("https:///path")}, 400, "invalid_url", nil},
		{"userinfo", req{body: hookBody("https://user:pw@93.184.215.14/a")}, 400, "invalid_url", nil},
		{"user only", req{body: hookBody("https://user@93.184.215.14/a")}, 400, "invalid_url", nil},
		{"too long", req{body: hookBody("https://93.184.215.14/" + strings.Repeat("a", 2048))}, 400, "invalid_url", nil},
		{"localhost", req{body: hookBody("https://localhost/a")}, 400, "invalid_url", nil},
		{"sub.localhost", req{body: hookBody("https://api.localhost/a")}, 400, "invalid_url", nil},
		{"unresolvable name", req{body: hookBody("https://no-such-host.invalid/a")}, 400, "invalid_url", nil},
		{"loopback", req{body: hookBody("https://127.0.0.1/a")}, 400, "invalid_url", nil},
		{"decimal loopback", req{body: hookBody("https://2130706433/")}, 400, "invalid_url", nil},
		{"hex loopback", req{body: hookBody("https://0x7f.1/")}, 400, "invalid_url", nil},
		{"octal loopback", req{body: hookBody("https://0177.0.0.1/")}, 400, "invalid_url", nil},
		{"short loopback", req{body: hookBody("https://127.1/")}, 400, "invalid_url", nil},
		{"RFC 1918 10/8", req{body: hookBody("https://10.1.2.3/a")}, 400, "invalid_url", nil},
		{"RFC 1918 172.16/12", req{body: hookBody("https://172.20.0.1/a")}, 400, "invalid_url", nil},
		{"RFC 1918 192.168/16", req{body: hookBody("https://192.168.1.1/a")}, 400, "invalid_url", nil},
		{"cloud metadata", req{body: hookBody("https://169.254.169.254/latest/meta-data")}, 400, "invalid_url", nil},
		{"CGNAT", req{body: hookBody("https://100.64.0.1/a")}, 400, "invalid_url", nil},
		{"unspecified", req{body: hookBody("https://0.0.0.0/a")}, 400, "invalid_url", nil},
		{"broadcast", req{body: hookBody("https://255.255.255.255/a")}, 400, "invalid_url", nil},
		{"multicast", req{body: hookBody("https://224.0.0.1/a")}, 400, "invalid_url", nil},
		{"documentation", req{body: hookBody("https://192.0.2.10/a")}, 400, "invalid_url", nil},
		{"reserved", req{body: hookBody("https://240.0.0.1/a")}, 400, "invalid_url", nil},
		{"IPv6 loopback", req{body: hookBody("https://[::1]/a")}, 400, "invalid_url", nil},
		{"IPv6 link-local", req{body: hookBody("https://[fe80::1]/a")}, 400, "invalid_url", nil},
		{"IPv6 unique-local", req{body: hookBody("https://[fd00::1]/a")}, 400, "invalid_url", nil},
		{"IPv4-mapped private", req{body: hookBody("https://[::ffff:10.0.0.1]/")}, 400, "invalid_url", nil},
		{"IPv4-mapped loopback hex", req{body: hookBody("https://[::ffff:7f00:1]/")}, 400, "invalid_url", nil},
		{"NAT64 private", req{body: hookBody("https://[64:ff9b::a00:1]/")}, 400, "invalid_url", nil},
		{"6to4 private", req{body: hookBody("https://[2002:c0a8:101::1]/")}, 400, "invalid_url", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.r.method, tt.r.path, tt.r.key = "POST", "/v1/webhooks", k.Key
			r := g.do(tt.r)
			if r.Status != tt.status || r.errCode() != tt.code {
				t.Fatalf("got %d %s, want %d %s", r.Status, r.Raw, tt.status, tt.code)
			}
			for f, want := range tt.details {
				if got, _ := json.Marshal(r.errDetails()[f]); string(got) != mustJSON(want) {
					t.Errorf("details.%s = %s, want %s", f, got, mustJSON(want))
				}
			}
		})
	}
	t.Run("description of exactly 200 characters is fine", func(t *testing.T) {
		r := g.create(k, `{"url": "https://93.184.215.14/desc200", "events": ["contact.created"], "description": "`+desc(200)+`"}`)
		if r.Status != 201 {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
	})
	t.Run("key without webhooks:write", func(t *testing.T) {
		r := g.create(reader, hookBody("https://93.184.215.14/reader"))
		if r.Status != 403 || r.errCode() != "insufficient_permissions" || r.errDetails()["required"] != "webhooks:write" {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
	})
	// None of the rejected requests wrote anything.
	if n := e.count("webhooks", ""); n != 1 {
		t.Fatalf("%d webhook rows after the bad requests, want only the 200-character one", n)
	}
}

func TestConcurrentCreatesOfOneURL(t *testing.T) {
	e, k, g := startWithKey(t, "webhooks:write", "--plan", "org")
	const n = 20
	statuses := concurrently(n, func(int) reply {
		return g.create(k, hookBody("https://93.184.215.14/race"))
	})
	counts := map[string]int{}
	for _, r := range statuses {
		counts[fmt.Sprintf("%d %s", r.Status, r.errCode())]++
	}
	if counts["201 "] != 1 || counts["409 duplicate_webhook"] != n-1 {
		t.Fatalf("outcomes %v, want one 201 and %d 409 duplicate_webhook", counts, n-1)
	}
	if c := e.count("webhooks", workspaceA); c != 1 {
		t.Fatalf("%d rows, want 1", c)
	}
}

func TestWebhookLimitPerWorkspace(t *testing.T) {
	e := newEnv(t)
	k := e.createKey(workspaceA, "webhooks:write", "--plan", "org")
	g := e.start(map[string]string{"WEBHOOK_LIMIT": "3"})
	for i := range 3 {
		if r := g.create(k, hookBody(fmt.Sprintf("https://93.184.215.14/%d", i))); r.Status != 201 {
			t.Fatalf("create %d: %d %s", i, r.Status, r.Raw)
		}
	}
	r := g.create(k, hookBody("https://93.184.215.14/over"))
	if r.Status != 409 || r.errCode() != "webhook_limit_reached" {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	if c := e.count("webhooks", workspaceA); c != 3 {
		t.Fatalf("%d rows, want 3", c)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
