package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/leadlex/api-gateway/config"
	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/gateway/plan"
	"github.com/leadlex/api-gateway/internal/testdb"
)

// fuzzTarget is one assembled gateway the fuzzer drives, with a key holding
// every permission and a webhook for the routes that need an id.
type fuzzTarget struct {
	name  string
	app   *App
	key   string
	paths []fuzzRoute
}

type fuzzRoute struct{ method, path string }

// newFuzzTarget assembles a development gateway on the given environment.
// No worker runs and /test is not driven, so nothing is ever delivered; the
// resolver knows no names, so no DNS query leaves the process.
func newFuzzTarget(tb testing.TB, name string, env map[string]string) *fuzzTarget {
	tb.Helper()
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		tb.Fatal(err)
	}
	app, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{Resolver: fakeDNS{}, LogOutput: io.Discard})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(app.Close)
	_, key, err := app.Keys.Create(context.Background(), apikeys.CreateParams{
		WorkspaceID: "7a0c1f7e-8c7b-4d43-9d55-3f4c3a0f9b11", Permissions: gateway.AllPermissions(), Plan: "org", Tier: plan.TierUnmetered,
	})
	if err != nil {
		tb.Fatal(err)
	}
	ft := &fuzzTarget{name: name, app: app, key: key}
	rec := ft.do("POST", "/v1/webhooks", `{"url": "https://93.184.215.14/fuzz", "events": ["contact.created"]}`)
	if rec.Code != http.StatusCreated {
		tb.Fatalf("%s: creating the fuzz webhook: %d %s", name, rec.Code, rec.Body)
	}
	id := strings.Split(rec.Header().Get("Location"), "/v1/webhooks/")[1]
	ft.paths = []fuzzRoute{
		{"POST", "/v1/webhooks"},
		{"PATCH", "/v1/webhooks/" + id},
		{"POST", "/v1/webhooks/" + id + "/rotate-secret"},
		{"POST", "/v1/events"},
		{"POST", "/v1/api-keys"},
		{"POST", "/v1/portal-sessions"},
	}
	return ft
}

func (ft *fuzzTarget) do(method, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, ft.app.Config.BasePath+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+ft.key)
	rec := httptest.NewRecorder()
	ft.app.Echo.ServeHTTP(rec, req)
	return rec
}

// FuzzHandlers sends arbitrary JSON bodies to every route that stores what
// it is sent, on the assembled server with the memory store and, where
// PostgreSQL is reachable (DATABASE_URL or the default local one, as every
// other test here needs), with the postgres store, and asserts that no body
// is ever answered with a 5xx while the dependencies are up.
func FuzzHandlers(f *testing.F) {
	targets := []*fuzzTarget{newFuzzTarget(f, "memory", map[string]string{})}
	if os.Getenv("FUZZ_MEMORY_ONLY") == "" {
		_, url := testdb.New(f)
		targets = append(targets, newFuzzTarget(f, "postgres", map[string]string{"DATABASE_URL": url, "SECRET_ENCRYPTION_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}))
	}
	for _, seed := range []string{
		`{"url": "https://93.184.215.14/a", "events": ["contact.created"], "description": "a\u0000b"}`,
		`{"description": "\u0000"}`,
		`{"name": "n\u0000", "permissions": ["webhooks:read"], "rate_limit_tier": "standard"}`,
		`{"type": "contact.created", "data": {"a": "\u0000"}}`,
		`{"type": "contact.created", "data": {"\u0000": 1}}`,
		"{\"description\": \"\xff\"}",
		`{"expire_previous_in_seconds": 3600}`,
		`{"expire_previous_in_seconds": 1e400}`,
		`{"events": ["contact.created", "contact.created"]}`,
		`{"url": "https://[::ffff:93.184.215.14]/x", "events": ["deal.created"]}`,
		`{"type": "deal.bulk_created", "data": {"items": [1,2,3], "count": 3}, "id": "7a0c1f7e-8c7b-4d43-9d55-3f4c3a0f9b12"}`,
		`{"name": "k", "permissions": [], "expires_at": "9999-12-31T23:59:59Z"}`,
		`{"mode": "read_write", "expires_in_seconds": 86400}`,
		`{"mode": "read_only", "expires_in_seconds": 1e400}`,
		`[]`, `null`, `"x"`, `{}`,
	} {
		for i := range 6 {
			f.Add(uint8(i), seed)
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		for _, ft := range targets {
			r := ft.paths[int(route)%len(ft.paths)]
			rec := ft.do(r.method, r.path, body)
			if rec.Code >= 500 {
				t.Fatalf("%s: %s %s with %q: %d %s", ft.name, r.method, r.path, body, rec.Code, rec.Body)
			}
		}
	})
}
