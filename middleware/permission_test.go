package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/middleware"
)

func TestRequirePermission(t *testing.T) {
	perms := func(ps ...gateway.Permission) []gateway.Permission { return ps }
	tests := []struct {
		name     string
		held     []gateway.Permission
		noAuth   bool // no principal at all
		anyOf    []gateway.Permission
		allowed  bool
		required any // details.required when refused
	}{
		{name: "exact", held: perms(gateway.PermWebhooksRead), anyOf: perms(gateway.PermWebhooksRead), allowed: true},
		{name: "write implies read", held: perms(gateway.PermWebhooksWrite), anyOf: perms(gateway.PermWebhooksRead), allowed: true},
		{name: "read does not imply write", held: perms(gateway.PermWebhooksRead), anyOf: perms(gateway.PermWebhooksWrite),
			required: "webhooks:write"},
		{name: "other resource's write does not imply read", held: perms(gateway.PermWebhooksWrite), anyOf: perms(gateway.PermEventsRead),
			required: "events:read"},
		{name: "no permissions", held: nil, anyOf: perms(gateway.PermAdminAPIKeys), required: "admin:api_keys"},
		{name: "no principal", noAuth: true, anyOf: perms(gateway.PermWebhooksRead), required: "webhooks:read"},
		{name: "any of: first", held: perms(gateway.PermEventsRead), anyOf: perms(gateway.PermEventsRead, gateway.PermWebhooksRead), allowed: true},
		{name: "any of: second", held: perms(gateway.PermWebhooksRead), anyOf: perms(gateway.PermEventsRead, gateway.PermWebhooksRead), allowed: true},
		{name: "any of: implied", held: perms(gateway.PermWebhooksWrite), anyOf: perms(gateway.PermEventsRead, gateway.PermWebhooksRead), allowed: true},
		{name: "any of: none", held: perms(gateway.PermEventsPublish, gateway.PermAdminAPIKeys), anyOf: perms(gateway.PermEventsRead, gateway.PermWebhooksRead),
			required: []any{"events:read", "webhooks:read"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEcho(t)
			calls := 0
			mw := []echo.MiddlewareFunc{}
			if !tc.noAuth {
				mw = append(mw, withPrincipal(&gateway.Principal{KeyID: "k", Permissions: tc.held}))
			}
			mw = append(mw, middleware.RequirePermission(tc.anyOf...))
			e.GET("/x", func(c echo.Context) error {
				calls++
				return c.NoContent(http.StatusNoContent)
			}, mw...)
			rec := serve(e, httptest.NewRequest(http.MethodGet, "/x", nil))
			if tc.allowed {
				if rec.Code != http.StatusNoContent || calls != 1 {
					t.Fatalf("status %d, %d calls; want the handler to run: %s", rec.Code, calls, rec.Body)
				}
				return
			}
			if calls != 0 {
				t.Error("the handler ran")
			}
			env := decodeError(t, rec, http.StatusForbidden, gateway.CodeInsufficientPermissions)
			got := env.Error.Details["required"]
			switch want := tc.required.(type) {
			case string:
				if got != want {
					t.Errorf("details.required = %#v, want %q", got, want)
				}
			case []any:
				list, ok := got.([]any)
				if !ok || len(list) != len(want) {
					t.Fatalf("details.required = %#v, want %v", got, want)
				}
				for i := range want {
					if list[i] != want[i] {
						t.Errorf("details.required = %v, want %v", list, want)
					}
				}
			}
		})
	}
}
