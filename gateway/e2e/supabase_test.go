package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/gateway/signature"
	"github.com/leadlex/api-gateway/internal/testpostgrest"
)

// TestSupabaseStoreEndToEnd runs the real binary (CLI, API and worker) with
// SUPABASE_URL instead of DATABASE_URL, against internal/testpostgrest
// serving PostgREST's protocol over the test database: the assembly's wiring
// of the Supabase store, from issuing a key to a signed delivery and its log,
// over the PostgREST wire.
func TestSupabaseStoreEndToEnd(t *testing.T) {
	e := newEnv(t)
	srv := testpostgrest.Serve(t, e.pool)
	delete(e.vars, "DATABASE_URL")
	e.vars["SUPABASE_URL"] = srv.URL
	e.vars["SUPABASE_SERVICE_ROLE_KEY"] = srv.Key
	rc := newReceiver(t)
	rc.env(e)

	admin := e.createKey(workspaceA, "webhooks:read,webhooks:write", "--tier", "unmetered")
	pub := e.createKey(workspaceA, "events:publish", "--tier", "unmetered")
	if n := e.count("api_keys", workspaceA); n != 2 {
		t.Fatalf("the CLI stored %d keys through PostgREST, want 2", n)
	}
	g := e.start(nil)
	e.startWorker(nil)

	resp, err := http.Get(g.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("readyz: %d %s", resp.StatusCode, body)
	}

	r := g.create(admin, hookBody(rc.URL("/supa"), "contact.created"))
	if r.Status != http.StatusCreated {
		t.Fatalf("create webhook: %d %s", r.Status, r.Raw)
	}
	hookID, secret := r.webhook()["id"].(string), r.webhook()["secret"].(string)
	if n := e.count("webhooks", workspaceA); n != 1 {
		t.Fatalf("%d webhooks in the database, want 1", n)
	}
	if r := g.do(reqT("GET", "/v1/webhooks", admin.Key)); r.Status != 200 || !strings.Contains(string(r.Raw), hookID) {
		t.Errorf("list: %d %s", r.Status, r.Raw)
	}
	if r := g.do(req2("PATCH", "/v1/webhooks/"+hookID, admin.Key, `{"description": "over the wire"}`)); r.Status != 200 ||
		r.data()["webhook"].(map[string]any)["description"] != "over the wire" {
		t.Errorf("patch: %d %s", r.Status, r.Raw)
	}

	pr := g.do(req{method: "POST", path: "/v1/events", key: pub.Key, body: `{"type": "contact.created", "data": {"id": "c-1"}}`})
	if pr.Status != http.StatusAccepted {
		t.Fatalf("publish: %d %s", pr.Status, pr.Raw)
	}
	waitFor(t, 15*time.Second, "the delivery", func() bool { return len(rc.got()) == 1 })
	got := rc.got()[0]
	if err := signature.Verify(got.Header, got.Body, secret, 5*time.Minute, time.Now()); err != nil {
		t.Errorf("signature: %v", err)
	}
	waitFor(t, 15*time.Second, "the attempt in the log", func() bool {
		r := g.do(reqT("GET", "/v1/webhooks/"+hookID+"/logs", admin.Key))
		return r.Status == 200 && strings.Contains(string(r.Raw), `"status":"success"`)
	})

	if r := g.do(reqT("DELETE", "/v1/webhooks/"+hookID, admin.Key)); r.Status != http.StatusNoContent && r.Status != http.StatusOK {
		t.Errorf("delete: %d %s", r.Status, r.Raw)
	}
	if r := g.do(reqT("GET", "/v1/webhooks/"+hookID, admin.Key)); r.Status != http.StatusNotFound {
		t.Errorf("get after delete: %d %s", r.Status, r.Raw)
	}

	e.cli("keys", "revoke", admin.ID)
	waitFor(t, 15*time.Second, "the revocation", func() bool {
		return g.do(reqT("GET", "/v1/webhooks", admin.Key)).Status == http.StatusUnauthorized
	})
}
