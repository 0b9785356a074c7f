package portal_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/routes/portal"
)

func TestPortalSessionCreate(t *testing.T) {
	expiresSoon := start.Add(10 * time.Minute)
	for _, tc := range []struct {
		name, body, publicBase string
		callerExpires          *time.Time
		wantMode               string
		wantExpires            time.Time
		wantOrigin             string
	}{
		{name: "no body: read-only for an hour", wantMode: "read_only", wantExpires: start.Add(time.Hour), wantOrigin: "http://example.com"},
		{name: "empty object", body: `{}`, wantMode: "read_only", wantExpires: start.Add(time.Hour), wantOrigin: "http://example.com"},
		{name: "read-write for a day", body: `{"mode": "read_write", "expires_in_seconds": 86400}`, wantMode: "read_write", wantExpires: start.Add(24 * time.Hour), wantOrigin: "http://example.com"},
		{name: "shortest", body: `{"expires_in_seconds": 60}`, wantMode: "read_only", wantExpires: start.Add(time.Minute), wantOrigin: "http://example.com"},
		{name: "capped at the caller's expiry", body: `{"expires_in_seconds": 3600}`, callerExpires: &expiresSoon, wantMode: "read_only", wantExpires: expiresSoon, wantOrigin: "http://example.com"},
		{name: "PUBLIC_BASE_URL", publicBase: "https://data.leadlex.com", wantMode: "read_only", wantExpires: start.Add(time.Hour), wantOrigin: "https://data.leadlex.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.publicBase)
			caller, _ := h.key([]gateway.Permission{gateway.PermWebhooksWrite}, tc.callerExpires)
			s := h.session(caller, tc.body)
			if s["mode"] != tc.wantMode || s["expires_at"] != tc.wantExpires.Format(time.RFC3339) {
				t.Errorf("session = %v, want mode %s expiring %s", s, tc.wantMode, tc.wantExpires)
			}
			url, _ := s["url"].(string)
			if !strings.HasPrefix(url, tc.wantOrigin+basePath+"/portal/#k=wbk_") {
				t.Errorf("url = %q, want it under %s%s/portal/ with the key in the fragment", url, tc.wantOrigin, basePath)
			}
			// The link's key works, with exactly the mode's reach.
			k := linkKey(t, url)
			cur := h.do(request{method: http.MethodGet, path: "/v1/portal-sessions/current", key: k})
			if cur.status != 200 {
				t.Fatalf("current: %d %s", cur.status, cur.raw)
			}
			got := cur.body["data"].(map[string]any)["portal_session"].(map[string]any)
			if got["mode"] != tc.wantMode || got["key_id"] != s["id"] || got["workspace_id"] != h.ws || got["expires_at"] != s["expires_at"] {
				t.Errorf("current = %v, want mode %s, key %v, workspace %s", got, tc.wantMode, s["id"], h.ws)
			}
			// Even a read-write link's key cannot hand out more than webhooks:write.
			keys, err := h.store.ListKeys(t.Context(), h.ws, false)
			if err != nil {
				t.Fatal(err)
			}
			for _, key := range keys {
				if key.ID == s["id"] && (len(key.Permissions) != 1 || !strings.HasPrefix(string(key.Permissions[0]), "webhooks:")) {
					t.Errorf("the link's key holds %v", key.Permissions)
				}
			}
		})
	}
}

func TestPortalSessionCreateRefusals(t *testing.T) {
	past := start.Add(time.Minute)
	for _, tc := range []struct {
		name   string
		body   string
		ctype  string
		key    func(h *harness) string
		host   string
		status int
		code   gateway.Code
		field  string
	}{
		{name: "unknown mode", body: `{"mode": "admin"}`, status: 400, code: gateway.CodeValidation, field: "mode"},
		{name: "empty mode", body: `{"mode": ""}`, status: 400, code: gateway.CodeValidation, field: "mode"},
		{name: "mode of the wrong type", body: `{"mode": 1}`, status: 400, code: gateway.CodeValidation, field: "mode"},
		{name: "mode in another case", body: `{"mode": "READ_ONLY"}`, status: 400, code: gateway.CodeValidation, field: "mode"},
		{name: "expiry too short", body: `{"expires_in_seconds": 59}`, status: 400, code: gateway.CodeValidation, field: "expires_in_seconds"},
		{name: "expiry zero", body: `{"expires_in_seconds": 0}`, status: 400, code: gateway.CodeValidation, field: "expires_in_seconds"},
		{name: "expiry negative", body: `{"expires_in_seconds": -3600}`, status: 400, code: gateway.CodeValidation, field: "expires_in_seconds"},
		{name: "expiry over 24 h", body: `{"expires_in_seconds": 86401}`, status: 400, code: gateway.CodeValidation, field: "expires_in_seconds"},
		{name: "expiry huge", body: `{"expires_in_seconds": 1e30}`, status: 400, code: gateway.CodeValidation, field: "expires_in_seconds"},
		{name: "expiry fractional", body: `{"expires_in_seconds": 3600.5}`, status: 400, code: gateway.CodeValidation, field: "expires_in_seconds"},
		{name: "expiry as a string", body: `{"expires_in_seconds": "3600"}`, status: 400, code: gateway.CodeValidation, field: "expires_in_seconds"},
		{name: "unknown field", body: `{"mode": "read_only", "permissions": ["admin:api_keys"]}`, status: 400, code: gateway.CodeValidation, field: "permissions"},
		{name: "not an object", body: `[]`, status: 400, code: gateway.CodeValidation},
		{name: "malformed JSON", body: `{"mode":`, status: 400, code: gateway.CodeInvalidJSON},
		{name: "NUL in a string", body: `{"mode": "read\u0000only"}`, status: 400, code: gateway.CodeValidation, field: "mode"},
		{name: "not JSON", body: `mode=read_only`, ctype: "application/x-www-form-urlencoded", status: 415, code: gateway.CodeUnsupportedMediaType},
		{name: "a Host that is no host", host: "evil.example/x?", status: 400, code: gateway.CodeValidation, field: "Host"},
		{name: "read permission only", key: func(h *harness) string {
			k, _ := h.key([]gateway.Permission{gateway.PermWebhooksRead, gateway.PermEventsPublish}, nil)
			return k
		}, status: 403, code: gateway.CodeInsufficientPermissions},
		{name: "a read-only link's key", key: func(h *harness) string {
			return linkKey(h.t, h.session(h.writer(), `{"mode": "read_only"}`)["url"].(string))
		}, status: 403, code: gateway.CodeInsufficientPermissions},
		{name: "no key", key: func(*harness) string { return "" }, status: 401, code: gateway.CodeInvalidKey},
		{name: "revoked key", key: func(h *harness) string {
			k, id := h.key([]gateway.Permission{gateway.PermWebhooksWrite}, nil)
			if err := h.keys.Revoke(h.t.Context(), h.ws, id); err != nil {
				h.t.Fatal(err)
			}
			return k
		}, status: 401, code: gateway.CodeInvalidKey},
		{name: "expired key", key: func(h *harness) string {
			k, _ := h.key([]gateway.Permission{gateway.PermWebhooksWrite}, &past)
			h.clock.Advance(2 * time.Minute)
			return k
		}, status: 401, code: gateway.CodeInvalidKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "")
			key := h.writer()
			if tc.key != nil {
				key = tc.key(h)
			}
			before, err := h.store.ListKeys(t.Context(), h.ws, true)
			if err != nil {
				t.Fatal(err)
			}
			r := request{method: http.MethodPost, path: "/v1/portal-sessions", key: key, body: tc.body, ctype: tc.ctype}
			if tc.host != "" {
				r.headers = map[string]string{"Host": tc.host}
			}
			expectError(t, h.do(r), tc.status, tc.code, tc.field)
			after, err := h.store.ListKeys(t.Context(), h.ws, true)
			if err != nil {
				t.Fatal(err)
			}
			if len(after) != len(before) {
				t.Errorf("a refused request minted a key: %d keys before, %d after", len(before), len(after))
			}
		})
	}
}

func TestPortalSessionRevoke(t *testing.T) {
	h := newHarness(t, "")
	caller, callerID := h.key([]gateway.Permission{gateway.PermWebhooksWrite}, nil)
	s := h.session(caller, `{"mode": "read_write"}`)
	k := linkKey(t, s["url"].(string))
	id := s["id"].(string)
	if r := h.do(request{method: http.MethodGet, path: "/v1/portal-sessions/current", key: k}); r.status != 200 {
		t.Fatalf("the new link's key: %d %s", r.status, r.raw)
	}
	for i := range 2 { // revoking twice answers the same
		r := h.do(request{method: http.MethodDelete, path: "/v1/portal-sessions/" + strings.ToUpper(id), key: caller})
		if r.status != 200 || r.body["data"].(map[string]any)["id"] != id || r.body["data"].(map[string]any)["revoked"] != true {
			t.Fatalf("revoke #%d: %d %s", i+1, r.status, r.raw)
		}
	}
	d := expectError(t, h.do(request{method: http.MethodGet, path: "/v1/portal-sessions/current", key: k}), 401, gateway.CodeInvalidKey, "")
	if d["reason"] != "revoked" {
		t.Errorf("details = %v, want reason revoked", d)
	}
	// The caller's own key is untouched.
	if r := h.do(request{method: http.MethodGet, path: "/v1/portal-sessions/current", key: caller}); r.status != 200 {
		t.Errorf("the caller's key after revoking its link: %d %s", r.status, r.raw)
	}

	other := uuid.NewString()
	otherWriter, _ := h.key([]gateway.Permission{gateway.PermWebhooksWrite}, nil, other)
	otherSession := h.session(otherWriter, "")["id"].(string)
	readOnly := linkKey(t, h.session(caller, "")["url"].(string))
	for _, tc := range []struct {
		name, id, key string
		status        int
		code          gateway.Code
	}{
		{"unknown id", uuid.NewString(), caller, 404, gateway.CodeNotFound},
		{"malformed id", "sess_1", caller, 404, gateway.CodeNotFound},
		{"id without hyphens", strings.ReplaceAll(id, "-", ""), caller, 404, gateway.CodeNotFound},
		{"a key that is no portal session", callerID, caller, 404, gateway.CodeNotFound},
		{"another workspace's session", otherSession, caller, 404, gateway.CodeNotFound},
		{"a read-only link's key", otherSession, readOnly, 403, gateway.CodeInsufficientPermissions},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expectError(t, h.do(request{method: http.MethodDelete, path: "/v1/portal-sessions/" + tc.id, key: tc.key}), tc.status, tc.code, "")
		})
	}
	if r := h.do(request{method: http.MethodGet, path: "/v1/portal-sessions/current", key: otherWriter}); r.status != 200 {
		t.Errorf("another workspace's key was touched: %d %s", r.status, r.raw)
	}
}

func TestPortalSessionExpires(t *testing.T) {
	h := newHarness(t, "")
	k := linkKey(t, h.session(h.writer(), `{"expires_in_seconds": 60}`)["url"].(string))
	if r := h.do(request{method: http.MethodGet, path: "/v1/portal-sessions/current", key: k}); r.status != 200 {
		t.Fatalf("before expiry: %d %s", r.status, r.raw)
	}
	h.clock.Advance(61 * time.Second)
	d := expectError(t, h.do(request{method: http.MethodGet, path: "/v1/portal-sessions/current", key: k}), 401, gateway.CodeInvalidKey, "")
	if d["reason"] != "expired" {
		t.Errorf("details = %v, want reason expired", d)
	}
}

func TestPortalSessionRevokedWithItsParent(t *testing.T) {
	h := newHarness(t, "")
	caller, callerID := h.key([]gateway.Permission{gateway.PermWebhooksWrite}, nil)
	k := linkKey(t, h.session(caller, "")["url"].(string))
	if err := h.keys.Revoke(t.Context(), h.ws, callerID); err != nil {
		t.Fatal(err)
	}
	d := expectError(t, h.do(request{method: http.MethodGet, path: "/v1/portal-sessions/current", key: k}), 401, gateway.CodeInvalidKey, "")
	if d["reason"] != "revoked" {
		t.Errorf("details = %v, want reason revoked", d)
	}
}

func TestPortalPage(t *testing.T) {
	h := newHarness(t, "")
	for _, tc := range []struct {
		path, ctype, cache string
	}{
		{"/portal/", "text/html; charset=utf-8", "no-cache"},
		{"/portal/app.js", "text/javascript; charset=utf-8", "public, max-age=300"},
		{"/portal/style.css", "text/css; charset=utf-8", "public, max-age=300"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			r := h.do(request{method: http.MethodGet, path: tc.path})
			if r.status != 200 || r.header.Get("Content-Type") != tc.ctype || r.header.Get("Cache-Control") != tc.cache {
				t.Fatalf("%s: %d %q %q", tc.path, r.status, r.header.Get("Content-Type"), r.header.Get("Cache-Control"))
			}
			if got := r.header.Get("Content-Security-Policy"); got != portal.CSP {
				t.Errorf("CSP = %q", got)
			}
			for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "form-action 'none'", "base-uri 'none'"} {
				if !strings.Contains(portal.CSP, want) {
					t.Errorf("CSP lacks %s", want)
				}
			}
			if r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("headers = %v", r.header)
			}
			// No third-party resource, no inline script or style.
			for _, bad := range []string{"<script>", "style=", "src=\"http", "href=\"http", "src=\"//", "href=\"//", "@import", "url(http"} {
				if strings.Contains(r.raw, bad) {
					t.Errorf("%s contains %q", tc.path, bad)
				}
			}
			etag := r.header.Get("ETag")
			again := h.do(request{method: http.MethodGet, path: tc.path, headers: map[string]string{"If-None-Match": etag}})
			if etag == "" || again.status != http.StatusNotModified {
				t.Errorf("revalidation with ETag %q: %d", etag, again.status)
			}
		})
	}
	r := h.do(request{method: http.MethodGet, path: "/portal"})
	if r.status != http.StatusMovedPermanently || r.header.Get("Location") != basePath+"/portal/" {
		t.Errorf("/portal: %d Location %q", r.status, r.header.Get("Location"))
	}
	expectError(t, h.do(request{method: http.MethodGet, path: "/portal/missing.js"}), 404, gateway.CodeNotFound, "")
	expectError(t, h.do(request{method: http.MethodGet, path: "/portal/..%2fmodule.go"}), 404, gateway.CodeNotFound, "")
}
