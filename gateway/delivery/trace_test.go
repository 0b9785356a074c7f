package delivery_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/leadlex/api-gateway/gateway/delivery"
)

// recorder returns a tracer whose spans end up in the returned exporter.
func recorder(t *testing.T) (trace.Tracer, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp.Tracer("test"), exp
}

func attrsOf(s tracetest.SpanStub) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes {
		m[kv.Key] = kv.Value
	}
	return m
}

// The publishing request's span, as a traceparent stored with the event.
const publishTrace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

// TestEngineAttemptSpan runs the engine over the memory store (linked to its
// traces) and checks each attempt's span: a new root linked to the publish
// when a traceparent was stored, its ids and outcome, and never the URL.
func TestEngineAttemptSpan(t *testing.T) {
	tests := []struct {
		name        string
		answer      delivery.Result
		saved       bool
		wantOutcome string
		wantCode    int64
		wantError   string
	}{
		{name: "success, linked", answer: ok200(context.Background(), ""), saved: true, wantOutcome: "success", wantCode: 200},
		{name: "server error, retried", answer: status(503, 0), saved: true, wantOutcome: "retry", wantCode: 503, wantError: delivery.ErrClassHTTP},
		{name: "no stored trace: a plain root", answer: ok200(context.Background(), ""), wantOutcome: "success", wantCode: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEngineEnv(t)
			const url = "https://hooks.example/secret-token-path"
			env.webhook(url)
			env.snd = newFakeSender(func(context.Context, string) delivery.Result { return tc.answer })
			w := env.hooks[url]
			ev := delivery.Event{ID: uuid.NewString(), WorkspaceID: w.WorkspaceID, Type: eventType, Data: []byte(eventData), CreatedAt: t0}
			ds, _, err := env.mem.PublishEvent(env.ctx, ev)
			if err != nil || len(ds) != 1 {
				t.Fatalf("PublishEvent: %v, %d deliveries", err, len(ds))
			}
			if tc.saved {
				if err := env.mem.SaveTrace(env.ctx, ev.WorkspaceID, ev.ID, publishTrace); err != nil {
					t.Fatal(err)
				}
			}
			tracer, exp := recorder(t)
			eng := env.engine()
			eng.Tracer = tracer
			eng.Store = delivery.LinkTraces(env.mem, env.mem, slog.New(slog.DiscardHandler))
			stop := env.run(eng)
			waitFor(t, "the attempt's span", func() bool { return len(exp.GetSpans()) > 0 })
			stop()
			s := exp.GetSpans()[0]
			if s.Name != "delivery.attempt" || s.SpanKind != trace.SpanKindClient {
				t.Errorf("span %q kind %v", s.Name, s.SpanKind)
			}
			if s.Parent.IsValid() {
				t.Errorf("the attempt has a parent %v; want a root", s.Parent)
			}
			if tc.saved {
				if len(s.Links) != 1 || delivery.Traceparent(s.Links[0].SpanContext) != publishTrace {
					t.Errorf("links %+v, want one to %s", s.Links, publishTrace)
				}
			} else if len(s.Links) != 0 {
				t.Errorf("links %+v, want none", s.Links)
			}
			a := attrsOf(s)
			if a["delivery.id"].AsString() != ds[0].ID || a["webhook.id"].AsString() != w.ID || a["event.id"].AsString() != ev.ID ||
				a["delivery.attempt"].AsInt64() != 1 {
				t.Errorf("ids %v", s.Attributes)
			}
			if a["delivery.outcome"].AsString() != tc.wantOutcome || a["http.response.status_code"].AsInt64() != tc.wantCode ||
				a["error.type"].AsString() != tc.wantError {
				t.Errorf("outcome attributes %v, want %s %d %q", s.Attributes, tc.wantOutcome, tc.wantCode, tc.wantError)
			}
			if (s.Status.Code == codes.Error) != (tc.wantError != "") {
				t.Errorf("status %v", s.Status)
			}
			for _, kv := range s.Attributes {
				if v := kv.Value.String(); strings.Contains(v, "secret-token") {
					t.Errorf("attribute %s holds the URL: %q", kv.Key, v)
				}
			}
		})
	}
}

// TestEngineSendSpanIsAChild: a test send (inside its API request) is a
// child of the request's span.
func TestEngineSendSpanIsAChild(t *testing.T) {
	env := newEngineEnv(t)
	const url = "https://hooks.example/test"
	env.webhook(url)
	w := env.hooks[url]
	d, err := env.mem.CreateTestDelivery(env.ctx, delivery.Event{ID: uuid.NewString(), WorkspaceID: w.WorkspaceID, Type: eventType,
		Data: []byte(eventData), CreatedAt: t0}, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	tracer, exp := recorder(t)
	eng := env.engine()
	eng.Tracer = tracer
	ctx, request := tracer.Start(context.Background(), "POST /v1/webhooks/:id/test")
	if _, err := eng.Send(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	request.End()
	spans := exp.GetSpans()
	if len(spans) != 2 || spans[0].Name != "delivery.attempt" {
		t.Fatalf("spans %v", spans)
	}
	if spans[0].Parent.SpanID() != request.SpanContext().SpanID() || spans[0].SpanContext.TraceID() != request.SpanContext().TraceID() {
		t.Errorf("attempt parent %v, want the request span %v", spans[0].Parent, request.SpanContext())
	}
}

// TestPublishSavesTheTrace: Publish stores the traceparent of a sampled
// span with a new event, and nothing for an unsampled one, a replayed
// publish or a service without Traces.
func TestPublishSavesTheTrace(t *testing.T) {
	tracer, _ := recorder(t)
	unsampled := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	tests := []struct {
		name     string
		tracer   trace.Tracer
		noTraces bool
		want     bool
	}{
		{name: "sampled", tracer: tracer, want: true},
		{name: "not sampled", tracer: unsampled.Tracer("test")},
		{name: "tracing off", tracer: tracer, noTraces: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEngineEnv(t)
			env.webhook("https://hooks.example/p")
			ws := env.hooks["https://hooks.example/p"].WorkspaceID
			svc := &delivery.Service{Store: env.mem, Clock: env.clock, Logger: slog.New(slog.DiscardHandler)}
			if !tc.noTraces {
				svc.Traces = env.mem
			}
			ctx, span := tc.tracer.Start(context.Background(), "POST /v1/events")
			defer span.End()
			id := uuid.NewString()
			if _, err := svc.Publish(ctx, ws, id, eventType, json.RawMessage(eventData)); err != nil {
				t.Fatal(err)
			}
			ref := delivery.EventRef{WorkspaceID: ws, EventID: id}
			got, err := env.mem.Traces(env.ctx, []delivery.EventRef{ref})
			if err != nil {
				t.Fatal(err)
			}
			want := ""
			if tc.want {
				want = delivery.Traceparent(span.SpanContext())
			}
			if got[ref] != want {
				t.Errorf("stored %q, want %q", got[ref], want)
			}
		})
	}
}
