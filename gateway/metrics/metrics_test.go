package metrics

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/leadlex/api-gateway/gateway/delivery"
)

func TestRouteCountsByStatusClass(t *testing.T) {
	m := New()
	tests := []struct {
		status int
		class  string
	}{
		{200, "2xx"}, {204, "2xx"}, {302, "3xx"}, {404, "4xx"}, {503, "5xx"}, {0, "other"}, {600, "other"}, {101, "1xx"},
	}
	for _, tc := range tests {
		m.Route("/v1/x", "GET").Observe(tc.status, time.Millisecond)
	}
	m.Route("/v1/x", "BREW").Observe(200, time.Millisecond)
	if first, again := m.Route("/v1/x", "GET"), m.Route("/v1/x", "GET"); first != again {
		t.Error("a route's instruments are made again on every request")
	}
	want := `
# HELP gateway_http_requests_total HTTP requests answered, by route template, method and status class.
# TYPE gateway_http_requests_total counter
gateway_http_requests_total{method="GET",route="/v1/x",status="1xx"} 1
gateway_http_requests_total{method="GET",route="/v1/x",status="2xx"} 2
gateway_http_requests_total{method="GET",route="/v1/x",status="3xx"} 1
gateway_http_requests_total{method="GET",route="/v1/x",status="4xx"} 1
gateway_http_requests_total{method="GET",route="/v1/x",status="5xx"} 1
gateway_http_requests_total{method="GET",route="/v1/x",status="other"} 2
gateway_http_requests_total{method="other",route="/v1/x",status="1xx"} 0
gateway_http_requests_total{method="other",route="/v1/x",status="2xx"} 1
gateway_http_requests_total{method="other",route="/v1/x",status="3xx"} 0
gateway_http_requests_total{method="other",route="/v1/x",status="4xx"} 0
gateway_http_requests_total{method="other",route="/v1/x",status="5xx"} 0
gateway_http_requests_total{method="other",route="/v1/x",status="other"} 0
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "gateway_http_requests_total"); err != nil {
		t.Error(err)
	}
}

// A failed backlog query leaves the store-wide gauges out of the scrape
// (rather than reporting zeros that look healthy) and counts the failure.
func TestBacklogFailureIsCountedNotZeroed(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	oldest := now.Add(-90 * time.Second)
	var fail bool
	m := New()
	m.WatchBacklog(func(ctx context.Context, at time.Time) (delivery.Backlog, error) {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("the backlog query has no deadline")
		}
		if fail {
			return delivery.Backlog{}, errors.New("connection refused")
		}
		return delivery.Backlog{Due: 7, OldestDue: &oldest, InFlight: 3, PausedEndpoints: 2, OpenCircuits: 1, AutoDisabled: 4}, nil
	}, func() time.Time { return now })
	names := []string{"gateway_delivery_due", "gateway_delivery_oldest_due_age_seconds", "gateway_delivery_leased",
		"gateway_delivery_endpoints_paused", "gateway_delivery_endpoints_circuit_open", "gateway_webhooks_auto_disabled", "gateway_delivery_backlog_errors_total"}
	if n, err := testutil.GatherAndCount(m.Registry, names...); err != nil || n != len(names) {
		t.Fatalf("healthy: %d series of %d, %v", n, len(names), err)
	}
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(`
# HELP gateway_delivery_oldest_due_age_seconds How long the oldest due delivery has waited (0 when none), store-wide.
# TYPE gateway_delivery_oldest_due_age_seconds gauge
gateway_delivery_oldest_due_age_seconds 90
# HELP gateway_webhooks_auto_disabled Webhooks the auto-disable rule has set inactive, store-wide.
# TYPE gateway_webhooks_auto_disabled gauge
gateway_webhooks_auto_disabled 4
`), "gateway_delivery_oldest_due_age_seconds", "gateway_webhooks_auto_disabled"); err != nil {
		t.Error(err)
	}
	fail = true
	if n, err := testutil.GatherAndCount(m.Registry, names...); err != nil || n != 1 {
		t.Fatalf("failing: %d series, want only the error counter; %v", n, err)
	}
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(`
# HELP gateway_delivery_backlog_errors_total Scrapes whose backlog query failed.
# TYPE gateway_delivery_backlog_errors_total counter
gateway_delivery_backlog_errors_total 2
`), "gateway_delivery_backlog_errors_total"); err != nil { // two failed scrapes: the count and the compare
		t.Error(err)
	}
}

func TestHealthAndLimiterState(t *testing.T) {
	m := New()
	m.WatchHealth(func(context.Context) Health {
		return Health{Ready: false, Dependencies: map[string]bool{"database": false, "redis": true}}
	})
	m.WatchLimiter(func() LimiterState {
		return LimiterState{FallbackActive: true, FallbackFor: 1500 * time.Millisecond}
	})
	want := `
# HELP gateway_dependency_up 1 when the dependency answered its health check at the scrape.
# TYPE gateway_dependency_up gauge
gateway_dependency_up{dependency="database"} 0
gateway_dependency_up{dependency="redis"} 1
# HELP gateway_ready 1 when the instance is ready (what /readyz answers with 200).
# TYPE gateway_ready gauge
gateway_ready 0
# HELP gateway_ratelimit_fallback_active 1 while rate limits are decided in-process because Redis failed.
# TYPE gateway_ratelimit_fallback_active gauge
gateway_ratelimit_fallback_active 1
# HELP gateway_ratelimit_fallback_seconds_total Time spent deciding rate limits in-process because Redis failed.
# TYPE gateway_ratelimit_fallback_seconds_total counter
gateway_ratelimit_fallback_seconds_total 1.5
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want),
		"gateway_dependency_up", "gateway_ready", "gateway_ratelimit_fallback_active", "gateway_ratelimit_fallback_seconds_total"); err != nil {
		t.Error(err)
	}
	problems, err := testutil.GatherAndLint(m.Registry)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "gateway_") {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	}
}
