// Package metrics holds the gateway's Prometheus instruments: what the hot
// paths record directly (request, store and attempt latencies) and
// collectors that read the other packages' counters and gauges when
// Prometheus scrapes, so that those packages stay free of any metrics
// library and pay one atomic add per event. Every label value comes from
// a closed set (route templates, operation names, outcomes, error classes):
// no URL, key, workspace or raw path ever becomes a label.
package metrics

import (
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/leadlex/api-gateway/gateway"
)

// namespace prefixes every metric of the gateway's own.
const namespace = "gateway"

// Latency buckets, in seconds: requests and store calls are expected in
// milliseconds, attempts up to the sender's timeout.
var (
	requestBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	attemptBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
)

// Metrics is one process's registry with the gateway's instruments. Make
// it with New; its methods are safe for concurrent use.
type Metrics struct {
	// Registry is what the /metrics endpoint serves.
	Registry *prometheus.Registry

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
	rejected *prometheus.CounterVec

	storeDuration *prometheus.HistogramVec
	storeErrors   *prometheus.CounterVec

	attemptDuration *prometheus.HistogramVec

	mu     sync.RWMutex
	routes map[routeKey]*Route
	ops    map[string]*storeOp
}

// New makes a registry with the Go runtime and process collectors, the
// build information and the gateway's instruments.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "http_requests_total",
			Help: "HTTP requests answered, by route template, method and status class.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "http_request_duration_seconds",
			Help: "Time to answer an HTTP request, by route template and method.", Buckets: requestBuckets,
		}, []string{"route", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "http_requests_in_flight",
			Help: "HTTP requests being answered.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "http_rejected_total",
			Help: "Requests refused before their handler: reason is auth, permission, rate_limit_minute, rate_limit_day or rate_limit_ip.",
		}, []string{"reason"}),
		storeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "store_operation_duration_seconds",
			Help: "Time of a store call, by operation.", Buckets: requestBuckets,
		}, []string{"operation"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "store_operation_errors_total",
			Help: "Store calls that failed (not answers such as not found), by operation.",
		}, []string{"operation"}),
		attemptDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "delivery_attempt_duration_seconds",
			Help: "Time of a delivery attempt (the receiver's answer or the failure), by outcome.", Buckets: attemptBuckets,
		}, []string{"outcome"}),
		routes: map[routeKey]*Route{},
		ops:    map[string]*storeOp{},
	}
	m.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo(),
		m.requests, m.duration, m.inFlight, m.rejected,
		m.storeDuration, m.storeErrors, m.attemptDuration,
	)
	return m
}

// buildInfo is gateway_build_info: the binary's version (gateway.Version) and
// its Go version, as labels of a constant 1.
func buildInfo() prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info",
		Help:        "The gateway's version and Go version, as labels; the value is 1.",
		ConstLabels: prometheus.Labels{"version": gateway.Version(), "goversion": runtime.Version()},
	})
	g.Set(1)
	return g
}

// routeKey identifies a route's instruments.
type routeKey struct{ route, method string }

// Route holds one route's instruments, resolved once so that a request
// records its answer without a label lookup.
type Route struct {
	duration prometheus.Observer
	byClass  [6]prometheus.Counter // index status/100; 0 for anything outside 1xx-5xx
}

// Route returns the instruments of a route template and method (made on
// first use). Unknown methods are counted as "other".
func (m *Metrics) Route(route, method string) *Route {
	method = knownMethod(method)
	k := routeKey{route, method}
	m.mu.RLock()
	r := m.routes[k]
	m.mu.RUnlock()
	if r != nil {
		return r
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if r = m.routes[k]; r != nil {
		return r
	}
	r = &Route{duration: m.duration.WithLabelValues(route, method)}
	for i := range r.byClass {
		class := "other"
		if i > 0 {
			class = strconv.Itoa(i) + "xx"
		}
		r.byClass[i] = m.requests.WithLabelValues(route, method, class)
	}
	m.routes[k] = r
	return r
}

// Observe records one answered request.
func (r *Route) Observe(status int, took time.Duration) {
	class := status / 100
	if class < 1 || class > 5 {
		class = 0
	}
	r.byClass[class].Inc()
	r.duration.Observe(took.Seconds())
}

// knownMethod maps a request method to a closed set of label values.
func knownMethod(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
		return m
	}
	return "other"
}

// InFlight is the gauge of requests being answered.
func (m *Metrics) InFlight() prometheus.Gauge { return m.inFlight }

// Rejected counts one request refused for reason (a closed set the
// middleware defines).
func (m *Metrics) Rejected(reason string) { m.rejected.WithLabelValues(reason).Inc() }

// storeOp holds one store operation's instruments.
type storeOp struct {
	duration prometheus.Observer
	errors   prometheus.Counter
}

// StoreCall records one store call of op (a store method's snake_case
// name), how long it took and whether it failed.
func (m *Metrics) StoreCall(op string, took time.Duration, failed bool) {
	m.mu.RLock()
	o := m.ops[op]
	m.mu.RUnlock()
	if o == nil {
		m.mu.Lock()
		if o = m.ops[op]; o == nil {
			o = &storeOp{duration: m.storeDuration.WithLabelValues(op), errors: m.storeErrors.WithLabelValues(op)}
			m.ops[op] = o
		}
		m.mu.Unlock()
	}
	o.duration.Observe(took.Seconds())
	if failed {
		o.errors.Inc()
	}
}

// ObserveAttempt records one delivery attempt's latency; it implements
// delivery.AttemptObserver.
func (m *Metrics) ObserveAttempt(outcome string, took time.Duration) {
	m.attemptDuration.WithLabelValues(outcome).Observe(took.Seconds())
}
