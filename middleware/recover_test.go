package middleware_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/middleware"
)

func TestRecover(t *testing.T) {
	tests := []struct {
		name  string
		panic any
	}{
		{"string", "secret-panic-text"},
		{"error", errors.New("secret-panic-text")},
		{"runtime error", nil}, // index out of range below
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			e := newEcho(t)
			e.Use(middleware.RequestID(), middleware.Recover(slog.New(slog.NewJSONHandler(&buf, nil))))
			e.GET("/boom", func(echo.Context) error {
				if tc.panic == nil {
					var none []string
					_ = none[len(tc.name)]
				}
				panic(tc.panic)
			})
			req := httptest.NewRequest(http.MethodGet, "/boom", nil)
			req.Header.Set(echo.HeaderXRequestID, "req-panic-1")
			rec := serve(e, req)

			decodeError(t, rec, http.StatusInternalServerError, gateway.CodeInternal)
			if strings.Contains(rec.Body.String(), "secret-panic-text") || strings.Contains(rec.Body.String(), "goroutine") {
				t.Errorf("the response exposes the panic: %s", rec.Body)
			}
			lines := logLines(t, &buf)
			if len(lines) != 1 {
				t.Fatalf("%d log lines, want 1: %s", len(lines), buf.String())
			}
			l := lines[0]
			if l["level"] != "ERROR" || l["msg"] != "panic" || l["request_id"] != "req-panic-1" {
				t.Errorf("log = %v", l)
			}
			if p, _ := l["panic"].(string); !strings.Contains(p, "secret-panic-text") && !strings.Contains(p, "index out of range") {
				t.Errorf("panic value not logged: %v", l["panic"])
			}
			if s, _ := l["stack"].(string); !strings.Contains(s, "recover_test.go") {
				t.Errorf("stack does not point at the handler: %.200s", s)
			}
		})
	}
}

func TestRecoverPassesThrough(t *testing.T) {
	e := newEcho(t)
	e.Use(middleware.Recover(discardLogger()))
	e.GET("/ok", func(c echo.Context) error { return c.String(http.StatusOK, "fine") })
	e.GET("/err", func(echo.Context) error { return gateway.E(gateway.CodeWebhookNotFound, "nope") })

	if rec := serve(e, httptest.NewRequest(http.MethodGet, "/ok", nil)); rec.Code != http.StatusOK || rec.Body.String() != "fine" {
		t.Errorf("ok: %d %s", rec.Code, rec.Body)
	}
	decodeError(t, serve(e, httptest.NewRequest(http.MethodGet, "/err", nil)), http.StatusNotFound, gateway.CodeWebhookNotFound)
}

// http.ErrAbortHandler is net/http's way to abort a response silently; it
// must reach the server, not become a 500.
func TestRecoverRepanicsAbortHandler(t *testing.T) {
	e := echo.New()
	h := middleware.Recover(discardLogger())(func(echo.Context) error { panic(http.ErrAbortHandler) })
	c := e.NewContext(httptest.NewRequest(http.MethodGet, "/", nil), httptest.NewRecorder())
	defer func() {
		if r := recover(); r != http.ErrAbortHandler {
			t.Errorf("recovered %v, want http.ErrAbortHandler re-panicked", r)
		}
	}()
	err := h(c)
	t.Errorf("returned %v instead of panicking", err)
}
