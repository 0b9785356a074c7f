package server

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// syncWriter is a bytes.Buffer for the access log, read after the request.
type syncWriter struct{ bytes.Buffer }

// TestTracingOffStartsNoSpan: with tracing off the assembly uses no tracer
// at all, so even an SDK installed globally (as by another library) sees no
// span from a request, and the log lines carry no trace id.
func TestTracingOffStartsNoSpan(t *testing.T) {
	prev := otel.GetTracerProvider()
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	exp := tracetest.NewInMemoryExporter()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)))
	var log syncWriter
	app, key := newApp(t, Options{LogOutput: &log})
	if rec, _ := call(t, app, http.MethodGet, "/v1/webhooks", key, ""); rec.Code != http.StatusOK {
		t.Fatalf("list webhooks: %d", rec.Code)
	}
	if n := len(exp.GetSpans()); n != 0 {
		t.Errorf("%d spans with tracing off: %v", n, exp.GetSpans())
	}
	if s := log.String(); !strings.Contains(s, `"msg":"request"`) || strings.Contains(s, "trace_id") {
		t.Errorf("access log %q: want a line without trace_id", s)
	}
}

// TestTracingOnSpans: with a provider, a request is a server span whose
// children are its rate-limit decision and its store calls.
func TestTracingOnSpans(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	var log syncWriter
	app, key := newApp(t, Options{TracerProvider: tp, LogOutput: &log})
	exp.Reset() // the key's creation is no request
	if rec, _ := call(t, app, http.MethodGet, "/v1/webhooks", key, ""); rec.Code != http.StatusOK {
		t.Fatalf("list webhooks: %d", rec.Code)
	}
	byName := map[string]tracetest.SpanStub{}
	for _, s := range exp.GetSpans() {
		byName[s.Name] = s
	}
	req, ok := byName["GET "+app.Config.BasePath+"/v1/webhooks"]
	if !ok || req.SpanKind != trace.SpanKindServer {
		t.Fatalf("no server span for the route among %v", exp.GetSpans())
	}
	for _, name := range []string{"ratelimit.decide", "store.list_webhooks"} {
		s, ok := byName[name]
		if !ok {
			t.Errorf("no %s span", name)
			continue
		}
		if s.Parent.SpanID() != req.SpanContext.SpanID() {
			t.Errorf("%s parent %v, want the request span", name, s.Parent)
		}
	}
	if !strings.Contains(log.String(), `"trace_id":"`+req.SpanContext.TraceID().String()+`"`) {
		t.Errorf("access log %q lacks the trace id", log.String())
	}
}
