package middleware_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/middleware"
)

// requestIDEcho serves /ok (204) and /fail (an error), recording what the
// handler saw as the request ID.
func requestIDEcho(t *testing.T, seen *string) *echo.Echo {
	t.Helper()
	e := newEcho(t)
	e.Use(middleware.RequestID())
	e.GET("/ok", func(c echo.Context) error {
		*seen = middleware.RequestIDOf(c)
		return c.NoContent(http.StatusNoContent)
	})
	e.GET("/fail", func(c echo.Context) error {
		*seen = middleware.RequestIDOf(c)
		return gateway.Internal(errors.New("boom"))
	})
	return e
}

func TestRequestIDKeepsValid(t *testing.T) {
	tests := []struct{ name, id string }{
		{"uuid", "0d3c8f5e-2b7a-4f0e-9a51-6c1d2e3f4a5b"},
		{"all allowed punctuation", "edge-proxy_1.trace:42"},
		{"one character", "x"},
		{"mixed case", "ReqABCxyz"},
		{"128 characters", strings.Repeat("a", 128)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var seen string
			e := requestIDEcho(t, &seen)
			req := httptest.NewRequest(http.MethodGet, "/ok", nil)
			req.Header.Set(echo.HeaderXRequestID, tc.id)
			rec := serve(e, req)
			if got := rec.Header().Get(echo.HeaderXRequestID); got != tc.id {
				t.Errorf("response X-Request-ID = %q, want %q", got, tc.id)
			}
			if seen != tc.id {
				t.Errorf("RequestIDOf in the handler = %q, want %q", seen, tc.id)
			}
		})
	}
}

func TestRequestIDReplacesInvalid(t *testing.T) {
	tests := []struct {
		name string
		id   string
		set  bool
	}{
		{"absent", "", false},
		{"empty", "", true},
		{"129 characters", strings.Repeat("a", 129), true},
		{"space", "abc def", true},
		{"slash", "a/b", true},
		{"quote", `a"b`, true},
		{"angle brackets", "<script>", true},
		{"newline", "abc\ndef", true},
		{"carriage return", "abc\r\nX-Evil: 1", true},
		{"tab", "a\tb", true},
		{"NUL", "a\x00b", true},
		{"non-ASCII", "réq", true},
		{"JSON breaker", `a","level":"ERROR`, true},
		{"percent", "a%20b", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var seen string
			e := requestIDEcho(t, &seen)
			req := httptest.NewRequest(http.MethodGet, "/ok", nil)
			if tc.set {
				req.Header[echo.HeaderXRequestID] = []string{tc.id}
			}
			rec := serve(e, req)
			got := rec.Header().Get(echo.HeaderXRequestID)
			u, err := uuid.Parse(got)
			if err != nil || u.String() != got || u.Version() != 4 {
				t.Fatalf("X-Request-ID = %q, want a canonical random UUID", got)
			}
			if tc.id != "" && strings.Contains(got, tc.id) {
				t.Errorf("invalid ID %q was kept", tc.id)
			}
			if seen != got {
				t.Errorf("handler saw %q, response says %q", seen, got)
			}
		})
	}
}

func TestRequestIDUniqueAndOnErrors(t *testing.T) {
	var seen string
	e := requestIDEcho(t, &seen)
	ids := map[string]bool{}
	for range 100 {
		id := serve(e, httptest.NewRequest(http.MethodGet, "/ok", nil)).Header().Get(echo.HeaderXRequestID)
		if ids[id] {
			t.Fatalf("request ID %q generated twice", id)
		}
		ids[id] = true
	}

	t.Run("error response", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodGet, "/fail", nil)
		req.Header.Set(echo.HeaderXRequestID, "trace-1")
		rec := serve(e, req)
		env := decodeError(t, rec, http.StatusInternalServerError, gateway.CodeInternal)
		if rec.Header().Get(echo.HeaderXRequestID) != "trace-1" || env.Error.RequestID != "trace-1" {
			t.Errorf("header %q, body request_id %q, want trace-1", rec.Header().Get(echo.HeaderXRequestID), env.Error.RequestID)
		}
	})
	t.Run("unknown route", func(t *testing.T) {
		rec := serve(e, httptest.NewRequest(http.MethodGet, "/nope", nil))
		env := decodeError(t, rec, http.StatusNotFound, gateway.CodeNotFound)
		if id := rec.Header().Get(echo.HeaderXRequestID); id == "" || env.Error.RequestID != id {
			t.Errorf("header %q, body request_id %q", id, env.Error.RequestID)
		}
	})
}
