package e2e

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// Issue 8, the API-key part, against the real binary on PostgreSQL: the
// documented response shapes, created_by and last_used_at, the search filter,
// minted keys that never outlive their parent, cascading revocation (over the
// API and with `keys revoke`), the caller checked against the store rather
// than the cache, and the creation rule applied to revoking.

// apiKeys returns data.api_keys of a list answer, failing the test when the
// answer has another shape.
func apiKeys(t *testing.T, r reply) []any {
	t.Helper()
	d := r.data()
	list, ok := d["api_keys"].([]any)
	if r.Status != http.StatusOK || !ok || len(d) != 1 {
		t.Fatalf("want 200 {\"data\": {\"api_keys\": [...]}}, got %d %s", r.Status, r.Raw)
	}
	return list
}

// mint creates a key over the API with caller and returns the answer's data.
func mint(t *testing.T, g *gw, caller, body string) map[string]any {
	t.Helper()
	r := g.do(req{method: "POST", path: "/v1/api-keys", key: caller, body: body})
	if r.Status != http.StatusCreated {
		t.Fatalf("mint: %d %s", r.Status, r.Raw)
	}
	return r.data()
}

// revokedInDB reports whether the key's row is revoked.
func (e *env) revokedInDB(id string) bool {
	e.t.Helper()
	var revoked bool
	if err := e.pool.QueryRow(context.Background(), `select revoked_at is not null from api_keys where id = $1`, id).Scan(&revoked); err != nil {
		e.t.Fatal(err)
	}
	return revoked
}

func TestAPIKeyShapes(t *testing.T) {
	_, admin, g := startWithKey(t, "admin:api_keys,webhooks:write", "--plan", "pro", "--tier", "high")

	r := g.do(req{method: "POST", path: "/v1/api-keys", key: admin.Key,
		body: `{"name": "sync", "permissions": ["webhooks:read"], "description": "read-only"}`})
	d := r.data()
	fields := make([]string, 0, len(d))
	for f := range d {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	want := []string{"created_at", "description", "expires_at", "id", "key", "name", "permissions", "prefix", "rate_limit_tier"}
	if r.Status != http.StatusCreated || !slices.Equal(fields, want) {
		t.Fatalf("create: %d, data fields %v, want exactly %v: %s", r.Status, fields, want, r.Raw)
	}
	plain, _ := d["key"].(string)
	if d["prefix"] != plain[:10] || d["name"] != "sync" || d["description"] != "read-only" {
		t.Errorf("create data = %s", r.Raw)
	}

	list := g.do(req{method: "GET", path: "/v1/api-keys", key: admin.Key})
	items := apiKeys(t, list)
	if meta, _ := list.Body["meta"].(map[string]any); meta["per_page"] != float64(25) || meta["total"] != float64(2) || meta["page"] != float64(1) {
		t.Errorf("meta = %v, want page 1, per_page 25, total 2", list.Body["meta"])
	}
	byID := map[string]map[string]any{}
	for _, it := range items {
		m := it.(map[string]any)
		byID[m["id"].(string)] = m
		itemFields := make([]string, 0, len(m))
		for f := range m {
			itemFields = append(itemFields, f)
		}
		sort.Strings(itemFields)
		wantItem := []string{"created_at", "created_by", "description", "expires_at", "id", "last_used_at", "name", "permissions", "prefix", "rate_limit_tier", "revoked_at"}
		if !slices.Equal(itemFields, wantItem) {
			t.Errorf("list item fields %v, want %v", itemFields, wantItem)
		}
	}
	minted, cli := byID[d["id"].(string)], byID[admin.ID]
	if minted == nil || cli == nil {
		t.Fatalf("list lacks a key: %s", list.Raw)
	}
	if minted["created_by"] != admin.ID {
		t.Errorf("minted key's created_by = %v, want the minting key %s", minted["created_by"], admin.ID)
	}
	if v, present := cli["created_by"]; !present || v != nil {
		t.Errorf("CLI key's created_by = %v, want null", v)
	}
	if v, present := minted["last_used_at"]; !present || v != nil {
		t.Errorf("unused key's last_used_at = %v, want null", v)
	}
	get := g.do(req{method: "GET", path: "/v1/api-keys/" + d["id"].(string), key: admin.Key})
	if k, _ := get.data()["api_key"].(map[string]any); get.Status != 200 || k["created_by"] != admin.ID {
		t.Errorf("get: %d %s", get.Status, get.Raw)
	}
}

func TestAPIKeyLastUsedAt(t *testing.T) {
	e, admin, g := startWithKey(t, "admin:api_keys,webhooks:read", "--tier", "unmetered")
	child := mint(t, g, admin.Key, `{"name": "user", "permissions": ["webhooks:read"]}`)

	lastUsed := func() *time.Time {
		t.Helper()
		var at *time.Time
		if err := e.pool.QueryRow(context.Background(), `select last_used_at from api_keys where id = $1`, child["id"]).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	if at := lastUsed(); at != nil {
		t.Fatalf("last_used_at before any use = %v", at)
	}
	before := time.Now().Add(-time.Second)
	if r := g.do(req{method: "GET", path: "/v1/webhooks", key: child["key"].(string)}); r.Status != 200 {
		t.Fatalf("use: %d %s", r.Status, r.Raw)
	}
	// Written off the request path: poll the row.
	var first *time.Time
	for deadline := time.Now().Add(10 * time.Second); first == nil && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		first = lastUsed()
	}
	if first == nil || first.Before(before) || first.After(time.Now().Add(time.Second)) {
		t.Fatalf("last_used_at after a use = %v, want about now", first)
	}
	// More uses within the minute do not write again.
	for range 5 {
		if r := g.do(req{method: "GET", path: "/v1/webhooks", key: child["key"].(string)}); r.Status != 200 {
			t.Fatalf("use: %d", r.Status)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if again := lastUsed(); again == nil || !again.Equal(*first) {
		t.Errorf("last_used_at moved within the minute: %v, then %v", first, again)
	}
	// The API shows it, at second precision.
	r := g.do(req{method: "GET", path: "/v1/api-keys/" + child["id"].(string), key: admin.Key})
	if k, _ := r.data()["api_key"].(map[string]any); k["last_used_at"] != first.UTC().Truncate(time.Second).Format(time.RFC3339) {
		t.Errorf("api last_used_at = %v, want %s", k["last_used_at"], first.UTC().Format(time.RFC3339))
	}
}

func TestAPIKeySearch(t *testing.T) {
	e, admin, g := startWithKey(t, "admin:api_keys,events:read", "--tier", "unmetered", "--name", "admin")
	ids := map[string]string{}
	for _, n := range []string{"CRM sync", "crm backup", "100% done", "100 percent", "under_score", "under-score", "it's quoted"} {
		ids[n] = mint(t, g, admin.Key, `{"name": "`+n+`", "permissions": ["events:read"]}`)["id"].(string)
	}
	search := func(q string) []string {
		t.Helper()
		r := g.do(req{method: "GET", path: "/v1/api-keys?search=" + url.QueryEscape(q), key: admin.Key})
		var out []string
		for _, it := range apiKeys(t, r) {
			out = append(out, it.(map[string]any)["id"].(string))
		}
		if total := r.Body["meta"].(map[string]any)["total"]; total != float64(len(out)) {
			t.Errorf("search %q: meta.total %v for %d items", q, total, len(out))
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		q    string
		want []string
	}{
		{"crm", []string{"CRM sync", "crm backup"}},
		{"%", []string{"100% done"}},
		{"100%", []string{"100% done"}},
		{"r_s", []string{"under_score"}},
		{"'s", []string{"it's quoted"}},
		{"' or '1'='1", nil},
		{"%' or 1=1 --", nil},
		{"c%m", nil},
		{`\`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.q, func(t *testing.T) {
			var want []string
			for _, n := range tc.want {
				want = append(want, ids[n])
			}
			slices.Sort(want)
			if got := search(tc.q); !slices.Equal(got, want) {
				t.Errorf("search %q = %v, want %v", tc.q, got, want)
			}
		})
	}
	t.Run("prefix", func(t *testing.T) {
		var prefix string
		if err := e.pool.QueryRow(context.Background(), `select key_prefix from api_keys where id = $1`, ids["crm backup"]).Scan(&prefix); err != nil {
			t.Fatal(err)
		}
		if got := search(prefix); !slices.Equal(got, []string{ids["crm backup"]}) {
			t.Errorf("search by prefix %q = %v", prefix, got)
		}
	})
	t.Run("pagination", func(t *testing.T) {
		r := g.do(req{method: "GET", path: "/v1/api-keys?search=e&per_page=2&page=2", key: admin.Key})
		if items := apiKeys(t, r); len(items) != 2 || r.Body["meta"].(map[string]any)["page"] != float64(2) {
			t.Errorf("page 2 of a search: %s", r.Raw)
		}
		for _, q := range []string{"per_page=101", "search=a&search=b", "search=" + strings.Repeat("x", 101)} {
			if r := g.do(req{method: "GET", path: "/v1/api-keys?" + q, key: admin.Key}); r.Status != 400 || r.errCode() != "validation_error" {
				t.Errorf("%s: %d %s", q, r.Status, r.Raw)
			}
		}
	})
}

func TestMintedKeysNeverOutliveTheirParent(t *testing.T) {
	e := newEnv(t)
	parentExp := time.Now().Add(10 * time.Minute).UTC().Truncate(time.Second)
	parent := e.createKey(workspaceA, "admin:api_keys,webhooks:read", "--tier", "high", "--expires-at", parentExp.Format(time.RFC3339))
	g := e.start(nil)
	earlier := parentExp.Add(-5 * time.Minute).Format(time.RFC3339)
	tests := []struct {
		name, body, want string
	}{
		{"no expiry asked", `{"name": "forever", "permissions": ["webhooks:read"]}`, parentExp.Format(time.RFC3339)},
		{"a later expiry asked", `{"name": "later", "permissions": ["webhooks:read"], "expires_at": "2099-01-01T00:00:00Z"}`, parentExp.Format(time.RFC3339)},
		{"an earlier expiry kept", `{"name": "earlier", "permissions": ["webhooks:read"], "expires_at": "` + earlier + `"}`, earlier},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := mint(t, g, parent.Key, tc.body)
			if d["expires_at"] != tc.want {
				t.Errorf("answer's expires_at = %v, want %s", d["expires_at"], tc.want)
			}
			var stored time.Time
			var createdBy string
			if err := e.pool.QueryRow(context.Background(), `select expires_at, created_by::text from api_keys where id = $1`, d["id"]).Scan(&stored, &createdBy); err != nil {
				t.Fatal(err)
			}
			if stored.UTC().Format(time.RFC3339) != tc.want || createdBy != parent.ID {
				t.Errorf("stored expires_at %v created_by %s, want %s and %s", stored, createdBy, tc.want, parent.ID)
			}
		})
	}
}

func TestRevokingAKeyRevokesWhatItMinted(t *testing.T) {
	e, admin, g := startWithKey(t, "admin:api_keys,webhooks:read", "--tier", "unmetered")

	// tree mints parent → child → grandchild from admin and returns them.
	tree := func() (parent, child, grandchild map[string]any) {
		t.Helper()
		parent = mint(t, g, admin.Key, `{"name": "parent", "permissions": ["admin:api_keys", "webhooks:read"], "rate_limit_tier": "unmetered"}`)
		child = mint(t, g, parent["key"].(string), `{"name": "child", "permissions": ["admin:api_keys", "webhooks:read"]}`)
		grandchild = mint(t, g, child["key"].(string), `{"name": "grandchild", "permissions": ["webhooks:read"]}`)
		return parent, child, grandchild
	}

	t.Run("over the API", func(t *testing.T) {
		parent, child, grandchild := tree()
		sibling := mint(t, g, admin.Key, `{"name": "sibling", "permissions": ["webhooks:read"]}`)
		if r := g.do(req{method: "DELETE", path: "/v1/api-keys/" + parent["id"].(string), key: admin.Key}); r.Status != 200 {
			t.Fatalf("revoke: %d %s", r.Status, r.Raw)
		}
		for _, k := range []map[string]any{parent, child, grandchild} {
			if r := g.do(req{method: "GET", path: "/v1/webhooks", key: k["key"].(string)}); r.Status != 401 {
				t.Errorf("%s still works after its ancestor's revocation: %d", k["name"], r.Status)
			}
			if !e.revokedInDB(k["id"].(string)) {
				t.Errorf("%s is not revoked in the database", k["name"])
			}
		}
		if r := g.do(req{method: "GET", path: "/v1/webhooks", key: sibling["key"].(string)}); r.Status != 200 {
			t.Errorf("an unrelated key stopped working: %d", r.Status)
		}
	})

	t.Run("with keys revoke", func(t *testing.T) {
		parent, child, grandchild := tree()
		out := e.cli("keys", "revoke", parent["id"].(string))
		if !strings.Contains(out, "revoked "+parent["id"].(string)) {
			t.Errorf("keys revoke printed %q", out)
		}
		for _, k := range []map[string]any{parent, child, grandchild} {
			if !e.revokedInDB(k["id"].(string)) {
				t.Errorf("%s is not revoked after keys revoke", k["name"])
			}
		}
	})
}

func TestARevokedKeyStillCachedCanNeitherMintNorRevoke(t *testing.T) {
	e := newEnv(t)
	admin := e.createKey(workspaceA, "admin:api_keys,webhooks:read", "--tier", "unmetered")
	target := e.createKey(workspaceA, "webhooks:read")
	// A long cache: the instance keeps trusting the key after the revocation.
	g := e.start(map[string]string{"KEY_CACHE_TTL": "1m"})
	if r := g.do(req{method: "GET", path: "/v1/api-keys", key: admin.Key}); r.Status != 200 {
		t.Fatalf("warm-up: %d", r.Status)
	}
	e.cli("keys", "revoke", admin.ID)
	if r := g.do(req{method: "GET", path: "/v1/webhooks", key: admin.Key}); r.Status != 200 {
		t.Fatalf("the cache should still vouch for the key on reads (KEY_CACHE_TTL): %d", r.Status)
	}
	before := e.count("api_keys", "")
	tests := []struct {
		name string
		r    req
	}{
		{"mint an unmetered admin key", req{method: "POST", path: "/v1/api-keys", key: admin.Key,
			body: `{"name": "escape", "permissions": ["admin:api_keys", "webhooks:read"], "rate_limit_tier": "unmetered"}`}},
		{"revoke another key", req{method: "DELETE", path: "/v1/api-keys/" + target.ID, key: admin.Key}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := g.do(tc.r)
			if r.Status != 401 || r.errCode() != "invalid_key" || r.Header.Get("WWW-Authenticate") == "" {
				t.Fatalf("%d %s, want 401 invalid_key with WWW-Authenticate", r.Status, r.Raw)
			}
		})
	}
	if after := e.count("api_keys", ""); after != before {
		t.Errorf("the revoked key minted %d keys", after-before)
	}
	if e.revokedInDB(target.ID) {
		t.Error("the revoked key revoked another key")
	}
}

func TestRevokingFollowsTheCreationRule(t *testing.T) {
	e := newEnv(t)
	lesser := e.createKey(workspaceA, "admin:api_keys,webhooks:read", "--tier", "unmetered")
	greater := e.createKey(workspaceA, "admin:api_keys,webhooks:write,events:read,events:publish", "--tier", "unmetered")
	high := e.createKey(workspaceA, "webhooks:read", "--tier", "high")
	g := e.start(nil)
	lesserStd := mint(t, g, lesser.Key, `{"name": "lesser std", "permissions": ["admin:api_keys", "webhooks:read"]}`)
	covered := mint(t, g, greater.Key, `{"name": "covered", "permissions": ["webhooks:read"]}`)

	tests := []struct {
		name     string
		caller   string
		target   string
		status   int
		required []string
	}{
		{"a greater key", lesser.Key, greater.ID, 403, []string{"events:publish", "events:read", "webhooks:write"}},
		{"a higher tier", lesserStd["key"].(string), high.ID, 403, nil},
		{"a covered key", lesser.Key, covered["id"].(string), 200, nil},
		{"itself", lesserStd["key"].(string), lesserStd["id"].(string), 200, nil},
		{"another workspace's key is not found", lesser.Key, e.createKey(uuid.NewString(), "webhooks:read").ID, 404, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := g.do(req{method: "DELETE", path: "/v1/api-keys/" + tc.target, key: tc.caller})
			if r.Status != tc.status {
				t.Fatalf("%d %s, want %d", r.Status, r.Raw, tc.status)
			}
			if tc.status == 403 {
				if r.errCode() != "insufficient_permissions" {
					t.Errorf("code %s", r.errCode())
				}
				if tc.required != nil && !slices.Equal(toStrings(r.errDetails()["required"]), tc.required) {
					t.Errorf("details.required = %v, want %v", r.errDetails()["required"], tc.required)
				}
			}
			if revoked := e.revokedInDB(tc.target); tc.status == 200 && !revoked || tc.status != 200 && revoked {
				t.Errorf("revoked_at set = %v after %d", revoked, tc.status)
			}
		})
	}
	if r := g.do(req{method: "GET", path: "/v1/webhooks", key: greater.Key}); r.Status != 200 {
		t.Errorf("the greater key stopped working: %d", r.Status)
	}
}

// toStrings converts a decoded JSON array of strings.
func toStrings(v any) []string {
	arr, _ := v.([]any)
	out := make([]string, 0, len(arr))
	for _, x := range arr {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func TestAPIKeysOpenAPIDescribesTheShapes(t *testing.T) {
	e := newEnv(t)
	g := e.start(nil)
	r := g.do(req{method: "GET", path: "/v1/openapi.json"})
	paths, _ := r.Body["paths"].(map[string]any)
	keys, _ := paths["/v1/api-keys"].(map[string]any)
	// schemaOf returns the data schema's properties of an operation's answer.
	schemaOf := func(op, status string) map[string]any {
		t.Helper()
		o, _ := keys[op].(map[string]any)
		resp, _ := o["responses"].(map[string]any)[status].(map[string]any)
		content, _ := resp["content"].(map[string]any)["application/json"].(map[string]any)
		schema, _ := content["schema"].(map[string]any)
		data, _ := schema["properties"].(map[string]any)["data"].(map[string]any)
		props, _ := data["properties"].(map[string]any)
		if props == nil {
			t.Fatalf("%s %s: no data properties in %v", op, status, o)
		}
		return props
	}
	if created := schemaOf("post", "201"); created["key"] == nil || created["api_key"] != nil || created["created_by"] != nil {
		t.Errorf("POST 201 data = %v, want the key's fields directly", created)
	}
	list := schemaOf("get", "200")
	items, _ := list["api_keys"].(map[string]any)["items"].(map[string]any)
	props, _ := items["properties"].(map[string]any)
	if props["created_by"] == nil || props["last_used_at"] == nil || props["key"] != nil {
		t.Errorf("GET 200 data.api_keys items = %v", props)
	}
	params := map[string]string{}
	for _, p := range keys["get"].(map[string]any)["parameters"].([]any) {
		m := p.(map[string]any)
		params[m["name"].(string)], _ = m["description"].(string)
	}
	if params["search"] == "" || !strings.Contains(params["per_page"], "default 25") {
		t.Errorf("GET parameters = %v, want search and per_page default 25", params)
	}
}
