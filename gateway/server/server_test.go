package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/leadlex/api-gateway/config"
	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/gateway/ratelimit"
	"github.com/leadlex/api-gateway/routes"
)

// fakeDNS is a resolver for names the test decides; the machine has none.
type fakeDNS map[string][]string

func (f fakeDNS) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	addrs, ok := f[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	out := make([]net.IPAddr, len(addrs))
	for i, a := range addrs {
		out[i] = net.IPAddr{IP: net.ParseIP(a)}
	}
	return out, nil
}

type pingModule struct{ routes []routes.Route }

func (m pingModule) Name() string           { return "ping" }
func (m pingModule) Routes() []routes.Route { return m.routes }

func ok(c echo.Context) error { return c.JSON(http.StatusOK, map[string]any{"data": map[string]any{}}) }

// newApp assembles a development gateway: memory store, in-process limits.
func newApp(t *testing.T, opts Options) (*App, string) {
	t.Helper()
	return newAppEnv(t, nil, opts)
}

// newAppEnv is newApp with environment variables. The delivery guard is
// always armed (DELIVERY_ALLOW_ONLY): deliveries reach only the addresses
// in env's DELIVERY_ALLOW_CIDRS, names resolve only through its DNS_SERVER,
// and anything else fails the test unless opts brings its own
// OnGuardViolation.
func newAppEnv(t *testing.T, env map[string]string, opts Options) (*App, string) {
	t.Helper()
	cfg, err := config.Load(func(k string) string {
		if k == "DELIVERY_ALLOW_ONLY" {
			return "true"
		}
		return env[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if opts.OnGuardViolation == nil {
		opts.OnGuardViolation = func(address string) {
			t.Errorf("the gateway tried to reach %s, outside the test's receivers", address)
		}
	}
	app, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Close)
	_, key, err := app.Keys.Create(context.Background(), apikeys.CreateParams{
		WorkspaceID: "7a0c1f7e-8c7b-4d43-9d55-3f4c3a0f9b11", Permissions: []gateway.Permission{gateway.PermWebhooksWrite}, Plan: "org",
	})
	if err != nil {
		t.Fatal(err)
	}
	return app, key
}

func call(t *testing.T, app *App, method, path, key, body string) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, app.Config.BasePath+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	rec := httptest.NewRecorder()
	app.Echo.ServeHTTP(rec, req)
	var m map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &m)
	return rec, m
}

func TestWebhookURLsAreCheckedWithTheResolver(t *testing.T) {
	app, key := newApp(t, Options{Resolver: fakeDNS{
		"hooks.example.com":  {"93.184.215.14"},
		"mixed.example.com":  {"93.184.215.14", "10.0.0.5"},
		"intranet.example":   {"192.168.10.2"},
		"metadata.example":   {"169.254.169.254"},
		"v6-local.example":   {"fd12::1"},
		"mapped.example.com": {"::ffff:127.0.0.1"},
	}})
	tests := []struct {
		host   string
		status int
	}{
		{"hooks.example.com", 201},
		{"HOOKS.example.com.", 409}, // the same host after normalising
		{"mixed.example.com", 400},
		{"intranet.example", 400},
		{"metadata.example", 400},
		{"v6-local.example", 400},
		{"mapped.example.com", 400},
		{"nxdomain.example.com", 400},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			rec, body := call(t, app, "POST", "/v1/webhooks", key, `{"url": "https://`+tt.host+`/hook", "events": ["contact.created"]}`)
			if rec.Code != tt.status {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			if tt.status == 400 && body["error"].(map[string]any)["code"] != "invalid_url" {
				t.Fatalf("code: %s", rec.Body)
			}
		})
	}
}

func TestMountAppliesTheDeclaredPermission(t *testing.T) {
	app, key := newApp(t, Options{ExtraModules: []routes.Module{pingModule{routes: []routes.Route{
		{Method: "GET", Path: "/v1/ping/read", Permission: gateway.PermWebhooksRead, Handler: ok},
		{Method: "GET", Path: "/v1/ping/publish", Permission: gateway.PermEventsPublish, Handler: ok},
		{Method: "GET", Path: "/v1/ping/any", AnyOf: []gateway.Permission{gateway.PermEventsRead, gateway.PermWebhooksRead}, Handler: ok},
		{Method: "GET", Path: "/v1/ping/public", Permission: routes.Public, Handler: ok},
	}}}})
	tests := []struct {
		path, key string
		status    int
	}{
		{"/v1/ping/read", key, 200}, // webhooks:write implies webhooks:read
		{"/v1/ping/publish", key, 403},
		{"/v1/ping/any", key, 200},
		{"/v1/ping/read", "", 401},
		{"/v1/ping/public", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec, _ := call(t, app, "GET", tt.path, tt.key, "")
			if rec.Code != tt.status {
				t.Fatalf("%d %s, want %d", rec.Code, rec.Body, tt.status)
			}
			if tt.key != "" && rec.Header().Get("X-RateLimit-Limit") == "" {
				t.Error("authenticated response without rate-limit headers")
			}
		})
	}
}

func TestMountRefusesUndeclaredRoutes(t *testing.T) {
	tests := []routes.Route{
		{Method: "GET", Path: "/v1/x", Handler: ok},                                    // no permission
		{Method: "GET", Path: "/v1/x", Permission: gateway.PermWebhooksRead},           // no handler
		{Method: "", Path: "/v1/x", Permission: gateway.PermWebhooksRead, Handler: ok}, // no method
		{Method: "GET", Path: "", Permission: gateway.PermWebhooksRead, Handler: ok},   // no path
	}
	for i, r := range tests {
		err := mount(echo.New(), "/base", pingModule{routes: []routes.Route{r}}, routeChain{})
		if err == nil {
			t.Errorf("route %d mounted: %+v", i, r)
		}
	}
}

func TestPanicsBecomeInternalErrors(t *testing.T) {
	app, key := newApp(t, Options{ExtraModules: []routes.Module{pingModule{routes: []routes.Route{
		{Method: "GET", Path: "/v1/boom", Permission: gateway.PermWebhooksRead, Handler: func(echo.Context) error { panic("secret detail") }},
		{Method: "GET", Path: "/v1/fail", Permission: gateway.PermWebhooksRead, Handler: func(echo.Context) error { return errors.New("db password=hunter2") }},
	}}}})
	for _, path := range []string{"/v1/boom", "/v1/fail"} {
		rec, body := call(t, app, "GET", path, key, "")
		if rec.Code != 500 || body["error"].(map[string]any)["code"] != "internal_error" {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
		if strings.Contains(rec.Body.String(), "secret detail") || strings.Contains(rec.Body.String(), "hunter2") {
			t.Fatalf("%s leaks the cause: %s", path, rec.Body)
		}
	}
}

func TestLimitsFor(t *testing.T) {
	plans := config.DefaultPlans()
	tests := []struct {
		plan, tier string
		want       ratelimit.Limits
		metered    bool
	}{
		{"starter", "standard", ratelimit.Limits{PerMinute: 10, PerDay: 100}, true},
		{"pro", "high", ratelimit.Limits{PerMinute: 250, PerDay: 5000}, true},
		{"org", "unmetered", ratelimit.Limits{}, false},
		{"unknown", "standard", ratelimit.Limits{PerMinute: 10, PerDay: 100}, true},
	}
	for _, tt := range tests {
		got, metered := LimitsFor(plans, tt.plan, tt.tier)
		if got != tt.want || metered != tt.metered {
			t.Errorf("%s/%s = %+v %v", tt.plan, tt.tier, got, metered)
		}
	}
}
