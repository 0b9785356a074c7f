package apikeys_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/gateway/plan"
)

// createdOf returns data of a create response, where the key's fields sit
// directly (contract §4.1).
func createdOf(t *testing.T, r response) map[string]any {
	t.Helper()
	data, ok := r.body["data"].(map[string]any)
	if !ok {
		t.Fatalf("no data object in %s", r.raw)
	}
	if _, nested := data["api_key"]; nested {
		t.Fatalf("create answers data.api_key, want the fields directly in data: %s", r.raw)
	}
	return data
}

// apiKeyOf returns data.api_key of a get response.
func apiKeyOf(t *testing.T, r response) map[string]any {
	t.Helper()
	data, ok := r.body["data"].(map[string]any)
	if !ok {
		t.Fatalf("no data object in %s", r.raw)
	}
	k, ok := data["api_key"].(map[string]any)
	if !ok {
		t.Fatalf("no data.api_key in %s", r.raw)
	}
	return k
}

func TestCreate(t *testing.T) {
	// expiry is in the future of the harness clock, with a fraction and a
	// zone offset, so that the rendering to UTC seconds is checked.
	const expiry = "2027-01-02T03:04:05.999+02:00"
	tests := []struct {
		name      string
		caller    func(h *harness) *gateway.Principal
		body      string
		wantName  string
		wantDesc  string
		wantPerms []string
		wantTier  string
		wantPlan  string
		wantExp   any // nil: no expiry
	}{
		{
			name:      "minimal body takes defaults and the caller's plan",
			body:      `{"name": "CI", "permissions": ["webhooks:read"]}`,
			wantName:  "CI",
			wantPerms: []string{"webhooks:read"},
			wantTier:  "standard",
			wantPlan:  "pro",
		},
		{
			name: "every field",
			body: `{"name": "Zapier", "permissions": ["webhooks:write", "events:read"], "description": "for the Zapier app",
				"rate_limit_tier": "high", "expires_at": "` + expiry + `"}`,
			wantName:  "Zapier",
			wantDesc:  "for the Zapier app",
			wantPerms: []string{"events:read", "webhooks:write"},
			wantTier:  "high",
			wantPlan:  "pro",
			wantExp:   "2027-01-02T01:04:05Z",
		},
		{
			name:      "null optional fields are absent",
			body:      `{"name": "n", "permissions": ["events:read"], "description": null, "rate_limit_tier": null, "expires_at": null}`,
			wantName:  "n",
			wantPerms: []string{"events:read"},
			wantTier:  "standard",
			wantPlan:  "pro",
		},
		{
			name:      "write holder grants read",
			caller:    limited,
			body:      `{"name": "reader", "permissions": ["webhooks:read"]}`,
			wantName:  "reader",
			wantPerms: []string{"webhooks:read"},
			wantTier:  "standard",
			wantPlan:  "starter",
		},
		{
			name:      "own permissions and own tier",
			caller:    limited,
			body:      `{"name": "copy", "permissions": ["admin:api_keys", "webhooks:write"], "rate_limit_tier": "standard"}`,
			wantName:  "copy",
			wantPerms: []string{"admin:api_keys", "webhooks:write"},
			wantTier:  "standard",
			wantPlan:  "starter",
		},
		{
			name:      "unmetered caller grants unmetered",
			body:      `{"name": "bulk", "permissions": ["events:publish"], "rate_limit_tier": "unmetered"}`,
			wantName:  "bulk",
			wantPerms: []string{"events:publish"},
			wantTier:  "unmetered",
			wantPlan:  "pro",
		},
		{
			name:      "duplicate permissions are collapsed and sorted",
			body:      `{"name": "d", "permissions": ["webhooks:read", "events:read", "webhooks:read"]}`,
			wantName:  "d",
			wantPerms: []string{"events:read", "webhooks:read"},
			wantTier:  "standard",
			wantPlan:  "pro",
		},
		{
			name:      "limits counted in characters, not bytes",
			body:      `{"name": "` + strings.Repeat("é", 100) + `", "permissions": ["events:read"], "description": "` + strings.Repeat("ü", 500) + `"}`,
			wantName:  strings.Repeat("é", 100),
			wantDesc:  strings.Repeat("ü", 500),
			wantPerms: []string{"events:read"},
			wantTier:  "standard",
			wantPlan:  "pro",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			caller := h.adminA
			if tc.caller != nil {
				caller = tc.caller(h)
			}
			before := len(h.snapshot())
			r := h.do(request{caller: caller, method: http.MethodPost, path: "/v1/api-keys", body: tc.body})
			if r.status != http.StatusCreated {
				t.Fatalf("status = %d, want 201; body %s", r.status, r.raw)
			}
			k := createdOf(t, r)
			id, _ := k["id"].(string)
			if u, err := uuid.Parse(id); err != nil || u.String() != id {
				t.Fatalf("id %q is not a canonical UUID", id)
			}
			if got, want := r.header.Get("Location"), basePath+"/v1/api-keys/"+id; got != want {
				t.Errorf("Location = %q, want %q", got, want)
			}
			plain, _ := k["key"].(string)
			if !apikeys.WellFormed(plain) {
				t.Errorf("key %q is not a well-formed API key", plain)
			}
			if k["prefix"] != plain[:10] {
				t.Errorf("prefix = %v, want %q", k["prefix"], plain[:10])
			}
			want := map[string]any{
				"name": tc.wantName, "description": tc.wantDesc, "rate_limit_tier": tc.wantTier,
				"expires_at": tc.wantExp, "created_at": "2026-11-27T10:00:01Z",
			}
			for field, w := range want {
				if got, ok := k[field]; !ok || got != w {
					t.Errorf("%s = %#v (present %v), want %#v", field, got, ok, w)
				}
			}
			if got := strs(t, k["permissions"]); !slices.Equal(got, tc.wantPerms) {
				t.Errorf("permissions = %v, want %v", got, tc.wantPerms)
			}
			// Exactly the contract's nine fields: id, key, prefix, name,
			// description, permissions, rate_limit_tier, expires_at, created_at.
			if len(k) != 9 {
				t.Errorf("data has %d fields, want 9: %v", len(k), k)
			}

			// Stored once, in the caller's workspace, only as a hash.
			if after := len(h.snapshot()); after != before+1 {
				t.Fatalf("store holds %d keys, want %d", after, before+1)
			}
			mine, err := h.keys.List(context.Background(), caller.WorkspaceID, false)
			if err != nil {
				t.Fatal(err)
			}
			if mine[0].ID != id || mine[0].Hash != apikeys.Hash(plain) || mine[0].Description != tc.wantDesc {
				t.Errorf("newest key of the caller's workspace = %+v, want id %s with the key's hash", mine[0], id)
			}

			// The plaintext works as a credential with what was granted.
			p, err := h.keys.Authenticate(context.Background(), plain)
			if err != nil {
				t.Fatalf("Authenticate(new key) = %v", err)
			}
			if p.KeyID != id || p.WorkspaceID != caller.WorkspaceID || p.Plan != tc.wantPlan || p.Tier != tc.wantTier {
				t.Errorf("principal = %+v", p)
			}
			var perms []string
			for _, perm := range p.Permissions {
				perms = append(perms, string(perm))
			}
			if !slices.Equal(perms, tc.wantPerms) {
				t.Errorf("principal permissions = %v, want %v", perms, tc.wantPerms)
			}
		})
	}
}

func TestCreateExpiryIsEnforced(t *testing.T) {
	h := newHarness(t)
	r := h.do(request{caller: h.adminA, method: http.MethodPost, path: "/v1/api-keys",
		body: `{"name": "short", "permissions": ["events:read"], "expires_at": "2026-11-27T10:01:00Z"}`})
	if r.status != http.StatusCreated {
		t.Fatalf("status = %d; body %s", r.status, r.raw)
	}
	plain := createdOf(t, r)["key"].(string)
	if _, err := h.keys.Authenticate(context.Background(), plain); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	h.clock.Advance(2 * time.Minute)
	if _, err := h.keys.Authenticate(context.Background(), plain); !errors.Is(err, apikeys.ErrExpired) {
		t.Fatalf("after expiry: err = %v, want ErrExpired", err)
	}
}

func TestCreateErrors(t *testing.T) {
	tests := []struct {
		name        string
		caller      func(h *harness) *gateway.Principal
		body        string
		contentType *string
		status      int
		code        gateway.Code
		details     map[string]any // checked key by key when set
	}{
		{name: "no content type", body: `{"name": "n", "permissions": ["events:read"]}`, contentType: ptr(""),
			status: 415, code: gateway.CodeUnsupportedMediaType},
		{name: "form content type", body: `name=n`, contentType: ptr("application/x-www-form-urlencoded"),
			status: 415, code: gateway.CodeUnsupportedMediaType},
		{name: "malformed JSON", body: `{"name": "n",`, status: 400, code: gateway.CodeInvalidJSON},
		{name: "not an object", body: `["n"]`, status: 400, code: gateway.CodeValidation},
		{name: "unknown field", body: `{"name": "n", "permissions": ["events:read"], "plan": "org"}`,
			status: 400, code: gateway.CodeValidation, details: map[string]any{"field": "plan"}},
		{name: "workspace cannot be chosen", body: `{"name": "n", "permissions": ["events:read"], "workspace_id": "` + uuid.NewString() + `"}`,
			status: 400, code: gateway.CodeValidation, details: map[string]any{"field": "workspace_id"}},
		{name: "name missing", body: `{"permissions": ["events:read"]}`,
			status: 400, code: gateway.CodeMissingRequiredField, details: map[string]any{"fields": []any{"name"}}},
		{name: "both missing", body: `{}`,
			status: 400, code: gateway.CodeMissingRequiredField, details: map[string]any{"fields": []any{"name", "permissions"}}},
		{name: "permissions null", body: `{"name": "n", "permissions": null}`,
			status: 400, code: gateway.CodeMissingRequiredField, details: map[string]any{"fields": []any{"permissions"}}},
		{name: "name empty", body: `{"name": "", "permissions": ["events:read"]}`,
			status: 400, code: gateway.CodeValidation, details: map[string]any{"field": "name"}},
		{name: "name blank", body: `{"name": "  \t", "permissions": ["events:read"]}`,
			status: 400, code: gateway.CodeValidation, details: map[string]any{"field": "name"}},
		{name: "name over 100 characters", body: `{"name": "` + strings.Repeat("é", 101) + `", "permissions": ["events:read"]}`,
			status: 400, code: gateway.CodeValidation, details: map[string]any{"field": "name"}},
		{name: "name not a string", body: `{"name": 7, "permissions": ["events:read"]}`,
			status: 400, code: gateway.CodeValidation, details: map[string]any{"field": "name"}},
		{name: "permissions not an array", body: `{"name": "n", "permissions": "events:read"}`,
			status: 400, code: gateway.CodeValidation, details: map[string]any{"field": "permissions"}},
		{name: "permissions not strings", body: `{"name": "n", "permissions": [1]}`,
			status: 400, code: gateway.CodeValidation, details: map[string]any{"field": "permissions"}},
		{name: "permissions empty", body: `{"name": "n", "permissions": []}`,
			status: 400, code: gateway.CodeValidation, details: map[string]any{"field": "permissions"}},
		{name: "unknown permission", body: `{"name": "n", "permissions": ["events:read", "webhooks:delete", "public"]}`,
			status: 400, code: gateway.CodeValidation,
			details: map[string]any{"field": "permissions", "invalid": []any{"webhooks:delete", "public"}}},
		{name: "description over 500 characters", body: `{"name": "n", "permissions": ["events:read"], "description": "` + strings.Repeat("ü", 501) + `"}`,
			status: 400, code: gateway.CodeValidation, details: map[string]any{"field": "description"}},
		{name: "description not a string", body: `{"name": "n", "permissions": ["events:read"], "description": false}`,
			status: 400, code: gateway.CodeValidation, details: map[string]any{"field": "description"}},
		{name: "unknown tier", body: `{"name": "n", "permissions": ["events:read"], "rate_limit_tier": "premium"}`,
			status: 400, code: gateway.CodeValidation, details: map[string]any{"field": "rate_limit_tier"}},
		{name: "empty tier", body: `{"name": "n", "permissions": ["events:read"], "rate_limit_tier": ""}`,
			status: 400, code: gateway.CodeValidation, details: map[string]any{"field": "rate_limit_tier"}},
		{name: "tier is case-sensitive", body: `{"name": "n", "permissions": ["events:read"], "rate_limit_tier": "High"}`,
			status: 400, code: gateway.CodeValidation, details: map[string]any{"field": "rate_limit_tier"}},
		{name: "expires_at not RFC 3339", body: `{"name": "n", "permissions": ["events:read"], "expires_at": "2027-01-02"}`,
			status: 400, code: gateway.CodeValidation, details: map[string]any{"field": "expires_at"}},
		{name: "expires_at without zone", body: `{"name": "n", "permissions": ["events:read"], "expires_at": "2027-01-02T03:04:05"}`,
			status: 400, code: gateway.CodeValidation, details: map[string]any{"field": "expires_at"}},
		{name: "expires_at a number", body: `{"name": "n", "permissions": ["events:read"], "expires_at": 1798000000}`,
			status: 400, code: gateway.CodeValidation, details: map[string]any{"field": "expires_at"}},
		{name: "expires_at in the past", body: `{"name": "n", "permissions": ["events:read"], "expires_at": "2026-11-27T09:00:00Z"}`,
			status: 400, code: gateway.CodeValidation, details: map[string]any{"field": "expires_at"}},
		{name: "expires_at now", body: `{"name": "n", "permissions": ["events:read"], "expires_at": "2026-11-27T10:00:01Z"}`,
			status: 400, code: gateway.CodeValidation, details: map[string]any{"field": "expires_at"}},
		{name: "expires_at within the current second", body: `{"name": "n", "permissions": ["events:read"], "expires_at": "2026-11-27T10:00:01.9Z"}`,
			status: 400, code: gateway.CodeValidation, details: map[string]any{"field": "expires_at"}},

		// What the caller may grant.
		{name: "permission not held", caller: limited, body: `{"name": "n", "permissions": ["events:publish"]}`,
			status: 403, code: gateway.CodeInsufficientPermissions, details: map[string]any{"required": []any{"events:publish"}}},
		{name: "only the missing permissions are named, sorted", caller: limited,
			body:   `{"name": "n", "permissions": ["webhooks:read", "events:read", "admin:api_keys", "events:publish", "events:read"]}`,
			status: 403, code: gateway.CodeInsufficientPermissions,
			details: map[string]any{"required": []any{"events:publish", "events:read"}}},
		{name: "read does not grant write", caller: readOnly, body: `{"name": "n", "permissions": ["webhooks:write"]}`,
			status: 403, code: gateway.CodeInsufficientPermissions, details: map[string]any{"required": []any{"webhooks:write"}}},
		{name: "tier above own", caller: limited, body: `{"name": "n", "permissions": ["webhooks:read"], "rate_limit_tier": "high"}`,
			status: 403, code: gateway.CodeInsufficientPermissions, details: map[string]any{"field": "rate_limit_tier", "max_tier": "standard"}},
		{name: "high cannot grant unmetered", caller: high, body: `{"name": "n", "permissions": ["admin:api_keys"], "rate_limit_tier": "unmetered"}`,
			status: 403, code: gateway.CodeInsufficientPermissions, details: map[string]any{"field": "rate_limit_tier", "max_tier": "high"}},

		// Validation comes before the subset and tier rules.
		{name: "unknown permission before subset rule", caller: limited, body: `{"name": "n", "permissions": ["events:publish", "bogus"]}`,
			status: 400, code: gateway.CodeValidation, details: map[string]any{"field": "permissions", "invalid": []any{"bogus"}}},
		{name: "past expiry before subset rule", caller: limited,
			body:   `{"name": "n", "permissions": ["events:publish"], "expires_at": "2020-01-01T00:00:00Z"}`,
			status: 400, code: gateway.CodeValidation, details: map[string]any{"field": "expires_at"}},
		{name: "unknown tier before tier rule", caller: limited, body: `{"name": "n", "permissions": ["webhooks:read"], "rate_limit_tier": "max"}`,
			status: 400, code: gateway.CodeValidation, details: map[string]any{"field": "rate_limit_tier"}},
		{name: "long description before subset rule", caller: limited,
			body:   `{"name": "n", "permissions": ["events:publish"], "description": "` + strings.Repeat("d", 501) + `"}`,
			status: 400, code: gateway.CodeValidation, details: map[string]any{"field": "description"}},
		{name: "missing field before subset rule", caller: limited, body: `{"permissions": ["events:publish"]}`,
			status: 400, code: gateway.CodeMissingRequiredField, details: map[string]any{"fields": []any{"name"}}},
		{name: "subset rule before tier rule", caller: limited,
			body:   `{"name": "n", "permissions": ["events:publish"], "rate_limit_tier": "unmetered"}`,
			status: 403, code: gateway.CodeInsufficientPermissions, details: map[string]any{"required": []any{"events:publish"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			caller := h.adminA
			if tc.caller != nil {
				caller = tc.caller(h)
			}
			before := h.snapshot()
			writes := h.store.writes.Load()
			r := h.do(request{caller: caller, method: http.MethodPost, path: "/v1/api-keys", body: tc.body, contentType: tc.contentType})
			details := expectError(t, r, tc.status, tc.code)
			for k, want := range tc.details {
				if got := details[k]; !reflect.DeepEqual(got, want) {
					t.Errorf("details.%s = %#v, want %#v (body %s)", k, got, want, r.raw)
				}
			}
			if r.header.Get("Location") != "" {
				t.Errorf("error response has a Location header")
			}
			if strings.Contains(r.raw, "wbk_") {
				t.Errorf("error response contains a key: %s", r.raw)
			}
			if got := h.store.writes.Load(); got != writes {
				t.Errorf("store saw %d writes on an error", got-writes)
			}
			if after := h.snapshot(); !reflect.DeepEqual(after, before) {
				t.Errorf("store changed on an error: %d keys before, %d after", len(before), len(after))
			}
		})
	}
}

// limited is the harness's admin:api_keys + webhooks:write standard-tier key.
func limited(h *harness) *gateway.Principal { return h.limited }

// readOnly is a workspace A key with admin:api_keys and webhooks:read only.
func readOnly(h *harness) *gateway.Principal {
	return h.seedKey(h.wsA, "read only", []gateway.Permission{gateway.PermAdminAPIKeys, gateway.PermWebhooksRead}, "pro", plan.TierUnmetered)
}

// high is a workspace A key with every permission on the high tier.
func high(h *harness) *gateway.Principal {
	return h.seedKey(h.wsA, "high", gateway.AllPermissions(), "pro", plan.TierHigh)
}

func TestCreateWithoutPrincipalIsInternal(t *testing.T) {
	h := newHarness(t)
	writes := h.store.writes.Load()
	r := h.do(request{method: http.MethodPost, path: "/v1/api-keys", body: `{"name": "n", "permissions": ["events:read"]}`})
	expectError(t, r, http.StatusInternalServerError, gateway.CodeInternal)
	if h.store.writes.Load() != writes {
		t.Error("a request without a principal wrote to the store")
	}
}

func TestRoutesAllRequireAdmin(t *testing.T) {
	h := newHarness(t)
	if h.module.Name() == "" {
		t.Error("module has no name")
	}
	want := map[string]bool{
		"POST /v1/api-keys": true, "GET /v1/api-keys": true,
		"GET /v1/api-keys/:id": true, "DELETE /v1/api-keys/:id": true,
	}
	for _, r := range h.module.Routes() {
		key := r.Method + " " + r.Path
		if !want[key] {
			t.Errorf("unexpected route %s", key)
		}
		delete(want, key)
		if r.Permission != gateway.PermAdminAPIKeys || len(r.AnyOf) != 0 {
			t.Errorf("%s: permission %q, any of %v; want admin:api_keys alone", key, r.Permission, r.AnyOf)
		}
		if r.Handler == nil || r.Summary == "" {
			t.Errorf("%s: incomplete route", key)
		}
	}
	for key := range want {
		t.Errorf("missing route %s", key)
	}
}
