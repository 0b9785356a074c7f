package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/middleware"
)

func TestQueryRules(t *testing.T) {
	e := newEcho(t)
	e.GET("/x", func(c echo.Context) error { return c.String(http.StatusOK, c.QueryParam("page")) }, middleware.QueryRules())
	tests := []struct {
		query string
		field string // "" for accepted
	}{
		{"", ""},
		{"page=2", ""},
		{"page=2&per_page=10", ""},
		{"page=2&&per_page=10&", ""},
		{"q=a%20b+c&flag", ""},
		{"page=%zz", "page"},
		{"page=%2", "page"},
		{"%zz=1", "%zz"},
		{"page=1;per_page=2", "page"},
		{"a;b=1", "a;b"},
		{"page=1&page=2", "page"},
		{"page=1&page=1", "page"},
		{"page=1&pa%67e=2", "page"},
		{"flag&flag", "flag"},
		{strings.Repeat("k", 200) + "=%zz", strings.Repeat("k", 64)},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			rec := serve(e, httptest.NewRequest(http.MethodGet, "/x?"+tt.query, nil))
			if tt.field == "" {
				if rec.Code != http.StatusOK {
					t.Fatalf("refused: %d %s", rec.Code, rec.Body)
				}
				return
			}
			env := decodeError(t, rec, http.StatusBadRequest, gateway.CodeValidation)
			if env.Error.Details["field"] != tt.field {
				t.Errorf("details.field = %v, want %q", env.Error.Details["field"], tt.field)
			}
		})
	}
}

func TestHeaderLimit(t *testing.T) {
	const limit = 2048
	e := newEcho(t)
	e.Use(middleware.HeaderLimit(limit))
	e.GET("/x", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	for _, tt := range []struct {
		name   string
		extra  int
		status int
	}{
		{"well under", 100, http.StatusNoContent},
		{"just under", limit - 200, http.StatusNoContent},
		{"over", limit, http.StatusRequestHeaderFieldsTooLarge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/x", nil)
			req.Header.Set("X-Padding", strings.Repeat("p", tt.extra))
			rec := serve(e, req)
			if tt.status == http.StatusNoContent {
				if rec.Code != tt.status {
					t.Fatalf("%d %s", rec.Code, rec.Body)
				}
				return
			}
			env := decodeError(t, rec, tt.status, gateway.CodeHeadersTooLarge)
			if env.Error.Details["limit_bytes"] != float64(limit) {
				t.Errorf("details = %v", env.Error.Details)
			}
		})
	}
}
