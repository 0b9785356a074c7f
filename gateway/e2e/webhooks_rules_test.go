package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// TestWebhookSmallRules: the smaller rules of issue 8 §2.10 on the real
// binary: one id rule for every route (upper case accepted and normalised,
// other spellings 404), an empty chunked body to rotate-secret keeps the
// default overlap, number bounds say "at most 604800" (not "characters").
func TestWebhookSmallRules(t *testing.T) {
	_, admin, g := startWithKey(t, "webhooks:write,admin:api_keys", "--tier", "unmetered")
	id := g.createHook(admin, `{"url": "https://93.184.215.14/rules", "events": ["contact.created"]}`)
	upper := strings.ToUpper(id)

	t.Run("one id rule", func(t *testing.T) {
		for _, rq := range []req{
			{method: "GET", path: "/v1/webhooks/" + upper, key: admin.Key},
			{method: "PATCH", path: "/v1/webhooks/" + upper, key: admin.Key, body: `{"description": "upper"}`},
			{method: "GET", path: "/v1/webhooks/" + upper + "/logs", key: admin.Key},
			{method: "GET", path: "/v1/api-keys/" + strings.ToUpper(admin.ID), key: admin.Key},
		} {
			r := g.do(rq)
			if r.Status != 200 {
				t.Errorf("%s %s: %d %s", rq.method, rq.path, r.Status, r.Raw)
			}
			if w := r.webhook(); w != nil && w["id"] != id {
				t.Errorf("%s %s answers id %v, want the canonical %s", rq.method, rq.path, w["id"], id)
			}
		}
		for _, bad := range []string{"{" + id + "}", strings.ReplaceAll(id, "-", ""), "urn:uuid:" + id} {
			for _, rq := range []req{
				{method: "GET", path: "/v1/webhooks/" + bad, key: admin.Key},
				{method: "GET", path: "/v1/api-keys/" + strings.Replace(bad, id, admin.ID, 1), key: admin.Key},
				{method: "POST", path: "/v1/webhooks/" + id + "/logs/" + bad + "/retry", key: admin.Key},
			} {
				if r := g.do(rq); r.Status != 404 {
					t.Errorf("%s %s: %d %s, want 404", rq.method, rq.path, r.Status, r.Raw)
				}
			}
		}
		// DELETE with the upper-case id answers the canonical one.
		r := g.create(admin, `{"url": "https://93.184.215.14/rules-delete", "events": ["contact.created"]}`)
		other := r.webhook()["id"].(string)
		r = g.do(req{method: "DELETE", path: "/v1/webhooks/" + strings.ToUpper(other), key: admin.Key})
		if r.Status != 200 || r.data()["id"] != other {
			t.Errorf("delete upper case: %d %s", r.Status, r.Raw)
		}
	})

	t.Run("empty chunked body to rotate-secret keeps the default", func(t *testing.T) {
		for i, ctype := range []string{"", "Content-Type: application/json\r\n"} {
			// A fresh webhook each time: a second rotation during the
			// default overlap would be refused.
			r := g.create(admin, hookBody(fmt.Sprintf("https://93.184.215.14/rules-rotate-%d", i)))
			id := r.webhook()["id"].(string)
			resp, body := rawAnswer(t, g, "POST "+base+"/v1/webhooks/"+id+"/rotate-secret HTTP/1.1\r\nHost: gw\r\n"+
				"Authorization: Bearer "+admin.Key+"\r\n"+ctype+"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n")
			if resp.StatusCode != 200 {
				t.Fatalf("%q: %d %s", ctype, resp.StatusCode, body)
			}
			// The default keeps the previous secret valid for 24 h.
			if !strings.Contains(body, `"previous_secret_expires_at":"`) {
				t.Errorf("%q: no previous_secret_expires_at: %s", ctype, body)
			}
		}
		// A chunked body with content still follows every rule.
		resp, body := rawAnswer(t, g, "POST "+base+"/v1/webhooks/"+id+"/rotate-secret HTTP/1.1\r\nHost: gw\r\n"+
			"Authorization: Bearer "+admin.Key+"\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
		if resp.StatusCode != 415 {
			t.Errorf("chunked JSON without a content type: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("number bounds are not characters", func(t *testing.T) {
		r := g.do(req{method: "POST", path: "/v1/webhooks/" + id + "/rotate-secret", key: admin.Key, body: `{"expire_previous_in_seconds": 604801}`})
		msg, _ := r.Body["error"].(map[string]any)["message"].(string)
		if r.Status != 400 || r.errCode() != "validation_error" || !strings.Contains(msg, "at most 604800") || strings.Contains(msg, "characters") {
			t.Errorf("%d %s", r.Status, r.Raw)
		}
		r = g.do(req{method: "PATCH", path: "/v1/webhooks/" + id, key: admin.Key, body: `{"description": "` + strings.Repeat("x", 201) + `"}`})
		if msg, _ := r.Body["error"].(map[string]any)["message"].(string); r.Status != 400 || !strings.Contains(msg, "at most 200 characters") {
			t.Errorf("%d %s", r.Status, r.Raw)
		}
	})
}

// TestWebhookURLSpellings: an IPv6 literal that embeds a public IPv4 address
// is refused as non_canonical_ip (it would otherwise be a second webhook for
// 93.184.215.14), and a URL with a #fragment is refused (the fragment is
// never sent), on create and on PATCH; before, both were stored.
func TestWebhookURLSpellings(t *testing.T) {
	e, admin, g := startWithKey(t, "webhooks:write", "--tier", "unmetered")
	id := g.createHook(admin, `{"url": "https://93.184.215.14/hook", "events": ["contact.created"]}`)
	for _, tc := range []struct{ url, reason string }{
		{"https://[::ffff:93.184.215.14]/hook", "non_canonical_ip"},
		{"https://[::ffff:5db8:d70e]/hook", "non_canonical_ip"},
		{"https://[64:ff9b::5db8:d70e]/hook", "non_canonical_ip"},
		{"https://[64:ff9b::93.184.215.14]:443/hook", "non_canonical_ip"},
		{"https://[2002:5db8:d70e::1]/hook", "non_public_address"},
		{"https://93.184.215.14/other#section", "fragment"},
		{"https://93.184.215.14/other#", "fragment"},
	} {
		for _, rq := range []req{
			{method: "POST", path: "/v1/webhooks", key: admin.Key, body: hookBody(tc.url)},
			{method: "PATCH", path: "/v1/webhooks/" + id, key: admin.Key, body: `{"url": "` + tc.url + `"}`},
		} {
			r := g.do(rq)
			if r.Status != 400 || r.errCode() != "invalid_url" || r.errDetails()["reason"] != tc.reason {
				t.Errorf("%s %s: %d %s, want 400 invalid_url %s", rq.method, tc.url, r.Status, r.Raw, tc.reason)
			}
		}
	}
	if n := e.count("webhooks", workspaceA); n != 1 {
		t.Errorf("%d webhooks stored, want 1", n)
	}
	r := g.do(req{method: "GET", path: "/v1/webhooks/" + id, key: admin.Key})
	if r.webhook()["url"] != "https://93.184.215.14/hook" {
		t.Errorf("url after refused PATCHes: %s", r.Raw)
	}
}
