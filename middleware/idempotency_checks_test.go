package middleware_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/idempotency"
	"github.com/leadlex/api-gateway/gateway/secretbox"
	"github.com/leadlex/api-gateway/middleware"
	"github.com/leadlex/api-gateway/routes"
)

// checkedBody is a route body declaration for the checks below.
type checkedBody struct {
	Name string `json:"name" validate:"max=5"`
}

// checkedFixture mounts one POST route with its declared body, the access
// log and the idempotency middleware, as the server does.
type checkedFixture struct {
	e     *echo.Echo
	store *recordingStore
	log   *bytes.Buffer
	calls atomic.Int32
}

func newCheckedFixture(t *testing.T) *checkedFixture {
	t.Helper()
	f := &checkedFixture{store: &recordingStore{IdempotencyStore: idempotency.NewMemory()}, log: &bytes.Buffer{}}
	box, err := secretbox.New(bytes.Repeat([]byte{0x42}, 32))
	if err != nil {
		t.Fatal(err)
	}
	m := &middleware.Idempotency{Store: f.store, Sealer: box, TTL: idemTTL, LockTTL: idemLockTTL, Logger: discardLogger()}
	route := routes.Route{Doc: routes.Doc{Body: checkedBody{}, Required: []string{"name"}}}
	f.e = newEcho(t)
	f.e.Use(middleware.RequestID(), middleware.AccessLog(f.log, slog.LevelDebug), middleware.BodyLimit(4096))
	f.e.POST("/v1/things", func(c echo.Context) error {
		f.calls.Add(1)
		var b checkedBody
		if err := routes.DecodeJSON(c, &b, "name"); err != nil {
			return err
		}
		if b.Name == "bad" {
			return gateway.E(gateway.CodeInvalidURL, "Refused by the service.")
		}
		return c.JSON(http.StatusCreated, map[string]any{"data": map[string]any{"secret": "whsec_" + b.Name}})
	}, withPrincipal(&gateway.Principal{KeyID: "k1"}), m.For(route.CheckBody))
	return f
}

func (f *checkedFixture) post(ctype, body string, idemKeys ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/v1/things", strings.NewReader(body))
	if ctype != "" {
		req.Header.Set(echo.HeaderContentType, ctype)
	}
	for _, k := range idemKeys {
		req.Header.Add("Idempotency-Key", k)
	}
	return serve(f.e, req)
}

// TestIdempotentRetryPassesTheFreshChecks checks that a retry is refused as
// a fresh request would be before anything is replayed, and that a request
// refused by those checks keeps nothing under its key.
func TestIdempotentRetryPassesTheFreshChecks(t *testing.T) {
	f := newCheckedFixture(t)
	first := f.post(echo.MIMEApplicationJSON, `{"name": "ada"}`, "k-1")
	if first.Code != http.StatusCreated {
		t.Fatalf("first: %d %s", first.Code, first.Body)
	}
	tests := []struct {
		name, ctype, body string
		status            int
		code              gateway.Code
	}{
		{"text/plain, same body", "text/plain", `{"name": "ada"}`, 415, gateway.CodeUnsupportedMediaType},
		{"no content type", "", `{"name": "ada"}`, 415, gateway.CodeUnsupportedMediaType},
		{"malformed JSON", echo.MIMEApplicationJSON, `{"name": `, 400, gateway.CodeInvalidJSON},
		{"unknown field", echo.MIMEApplicationJSON, `{"name": "ada", "x": 1}`, 400, gateway.CodeValidation},
		{"missing field", echo.MIMEApplicationJSON, `{}`, 400, gateway.CodeMissingRequiredField},
		{"validate tag", echo.MIMEApplicationJSON, `{"name": "toolong"}`, 400, gateway.CodeValidation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := f.post(tt.ctype, tt.body, "k-1")
			decodeError(t, rec, tt.status, tt.code)
			if strings.Contains(rec.Body.String(), "whsec_") || rec.Header().Get("Idempotent-Replayed") != "" {
				t.Fatalf("replayed the kept answer: %s", rec.Body)
			}
		})
	}
	if begins, _, _ := f.store.snapshot(); begins != 1 || f.calls.Load() != 1 {
		t.Errorf("store asked %d times, handler ran %d times; want 1 and 1", begins, f.calls.Load())
	}
	if again := f.post(echo.MIMEApplicationJSON, `{"name": "ada"}`, "k-1"); again.Code != 201 || !bytes.Equal(again.Body.Bytes(), first.Body.Bytes()) {
		t.Errorf("a proper retry after refused ones: %d %s", again.Code, again.Body)
	}
	// A fresh request refused by the checks keeps nothing: the corrected
	// retry with the same key runs.
	decodeError(t, f.post("text/plain", `{"name": "bob"}`, "k-2"), 415, gateway.CodeUnsupportedMediaType)
	if r := f.post(echo.MIMEApplicationJSON, `{"name": "bob"}`, "k-2"); r.Code != 201 || r.Header().Get("Idempotent-Replayed") != "" {
		t.Errorf("corrected retry: %d %v %s", r.Code, r.Header(), r.Body)
	}
}

// TestIdempotencyHeaderRules checks that a request must send one
// Idempotency-Key header at most.
func TestIdempotencyHeaderRules(t *testing.T) {
	f := newCheckedFixture(t)
	env := decodeError(t, f.post(echo.MIMEApplicationJSON, `{"name": "ada"}`, "a", "b"), 400, gateway.CodeValidation)
	if env.Error.Details["field"] != "Idempotency-Key" {
		t.Errorf("details = %v", env.Error.Details)
	}
	if begins, _, _ := f.store.snapshot(); begins != 0 || f.calls.Load() != 0 {
		t.Errorf("store asked %d times, handler ran %d times; want 0 and 0", begins, f.calls.Load())
	}
}

// TestIdempotentRequestLogsTheCause checks that the access log keeps the
// error code of an idempotent request whose handler failed, and that the
// failure is still kept for replays and rendered once.
func TestIdempotentRequestLogsTheCause(t *testing.T) {
	f := newCheckedFixture(t)
	rec := f.post(echo.MIMEApplicationJSON, `{"name": "bad"}`, "k-1")
	decodeError(t, rec, 400, gateway.CodeInvalidURL)
	if strings.Count(rec.Body.String(), `"error"`) != 1 {
		t.Errorf("error rendered more than once: %s", rec.Body)
	}
	lines := logLines(t, f.log)
	if len(lines) != 1 || lines[0]["error_code"] != string(gateway.CodeInvalidURL) || lines[0]["status"] != float64(400) {
		t.Fatalf("access log = %v", lines)
	}
	if _, kept, _ := f.store.snapshot(); len(kept) != 1 {
		t.Errorf("%d records kept, want the 400", len(kept))
	}
}
