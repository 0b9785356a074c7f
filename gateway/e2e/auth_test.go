package e2e

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/gateway/store/postgres"
)

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	valid := e.createKey(workspaceA, "webhooks:write", "--plan", "org")
	revoked := e.createKey(workspaceA, "webhooks:write", "--plan", "org")
	e.cli("keys", "revoke", revoked.ID)

	// An expired key, written straight to the store: the CLI refuses past
	// expiry dates, and waiting for one to pass would make the test slow.
	expiredPlain, _ := apikeys.Generate()
	past := time.Now().Add(-time.Minute).UTC()
	if err := postgres.New(e.pool).CreateKey(context.Background(), &apikeys.Key{
		ID: uuid.NewString(), WorkspaceID: workspaceA, Prefix: expiredPlain[:10], Hash: apikeys.Hash(expiredPlain),
		Permissions: []gateway.Permission{gateway.PermWebhooksWrite}, Plan: "org", Tier: "standard", ExpiresAt: &past,
	}); err != nil {
		t.Fatal(err)
	}
	unknown, _ := apikeys.Generate()
	g := e.start(nil)

	tests := []struct {
		name   string
		header string
		reason string
	}{
		{"missing", "", "missing"},
		{"wrong scheme", "Basic " + valid.Key, "malformed"},
		{"garbled", "Bearer wbk_nope", "malformed"},
		{"upper case", "Bearer " + strings.ToUpper(valid.Key), "malformed"},
		{"unknown", "Bearer " + unknown, "unknown"},
		{"revoked", "Bearer " + revoked.Key, "revoked"},
		{"expired", "Bearer " + expiredPlain, "expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hr, _ := http.NewRequest("POST", g.url+base+"/v1/webhooks", strings.NewReader(hookBody("https://93.184.215.14/auth")))
			hr.Header.Set("Content-Type", "application/json")
			if tt.header != "" {
				hr.Header.Set("Authorization", tt.header)
			}
			r := g.send(hr)
			if r.Status != 401 || r.errCode() != "invalid_key" || r.errDetails()["reason"] != tt.reason {
				t.Fatalf("%d %s, want 401 invalid_key (%s)", r.Status, r.Raw, tt.reason)
			}
			if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q", r.Header.Get("WWW-Authenticate"))
			}
		})
	}
	if n := e.count("webhooks", ""); n != 0 {
		t.Fatalf("%d rows written by unauthenticated requests", n)
	}
	t.Run("scheme is case-insensitive", func(t *testing.T) {
		hr, _ := http.NewRequest("POST", g.url+base+"/v1/webhooks", strings.NewReader(hookBody("https://93.184.215.14/case")))
		hr.Header.Set("Content-Type", "application/json")
		hr.Header.Set("Authorization", "bearer "+valid.Key)
		if r := g.send(hr); r.Status != 201 {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
	})
}

func TestRevocationReachesRunningGateways(t *testing.T) {
	e := newEnv(t)
	k := e.createKey(workspaceA, "webhooks:write", "--plan", "org")
	// Two instances, each with the key warm in its cache.
	g1 := e.start(map[string]string{"KEY_CACHE_TTL": "1s"})
	g2 := e.start(map[string]string{"KEY_CACHE_TTL": "1s"})
	for i, g := range []*gw{g1, g2} {
		if r := g.create(k, hookBody("https://93.184.215.14/"+strconv.Itoa(i))); r.Status != 201 {
			t.Fatalf("before revocation: %d %s", r.Status, r.Raw)
		}
	}
	e.cli("keys", "revoke", k.ID)
	for i, g := range []*gw{g1, g2} {
		deadline := time.Now().Add(10 * time.Second)
		for {
			r := g.do(req{method: "POST", path: "/v1/webhooks", key: k.Key, body: `{}`})
			if r.Status == 401 && r.errDetails()["reason"] == "revoked" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("instance %d still accepts the revoked key: %d %s", i, r.Status, r.Raw)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

func TestUnknownPathsAndMethods(t *testing.T) {
	e := newEnv(t)
	g := e.start(nil)
	tests := []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/v1/nothing-here", 404, "not_found"},
		{"POST", "/v2/webhooks", 404, "not_found"},
		{"GET", "/v1/webhooks/", 404, "not_found"},
		{"DELETE", "/v1/webhooks", 405, "method_not_allowed"},
		{"PUT", "/v1/webhooks", 405, "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			// No key: an unknown path must still be 404, never 401.
			r := g.do(req{method: tt.method, path: tt.path})
			if r.Status != tt.status || r.errCode() != tt.code {
				t.Fatalf("%d %s, want %d %s", r.Status, r.Raw, tt.status, tt.code)
			}
		})
	}
	t.Run("request ID is kept when valid and replaced when not", func(t *testing.T) {
		r := g.do(req{method: "GET", path: "/v1/x", headers: map[string]string{"X-Request-ID": "edge-abc.123"}})
		if r.Header.Get("X-Request-ID") != "edge-abc.123" {
			t.Errorf("valid ID not kept: %q", r.Header.Get("X-Request-ID"))
		}
		r = g.do(req{method: "GET", path: "/v1/x", headers: map[string]string{"X-Request-ID": "bad id <script>"}})
		if got := r.Header.Get("X-Request-ID"); got == "bad id <script>" || !uuidRE.MatchString(got) {
			t.Errorf("invalid ID not replaced: %q", got)
		}
	})
}
