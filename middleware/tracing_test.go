package middleware_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/middleware"
)

// tracedEcho mounts RequestID, Tracing and AccessLog (with traces) as the
// server does, on a tracer recording into the returned exporter.
func tracedEcho(t *testing.T, trustParent bool, log *bytes.Buffer) (*echo.Echo, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })
	e := newEcho(t)
	e.Use(middleware.RequestID(), middleware.Tracing(tp.Tracer("test"), trustParent),
		middleware.AccessLog(log, slog.LevelInfo, middleware.WithTraces()))
	base := "/functions/v1/api-gateway"
	e.GET(base+"/v1/webhooks/:id", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	e.POST(base+"/v1/events", func(c echo.Context) error {
		return gateway.E(gateway.CodeValidation, "Field \"data\" (secret-ish input) is wrong.")
	})
	e.GET(base+"/boom", func(c echo.Context) error { return gateway.Internal(errors.New("database exploded")) })
	return e, exp
}

func spanAttrs(s tracetest.SpanStub) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes {
		m[kv.Key] = kv.Value
	}
	return m
}

func TestTracingRequestSpan(t *testing.T) {
	const id = "req-123"
	tests := []struct {
		name, method, path string
		wantName           string
		wantRoute          string // "" when no route matched
		wantStatus         int
		wantErrorType      string
		wantError          bool
	}{
		{name: "matched route by its template", method: "GET", path: "/functions/v1/api-gateway/v1/webhooks/0b9d7a52",
			wantName: "GET /functions/v1/api-gateway/v1/webhooks/:id", wantRoute: "/functions/v1/api-gateway/v1/webhooks/:id", wantStatus: 204},
		{name: "client error: its code, no error status", method: "POST", path: "/functions/v1/api-gateway/v1/events",
			wantName: "POST /functions/v1/api-gateway/v1/events", wantRoute: "/functions/v1/api-gateway/v1/events", wantStatus: 400, wantErrorType: "validation_error"},
		{name: "internal error: error status", method: "GET", path: "/functions/v1/api-gateway/boom",
			wantName: "GET /functions/v1/api-gateway/boom", wantRoute: "/functions/v1/api-gateway/boom", wantStatus: 500, wantErrorType: "internal_error", wantError: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var log bytes.Buffer
			e, exp := tracedEcho(t, false, &log)
			req := httptest.NewRequest(tc.method, tc.path, nil)
			req.Header.Set(echo.HeaderXRequestID, id)
			rec := serve(e, req)
			if rec.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d", rec.Code, tc.wantStatus)
			}
			spans := exp.GetSpans()
			if len(spans) != 1 {
				t.Fatalf("%d spans, want 1", len(spans))
			}
			s := spans[0]
			if s.Name != tc.wantName || s.SpanKind != trace.SpanKindServer {
				t.Errorf("span %q kind %v, want %q server", s.Name, s.SpanKind, tc.wantName)
			}
			a := spanAttrs(s)
			if a["http.request.method"].AsString() != tc.method || a["http.route"].AsString() != tc.wantRoute ||
				a["request.id"].AsString() != id || a["http.response.status_code"].AsInt64() != int64(tc.wantStatus) {
				t.Errorf("attributes %v", s.Attributes)
			}
			if got := a["error.type"].AsString(); got != tc.wantErrorType {
				t.Errorf("error.type = %q, want %q", got, tc.wantErrorType)
			}
			if (s.Status.Code == codes.Error) != tc.wantError {
				t.Errorf("status %v, want error %v", s.Status, tc.wantError)
			}
			for _, kv := range s.Attributes {
				if v := kv.Value.String(); strings.Contains(v, "secret-ish") || strings.Contains(v, "exploded") || strings.Contains(v, "0b9d7a52") {
					t.Errorf("attribute %s leaks the message or the raw path: %q", kv.Key, v)
				}
			}
			if want := `"request_id":"` + id + `","trace_id":"` + s.SpanContext.TraceID().String() + `"`; !strings.Contains(log.String(), want) {
				t.Errorf("access log %s lacks %s", log.String(), want)
			}
		})
	}
}

func TestTracingUnmatchedPath(t *testing.T) {
	var log bytes.Buffer
	e, exp := tracedEcho(t, false, &log)
	rec := serve(e, httptest.NewRequest("GET", "/nothing/here/0b9d7a52", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("status %d", rec.Code)
	}
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	if strings.Contains(spans[0].Name, "0b9d7a52") {
		t.Errorf("span name %q has the raw path", spans[0].Name)
	}
	if got := spanAttrs(spans[0])["http.response.status_code"].AsInt64(); got != 404 {
		t.Errorf("status code attribute %d", got)
	}
}

// TestTracingIncomingParent: a traceparent is the parent only when trusted;
// otherwise the span starts a new trace that links to it.
func TestTracingIncomingParent(t *testing.T) {
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, trust := range []bool{true, false} {
		t.Run(map[bool]string{true: "trusted", false: "untrusted"}[trust], func(t *testing.T) {
			var log bytes.Buffer
			e, exp := tracedEcho(t, trust, &log)
			req := httptest.NewRequest("GET", "/functions/v1/api-gateway/v1/webhooks/x", nil)
			req.Header.Set("Traceparent", parent)
			serve(e, req)
			spans := exp.GetSpans()
			if len(spans) != 1 {
				t.Fatalf("%d spans", len(spans))
			}
			s := spans[0]
			inTrace := s.SpanContext.TraceID().String() == "4bf92f3577b34da6a3ce929d0e0e4736"
			if inTrace != trust {
				t.Errorf("span in the caller's trace: %v, want %v", inTrace, trust)
			}
			if trust {
				if s.Parent.SpanID().String() != "00f067aa0ba902b7" {
					t.Errorf("parent %v", s.Parent)
				}
				return
			}
			if s.Parent.IsValid() || len(s.Links) != 1 || s.Links[0].SpanContext.SpanID().String() != "00f067aa0ba902b7" {
				t.Errorf("untrusted: parent %v links %v, want a root linked to the caller", s.Parent, s.Links)
			}
		})
	}
}

// BenchmarkRequestPipeline compares a request through RequestID and
// AccessLog with tracing off (no tracer, no span lookup: the production
// default) and on (Tracing and AccessLog WithTraces, spans recorded and
// dropped by an always-on sampler without an exporter).
func BenchmarkRequestPipeline(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(map[bool]string{false: "off", true: "on"}[on], func(b *testing.B) {
			e := echo.New()
			mws := []echo.MiddlewareFunc{middleware.RequestID()}
			var opts []middleware.AccessLogOption
			if on {
				tp := sdktrace.NewTracerProvider()
				b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
				mws = append(mws, middleware.Tracing(tp.Tracer("bench"), false))
				opts = append(opts, middleware.WithTraces())
			}
			mws = append(mws, middleware.AccessLog(io.Discard, slog.LevelInfo, opts...))
			e.Use(mws...)
			e.GET("/v1/webhooks/:id", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
			req := httptest.NewRequest("GET", "/v1/webhooks/x", nil)
			b.ReportAllocs()
			for b.Loop() {
				e.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}
