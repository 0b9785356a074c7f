package e2e

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/internal/testprometheus"
)

// alertRules is the rule file the deployment loads (deploy/prometheus),
// relative to this package's directory.
const alertRules = "../../deploy/prometheus/alerts.yml"

// TestMetricsScrapedByPrometheus runs `gateway serve` and `gateway worker`
// (PostgreSQL store, Redis) with METRICS_ADDR, a real Prometheus scraping
// both and evaluating the deployment's alert rules, and some traffic:
// webhook creation, N published events delivered to the local receiver by
// the worker, M requests with an unknown key. What PromQL then answers
// through Prometheus's HTTP API must add up to exactly that traffic, per
// process, and none of the alert rules may be pending on a healthy system
// (an alert over a metric name the processes do not expose, such as the
// absent() of the backlog, would be).
func TestMetricsScrapedByPrometheus(t *testing.T) {
	const events, badKeys = 5, 3
	e := newEnv(t)
	rc := newReceiver(t)
	rc.env(e) // RUN_WORKER=false: only the worker process delivers
	d := &deliveryEnv{env: e, rc: rc,
		pub:   e.createKey(workspaceA, "events:publish", "--tier", "unmetered"),
		admin: e.createKey(workspaceA, "webhooks:write", "--tier", "unmetered"),
	}
	serveMetrics := "127.0.0.1:" + freePort(t)
	workerMetrics := "127.0.0.1:" + freePort(t)
	d.g = e.start(map[string]string{"METRICS_ADDR": serveMetrics})
	d.workers = []*gw{e.startWorker(map[string]string{"METRICS_ADDR": workerMetrics})}

	prom := testprometheus.StartConfig(t, testprometheus.Config{
		Targets: []testprometheus.Target{
			{Job: "gateway-serve", Addr: serveMetrics},
			{Job: "gateway-worker", Addr: workerMetrics},
		},
		RuleFiles: []string{alertRules},
	})
	// Both scraped before any traffic, so that the counters' rise is seen.
	prom.EventuallyValue(t, `up{job="gateway-serve"}`, 1)
	prom.EventuallyValue(t, `up{job="gateway-worker"}`, 1)

	d.hook(t, "/metrics", "contact.created")
	for i := range events {
		d.publish(t, "contact.created", fmt.Sprintf(`{"id": "c-%d"}`, i))
	}
	unknown, _ := apikeys.Generate()
	for i := range badKeys {
		r := d.g.do(req{method: "POST", path: "/v1/events", key: unknown,
			body: fmt.Sprintf(`{"type": "contact.created", "data": {"id": "bad-%d"}}`, i)})
		if r.Status != 401 {
			t.Fatalf("publish with an unknown key: %d %s, want 401", r.Status, r.Raw)
		}
	}
	waitFor(t, 30*time.Second, "the deliveries", func() bool { return rc.distinct() == events })

	// Each wait ends once a scrape after the traffic is in; the zeros come
	// after the counts of the same process, so they are read from such a
	// scrape too.
	tests := []struct {
		name, promql string
		want         float64
	}{
		{"published events' requests", `sum(gateway_http_requests_total{job="gateway-serve",route="/v1/events",method="POST",status="2xx"})`, events},
		{"the webhook's creation", `sum(gateway_http_requests_total{job="gateway-serve",route="/v1/webhooks",method="POST",status="2xx"})`, 1},
		{"the unknown key's requests", `sum(gateway_http_requests_total{job="gateway-serve",route="/v1/events",method="POST",status="4xx"})`, badKeys},
		{"rejections of the unknown key", `sum(gateway_http_rejected_total{job="gateway-serve",reason="auth"})`, badKeys},
		{"events published", `sum(gateway_events_published_total{job="gateway-serve"})`, events},
		{"deliveries created", `sum(gateway_deliveries_created_total{job="gateway-serve"})`, events},
		{"successful attempts, by the worker", `sum(gateway_delivery_attempts_total{job="gateway-worker",outcome="success"})`, events},
		{"no attempt by serve", `sum(gateway_delivery_attempts_total{job="gateway-serve"}) or vector(0)`, 0},
		{"no attempt retried or failed", `sum(gateway_delivery_attempts_total{outcome!="success"}) or vector(0)`, 0},
		{"no 5xx", `sum(gateway_http_requests_total{status="5xx"}) or vector(0)`, 0},
		{"the backlog drained", `max(gateway_delivery_due{job="gateway-worker"})`, 0},
		{"serve ready", `gateway_ready{job="gateway-serve"}`, 1},
		{"serve's database up", `gateway_dependency_up{job="gateway-serve",dependency="database"}`, 1},
		{"serve's Go runtime", `count(go_goroutines{job="gateway-serve"})`, 1},
		{"the worker's Go runtime", `count(go_goroutines{job="gateway-worker"})`, 1},
		{"serve up", `up{job="gateway-serve"}`, 1},
		{"the worker up", `up{job="gateway-worker"}`, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prom.EventuallyValue(t, tc.promql, tc.want)
		})
	}

	// A series that appears with its first count has no earlier sample,
	// so rate() sees no rise in it: the routes above were first used after
	// the first scrape. /healthz was used before (start waits for it), so
	// requests to it now show in the rates the rules record.
	t.Run("the recording rules see the traffic", func(t *testing.T) {
		for range 3 {
			resp, err := d.g.client.Get(d.g.url + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("/healthz: %s", resp.Status)
			}
		}
		prom.Eventually(t, `job:gateway_http_requests:rate5m{job="gateway-serve"}`, positive)
		prom.Eventually(t, `job:gateway_http_request_duration_seconds:p99_5m{job="gateway-serve"}`, positive)
	})
	// GatewayHighLatency is left out: a race-detector binary on a shared
	// 2-core machine may well be slow, and latency is the benchmarks' to
	// measure. Every other rule must come to rest unpending: at the start,
	// before the first scrapes, an absent() may be true for a moment.
	t.Run("no alert pending", func(t *testing.T) {
		prom.Eventually(t, `ALERTS{alertname!="GatewayHighLatency"}`, empty)
	})
}

// positive is a check for testprometheus.Eventually: one sample, above 0.
func positive(r testprometheus.Result) error {
	v, ok := r.Value()
	if !ok {
		return fmt.Errorf("want one sample, got %s", r)
	}
	if !(v > 0) {
		return errors.New("want a value above 0, got " + r.String())
	}
	return nil
}

// empty is a check for testprometheus.Eventually: no sample at all (a
// failure lists the ones there are).
func empty(r testprometheus.Result) error {
	if len(r.Samples) != 0 {
		return errors.New("want no sample, got " + r.String())
	}
	return nil
}
