package tracing

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/leadlex/api-gateway/config"
)

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// restoreGlobals puts back the global provider and propagator a test
// replaces.
func restoreGlobals(t *testing.T) {
	t.Helper()
	tp, prop := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	t.Cleanup(func() {
		otel.SetTracerProvider(tp)
		otel.SetTextMapPropagator(prop)
	})
}

// TestSetupOffInstallsNothing: with tracing off the global provider stays
// OpenTelemetry's no-op one and nothing reaches an endpoint, even one set.
func TestSetupOffInstallsNothing(t *testing.T) {
	restoreGlobals(t)
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	before := otel.GetTracerProvider()
	flush, err := Setup(context.Background(), config.Tracing{Enabled: false, ServiceName: "x"}, RoleServe, discard())
	if err != nil {
		t.Fatal(err)
	}
	if otel.GetTracerProvider() != before {
		t.Error("tracing off replaced the global provider")
	}
	if _, sdk := otel.GetTracerProvider().(*sdktrace.TracerProvider); sdk {
		t.Error("tracing off installed the SDK")
	}
	_, span := otel.Tracer("x").Start(context.Background(), "nothing")
	if span.IsRecording() {
		t.Error("a span records with tracing off")
	}
	span.End()
	if err := flush(); err != nil {
		t.Errorf("flush: %v", err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("%d requests to the endpoint with tracing off", n)
	}
}

// TestSetupExportsOverOTLPHTTP: on, the provider exports to the endpoint
// the standard variable names, with the resource naming the service, its
// version and the process role, and the flush at exit sends what is queued.
func TestSetupExportsOverOTLPHTTP(t *testing.T) {
	restoreGlobals(t)
	var mu sync.Mutex
	var got []*coltracepb.ExportTraceServiceRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var req coltracepb.ExportTraceServiceRequest
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(raw, &req) != nil {
			t.Errorf("unexpected export %s", r.URL.Path)
		}
		mu.Lock()
		got = append(got, &req)
		mu.Unlock()
	}))
	defer srv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "60000") // only the flush sends
	cfg := config.Tracing{Enabled: true, ServiceName: "gw-test", Sampler: config.SamplerParentAlwaysOn, SamplerArg: 1, ExportTimeout: 5 * time.Second}
	flush, err := Setup(context.Background(), cfg, RoleWorker, discard())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := otel.GetTextMapPropagator().(propagation.TraceContext); !ok {
		t.Errorf("propagator %T, want W3C trace context", otel.GetTextMapPropagator())
	}
	_, span := Tracer(otel.GetTracerProvider()).Start(context.Background(), "work")
	span.End()
	if err := flush(); err != nil {
		t.Fatalf("flush: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || len(got[0].GetResourceSpans()) != 1 {
		t.Fatalf("exports %v, want one", got)
	}
	rs := got[0].GetResourceSpans()[0]
	res := map[string]string{}
	for _, kv := range rs.GetResource().GetAttributes() {
		res[kv.GetKey()] = kv.GetValue().GetStringValue()
	}
	if res["service.name"] != "gw-test" || res["service.version"] == "" || res[string(RoleKey)] != RoleWorker {
		t.Errorf("resource %v", res)
	}
	if n := len(rs.GetScopeSpans()); n != 1 || rs.GetScopeSpans()[0].GetSpans()[0].GetName() != "work" ||
		rs.GetScopeSpans()[0].GetScope().GetName() != Scope {
		t.Errorf("scope spans %v", rs.GetScopeSpans())
	}
}

// TestSampler maps every configured sampler to the SDK's.
func TestSampler(t *testing.T) {
	tests := []struct {
		sampler string
		arg     float64
		want    string
	}{
		{config.SamplerAlwaysOn, 1, "AlwaysOnSampler"},
		{config.SamplerAlwaysOff, 1, "AlwaysOffSampler"},
		{config.SamplerRatio, 0.5, "TraceIDRatioBased{0.5}"},
		{config.SamplerParentAlwaysOn, 1, "ParentBased{root:AlwaysOnSampler"},
		{config.SamplerParentAlwaysOff, 1, "ParentBased{root:AlwaysOffSampler"},
		{config.SamplerParentRatio, 0.25, "ParentBased{root:TraceIDRatioBased{0.25}"},
	}
	for _, tc := range tests {
		t.Run(tc.sampler, func(t *testing.T) {
			got := Sampler(config.Tracing{Sampler: tc.sampler, SamplerArg: tc.arg}).Description()
			if len(got) < len(tc.want) || got[:len(tc.want)] != tc.want {
				t.Errorf("Sampler(%s) = %s, want %s…", tc.sampler, got, tc.want)
			}
		})
	}
}

// TestChildOnly: no span outside a trace, a child inside one.
func TestChildOnly(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	child := ChildOnly(tp.Tracer("test"))

	ctx, span := child.Start(context.Background(), "store.heartbeat")
	if span.IsRecording() || trace.SpanFromContext(ctx).SpanContext().IsValid() {
		t.Error("a span started outside any trace")
	}
	span.End()
	if n := len(exp.GetSpans()); n != 0 {
		t.Fatalf("%d spans outside a trace", n)
	}

	pctx, parent := tp.Tracer("test").Start(context.Background(), "request")
	_, span = child.Start(pctx, "store.publish_event")
	span.End()
	parent.End()
	spans := exp.GetSpans()
	if len(spans) != 2 || spans[0].Name != "store.publish_event" || spans[0].Parent.SpanID() != parent.SpanContext().SpanID() {
		t.Errorf("spans %v, want the store span as the request's child", spans)
	}
}
