package events

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/catalog"
	"github.com/leadlex/api-gateway/routes"
)

func TestRoutes(t *testing.T) {
	var m routes.Module = (&Module{})
	if m.Name() != "events" {
		t.Errorf("Name() = %q", m.Name())
	}
	routes := m.Routes()
	if len(routes) != 2 {
		t.Fatalf("Routes() has %d routes, want the catalog and publish", len(routes))
	}
	if p := routes[1]; p.Method != http.MethodPost || p.Path != "/v1/events" || p.Permission != gateway.PermEventsPublish || p.Handler == nil {
		t.Errorf("publish route = %s %s %s", p.Method, p.Path, p.Permission)
	}
	r := routes[0]
	if r.Method != http.MethodGet || r.Path != "/v1/events/catalog" {
		t.Errorf("route = %s %s, want GET /v1/events/catalog", r.Method, r.Path)
	}
	want := []gateway.Permission{gateway.PermEventsRead, gateway.PermWebhooksRead}
	if !slices.Equal(r.AnyOf, want) || !slices.Equal(r.Required(), want) {
		t.Errorf("AnyOf = %v, Required() = %v, want %v", r.AnyOf, r.Required(), want)
	}
	if r.Handler == nil || r.Summary == "" {
		t.Error("route has no handler or no summary")
	}
	// What the server's permission check will make of the declaration: any
	// webhooks permission or events:read lets a key in, nothing else does.
	for _, tc := range []struct {
		held []gateway.Permission
		ok   bool
	}{
		{[]gateway.Permission{gateway.PermEventsRead}, true},
		{[]gateway.Permission{gateway.PermWebhooksRead}, true},
		{[]gateway.Permission{gateway.PermWebhooksWrite}, true},
		{[]gateway.Permission{gateway.PermEventsPublish}, false},
		{[]gateway.Permission{gateway.PermAdminAPIKeys}, false},
		{nil, false},
	} {
		ok := slices.ContainsFunc(r.Required(), func(p gateway.Permission) bool { return gateway.Satisfies(tc.held, p) })
		if ok != tc.ok {
			t.Errorf("key with %v admitted = %v, want %v", tc.held, ok, tc.ok)
		}
	}
}

// response is the body of a successful catalog request, with the documents
// kept raw so that their exact rendering can be compared.
type response struct {
	Data struct {
		Events []struct {
			Type           string          `json:"type"`
			Category       string          `json:"category"`
			Description    string          `json:"description"`
			DataSchema     json.RawMessage `json:"data_schema"`
			ExamplePayload json.RawMessage `json:"example_payload"`
			IntroducedIn   string          `json:"introduced_in"`
			Stability      string          `json:"stability"`
		} `json:"events"`
		Total int `json:"total"`
	} `json:"data"`
}

// serve runs the catalog handler for target, through echo's router so that
// the declared path is the one that matches, as an authorised caller.
func serve(t *testing.T, target string) (*httptest.ResponseRecorder, error) {
	t.Helper()
	e := echo.New()
	r := (&Module{}).Routes()[0]
	var handlerErr error
	e.Add(r.Method, r.Path, func(c echo.Context) error {
		routes.SetPrincipal(c, &gateway.Principal{
			KeyID:       "0b7f6a8e-3c1d-4e2f-9a5b-6c7d8e9f0a1b",
			WorkspaceID: "0fd904a1-32c0-4ca7-b45d-2d45de1b968a",
			Permissions: []gateway.Permission{gateway.PermWebhooksWrite},
		})
		handlerErr = r.Handler(c)
		return handlerErr
	})
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec, handlerErr
}

func decode(t *testing.T, rec *httptest.ResponseRecorder) response {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, body %s", rec.Code, rec.Body)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	if len(raw) != 1 || raw["data"] == nil {
		t.Fatalf("body members = %v, want only data", raw)
	}
	var inner map[string]json.RawMessage
	if err := json.Unmarshal(raw["data"], &inner); err != nil || len(inner) != 2 || inner["events"] == nil || inner["total"] == nil {
		t.Fatalf("data = %s, want exactly events and total", raw["data"])
	}
	var resp response
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestCatalogAll(t *testing.T) {
	rec, err := serve(t, "/v1/events/catalog")
	if err != nil {
		t.Fatalf("handler error: %v", err)
	}
	if ct := rec.Header().Get(echo.HeaderContentType); ct != echo.MIMEApplicationJSON {
		t.Errorf("Content-Type = %q", ct)
	}
	resp := decode(t, rec)
	all := catalog.All()
	if resp.Data.Total != 28 || len(resp.Data.Events) != 28 || len(all) != 28 {
		t.Fatalf("total = %d, events = %d, want 28", resp.Data.Total, len(resp.Data.Events))
	}
	for i, got := range resp.Data.Events {
		want := all[i]
		if got.Type != want.Type || got.Category != want.Category || got.Description != want.Description ||
			got.IntroducedIn != want.IntroducedIn || got.Stability != string(want.Stability) {
			t.Errorf("event %d = %+v, want %+v", i, got, want)
		}
		// The documents are nested objects, not strings, and are served
		// byte for byte as the catalog holds them.
		if string(got.DataSchema) != string(want.DataSchema) {
			t.Errorf("%s: data_schema = %s", want.Type, got.DataSchema)
		}
		if string(got.ExamplePayload) != string(want.ExamplePayload) {
			t.Errorf("%s: example_payload = %s", want.Type, got.ExamplePayload)
		}
		var envelope struct {
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		}
		if err := json.Unmarshal(got.ExamplePayload, &envelope); err != nil || envelope.Type != want.Type || envelope.Data == nil {
			t.Errorf("%s: example_payload is not a delivery body of this type: %s", want.Type, got.ExamplePayload)
		}
	}
	merged := resp.Data.Events[4]
	if merged.Type != "contact.merged" || merged.Stability != "beta" {
		t.Errorf("events[4] = %s (%s), want contact.merged (beta)", merged.Type, merged.Stability)
	}
}

func TestCatalogCategoryFilter(t *testing.T) {
	for _, category := range catalog.Categories() {
		t.Run(category, func(t *testing.T) {
			rec, err := serve(t, "/v1/events/catalog?category="+category)
			if err != nil {
				t.Fatalf("handler error: %v", err)
			}
			resp := decode(t, rec)
			want := catalog.InCategory(category)
			if resp.Data.Total != len(want) || len(resp.Data.Events) != len(want) {
				t.Fatalf("total = %d, events = %d, want %d", resp.Data.Total, len(resp.Data.Events), len(want))
			}
			for i, got := range resp.Data.Events {
				if got.Category != category || got.Type != want[i].Type {
					t.Errorf("events[%d] = %s (%s), want %s", i, got.Type, got.Category, want[i].Type)
				}
			}
		})
	}
	rec, _ := serve(t, "/v1/events/catalog?category=deal")
	if got := decode(t, rec).Data.Total; got != 5 {
		t.Errorf("deal total = %d, want 5", got)
	}
	rec, _ = serve(t, "/v1/events/catalog?category=activity")
	if got := decode(t, rec).Data.Total; got != 1 {
		t.Errorf("activity total = %d, want 1", got)
	}
}

func TestCatalogBadCategory(t *testing.T) {
	for _, tc := range []struct{ name, query string }{
		{"unknown", "?category=invoice"},
		{"event type instead of category", "?category=contact.created"},
		{"wrong case", "?category=Contact"},
		{"empty", "?category="},
		{"repeated", "?category=deal&category=task"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := serve(t, "/v1/events/catalog"+tc.query)
			var gerr *gateway.Error
			if !errors.As(err, &gerr) {
				t.Fatalf("handler returned %v (%T), want *gateway.Error; body %s", err, err, rec.Body)
			}
			if gerr.Code != gateway.CodeValidation || routes.Status(gerr.Code) != http.StatusBadRequest {
				t.Errorf("code = %s (%d), want validation_error (400)", gerr.Code, routes.Status(gerr.Code))
			}
			if gerr.Details["field"] != "category" {
				t.Errorf("details.field = %v, want category", gerr.Details["field"])
			}
			allowed, _ := gerr.Details["allowed"].([]string)
			if !slices.Equal(allowed, catalog.Categories()) {
				t.Errorf("details.allowed = %v, want %v", gerr.Details["allowed"], catalog.Categories())
			}
			if gerr.Message == "" {
				t.Error("empty message")
			}
		})
	}
}

func TestUnknownCategoryMessageIsBounded(t *testing.T) {
	_, err := List(strings.Repeat("x", 10_000))
	var gerr *gateway.Error
	if !errors.As(err, &gerr) || len(gerr.Message) > 400 {
		t.Fatalf("error = %v", err)
	}
}

func TestList(t *testing.T) {
	all, err := List("")
	if err != nil || all.Total != catalog.Count || len(all.Events) != catalog.Count {
		t.Fatalf("List(\"\") = %d events, total %d, %v", len(all.Events), all.Total, err)
	}
	tasks, err := List("task")
	if err != nil || tasks.Total != 4 || tasks.Events[0].Type != "task.created" {
		t.Fatalf("List(task) = %+v, %v", tasks, err)
	}
}
