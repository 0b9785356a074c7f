package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/leadlex/api-gateway/config"
)

// TestSupabaseStoreIsWiredFromConfiguration starts the assembly with
// SUPABASE_URL pointing at a stand-in that answers like PostgREST, and checks
// that readiness goes through it with the service-role key.
func TestSupabaseStoreIsWiredFromConfiguration(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	var sawKey atomic.Bool
	rest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("apikey") == "service-role-key" && r.Header.Get("Authorization") == "Bearer service-role-key" {
			sawKey.Store(true)
		}
		if !strings.HasPrefix(r.URL.Path, "/rest/v1/") {
			http.NotFound(w, r)
			return
		}
		if !healthy.Load() {
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte("<html>bad gateway</html>"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("[]"))
	}))
	t.Cleanup(rest.Close)
	env := map[string]string{"SUPABASE_URL": rest.URL, "SUPABASE_SERVICE_ROLE_KEY": "service-role-key"}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	app, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{LogOutput: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Close)
	if app.Stores.Kind != "supabase" {
		t.Fatalf("store = %s", app.Stores.Kind)
	}
	ready := func() (int, string) {
		rec := httptest.NewRecorder()
		app.Echo.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := ready(); code != 200 || !strings.Contains(body, `"database":"ok"`) || !sawKey.Load() {
		t.Fatalf("ready: %d %s (service key sent: %v)", code, body, sawKey.Load())
	}
	healthy.Store(false)
	if code, body := ready(); code != 503 || !strings.Contains(body, `"database":"down"`) || strings.Contains(body, "service-role-key") {
		t.Fatalf("PostgREST down: %d %s", code, body)
	}
}
