package middleware_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/middleware"
	"github.com/leadlex/api-gateway/routes"
)

// Helpers shared by the middleware tests.

// errorEnvelope is the contract's error body.
type errorEnvelope struct {
	Error struct {
		Code      gateway.Code   `json:"code"`
		Message   string         `json:"message"`
		Details   map[string]any `json:"details"`
		RequestID string         `json:"request_id"`
	} `json:"error"`
}

// newEcho returns an echo instance whose error handler renders errors in the
// contract's envelope, as the server does, and that takes the client IP from
// the connection only.
func newEcho(t *testing.T) *echo.Echo {
	t.Helper()
	e := echo.New()
	e.HideBanner = true
	e.IPExtractor = echo.ExtractIPDirect()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		ge := routes.ErrorOf(err)
		var body errorEnvelope
		body.Error.Code = ge.Code
		body.Error.Message = ge.Message
		body.Error.Details = ge.Details
		body.Error.RequestID = middleware.RequestIDOf(c)
		_ = c.JSON(routes.Status(ge.Code), body)
	}
	return e
}

// serve runs one request through e.
func serve(e *echo.Echo, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

// decodeError parses an error response and checks its status and code.
func decodeError(t *testing.T, rec *httptest.ResponseRecorder, status int, code gateway.Code) errorEnvelope {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	var env errorEnvelope
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
		t.Fatalf("error body %q: %v", rec.Body, err)
	}
	if env.Error.Code != code {
		t.Fatalf("code = %q, want %q; body %s", env.Error.Code, code, rec.Body)
	}
	if env.Error.Message == "" {
		t.Error("error without message")
	}
	return env
}

// decodeJSON unmarshals b into v or fails the test.
func decodeJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
}

// mustFloat parses s as JSON numbers decode into any.
func mustFloat(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("parsing %q: %v", s, err)
	}
	return f
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// withPrincipal stands in for Auth: it sets p on every request.
func withPrincipal(p *gateway.Principal) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			routes.SetPrincipal(c, p)
			return next(c)
		}
	}
}

// logLines parses buf as JSON lines.
func logLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// AccessLog tests.

const (
	testKey    = "wbk_abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnop"
	testSecret = "whsec_0123456789abcdef0123456789abcdef0123456789abcdef"
)

func TestAccessLog(t *testing.T) {
	principal := &gateway.Principal{KeyID: "7d0f5d1e-1111-4c4c-9c9c-000000000001", WorkspaceID: "7d0f5d1e-2222-4c4c-9c9c-000000000002"}
	tests := []struct {
		name      string
		method    string
		target    string
		body      string
		auth      bool
		handler   echo.HandlerFunc
		status    int
		level     string
		errorCode string // error_code logged; "" for none
		errorText string // substring of the logged internal error
	}{
		{
			name: "authenticated create", method: http.MethodPost, target: "/v1/webhooks?api_key=" + testKey + "&token=qs-secret-value",
			body: `{"url":"https://example.com","secret":"` + testSecret + `"}`, auth: true,
			handler: func(c echo.Context) error {
				b, _ := io.ReadAll(c.Request().Body)
				if !bytes.Contains(b, []byte(testSecret)) {
					return errors.New("handler did not get the body")
				}
				return c.JSON(http.StatusCreated, map[string]any{"data": map[string]string{"secret": testSecret}})
			},
			status: http.StatusCreated, level: "INFO",
		},
		{
			name: "client error is rendered before logging", method: http.MethodGet, target: "/v1/webhooks/x?secret=qs-secret-value", auth: true,
			handler: func(echo.Context) error {
				return gateway.E(gateway.CodeWebhookNotFound, "No webhook with that id.")
			},
			status: http.StatusNotFound, level: "INFO", errorCode: "webhook_not_found",
		},
		{
			name: "unauthenticated 401", method: http.MethodPost, target: "/v1/webhooks", body: `{"secret":"` + testSecret + `"}`,
			handler: func(echo.Context) error {
				return gateway.E(gateway.CodeInvalidKey, "Unknown API key.").WithDetails(map[string]any{"reason": "unknown"})
			},
			status: http.StatusUnauthorized, level: "INFO", errorCode: "invalid_key",
		},
		{
			name: "rate limited", method: http.MethodGet, target: "/v1/webhooks", auth: true,
			handler: func(echo.Context) error { return gateway.E(gateway.CodeRateLimited, "slow down") },
			status:  http.StatusTooManyRequests, level: "INFO", errorCode: "rate_limited",
		},
		{
			name: "internal error logs the cause at error level", method: http.MethodGet, target: "/v1/webhooks", auth: true,
			handler: func(echo.Context) error { return gateway.Internal(errors.New("db exploded")) },
			status:  http.StatusInternalServerError, level: "ERROR", errorText: "db exploded",
		},
		{
			name: "unavailable logs the cause", method: http.MethodGet, target: "/v1/webhooks", auth: true,
			handler: func(echo.Context) error { return gateway.Unavailable(errors.New("redis down")) },
			status:  http.StatusServiceUnavailable, level: "ERROR", errorText: "redis down",
		},
		{
			name: "foreign error is internal", method: http.MethodGet, target: "/v1/webhooks",
			handler: func(echo.Context) error { return errors.New("plain failure") },
			status:  http.StatusInternalServerError, level: "ERROR", errorText: "plain failure",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			e := newEcho(t)
			e.Use(middleware.RequestID(), middleware.AccessLog(&buf, slog.LevelInfo))
			var mw []echo.MiddlewareFunc
			if tc.auth {
				mw = append(mw, withPrincipal(principal))
			}
			path, _, _ := strings.Cut(tc.target, "?")
			e.Add(tc.method, path, tc.handler, mw...)

			req := httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body))
			req.Header.Set(echo.HeaderAuthorization, "Bearer "+testKey)
			req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
			req.Header.Set("Cookie", "session=cookie-secret-value")
			rec := serve(e, req)
			if rec.Code != tc.status {
				t.Fatalf("response status = %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}

			lines := logLines(t, &buf)
			if len(lines) != 1 {
				t.Fatalf("%d log lines, want 1: %s", len(lines), buf.String())
			}
			line := lines[0]
			checks := map[string]any{
				"msg":        "request",
				"level":      tc.level,
				"request_id": rec.Header().Get(echo.HeaderXRequestID),
				"method":     tc.method,
				"path":       path,
				"status":     float64(tc.status),
			}
			for k, want := range checks {
				if line[k] != want {
					t.Errorf("log %s = %v, want %v", k, line[k], want)
				}
			}
			if id, _ := line["request_id"].(string); id == "" {
				t.Error("no request_id logged")
			}
			if lat, ok := line["latency_ms"].(float64); !ok || lat < 0 {
				t.Errorf("latency_ms = %v, want a non-negative number", line["latency_ms"])
			}
			if got, _ := line["bytes_out"].(float64); int(got) != rec.Body.Len() {
				t.Errorf("bytes_out = %v, response had %d", line["bytes_out"], rec.Body.Len())
			}
			if tc.auth {
				if line["key_id"] != principal.KeyID || line["workspace_id"] != principal.WorkspaceID {
					t.Errorf("key_id/workspace_id = %v/%v, want %s/%s", line["key_id"], line["workspace_id"], principal.KeyID, principal.WorkspaceID)
				}
			} else if _, ok := line["key_id"]; ok {
				t.Errorf("key_id logged for an unauthenticated request: %v", line["key_id"])
			}
			if got, _ := line["error_code"].(string); got != tc.errorCode {
				t.Errorf("error_code = %q, want %q", got, tc.errorCode)
			}
			if tc.errorText != "" {
				if got, _ := line["error"].(string); !strings.Contains(got, tc.errorText) {
					t.Errorf("error = %q, want it to contain %q", got, tc.errorText)
				}
			} else if _, ok := line["error"]; ok {
				t.Errorf("error logged for a client error: %v", line["error"])
			}

			raw := buf.String()
			for _, secret := range []string{testKey, "wbk_", "Bearer", testSecret, "whsec_", "qs-secret-value", "api_key", "cookie-secret-value", "?"} {
				if strings.Contains(raw, secret) {
					t.Errorf("the access log contains %q: %s", secret, raw)
				}
			}

			if tc.status >= 400 {
				// Rendered exactly once (a second rendering would make the
				// body two JSON values), in the envelope, with the request ID.
				code := gateway.Code(tc.errorCode)
				switch tc.status {
				case http.StatusInternalServerError:
					code = gateway.CodeInternal
				case http.StatusServiceUnavailable:
					code = gateway.CodeUnavailable
				}
				env := decodeError(t, rec, tc.status, code)
				if env.Error.RequestID != rec.Header().Get(echo.HeaderXRequestID) {
					t.Errorf("body request_id %q, header %q", env.Error.RequestID, rec.Header().Get(echo.HeaderXRequestID))
				}
				if tc.errorText != "" && strings.Contains(rec.Body.String(), tc.errorText) {
					t.Errorf("the response exposes the internal cause: %s", rec.Body)
				}
			}
		})
	}
}

func TestAccessLogUnknownRoute(t *testing.T) {
	var buf bytes.Buffer
	e := newEcho(t)
	e.Use(middleware.RequestID(), middleware.AccessLog(&buf, slog.LevelInfo))
	e.GET("/v1/webhooks", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })

	tests := []struct {
		method, path string
		status       int
		code         string
	}{
		{http.MethodGet, "/nope", http.StatusNotFound, "not_found"},
		{http.MethodDelete, "/v1/webhooks", http.StatusMethodNotAllowed, "method_not_allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			buf.Reset()
			rec := serve(e, httptest.NewRequest(tc.method, tc.path, nil))
			decodeError(t, rec, tc.status, gateway.Code(tc.code))
			lines := logLines(t, &buf)
			if len(lines) != 1 || lines[0]["status"] != float64(tc.status) || lines[0]["error_code"] != tc.code {
				t.Errorf("log = %v, want status %d and error_code %s", lines, tc.status, tc.code)
			}
		})
	}
}
