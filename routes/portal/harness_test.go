package portal_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/gateway/plan"
	"github.com/leadlex/api-gateway/gateway/ratelimit"
	"github.com/leadlex/api-gateway/gateway/store/memory"
	"github.com/leadlex/api-gateway/internal/testclock"
	"github.com/leadlex/api-gateway/middleware"
	"github.com/leadlex/api-gateway/routes"
	"github.com/leadlex/api-gateway/routes/portal"
)

const basePath = "/functions/v1/api-gateway"

var start = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// harness is one test's gateway slice: the real key service over the
// memory store, the portal module and page mounted with the real auth and
// permission middleware, and an envelope-rendering error handler.
type harness struct {
	t     *testing.T
	clock *testclock.Clock
	store *memory.Store
	keys  *apikeys.Service
	e     *echo.Echo
	ws    string
}

func newHarness(t *testing.T, publicBaseURL string) *harness {
	t.Helper()
	h := &harness{t: t, clock: testclock.New(start), store: memory.New(), ws: uuid.NewString()}
	// A zero cache TTL: revocations and expiry show at once.
	h.keys = apikeys.NewService(h.store, h.clock, plan.Names(), 0)
	t.Cleanup(h.keys.Close)
	page := &portal.Page{}
	h.e = echo.New()
	h.e.HTTPErrorHandler = func(err error, c echo.Context) { _ = routes.ErrorJSON(c, err, middleware.RequestIDOf(c)) }
	h.e.Use(middleware.RequestID())
	auth := (&middleware.Auth{Keys: h.keys, IPLimiter: ratelimit.NewMemory(), IPLimits: ratelimit.Limits{PerMinute: 1000},
		Clock: h.clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}).Middleware()
	mod := &portal.Module{Keys: h.keys, BasePath: basePath, PublicBaseURL: publicBaseURL}
	for _, m := range []routes.Module{mod, page} {
		for _, r := range m.Routes() {
			var mws []echo.MiddlewareFunc
			if r.Permission != routes.Public {
				mws = append(mws, auth, middleware.RequirePermission(r.Required()...))
			}
			h.e.Add(r.Method, basePath+r.Path, r.Handler, mws...)
		}
	}
	return h
}

// key issues a key of the harness's workspace (or ws, when given) and
// returns its plaintext and id.
func (h *harness) key(perms []gateway.Permission, expires *time.Time, ws ...string) (plain, id string) {
	h.t.Helper()
	workspace := h.ws
	if len(ws) > 0 {
		workspace = ws[0]
	}
	k, plain, err := h.keys.Create(context.Background(), apikeys.CreateParams{
		WorkspaceID: workspace, Name: "test", Permissions: perms, Plan: plan.Org, Tier: plan.TierStandard, ExpiresAt: expires,
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return plain, k.ID
}

// writer is a key with webhooks:write, the permission links need.
func (h *harness) writer() string {
	h.t.Helper()
	k, _ := h.key([]gateway.Permission{gateway.PermWebhooksWrite}, nil)
	return k
}

// request is one call; ctype defaults to JSON when there is a body.
type request struct {
	method, path, key, body, ctype string
	headers                        map[string]string
}

type response struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

func (h *harness) do(r request) response {
	h.t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req := httptest.NewRequest(r.method, basePath+r.path, body)
	if r.key != "" {
		req.Header.Set("Authorization", "Bearer "+r.key)
	}
	switch {
	case r.ctype != "":
		req.Header.Set("Content-Type", r.ctype)
	case r.body != "":
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.headers {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.e.ServeHTTP(rec, req)
	out := response{status: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(rec.Body.Bytes(), &out.body); err != nil {
			h.t.Fatalf("%s %s: not JSON: %s", r.method, r.path, rec.Body.String())
		}
	}
	return out
}

// session creates a portal session with body and returns its data,
// failing the test unless it is a 201.
func (h *harness) session(key, body string) map[string]any {
	h.t.Helper()
	r := h.do(request{method: http.MethodPost, path: "/v1/portal-sessions", key: key, body: body})
	if r.status != http.StatusCreated {
		h.t.Fatalf("create session: %d %s", r.status, r.raw)
	}
	return r.body["data"].(map[string]any)["portal_session"].(map[string]any)
}

// linkKey returns the key in a link's fragment.
func linkKey(t *testing.T, link string) string {
	t.Helper()
	_, k, ok := strings.Cut(link, "#k=")
	if !ok || !apikeys.WellFormed(k) {
		t.Fatalf("link %q carries no key in its fragment", link)
	}
	return k
}

// expectError checks status, code and (when field is set) details.field.
func expectError(t *testing.T, r response, status int, code gateway.Code, field string) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d: %s", r.status, status, r.raw)
	}
	e, _ := r.body["error"].(map[string]any)
	if e == nil || e["code"] != string(code) || e["message"] == "" || e["request_id"] == "" {
		t.Fatalf("error = %s, want code %s with a message and a request_id", r.raw, code)
	}
	d, _ := e["details"].(map[string]any)
	if field != "" && (d == nil || d["field"] != field) {
		t.Fatalf("details = %v, want field %q", d, field)
	}
	return d
}
