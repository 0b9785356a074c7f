package routes_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/routes"
)

func TestRouteRequired(t *testing.T) {
	tests := []struct {
		name  string
		route routes.Route
		want  []gateway.Permission
	}{
		{"single", routes.Route{Permission: gateway.PermWebhooksWrite}, []gateway.Permission{gateway.PermWebhooksWrite}},
		{"any of wins", routes.Route{Permission: gateway.PermWebhooksWrite, AnyOf: []gateway.Permission{gateway.PermEventsRead, gateway.PermWebhooksRead}},
			[]gateway.Permission{gateway.PermEventsRead, gateway.PermWebhooksRead}},
		{"public", routes.Route{Permission: routes.Public}, []gateway.Permission{routes.Public}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.route.Required(); !slices.Equal(got, tc.want) {
				t.Errorf("Required() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPrincipalOnContext(t *testing.T) {
	e := echo.New()
	c := e.NewContext(httptest.NewRequest(http.MethodGet, "/", nil), httptest.NewRecorder())
	if p := routes.PrincipalFrom(c); p != nil {
		t.Fatalf("PrincipalFrom before SetPrincipal = %+v, want nil", p)
	}
	want := &gateway.Principal{KeyID: "k", WorkspaceID: "w", Permissions: []gateway.Permission{gateway.PermEventsRead}}
	routes.SetPrincipal(c, want)
	if got := routes.PrincipalFrom(c); got != want {
		t.Errorf("PrincipalFrom = %+v, want %+v", got, want)
	}
	c.Set("gateway.principal", "not a principal")
	if p := routes.PrincipalFrom(c); p != nil {
		t.Errorf("PrincipalFrom of a foreign value = %+v, want nil", p)
	}
}
