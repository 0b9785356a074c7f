package e2e

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// The tracing tests (issue 11): the real serve and worker processes export
// over OTLP/HTTP to a collector the test runs on 127.0.0.1, and the spans
// they send tell one story: the publish request, its store call and rate
// limit decision as children, and the worker's delivery attempt linked to
// the publish.

// collector is an OTLP/HTTP trace receiver: it decodes every
// ExportTraceServiceRequest posted to /v1/traces.
type collector struct {
	srv   *httptest.Server
	mu    sync.Mutex
	spans []exported
	posts int
}

// exported is one span with the process role of the resource it came in.
type exported struct {
	role string
	span *tracepb.Span
}

func newCollector(t *testing.T) *collector {
	t.Helper()
	c := &collector{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("collector: %s %s (%s)", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
			http.Error(w, "not here", http.StatusNotFound)
			return
		}
		raw, err := io.ReadAll(r.Body)
		var req coltracepb.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(raw, &req)
		}
		if err != nil {
			t.Errorf("collector: undecodable export: %v", err)
			http.Error(w, "bad export", http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.posts++
		for _, rs := range req.GetResourceSpans() {
			role := attr(rs.GetResource().GetAttributes(), "leadlex.process.role").GetStringValue()
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					c.spans = append(c.spans, exported{role: role, span: s})
				}
			}
		}
		c.mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// find returns the spans named name so far.
func (c *collector) find(name string) []exported {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []exported
	for _, s := range c.spans {
		if s.span.GetName() == name {
			out = append(out, s)
		}
	}
	return out
}

// count is the number of spans received so far.
func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.spans)
}

func (c *collector) exports() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.posts
}

// attr returns the value of the attribute key, nil when absent.
func attr(kvs []*commonpb.KeyValue, key string) *commonpb.AnyValue {
	for _, kv := range kvs {
		if kv.GetKey() == key {
			return kv.GetValue()
		}
	}
	return nil
}

// tracingEnv is a receiver, a collector, and serve and worker processes
// exporting to the collector (unless extra says otherwise).
func tracingEnv(t *testing.T, extra map[string]string) (*env, *collector, *receiver) {
	t.Helper()
	e := newEnv(t)
	rc := newReceiver(t)
	rc.env(e)
	col := newCollector(t)
	e.vars["OTEL_EXPORTER_OTLP_ENDPOINT"] = col.srv.URL
	e.vars["OTEL_BSP_SCHEDULE_DELAY"] = "100"
	e.vars["OTEL_SERVICE_NAME"] = "gateway-e2e"
	for k, v := range extra {
		e.vars[k] = v
	}
	return e, col, rc
}

func TestTracingLinksPublishToDelivery(t *testing.T) {
	e, col, rc := tracingEnv(t, nil)
	// A metered key, so that the publish asks the rate limiter.
	pub := e.createKey(workspaceA, "events:publish")
	admin := e.createKey(workspaceA, "webhooks:write", "--tier", "unmetered")
	g := e.start(nil)
	e.startWorker(nil)
	if r := g.create(admin, hookBody(rc.URL("/traced"), "contact.created")); r.Status != 201 {
		t.Fatalf("create webhook: %d %s", r.Status, r.Raw)
	}
	r := g.do(req{method: "POST", path: "/v1/events", key: pub.Key, body: `{"type": "contact.created", "data": {"id": "c-1"}}`})
	if r.Status != 202 {
		t.Fatalf("publish: %d %s", r.Status, r.Raw)
	}
	requestID := r.Header.Get("X-Request-ID")
	waitFor(t, 20*time.Second, "the delivery", func() bool { return len(rc.got()) >= 1 })
	waitFor(t, 20*time.Second, "the attempt's span", func() bool { return len(col.find("delivery.attempt")) >= 1 })

	route := "POST " + base + "/v1/events"
	var publish *tracepb.Span
	for _, s := range col.find(route) {
		if attr(s.span.GetAttributes(), "request.id").GetStringValue() == requestID {
			publish = s.span
			if s.role != "serve" {
				t.Errorf("the request span came from role %q, want serve", s.role)
			}
		}
	}
	if publish == nil {
		t.Fatalf("no span %q with request.id %s among %d exported", route, requestID, col.count())
	}
	if publish.GetKind() != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("request span kind = %v, want server", publish.GetKind())
	}
	for key, want := range map[string]string{"http.request.method": "POST", "http.route": base + "/v1/events"} {
		if got := attr(publish.GetAttributes(), key).GetStringValue(); got != want {
			t.Errorf("request span %s = %q, want %q", key, got, want)
		}
	}
	if got := attr(publish.GetAttributes(), "http.response.status_code").GetIntValue(); got != 202 {
		t.Errorf("request span http.response.status_code = %d, want 202", got)
	}
	// The access log line of the publish names the same trace.
	traceID := hex.EncodeToString(publish.GetTraceId())
	if logs := g.Logs(); !strings.Contains(logs, `"request_id":"`+requestID+`","trace_id":"`+traceID+`"`) {
		t.Errorf("no access log line with request_id %s and trace_id %s:\n%s", requestID, traceID, logs)
	}

	// Children of the request span, in its trace.
	children := map[string]bool{"store.publish_event": false, "ratelimit.decide": false}
	for name := range children {
		for _, s := range col.find(name) {
			if string(s.span.GetTraceId()) == string(publish.GetTraceId()) && string(s.span.GetParentSpanId()) != "" {
				children[name] = true
				if name == "ratelimit.decide" {
					if b := attr(s.span.GetAttributes(), "ratelimit.backend").GetStringValue(); b != "redis" {
						t.Errorf("ratelimit.decide backend = %q, want redis", b)
					}
					if !attr(s.span.GetAttributes(), "ratelimit.allowed").GetBoolValue() {
						t.Error("ratelimit.decide allowed = false for an accepted publish")
					}
				}
			}
		}
		if !children[name] {
			t.Errorf("no %s span in the publish's trace", name)
		}
	}

	// The worker's attempt: a trace of its own, linked to the publish span.
	attempt := col.find("delivery.attempt")[0]
	if attempt.role != "worker" {
		t.Errorf("delivery.attempt came from role %q, want worker", attempt.role)
	}
	a := attempt.span
	if a.GetKind() != tracepb.Span_SPAN_KIND_CLIENT {
		t.Errorf("attempt span kind = %v, want client", a.GetKind())
	}
	if len(a.GetLinks()) != 1 {
		t.Fatalf("attempt span links = %v, want one to the publish", a.GetLinks())
	}
	link := a.GetLinks()[0]
	if string(link.GetTraceId()) != string(publish.GetTraceId()) || string(link.GetSpanId()) != string(publish.GetSpanId()) {
		t.Errorf("attempt links to %x/%x, want the publish span %x/%x", link.GetTraceId(), link.GetSpanId(), publish.GetTraceId(), publish.GetSpanId())
	}
	if got := attr(a.GetAttributes(), "delivery.outcome").GetStringValue(); got != "success" {
		t.Errorf("attempt outcome = %q, want success", got)
	}
	if got := attr(a.GetAttributes(), "http.response.status_code").GetIntValue(); got != 200 {
		t.Errorf("attempt status code = %d, want 200", got)
	}
	for _, kv := range a.GetAttributes() {
		if v := kv.GetValue().GetStringValue(); strings.Contains(v, "/traced") || strings.Contains(v, rc.Name) {
			t.Errorf("attempt span attribute %s holds the webhook URL: %q", kv.GetKey(), v)
		}
	}
}

// TestTracingOff checks the off switch: with OTEL_SDK_DISABLED the endpoint
// is ignored, nothing is exported and the log lines carry no trace id.
func TestTracingOff(t *testing.T) {
	e, col, _ := tracingEnv(t, map[string]string{"OTEL_SDK_DISABLED": "true"})
	k := e.createKey(workspaceA, "webhooks:read")
	g := e.start(nil)
	for range 3 {
		if r := g.do(req{method: "GET", path: "/v1/webhooks", key: k.Key}); r.Status != 200 {
			t.Fatalf("list webhooks: %d %s", r.Status, r.Raw)
		}
	}
	g.stop() // flushes what would have been queued
	if n := col.exports(); n != 0 {
		t.Errorf("%d exports with tracing off", n)
	}
	if logs := g.Logs(); strings.Contains(logs, "trace_id") || !strings.Contains(logs, `"msg":"request"`) {
		t.Errorf("want access log lines without trace_id:\n%s", logs)
	}
}
