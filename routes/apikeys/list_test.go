package apikeys_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/plan"
)

// created is a key made through the API, with its plaintext.
type created struct {
	id, plain string
}

// createKeys makes n keys in the caller's workspace through the API, one
// second apart, and returns them oldest first.
func (h *harness) createKeys(caller *gateway.Principal, n int) []created {
	h.t.Helper()
	var out []created
	for i := range n {
		r := h.do(request{caller: caller, method: http.MethodPost, path: "/v1/api-keys",
			body: `{"name": "key ` + string(rune('a'+i)) + `", "permissions": ["events:read"]}`})
		if r.status != http.StatusCreated {
			h.t.Fatalf("create: %d %s", r.status, r.raw)
		}
		k := createdOf(h.t, r)
		out = append(out, created{id: k["id"].(string), plain: k["key"].(string)})
		h.clock.Advance(time.Second)
	}
	return out
}

// listOf returns the ids of a list response's data, checking that no item
// carries a plaintext key and that meta is as expected.
func listOf(t *testing.T, r response, page, perPage, total int) []string {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status = %d; body %s", r.status, r.raw)
	}
	if strings.Contains(r.raw, `"key"`) {
		t.Fatalf("list response exposes a key: %s", r.raw)
	}
	data, _ := r.body["data"].(map[string]any)
	items, ok := data["api_keys"].([]any)
	if !ok || len(data) != 1 {
		t.Fatalf("data is not {\"api_keys\": [...]}: %s", r.raw)
	}
	meta, _ := r.body["meta"].(map[string]any)
	want := map[string]any{"page": float64(page), "per_page": float64(perPage), "total": float64(total)}
	for k, w := range want {
		if meta[k] != w {
			t.Errorf("meta.%s = %v, want %v", k, meta[k], w)
		}
	}
	var ids []string
	for _, it := range items {
		k := it.(map[string]any)
		if _, has := k["key"]; has {
			t.Errorf("list item has a key field: %v", k)
		}
		// id, name, description, prefix, permissions, rate_limit_tier,
		// created_by, created_at, last_used_at, expires_at, revoked_at.
		if len(k) != 11 {
			t.Errorf("list item has %d fields, want 11: %v", len(k), k)
		}
		ids = append(ids, k["id"].(string))
	}
	return ids
}

func TestList(t *testing.T) {
	h := newHarness(t)
	mine := h.createKeys(h.adminA, 4) // workspace A: adminA, limited, then these four
	theirs := h.createKeys(h.adminB, 1)
	if err := h.keys.Revoke(context.Background(), h.wsA, mine[1].id); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Second)
	// Newest first; the seeded keys share a creation second and are ordered
	// by the store's tie-break, so take their order from the store.
	seeded, err := h.keys.List(context.Background(), h.wsA, true)
	if err != nil {
		t.Fatal(err)
	}
	tail := []string{seeded[len(seeded)-2].ID, seeded[len(seeded)-1].ID}
	active := append([]string{mine[3].id, mine[2].id, mine[0].id}, tail...)
	all := append([]string{mine[3].id, mine[2].id, mine[1].id, mine[0].id}, tail...)

	tests := []struct {
		name          string
		query         string
		page, perPage int
		total         int
		want          []string
	}{
		{name: "defaults: active keys, newest first", query: "", page: 1, perPage: 25, total: 5, want: active},
		{name: "include_revoked=false", query: "?include_revoked=false", page: 1, perPage: 25, total: 5, want: active},
		{name: "include_revoked=true", query: "?include_revoked=true", page: 1, perPage: 25, total: 6, want: all},
		{name: "first page", query: "?per_page=2", page: 1, perPage: 2, total: 5, want: active[:2]},
		{name: "middle page", query: "?per_page=2&page=2", page: 2, perPage: 2, total: 5, want: active[2:4]},
		{name: "last partial page", query: "?per_page=2&page=3", page: 3, perPage: 2, total: 5, want: active[4:]},
		{name: "page past the end", query: "?per_page=2&page=4", page: 4, perPage: 2, total: 5, want: nil},
		{name: "per_page at the maximum", query: "?per_page=100&include_revoked=true", page: 1, perPage: 100, total: 6, want: all},
		{name: "leading zeros", query: "?per_page=003&page=02", page: 2, perPage: 3, total: 5, want: active[3:]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(request{caller: h.adminA, method: http.MethodGet, path: "/v1/api-keys" + tc.query})
			got := listOf(t, r, tc.page, tc.perPage, tc.total)
			if !slices.Equal(got, tc.want) {
				t.Errorf("ids = %v, want %v", got, tc.want)
			}
			if slices.Contains(got, theirs[0].id) {
				t.Error("list shows another workspace's key")
			}
			for _, k := range mine {
				if strings.Contains(r.raw, k.plain) {
					t.Error("list shows a plaintext key")
				}
			}
		})
	}

	t.Run("item shape", func(t *testing.T) {
		r := h.do(request{caller: h.adminA, method: http.MethodGet, path: "/v1/api-keys?include_revoked=true"})
		listOf(t, r, 1, 25, 6)
		items := r.body["data"].(map[string]any)["api_keys"].([]any)
		revoked := items[2].(map[string]any)
		if revoked["id"] != mine[1].id || revoked["revoked_at"] != "2026-11-27T10:00:06Z" {
			t.Errorf("revoked item = %v, want revoked_at 2026-11-27T10:00:06Z", revoked)
		}
		first := items[0].(map[string]any)
		want := map[string]any{
			"name": "key d", "description": "", "prefix": mine[3].plain[:10], "rate_limit_tier": "standard",
			"created_by": h.adminA.KeyID, "expires_at": nil, "created_at": "2026-11-27T10:00:04Z", "revoked_at": nil,
		}
		for k, w := range want {
			if got, ok := first[k]; !ok || got != w {
				t.Errorf("%s = %#v, want %#v", k, got, w)
			}
		}
		if got := strs(t, first["permissions"]); !slices.Equal(got, []string{"events:read"}) {
			t.Errorf("permissions = %v", got)
		}
	})

	t.Run("other workspace sees only its own", func(t *testing.T) {
		r := h.do(request{caller: h.adminB, method: http.MethodGet, path: "/v1/api-keys"})
		got := listOf(t, r, 1, 25, 2)
		if !slices.Equal(got, []string{theirs[0].id, h.adminB.KeyID}) {
			t.Errorf("ids = %v, want %v", got, []string{theirs[0].id, h.adminB.KeyID})
		}
	})

	t.Run("empty workspace", func(t *testing.T) {
		empty := &gateway.Principal{KeyID: "x", WorkspaceID: "00000000-0000-4000-8000-000000000001",
			Permissions: []gateway.Permission{gateway.PermAdminAPIKeys}, Plan: "pro", Tier: plan.TierStandard}
		r := h.do(request{caller: empty, method: http.MethodGet, path: "/v1/api-keys"})
		listOf(t, r, 1, 25, 0)
		if !strings.Contains(r.raw, `"data":{"api_keys":[]}`) {
			t.Errorf("empty list is not []: %s", r.raw)
		}
	})
}

func TestListErrors(t *testing.T) {
	tests := []struct {
		query string
		field string
	}{
		{"?include_revoked=yes", "include_revoked"},
		{"?include_revoked=1", "include_revoked"},
		{"?include_revoked=TRUE", "include_revoked"},
		{"?include_revoked=", "include_revoked"},
		{"?include_revoked=true&include_revoked=false", "include_revoked"},
		{"?per_page=0", "per_page"},
		{"?per_page=101", "per_page"},
		{"?per_page=-1", "per_page"},
		{"?per_page=+5", "per_page"},
		{"?per_page=2.5", "per_page"},
		{"?per_page=ten", "per_page"},
		{"?per_page=", "per_page"},
		{"?per_page=99999999999999999999", "per_page"},
		{"?page=0", "page"},
		{"?page=-3", "page"},
		{"?page=x", "page"},
		{"?page=9223372036854775807", "page"},
		{"?page=1000001", "page"},
		{"?page=1&page=2", "page"},
	}
	h := newHarness(t)
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			r := h.do(request{caller: h.adminA, method: http.MethodGet, path: "/v1/api-keys" + tc.query})
			details := expectError(t, r, http.StatusBadRequest, gateway.CodeValidation)
			if details["field"] != tc.field {
				t.Errorf("details.field = %v, want %s", details["field"], tc.field)
			}
		})
	}
}
