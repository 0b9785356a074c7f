package server

import (
	"context"
	"io"
	"net"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/internal/testdb"
	"github.com/leadlex/api-gateway/internal/testredis"
)

// families is a gathered registry, by metric name.
type families map[string]*dto.MetricFamily

func gather(t *testing.T, app *App) families {
	t.Helper()
	fams, err := app.Metrics.Registry.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := families{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

// value sums the samples of name whose labels include want: counters and
// gauges by value, histograms by their count of observations. A missing
// family fails the test, a family without a matching sample is 0.
func (f families) value(t *testing.T, name string, want map[string]string) float64 {
	t.Helper()
	fam, ok := f[name]
	if !ok {
		t.Fatalf("no metric %s", name)
	}
	sum := 0.0
	for _, m := range fam.GetMetric() {
		if !hasLabels(m, want) {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	got := map[string]string{}
	for _, l := range m.GetLabel() {
		got[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// l makes a label set from pairs.
func l(pairs ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(pairs); i += 2 {
		m[pairs[i]] = pairs[i+1]
	}
	return m
}

// TestMetricsCountWhatHappened drives the assembled gateway, on the memory
// store with in-process limits and on PostgreSQL with Redis, and checks
// each family against what the test did: requests by route template and
// status class, rejections by reason, limiter decisions by backend, key
// cache, store calls, publishing, the attempt and the backlog.
func TestMetricsCountWhatHappened(t *testing.T) {
	backends := []struct {
		name  string
		env   func(t *testing.T) map[string]string
		store string // an operation the backend's store must have been timed on
		redis bool
	}{
		{"memory", func(*testing.T) map[string]string { return map[string]string{} }, "publish_event", false},
		{"postgres and redis", func(t *testing.T) map[string]string {
			_, db := testdb.New(t)
			_, prefix := testredis.New(t)
			return map[string]string{"DATABASE_URL": db, "REDIS_URL": testredis.URL(), "REDIS_KEY_PREFIX": prefix}
		}, "publish_event", true},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			url, env, hits := localReceiver(t)
			for k, v := range b.env(t) {
				env[k] = v
			}
			env["METRICS_ADDR"] = "127.0.0.1:0"
			env["IP_RATE_LIMIT_PER_MINUTE"] = "2"
			env["RATE_LIMIT_STARTER"] = "2/100"
			app, key := newAppEnv(t, env, Options{})
			workspace := "7a0c1f7e-8c7b-4d43-9d55-3f4c3a0f9b11"
			newKey := func(plan string, perms ...gateway.Permission) string {
				t.Helper()
				_, k, err := app.Keys.Create(context.Background(), apikeys.CreateParams{WorkspaceID: workspace, Permissions: perms, Plan: plan})
				if err != nil {
					t.Fatal(err)
				}
				return k
			}
			pub := newKey("org", gateway.PermEventsPublish)
			starter := newKey("starter", gateway.PermWebhooksRead)

			expect := func(method, path, key, body string, status int) {
				t.Helper()
				if rec, _ := call(t, app, method, path, key, body); rec.Code != status {
					t.Fatalf("%s %s: %d %s, want %d", method, path, rec.Code, rec.Body, status)
				}
			}
			expect("POST", "/v1/webhooks", key, `{"url": "`+url+`/hook", "events": ["contact.created"]}`, 201)
			expect("GET", "/v1/webhooks", key, "", 200)
			expect("GET", "/v1/webhooks/3f2504e0-4f89-41d3-9a0c-0305e82c3301", key, "", 404)
			expect("GET", "/v1/webhooks/6ba7b810-9dad-41d1-80b4-00c04fd430c8", key, "", 404)
			expect("GET", "/no/such/path/6ba7b810", key, "", 404)
			expect("POST", "/v1/events", key, `{"type": "contact.created", "data": {}}`, 403) // webhooks:write only
			expect("GET", "/v1/webhooks", starter, "", 200)
			expect("GET", "/v1/webhooks", starter, "", 200)
			expect("GET", "/v1/webhooks", starter, "", 429) // the minute window of 2
			expect("GET", "/v1/webhooks", "wbk_"+strings.Repeat("0", 52), "", 401)
			expect("GET", "/v1/webhooks", "wbk_"+strings.Repeat("1", 52), "", 401)
			expect("GET", "/v1/webhooks", "wbk_"+strings.Repeat("2", 52), "", 429) // this address's budget of 2 failures

			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- app.RunWorker(ctx) }()
			expect("POST", "/v1/events", pub, `{"id": "9b2e4c1a-0d3f-4e5b-8a6c-7d8e9f0a1b2c", "type": "contact.created", "data": {"id": "c-1"}}`, 202)
			expect("POST", "/v1/events", pub, `{"id": "9b2e4c1a-0d3f-4e5b-8a6c-7d8e9f0a1b2c", "type": "contact.created", "data": {"id": "c-1"}}`, 202) // a replay (duplicate: true)
			deadline := time.Now().Add(15 * time.Second)
			for hits.Load() == 0 || app.Engine.Stats().Recorded == 0 {
				if time.Now().After(deadline) {
					t.Fatal("the event was not delivered and recorded")
				}
				time.Sleep(10 * time.Millisecond)
			}
			f := gather(t, app)
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("RunWorker: %v", err)
			}

			checks := []struct {
				name   string
				metric string
				labels map[string]string
				want   float64
			}{
				{"webhook created", "gateway_http_requests_total", l("route", "/v1/webhooks", "method", "POST", "status", "2xx"), 1},
				{"lists answered", "gateway_http_requests_total", l("route", "/v1/webhooks", "method", "GET", "status", "2xx"), 3},
				{"lists refused", "gateway_http_requests_total", l("route", "/v1/webhooks", "method", "GET", "status", "4xx"), 4},
				{"one series for every id", "gateway_http_requests_total", l("route", "/v1/webhooks/:id", "method", "GET", "status", "4xx"), 2},
				{"no route", "gateway_http_requests_total", l("route", "unmatched", "status", "4xx"), 1},
				{"publishes", "gateway_http_requests_total", l("route", "/v1/events", "method", "POST", "status", "2xx"), 2},
				{"latencies", "gateway_http_request_duration_seconds", l("route", "/v1/webhooks", "method", "GET"), 7},
				{"in flight", "gateway_http_requests_in_flight", nil, 0},
				{"bad keys", "gateway_http_rejected_total", l("reason", "auth"), 2},
				{"address over budget", "gateway_http_rejected_total", l("reason", "rate_limit_ip"), 1},
				{"key over its minute", "gateway_http_rejected_total", l("reason", "rate_limit_minute"), 1},
				{"missing permission", "gateway_http_rejected_total", l("reason", "permission"), 1},
				{"events published", "gateway_events_published_total", nil, 1},
				{"deliveries created", "gateway_deliveries_created_total", nil, 1},
				{"attempt made", "gateway_delivery_attempts_total", l("outcome", "success"), 1},
				{"attempt timed", "gateway_delivery_attempt_duration_seconds", l("outcome", "success"), 1},
				{"claimed", "gateway_delivery_claimed_total", nil, 1},
				{"nothing due", "gateway_delivery_due", nil, 0},
				{"nothing waits", "gateway_delivery_oldest_due_age_seconds", nil, 0},
				{"no backlog errors", "gateway_delivery_backlog_errors_total", nil, 0},
				{"database up", "gateway_dependency_up", l("dependency", "database"), 1},
				{"ready", "gateway_ready", nil, 1},
				{"build info", "gateway_build_info", nil, 1},
				{"no fallback", "gateway_ratelimit_fallback_active", nil, 0},
				{"store timed", "gateway_store_operation_duration_seconds", l("operation", b.store), 2},
				{"no store errors", "gateway_store_operation_errors_total", nil, 0},
			}
			// Key limits decide for 3 metered requests of the starter key and
			// 2 of the others... all keys here are metered: 12 requests reached
			// the key limiter or the IP limiter; count the backend instead.
			decided := "local"
			if b.redis {
				decided = "redis"
				checks = append(checks, struct {
					name   string
					metric string
					labels map[string]string
					want   float64
				}{"redis up", "gateway_dependency_up", l("dependency", "redis"), 1})
			}
			checks = append(checks, struct {
				name   string
				metric string
				labels map[string]string
				want   float64
			}{"limited by the backend", "gateway_ratelimit_decisions_total", l("backend", decided, "result", "limited"), 2})
			for _, c := range checks {
				t.Run(c.name, func(t *testing.T) {
					if got := f.value(t, c.metric, c.labels); got != c.want {
						t.Errorf("%s%v = %v, want %v", c.metric, c.labels, got, c.want)
					}
				})
			}
			if got := f.value(t, "gateway_apikey_cache_lookups_total", l("result", "hit")); got < 5 {
				t.Errorf("key cache hits = %v, want the repeated keys served from the cache", got)
			}
			if got := f.value(t, "go_goroutines", nil); got < 1 {
				t.Errorf("go_goroutines = %v: no runtime metrics", got)
			}
			assertBoundedLabels(t, f)
			assertScrapes(t, app)
		})
	}
}

// uuidLike matches anything that looks like an id, a key or a URL: none
// may be a label value.
var uuidLike = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}|wbk_|https?:|127\.0\.0\.1`)

// assertBoundedLabels checks that no label value carries an id, a key or a
// URL.
func assertBoundedLabels(t *testing.T, f families) {
	t.Helper()
	for name, fam := range f {
		for _, m := range fam.GetMetric() {
			for _, lp := range m.GetLabel() {
				if uuidLike.MatchString(lp.GetValue()) {
					t.Errorf("%s has label %s=%q: an unbounded value", name, lp.GetName(), lp.GetValue())
				}
			}
		}
	}
}

// assertScrapes checks the handler serves the text format and that the
// registry passes Prometheus's own lint (names, help, units).
func assertScrapes(t *testing.T, app *App) {
	t.Helper()
	rec := httptest.NewRecorder()
	app.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != 200 || !strings.Contains(rec.Header().Get("Content-Type"), "text/plain") ||
		!strings.Contains(string(body), "# TYPE gateway_http_requests_total counter") {
		t.Errorf("/metrics: %d %q\n%.300s", rec.Code, rec.Header().Get("Content-Type"), body)
	}
	problems, err := testutil.GatherAndLint(app.Metrics.Registry)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "gateway_") {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	}
}

// Without METRICS_ADDR there is no registry, no handler and no observed
// store: metrics cost nothing.
func TestMetricsOffByDefault(t *testing.T) {
	app, _ := newApp(t, Options{})
	if app.Metrics != nil || app.MetricsHandler() != nil {
		t.Fatal("metrics are on without METRICS_ADDR")
	}
	if _, observed := app.Stores.Store.(observedStore); observed {
		t.Fatal("the store is observed without metrics or tracing")
	}
}

// With Redis down, the metrics say so: limits are decided in-process and
// counted as local, the fallback is active and its time grows, Redis's
// dependency gauge is 0, and the instance stays ready (limits fail open).
func TestMetricsWhileRedisIsDown(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	_ = ln.Close()
	app, key := newAppEnv(t, map[string]string{"REDIS_URL": "redis://" + closed + "/0", "METRICS_ADDR": "127.0.0.1:0"}, Options{})
	for range 3 {
		if rec, _ := call(t, app, "GET", "/v1/webhooks", key, ""); rec.Code != 200 {
			t.Fatalf("GET /v1/webhooks with Redis down: %d %s", rec.Code, rec.Body)
		}
	}
	time.Sleep(5 * time.Millisecond)
	f := gather(t, app)
	for _, c := range []struct {
		metric string
		labels map[string]string
		want   float64
	}{
		{"gateway_ratelimit_decisions_total", l("backend", "local", "result", "allowed"), 3},
		{"gateway_ratelimit_decisions_total", l("backend", "redis"), 0},
		{"gateway_ratelimit_fallback_active", nil, 1},
		{"gateway_dependency_up", l("dependency", "redis"), 0},
		{"gateway_dependency_up", l("dependency", "database"), 1},
		{"gateway_ready", nil, 1},
	} {
		if got := f.value(t, c.metric, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.metric, c.labels, got, c.want)
		}
	}
	if got := f.value(t, "gateway_ratelimit_fallback_seconds_total", nil); got <= 0 {
		t.Errorf("gateway_ratelimit_fallback_seconds_total = %v while in fallback, want > 0", got)
	}
}
