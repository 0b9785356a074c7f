package metrics

import (
	"context"
	"sort"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/gateway/ratelimit"
)

// scrapeTimeout bounds what a collector may ask a dependency at scrape
// time (the backlog query, the health pings), well inside Prometheus's
// default 10 s scrape timeout.
const scrapeTimeout = 2 * time.Second

// snapshot is a collector that reads other packages' numbers when
// Prometheus scrapes: the hot paths only add to atomics.
type snapshot struct {
	descs   []*prometheus.Desc
	collect func(ch chan<- prometheus.Metric)
}

func (s *snapshot) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range s.descs {
		ch <- d
	}
}

func (s *snapshot) Collect(ch chan<- prometheus.Metric) { s.collect(ch) }

// family describes one metric; variable labels follow the help text.
func family(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, nil)
}

// counter and gauge emit one sample of d.
func counter(ch chan<- prometheus.Metric, d *prometheus.Desc, v int64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

// register adds a snapshot collector of descs.
func (m *Metrics) register(collect func(ch chan<- prometheus.Metric), descs ...*prometheus.Desc) {
	m.Registry.MustRegister(&snapshot{descs: descs, collect: collect})
}

// WatchPublisher exports what the API side of delivery wrote.
func (m *Metrics) WatchPublisher(s *delivery.Service) {
	published := family("events_published_total", "Events published (new ones; idempotent replays are not counted).")
	created := family("deliveries_created_total", "Deliveries the published events made, one per subscribed active webhook.")
	m.register(func(ch chan<- prometheus.Metric) {
		st := s.Stats()
		counter(ch, published, st.EventsPublished)
		counter(ch, created, st.DeliveriesCreated)
	}, published, created)
}

// WatchKeys exports the API key cache's hits and misses.
func (m *Metrics) WatchKeys(k *apikeys.Service) {
	lookups := family("apikey_cache_lookups_total", "API key verifications served from the in-process cache (hit) or from the store (miss).", "result")
	m.register(func(ch chan<- prometheus.Metric) {
		st := k.CacheStats()
		counter(ch, lookups, st.Hits, "hit")
		counter(ch, lookups, st.Misses, "miss")
	}, lookups)
}

// LimiterState is what the rate limiter reports: decisions by backend and
// whether (and how long in all) it has decided in-process because Redis
// failed.
type LimiterState struct {
	Redis, Local   ratelimit.Counts
	FallbackActive bool
	FallbackFor    time.Duration
}

// WatchLimiter exports the rate limiter's decisions and fallback state, read
// by state at scrape time.
func (m *Metrics) WatchLimiter(state func() LimiterState) {
	decisions := family("ratelimit_decisions_total", "Rate-limit decisions by backend (redis, or local: in-process, when Redis failed or is not configured) and result.", "backend", "result")
	active := family("ratelimit_fallback_active", "1 while rate limits are decided in-process because Redis failed.")
	seconds := family("ratelimit_fallback_seconds_total", "Time spent deciding rate limits in-process because Redis failed.")
	m.register(func(ch chan<- prometheus.Metric) {
		st := state()
		for _, b := range []struct {
			name string
			c    ratelimit.Counts
		}{{"redis", st.Redis}, {"local", st.Local}} {
			counter(ch, decisions, b.c.Allowed, b.name, "allowed")
			counter(ch, decisions, b.c.Limited, b.name, "limited")
		}
		gauge(ch, active, boolValue(st.FallbackActive))
		ch <- prometheus.MustNewConstMetric(seconds, prometheus.CounterValue, st.FallbackFor.Seconds())
	}, decisions, active, seconds)
}

// WatchEngine exports a delivery engine's counters and gauges.
func (m *Metrics) WatchEngine(e *delivery.Engine) {
	var (
		attempts = family("delivery_attempts_total", "Delivery attempts made, by outcome: success, retry (failed, another attempt scheduled) or failed (for good).", "outcome")
		errs     = family("delivery_attempt_errors_total", "Failed delivery attempts by error class.", "class")
		inFlight = family("delivery_in_flight", "This worker's attempts being sent or waiting to be recorded.")
		claims   = family("delivery_claims_total", "Claims of due deliveries that the store answered.")
		claimed  = family("delivery_claimed_total", "Deliveries claimed for an attempt.")
		claimErr = family("delivery_claim_errors_total", "Claims of due deliveries that failed.")
		recorded = family("delivery_recorded_total", "Attempt outcomes recorded.")
		stale    = family("delivery_stale_total", "Attempt outcomes the store refused as stale (the lease had moved on) or gone.")
		recErr   = family("delivery_record_errors_total", "Failed writes of attempt outcomes (retried).")
		dropped  = family("delivery_dropped_total", "Attempt outcomes given up at a stop deadline.")
		deferred = family("delivery_deferred_total", "Claims left unsent because their endpoint was paused for longer than the engine waits.")
		secret   = family("delivery_secret_errors_total", "Claims whose webhook secret did not open (nothing sent).")
		hbErr    = family("delivery_heartbeat_errors_total", "Failed worker heartbeats.")
		released = family("delivery_leases_released_total", "Leases of dead workers released by this worker's heartbeats.")
		deleted  = family("delivery_logs_deleted_total", "Delivery attempts deleted by the retention cleanup.")
	)
	m.register(func(ch chan<- prometheus.Metric) {
		s := e.Stats()
		for _, o := range []string{delivery.OutcomeSuccess, delivery.OutcomeRetry, delivery.OutcomeFailed} {
			counter(ch, attempts, s.Attempts[o], o)
		}
		classes := make([]string, 0, len(s.Errors))
		for c := range s.Errors {
			classes = append(classes, c)
		}
		sort.Strings(classes)
		for _, c := range classes {
			counter(ch, errs, s.Errors[c], c)
		}
		gauge(ch, inFlight, float64(s.InFlight))
		counter(ch, claims, s.ClaimCalls)
		counter(ch, claimed, s.Claimed)
		counter(ch, claimErr, s.ClaimErrors)
		counter(ch, recorded, s.Recorded)
		counter(ch, stale, s.Stale)
		counter(ch, recErr, s.RecordErrors)
		counter(ch, dropped, s.Dropped)
		counter(ch, deferred, s.Deferred)
		counter(ch, secret, s.SecretErrors)
		counter(ch, hbErr, s.HeartbeatErrors)
		counter(ch, released, s.Released)
		counter(ch, deleted, s.LogsDeleted)
	}, attempts, errs, inFlight, claims, claimed, claimErr, recorded, stale, recErr, dropped, deferred, secret, hbErr, released, deleted)
}

// WatchBacklog exports the store-wide delivery state, asked of backlog at
// every scrape (one query). Every worker reports the same numbers: use max()
// across instances. When the query fails the gauges are left out of that
// scrape and gateway_delivery_backlog_errors_total grows.
func (m *Metrics) WatchBacklog(backlog func(ctx context.Context, now time.Time) (delivery.Backlog, error), now func() time.Time) {
	var (
		due      = family("delivery_due", "Deliveries due and not being attempted (waiting for a worker or an endpoint slot), store-wide.")
		oldest   = family("delivery_oldest_due_age_seconds", "How long the oldest due delivery has waited (0 when none), store-wide.")
		leased   = family("delivery_leased", "Deliveries being attempted (unexpired leases), store-wide.")
		paused   = family("delivery_endpoints_paused", "Endpoints paused (Retry-After or an open circuit), store-wide.")
		open     = family("delivery_endpoints_circuit_open", "Endpoints whose circuit is open, store-wide.")
		disabled = family("webhooks_auto_disabled", "Webhooks the auto-disable rule has set inactive, store-wide.")
		errs     = family("delivery_backlog_errors_total", "Scrapes whose backlog query failed.")
	)
	var failures atomic.Int64
	m.register(func(ch chan<- prometheus.Metric) {
		ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
		defer cancel()
		at := now()
		b, err := backlog(ctx, at)
		if err != nil {
			counter(ch, errs, failures.Add(1))
			return
		}
		counter(ch, errs, failures.Load())
		age := 0.0
		if b.OldestDue != nil {
			age = max(at.Sub(*b.OldestDue).Seconds(), 0)
		}
		gauge(ch, due, float64(b.Due))
		gauge(ch, oldest, age)
		gauge(ch, leased, float64(b.InFlight))
		gauge(ch, paused, float64(b.PausedEndpoints))
		gauge(ch, open, float64(b.OpenCircuits))
		gauge(ch, disabled, float64(b.AutoDisabled))
	}, due, oldest, leased, paused, open, disabled, errs)
}

// Health is a readiness check's answer: whether the instance can serve, and
// each dependency's state.
type Health struct {
	Ready        bool
	Dependencies map[string]bool
}

// WatchHealth exports readiness and the dependencies' state, checked by
// check at every scrape.
func (m *Metrics) WatchHealth(check func(ctx context.Context) Health) {
	ready := family("ready", "1 when the instance is ready (what /readyz answers with 200).")
	up := family("dependency_up", "1 when the dependency answered its health check at the scrape.", "dependency")
	m.register(func(ch chan<- prometheus.Metric) {
		ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
		defer cancel()
		h := check(ctx)
		gauge(ch, ready, boolValue(h.Ready))
		for name, ok := range h.Dependencies {
			gauge(ch, up, boolValue(ok), name)
		}
	}, ready, up)
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
