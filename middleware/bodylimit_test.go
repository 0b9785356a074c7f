package middleware_test

import (
	"bytes"
	"io"
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

type limitBody struct {
	Note string `json:"note"`
}

// jsonBody returns a JSON object of exactly n bytes.
func jsonBody(t *testing.T, n int) string {
	t.Helper()
	const frame = len(`{"note":""}`)
	if n < frame {
		t.Fatalf("jsonBody(%d): too small", n)
	}
	return `{"note":"` + strings.Repeat("x", n-frame) + `"}`
}

// bodyLimitEcho serves POST /decode, which decodes the body with DecodeJSON,
// and POST /read, which reads it raw; calls counts handler runs.
func bodyLimitEcho(t *testing.T, limit int64, calls *int) *echo.Echo {
	t.Helper()
	e := newEcho(t)
	e.Use(middleware.BodyLimit(limit))
	e.POST("/decode", func(c echo.Context) error {
		*calls++
		var b limitBody
		if err := routes.DecodeJSON(c, &b); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]int{"len": len(b.Note)})
	})
	e.POST("/read", func(c echo.Context) error {
		*calls++
		b, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return gateway.E(gateway.CodePayloadTooLarge, "too large")
		}
		return c.String(http.StatusOK, strconv.Itoa(len(b)))
	})
	return e
}

func TestBodyLimit(t *testing.T) {
	const limit = 64
	tests := []struct {
		name       string
		path       string
		size       int
		chunked    bool // unknown length: the declared check cannot help
		status     int
		code       gateway.Code
		wantCalled bool
	}{
		{name: "declared under", path: "/decode", size: limit - 1, status: http.StatusOK, wantCalled: true},
		{name: "declared exactly the limit", path: "/decode", size: limit, status: http.StatusOK, wantCalled: true},
		{name: "declared over is refused before the handler", path: "/decode", size: limit + 1, status: http.StatusRequestEntityTooLarge, code: gateway.CodePayloadTooLarge},
		{name: "declared far over", path: "/read", size: 10 * limit, status: http.StatusRequestEntityTooLarge, code: gateway.CodePayloadTooLarge},
		{name: "chunked under", path: "/decode", size: limit, chunked: true, status: http.StatusOK, wantCalled: true},
		{name: "chunked over: DecodeJSON says payload_too_large", path: "/decode", size: limit + 1, chunked: true, status: http.StatusRequestEntityTooLarge, code: gateway.CodePayloadTooLarge, wantCalled: true},
		{name: "chunked far over, read raw", path: "/read", size: 100 * limit, chunked: true, status: http.StatusRequestEntityTooLarge, code: gateway.CodePayloadTooLarge, wantCalled: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			e := bodyLimitEcho(t, limit, &calls)
			req := httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader(jsonBody(t, tc.size)))
			req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
			if tc.chunked {
				req.ContentLength = -1
				req.TransferEncoding = []string{"chunked"}
			}
			rec := serve(e, req)
			if (calls > 0) != tc.wantCalled {
				t.Errorf("handler called %d times, want called=%v", calls, tc.wantCalled)
			}
			if tc.code == "" {
				if rec.Code != tc.status {
					t.Fatalf("status = %d, want %d: %s", rec.Code, tc.status, rec.Body)
				}
				return
			}
			env := decodeError(t, rec, tc.status, tc.code)
			if tc.path == "/decode" && env.Error.Details["limit_bytes"] != float64(limit) {
				t.Errorf("details = %v, want limit_bytes %d", env.Error.Details, limit)
			}
		})
	}
}

// TestBodyLimitChunkedOverTheWire sends a body of unknown length through a
// real HTTP server, so that the request is really chunked.
func TestBodyLimitChunkedOverTheWire(t *testing.T) {
	const limit = 1024
	calls := 0
	srv := httptest.NewServer(bodyLimitEcho(t, limit, &calls))
	defer srv.Close()

	tests := []struct {
		name   string
		size   int
		status int
	}{
		{"under", limit - 10, http.StatusOK},
		{"over", 4 * limit, http.StatusRequestEntityTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// io.MultiReader hides the length, so the client sends chunks.
			body := io.MultiReader(bytes.NewReader([]byte(jsonBody(t, tc.size))))
			req, err := http.NewRequest(http.MethodPost, srv.URL+"/decode", body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
			if req.ContentLength != 0 {
				t.Fatalf("ContentLength = %d: the request would not be chunked", req.ContentLength)
			}
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			got, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d: %s", res.StatusCode, tc.status, got)
			}
			if tc.status == http.StatusRequestEntityTooLarge && !bytes.Contains(got, []byte(`"payload_too_large"`)) {
				t.Errorf("body %s, want payload_too_large", got)
			}
		})
	}
}
