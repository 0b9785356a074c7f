package apikeys_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/internal/testclock"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/gateway/plan"
	"github.com/leadlex/api-gateway/gateway/store/memory"
	"github.com/leadlex/api-gateway/routes"
	apikeysroute "github.com/leadlex/api-gateway/routes/apikeys"
)

// basePath is the gateway's base path as deployed, so that Location headers
// are checked with it.
const basePath = "/functions/v1/api-gateway"

// start is the harness clock's initial time. It has a fractional second so
// that the tests notice a timestamp rendered with sub-second precision.
var start = time.Date(2026, 11, 27, 10, 0, 0, 700_000_000, time.UTC)

// countingStore is the real in-memory store with a count of the calls that
// write, so that tests can assert that a refused request wrote nothing.
type countingStore struct {
	*memory.Store
	writes atomic.Int64
}

// CreateKey counts the call and delegates to the memory store.
func (s *countingStore) CreateKey(ctx context.Context, k *apikeys.Key) error {
	s.writes.Add(1)
	return s.Store.CreateKey(ctx, k)
}

// RevokeKey counts the call and delegates to the memory store.
func (s *countingStore) RevokeKey(ctx context.Context, workspaceID, id, by string, at time.Time) ([]string, error) {
	s.writes.Add(1)
	return s.Store.RevokeKey(ctx, workspaceID, id, by, at)
}

// harness is one test's gateway: a real service over the real memory store,
// the module under test, and two workspaces with an admin key each.
type harness struct {
	t       *testing.T
	clock   *testclock.Clock
	store   *countingStore
	keys    *apikeys.Service
	module  *apikeysroute.Module
	wsA     string
	wsB     string
	adminA  *gateway.Principal // every permission, unmetered, plan pro
	adminB  *gateway.Principal // every permission, unmetered, plan org
	limited *gateway.Principal // workspace A: admin:api_keys + webhooks:write, standard, plan starter
	plain   map[string]string  // seeded keys' plaintexts by id
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{
		t:     t,
		clock: testclock.New(start),
		store: &countingStore{Store: memory.New()},
		wsA:   uuid.NewString(),
		wsB:   uuid.NewString(),
		plain: map[string]string{},
	}
	h.keys = apikeys.NewService(h.store, h.clock, []string{"starter", "pro", "org"}, time.Minute)
	t.Cleanup(h.keys.Close)
	h.module = &apikeysroute.Module{Keys: h.keys, BasePath: basePath, Clock: h.clock}
	h.adminA = h.seedKey(h.wsA, "admin A", gateway.AllPermissions(), "pro", plan.TierUnmetered)
	h.adminB = h.seedKey(h.wsB, "admin B", gateway.AllPermissions(), "org", plan.TierUnmetered)
	h.limited = h.seedKey(h.wsA, "limited A",
		[]gateway.Permission{gateway.PermAdminAPIKeys, gateway.PermWebhooksWrite}, "starter", plan.TierStandard)
	h.clock.Advance(time.Second)
	return h
}

// seedKey issues a key through the service and returns the principal it
// authenticates as, so that callers in the tests are real keys.
func (h *harness) seedKey(ws, name string, perms []gateway.Permission, plan, tier string) *gateway.Principal {
	h.t.Helper()
	_, plain, err := h.keys.Create(context.Background(), apikeys.CreateParams{
		WorkspaceID: ws, Name: name, Permissions: perms, Plan: plan, Tier: tier,
	})
	if err != nil {
		h.t.Fatalf("seed key %q: %v", name, err)
	}
	p, err := h.keys.Authenticate(context.Background(), plain)
	if err != nil {
		h.t.Fatalf("authenticate seeded key %q: %v", name, err)
	}
	h.plain[p.KeyID] = plain
	return p
}

// snapshot returns every key of both workspaces, revoked ones included, so
// that a test can assert that nothing changed. LastUsedAt is left out: it is
// written in the background whenever a key authenticates, not by a request's
// handler.
func (h *harness) snapshot() []apikeys.Key {
	h.t.Helper()
	var all []apikeys.Key
	for _, ws := range []string{h.wsA, h.wsB} {
		keys, err := h.store.ListKeys(context.Background(), ws, true)
		if err != nil {
			h.t.Fatal(err)
		}
		for i := range keys {
			keys[i].LastUsedAt = nil
		}
		all = append(all, keys...)
	}
	return all
}

// request describes one call. A POST or PATCH body is sent as JSON unless
// contentType says otherwise (a pointer to "" sends no Content-Type).
type request struct {
	caller      *gateway.Principal
	method      string
	path        string // relative to basePath
	body        string
	contentType *string
}

// response is a recorded answer with its body decoded loosely.
type response struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

// do sends r through echo with the module's routes mounted under basePath,
// a middleware that sets the caller as the principal, and an error handler
// that renders the contract's envelope.
func (h *harness) do(r request) response {
	h.t.Helper()
	e := echo.New()
	e.HTTPErrorHandler = renderError
	setCaller := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if r.caller != nil {
				routes.SetPrincipal(c, r.caller)
			}
			return next(c)
		}
	}
	for _, rt := range h.module.Routes() {
		e.Add(rt.Method, basePath+rt.Path, rt.Handler, setCaller)
	}
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req := httptest.NewRequest(r.method, basePath+r.path, body)
	switch {
	case r.contentType != nil:
		if *r.contentType != "" {
			req.Header.Set(echo.HeaderContentType, *r.contentType)
		}
	case r.method == http.MethodPost:
		req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	out := response{status: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	if err := json.Unmarshal(rec.Body.Bytes(), &out.body); err != nil {
		h.t.Fatalf("%s %s: response is not a JSON object: %v: %s", r.method, r.path, err, rec.Body.String())
	}
	return out
}

// renderError is the test's HTTPErrorHandler: the contract's error envelope.
func renderError(err error, c echo.Context) {
	ge := routes.ErrorOf(err)
	fields := map[string]any{"code": ge.Code, "message": ge.Message, "request_id": "req_test"}
	if ge.Details != nil {
		fields["details"] = ge.Details
	}
	_ = c.JSON(routes.Status(ge.Code), map[string]any{"error": fields})
}

// errorOf returns the error object of an error response, failing the test if
// there is none.
func errorOf(t *testing.T, r response) map[string]any {
	t.Helper()
	e, ok := r.body["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object in %s", r.raw)
	}
	return e
}

// expectError asserts the status and code of an error response and returns
// its details (nil when absent).
func expectError(t *testing.T, r response, status int, code gateway.Code) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.raw)
	}
	e := errorOf(t, r)
	if e["code"] != string(code) {
		t.Fatalf("code = %v, want %s; body %s", e["code"], code, r.raw)
	}
	if msg, _ := e["message"].(string); msg == "" {
		t.Fatalf("error without a message: %s", r.raw)
	}
	d, _ := e["details"].(map[string]any)
	return d
}

// strs converts a decoded JSON array to strings.
func strs(t *testing.T, v any) []string {
	t.Helper()
	arr, ok := v.([]any)
	if !ok {
		t.Fatalf("%v is not an array", v)
	}
	out := make([]string, len(arr))
	for i, x := range arr {
		s, ok := x.(string)
		if !ok {
			t.Fatalf("%v is not a string", x)
		}
		out[i] = s
	}
	return out
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }
