package apikeys_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/gateway/plan"
)

// Issue 8: minted keys never outlive their parent, revocation cascades and
// follows the creation rule, and the list's search filter.

// seedExpiring is seedKey with an expiry and admin rights over events:read.
func (h *harness) seedExpiring(ws string, expires time.Time) *gateway.Principal {
	h.t.Helper()
	_, plain, err := h.keys.Create(context.Background(), apikeys.CreateParams{
		WorkspaceID: ws, Name: "expiring", Permissions: []gateway.Permission{gateway.PermAdminAPIKeys, gateway.PermEventsRead},
		Plan: "pro", Tier: plan.TierStandard, ExpiresAt: &expires,
	})
	if err != nil {
		h.t.Fatal(err)
	}
	p, err := h.keys.Authenticate(context.Background(), plain)
	if err != nil {
		h.t.Fatal(err)
	}
	return p
}

func TestCreateCapsExpiryAtTheParent(t *testing.T) {
	h := newHarness(t)
	parentExp := start.Add(10 * time.Minute).Truncate(time.Second)
	parent := h.seedExpiring(h.wsA, parentExp)
	capped := parentExp.Format(time.RFC3339)
	earlier := start.Add(5 * time.Minute).Truncate(time.Second).Format(time.RFC3339)
	tests := []struct {
		name, expires, want string
	}{
		{"no expiry asked", "", capped},
		{"a later expiry asked", `, "expires_at": "2099-01-01T00:00:00Z"`, capped},
		{"an earlier expiry is kept", `, "expires_at": "` + earlier + `"`, earlier},
		{"the parent's own expiry", `, "expires_at": "` + capped + `"`, capped},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(request{caller: parent, method: http.MethodPost, path: "/v1/api-keys",
				body: `{"name": "child", "permissions": ["events:read"]` + tc.expires + `}`})
			if r.status != http.StatusCreated {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
			d := createdOf(t, r)
			if d["expires_at"] != tc.want {
				t.Errorf("expires_at = %v, want %s", d["expires_at"], tc.want)
			}
			stored, err := h.keys.Get(context.Background(), h.wsA, d["id"].(string))
			if err != nil {
				t.Fatal(err)
			}
			if stored.CreatedBy != parent.KeyID || stored.ExpiresAt == nil || stored.ExpiresAt.Format(time.RFC3339) != tc.want {
				t.Errorf("stored created_by %q expires_at %v, want %s and %s", stored.CreatedBy, stored.ExpiresAt, parent.KeyID, tc.want)
			}
		})
	}
}

func TestMintAndRevokeCheckTheCallerInTheStore(t *testing.T) {
	h := newHarness(t)
	caller := h.seedKey(h.wsA, "soon revoked", gateway.AllPermissions(), "pro", plan.TierUnmetered)
	victim := h.createKeys(h.adminA, 1)[0]
	// Revoked in the store behind the service's back: another instance did
	// it, and this instance's cache still vouches for the key.
	if _, err := h.store.RevokeKey(context.Background(), h.wsA, caller.KeyID, "", h.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := h.keys.Authenticate(context.Background(), mustPlain(t, h, caller)); err != nil {
		t.Fatalf("the cache should still vouch for the key: %v", err)
	}
	tests := []struct {
		name string
		req  request
	}{
		{"mint", request{caller: caller, method: http.MethodPost, path: "/v1/api-keys", body: `{"name": "x", "permissions": ["admin:api_keys"], "rate_limit_tier": "unmetered"}`}},
		{"revoke another", request{caller: caller, method: http.MethodDelete, path: "/v1/api-keys/" + victim.id}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := h.snapshot()
			r := h.do(tc.req)
			details := expectError(t, r, http.StatusUnauthorized, gateway.CodeInvalidKey)
			if details["reason"] != "revoked" {
				t.Errorf("details.reason = %v, want revoked", details["reason"])
			}
			if r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if after := h.snapshot(); len(after) != len(before) || !sameRevocations(before, after) {
				t.Error("store changed")
			}
		})
	}
}

// mustPlain returns the plaintext of a seeded key.
func mustPlain(t *testing.T, h *harness, p *gateway.Principal) string {
	t.Helper()
	plain, ok := h.plain[p.KeyID]
	if !ok {
		t.Fatalf("no plaintext recorded for %s", p.KeyID)
	}
	return plain
}

func sameRevocations(a, b []apikeys.Key) bool {
	rev := func(ks []apikeys.Key) []string {
		var out []string
		for _, k := range ks {
			if k.RevokedAt != nil {
				out = append(out, k.ID)
			}
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(rev(a), rev(b))
}

func TestRevokeCascades(t *testing.T) {
	h := newHarness(t)
	mid := h.seedKey(h.wsA, "mid", gateway.AllPermissions(), "pro", plan.TierUnmetered)
	// mid's children and grandchildren are minted over the API.
	r := h.do(request{caller: mid, method: http.MethodPost, path: "/v1/api-keys", body: `{"name": "child", "permissions": ["admin:api_keys", "events:read"]}`})
	child := createdOf(t, r)
	childP, err := h.keys.Authenticate(context.Background(), child["key"].(string))
	if err != nil {
		t.Fatal(err)
	}
	grand := h.createKeys(childP, 2)
	bystander := h.createKeys(h.adminA, 1)[0]

	if r := h.do(request{caller: h.adminA, method: http.MethodDelete, path: "/v1/api-keys/" + mid.KeyID}); r.status != http.StatusOK {
		t.Fatalf("revoke mid: %d %s", r.status, r.raw)
	}
	for _, plain := range []string{child["key"].(string), grand[0].plain, grand[1].plain} {
		if _, err := h.keys.Authenticate(context.Background(), plain); !errors.Is(err, apikeys.ErrRevoked) {
			t.Errorf("descendant still authenticates: %v", err)
		}
	}
	if _, err := h.keys.Authenticate(context.Background(), bystander.plain); err != nil {
		t.Errorf("an unrelated key was revoked: %v", err)
	}
}

func TestRevokeFollowsTheCreationRule(t *testing.T) {
	h := newHarness(t)
	// limited: admin:api_keys + webhooks:write, standard.
	readKey := h.seedKey(h.wsA, "reader", []gateway.Permission{gateway.PermWebhooksRead}, "pro", plan.TierStandard)
	eventsKey := h.seedKey(h.wsA, "events", []gateway.Permission{gateway.PermEventsRead}, "pro", plan.TierStandard)
	highKey := h.seedKey(h.wsA, "high", []gateway.Permission{gateway.PermWebhooksRead}, "pro", plan.TierHigh)
	tests := []struct {
		name     string
		target   string
		status   int
		required []string
		tier     bool
	}{
		{"a greater key", h.adminA.KeyID, http.StatusForbidden, []string{"events:publish", "events:read"}, false},
		{"a key with a permission it lacks", eventsKey.KeyID, http.StatusForbidden, []string{"events:read"}, false},
		{"a key of a higher tier", highKey.KeyID, http.StatusForbidden, nil, true},
		{"a covered key (write covers read)", readKey.KeyID, http.StatusOK, nil, false},
		{"itself", h.limited.KeyID, http.StatusOK, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := h.snapshot()
			r := h.do(request{caller: h.limited, method: http.MethodDelete, path: "/v1/api-keys/" + tc.target})
			if tc.status == http.StatusOK {
				if r.status != http.StatusOK {
					t.Fatalf("status %d: %s", r.status, r.raw)
				}
				return
			}
			details := expectError(t, r, tc.status, gateway.CodeInsufficientPermissions)
			if tc.required != nil && !slices.Equal(strs(t, details["required"]), tc.required) {
				t.Errorf("details.required = %v, want %v", details["required"], tc.required)
			}
			if tc.tier && details["max_tier"] != plan.TierStandard {
				t.Errorf("details = %v, want max_tier standard", details)
			}
			if !sameRevocations(before, h.snapshot()) {
				t.Error("a refused revoke revoked something")
			}
		})
	}
}

func TestListSearch(t *testing.T) {
	h := newHarness(t)
	names := []string{"CRM sync", "crm backup", "100% done", "under_score", "under score", "it's quoted", "plain"}
	ids := map[string]string{}
	for _, n := range names {
		r := h.do(request{caller: h.adminA, method: http.MethodPost, path: "/v1/api-keys",
			body: `{"name": "` + n + `", "permissions": ["events:read"]}`})
		ids[n] = createdOf(t, r)["id"].(string)
		h.clock.Advance(time.Second)
	}
	plainKey, err := h.keys.Get(context.Background(), h.wsA, ids["plain"])
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, query string
		want        []string // names, newest first
	}{
		{"partial, any case", "?search=CRM", []string{"crm backup", "CRM sync"}},
		{"percent is literal", "?search=%25", []string{"100% done"}},
		{"underscore is literal", "?search=r_s", []string{"under_score"}},
		{"quote is literal", "?search=%27s", []string{"it's quoted"}},
		{"LIKE pattern matches nothing", "?search=c%25m", nil},
		{"prefix", "?search=" + plainKey.Prefix[4:], []string{"plain"}},
		{"no match", "?search=zzzz", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(request{caller: h.adminA, method: http.MethodGet, path: "/v1/api-keys" + tc.query})
			var want []string
			for _, n := range tc.want {
				want = append(want, ids[n])
			}
			got := listOf(t, r, 1, 25, len(want))
			if !slices.Equal(got, want) {
				t.Errorf("ids = %v, want %v", got, want)
			}
		})
	}
	for _, q := range []string{"?search=a&search=b", "?search=" + strings.Repeat("x", 101)} {
		t.Run("refused "+q[:12], func(t *testing.T) {
			r := h.do(request{caller: h.adminA, method: http.MethodGet, path: "/v1/api-keys" + q})
			if d := expectError(t, r, http.StatusBadRequest, gateway.CodeValidation); d["field"] != "search" {
				t.Errorf("details.field = %v", d["field"])
			}
		})
	}
}
