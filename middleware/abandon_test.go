package middleware_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/leadlex/api-gateway/middleware"
)

// TestAbandonUnreadBody checks which answers close the connection: those
// given without reading a body to its end, and no others.
func TestAbandonUnreadBody(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		body      string
		chunked   bool
		read      func(io.Reader)
		wantClose bool
	}{
		{name: "no body", method: http.MethodGet},
		{name: "body unread", method: http.MethodPost, body: `{"a": 1}`, wantClose: true},
		{name: "chunked body unread", method: http.MethodPost, body: `{"a": 1}`, chunked: true, wantClose: true},
		{name: "body half read", method: http.MethodPost, body: `{"a": 1}`, read: func(r io.Reader) { _, _ = r.Read(make([]byte, 2)) }, wantClose: true},
		{name: "body over the limit", method: http.MethodPost, body: strings.Repeat("x", 100), chunked: true, read: func(r io.Reader) { _, _ = io.ReadAll(r) }, wantClose: true},
		{name: "body read to the end", method: http.MethodPost, body: `{"a": 1}`, read: func(r io.Reader) { _, _ = io.ReadAll(r) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEcho(t)
			e.Use(middleware.BodyLimit(64))
			e.Any("/x", func(c echo.Context) error {
				if tt.read != nil {
					tt.read(c.Request().Body)
				}
				middleware.AbandonUnreadBody(c)
				return c.NoContent(http.StatusUnauthorized)
			})
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req := httptest.NewRequest(tt.method, "/x", body)
			if tt.chunked {
				req.ContentLength = -1
			}
			rec := serve(e, req)
			if got := rec.Header().Get("Connection") == "close"; got != tt.wantClose {
				t.Errorf("Connection: close = %v, want %v", got, tt.wantClose)
			}
		})
	}
}
