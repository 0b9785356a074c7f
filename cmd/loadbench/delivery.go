package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"

	"github.com/leadlex/api-gateway/internal/testdb"
)

// The delivery phase measures event delivery end to end, in production
// mode, as scenarios run one after the other in one run (issue 10, "How it
// is measured"). Each scenario has a throwaway database
// and Redis key prefix, a local HTTPS receiver on 127.0.0.1, and its own
// `gateway serve` and one `gateway worker` process of the real binary:
// publishers POST /v1/events to serve through the whole API chain, the
// worker sends each delivery signed to the receiver, and the receiver
// verifies every signature and notes when each delivery arrived. The
// ceiling scenario sends the same signed POSTs with the gateway's own
// sender straight to the receiver, with no store or queue.
const (
	phaseDelivery = "delivery"
	// deliveryEventType is the event published; every webhook subscribes
	// to it.
	deliveryEventType = "contact.created"
	// waitPoll is how often a wait for deliveries looks at the receiver.
	waitPoll = 10 * time.Millisecond
	// probeWait is how long the probe event's deliveries (the worker is
	// just starting) may take.
	probeWait = 30 * time.Second
	// stormSchedule is the shortened retry schedule of the retry-storm
	// scenario (DELIVERY_RETRY_SCHEDULE): six attempts in about five
	// seconds for every delivery to the failing endpoint.
	stormSchedule = "1s,1s,1s,1s,1s"
	// steadyRate is the steady scenario's publishing rate, events/s.
	steadyRate = 500
	// stormRate is the retry storm's publishing rate, events/s: paced, so
	// that the failing endpoint's retries come due while the healthy
	// endpoint's deliveries are still being published and sent.
	stormRate = 100
	// pacedPublishers is the least number of publishers of a paced
	// scenario, so that a slow answer does not make the publishers fall
	// behind the rate by themselves.
	pacedPublishers = 128
)

// The scenarios, in the order they run.
const (
	scenCeiling = "ceiling"
	// scenPlain is a reference beside the ceiling: the same sends with a
	// plain client that keeps an idle connection per slot.
	scenPlain  = "plain"
	scenOne    = "one"
	scenFanout = "fanout"
	scenHang   = "hang"
	scenStorm  = "storm"
	scenSteady = "steady"
)

// allScenarios is the default -delivery list.
var allScenarios = []string{scenCeiling, scenPlain, scenOne, scenFanout, scenHang, scenStorm, scenSteady}

// Periods of a scenario's publishing.
const (
	periodProbe = iota
	periodMeasured
	periods
)

// scenario is one delivery measurement.
type scenario struct {
	name  string
	title string
	// modes has one entry per webhook; the healthy ones are measured.
	modes []hookMode
	// events is how many events are published (for the ceiling: how
	// many deliveries are sent).
	events int
	// rate is the publishing rate in events/s; 0 means closed loop.
	rate float64
	// env adds to the processes' environment.
	env map[string]string
	// target describes the goal; pass judges a result against it.
	target string
	pass   func(r *scenarioResult, ceiling float64) bool
}

// scenarios returns the scenarios named in names, sized for n deliveries
// (the sizes at n = 20,000).
func scenarios(names []string, n int) []*scenario {
	healthyOnly := func(r *scenarioResult) bool { return r.losses == 0 && r.duplicates == 0 && r.received > 0 }
	p99Under := func(limit time.Duration) func(*scenarioResult, float64) bool {
		return func(r *scenarioResult, _ float64) bool { return healthyOnly(r) && !r.p99Lost && r.p99 < limit }
	}
	all := map[string]*scenario{
		scenCeiling: {name: scenCeiling, title: "ceiling: sender straight to receiver", modes: []hookMode{modeHealthy}, events: n,
			target: "the most this machine can do"},
		scenPlain: {name: scenPlain, title: "reference: plain client, kept alive", modes: []hookMode{modeHealthy}, events: n,
			target: "(a connection per slot)"},
		scenOne: {name: scenOne, title: "one endpoint", modes: []hookMode{modeHealthy}, events: n,
			target: ">= 2000/s and >= 0.1 x ceiling",
			pass: func(r *scenarioResult, ceiling float64) bool {
				return healthyOnly(r) && r.rate() >= 2000 && ceiling > 0 && r.rate() >= 0.1*ceiling
			}},
		scenFanout: {name: scenFanout, title: "10-way fan-out", modes: slices.Repeat([]hookMode{modeHealthy}, 10), events: max(n/10, 1),
			target: ">= 3000/s in all",
			pass:   func(r *scenarioResult, _ float64) bool { return healthyOnly(r) && r.rate() >= 3000 }},
		scenHang: {name: scenHang, title: "healthy beside one hanging 12 s", modes: []hookMode{modeHealthy, modeHang}, events: max(n/20, 1),
			target: "healthy p99 < 1 s", pass: p99Under(time.Second)},
		scenStorm: {name: scenStorm, title: "healthy beside one failing (500)", modes: []hookMode{modeHealthy, modeFail}, events: max(n/20, 1), rate: stormRate,
			env:    map[string]string{"DELIVERY_RETRY_SCHEDULE": stormSchedule},
			target: "healthy p99 < 1 s", pass: p99Under(time.Second)},
		scenSteady: {name: scenSteady, title: "steady 500 events/s", modes: []hookMode{modeHealthy}, events: max(n/4, 1), rate: steadyRate,
			target: "p99 < 100 ms", pass: p99Under(100 * time.Millisecond)},
	}
	out := make([]*scenario, 0, len(names))
	for _, name := range names {
		out = append(out, all[name])
	}
	return out
}

// healthy reports whether webhook i of the scenario is measured.
func (sc *scenario) healthy(i int) bool {
	return i >= 0 && i < len(sc.modes) && sc.modes[i] == modeHealthy
}

// healthyHooks counts the scenario's healthy webhooks.
func (sc *scenario) healthyHooks() int {
	n := 0
	for i := range sc.modes {
		if sc.healthy(i) {
			n++
		}
	}
	return n
}

// parseScenarios reads the -delivery list: scenario names separated by
// commas, "all" (or "true") for every one, "none" (or "false", or empty)
// for none.
func parseScenarios(v string) ([]string, error) {
	switch strings.TrimSpace(v) {
	case "", "none", "false":
		return nil, nil
	case "all", "true":
		return slices.Clone(allScenarios), nil
	}
	var out []string
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if !slices.Contains(allScenarios, s) {
			return nil, fmt.Errorf("-delivery: unknown scenario %q (known: %s)", s, strings.Join(allScenarios, ","))
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	// They run in the canonical order, the ceiling first, so that every
	// ratio can use it.
	slices.SortFunc(out, func(a, b string) int { return slices.Index(allScenarios, a) - slices.Index(allScenarios, b) })
	return out, nil
}

// scenarioResult is what one scenario measured and checked.
type scenarioResult struct {
	sc *scenario
	// events were accepted in the measured publishing; promised are the
	// deliveries to healthy webhooks they announced, received those that
	// arrived before the deadline.
	events, promised, received int64
	// other counts the hits at the misbehaving webhook (attempts, retries
	// included).
	other int64
	// losses were promised and never received before the deadline;
	// duplicates arrived again after the receiver had answered 2xx.
	losses, duplicates int64
	// publish is the publishing: its rate, answer latency and errors.
	publish *pubResult
	// window runs from the first publish to the last healthy receipt.
	window time.Duration
	// p50 and p99 run from a publish (its planned time, in the open-loop
	// scenario) to the delivery's receipt, over every promised healthy
	// delivery; a lost delivery counts as longer than any, so a quantile
	// that falls on one is lost.
	p50, p99         time.Duration
	p50Lost, p99Lost bool
	connections      int64
	// cpu is the serve and worker processes' CPU time over the whole
	// scenario, and this process's (publishers and receiver) over the
	// measured part; redisCPU the Redis server's (-1 when unknown).
	cpuServe, cpuWorker, cpuBench, redisCPU time.Duration
	notes                                   []string
	checks                                  []checkLine
}

// rate is healthy deliveries received per second of the window.
func (r *scenarioResult) rate() float64 {
	if r.window <= 0 {
		return 0
	}
	return float64(r.received) / r.window.Seconds()
}

// runScenarios runs the delivery scenarios in order.
func (b *bench) runScenarios(ctx context.Context) ([]*scenarioResult, error) {
	var out []*scenarioResult
	for _, sc := range scenarios(b.opts.scenarios, b.opts.deliveries) {
		what := fmt.Sprintf("%d events x %d webhook(s)", sc.events, len(sc.modes))
		if sc.name == scenCeiling || sc.name == scenPlain {
			what = fmt.Sprintf("%d signed POSTs, %d at a time", sc.events, b.opts.deliveryConcurrency)
		} else if sc.rate > 0 {
			what += fmt.Sprintf(" at %.0f events/s", sc.rate)
		}
		fmt.Fprintf(b.stderr, "loadbench: %s %s: %s\n", phaseDelivery, sc.name, what)
		var r *scenarioResult
		var err error
		if sc.name == scenCeiling || sc.name == scenPlain {
			r, err = b.runCeiling(ctx, sc)
		} else {
			r, err = b.runScenario(ctx, sc)
		}
		if err != nil {
			return out, fmt.Errorf("%s %s: %w", phaseDelivery, sc.name, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// scenarioRun is what one scenario set up.
type scenarioRun struct {
	sc      *scenario
	bin     string
	env     map[string]string
	recv    *receiver
	pool    *pgxpool.Pool
	serve   *process
	worker  *process
	url     string // POST /v1/events
	headers http.Header
	keyID   string
	// workspace holds the key and the webhooks, and nothing else.
	workspace string
	prefix    string // REDIS_KEY_PREFIX
	creates   int64
	sent      *publishLog
	seq       atomic.Int64
}

// runScenario sets a scenario up, publishes, waits for the deliveries (at
// most -delivery-wait after publishing ended), stops the processes and
// judges what arrived.
func (b *bench) runScenario(ctx context.Context, sc *scenario) (*scenarioResult, error) {
	s := &scenarioRun{sc: sc, bin: b.gatewayBin, sent: newPublishLog(), workspace: uuid.NewString()}
	cleanup, err := b.setupScenario(ctx, s)
	defer cleanup()
	if err != nil {
		return nil, err
	}
	r := &scenarioResult{sc: sc}

	// The probe: one event, delivered to every healthy webhook, shows the
	// worker is up before anything is measured.
	tr := newTransport(b.opts.publishers)
	defer tr.CloseIdleConnections()
	probe := s.publish(ctx, tr, 1, 1, 0, periodProbe)
	if probe.ok != 1 {
		return nil, fmt.Errorf("the probe publish was answered wrongly: %v", probe.samples)
	}
	if ok, err := s.waitHealthy(ctx, probeWait); err != nil {
		return nil, err
	} else if !ok {
		st := s.recv.stats()
		return nil, fmt.Errorf("the probe event's deliveries did not arrive within %s (the receiver had %d hits, %d with a bad signature, %d otherwise wrong: %q; worker: %s)",
			probeWait, st.hits, st.badSignatures, st.malformed, st.samples, s.worker.logs.tail())
	}

	publishers := b.opts.publishers
	if sc.rate > 0 {
		publishers = max(publishers, pacedPublishers)
		tr.CloseIdleConnections()
		tr = newTransport(publishers)
		defer tr.CloseIdleConnections()
		r.notes = append(r.notes, fmt.Sprintf("published at %.0f events/s by up to %d publishers; publish -> receipt counts from when each publish was due", sc.rate, publishers))
	}
	cpu0, redis0, conns0 := processCPU(), b.redisCPU(ctx), s.recv.connections()
	pub := s.publish(ctx, tr, sc.events, publishers, sc.rate, periodMeasured)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("interrupted: %w", err)
	}
	complete, err := s.waitHealthy(ctx, b.opts.deliveryWait)
	if err != nil {
		return nil, err
	}
	r.cpuBench = processCPU() - cpu0
	r.connections = s.recv.connections() - conns0
	r.redisCPU = -1
	if redis1 := b.redisCPU(ctx); redis0 >= 0 && redis1 >= redis0 {
		r.redisCPU = redis1 - redis0
	}
	r.publish = pub
	if !complete {
		r.notes = append(r.notes, fmt.Sprintf("not every healthy delivery arrived within -delivery-wait=%s of the end of publishing", b.opts.deliveryWait))
	}

	// Hangs end now, so that the worker stops without waiting them out.
	s.recv.releaseHangs()
	workerErr := s.worker.stop()
	serveErr := s.serve.stop()
	r.cpuServe, r.cpuWorker = s.serve.cpu, s.worker.cpu
	s.analyse(r)
	r.checks = b.checkScenario(context.Background(), s, r, complete, errors.Join(workerErr, serveErr))
	return r, nil
}

// setupScenario creates the scenario's database, receiver, key, serve
// process and webhooks, then starts the worker. The returned cleanup stops
// whatever started, removes the files and drops the database; it must be
// called also when setup fails.
func (b *bench) setupScenario(ctx context.Context, s *scenarioRun) (cleanup func(), err error) {
	var undo []func()
	cleanup = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	db, err := testdb.Create(ctx, testdb.Options{BaseURL: b.opts.databaseURL, Prefix: databasePrefix})
	if err != nil {
		return cleanup, err
	}
	s.pool = db.Pool
	undo = append(undo, func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := db.Close(cctx); err != nil {
			b.warnf("%v (drop it by hand)", err)
		}
	})

	s.recv, err = startReceiver(b.opts.receiverHTTP2, b.stderr)
	if err != nil {
		return cleanup, err
	}
	undo = append(undo, s.recv.close)
	s.recv.setModes(s.sc.modes)
	caFile, err := s.recv.writeCA()
	if err != nil {
		return cleanup, err
	}
	undo = append(undo, func() { _ = os.Remove(caFile) })

	// The key prefix is the scenario's own; the run's Redis keys under it
	// are deleted at the end.
	s.prefix = "gwbench:" + b.runID + ":" + s.sc.name + ":"
	b.redisPatterns = append(b.redisPatterns, s.prefix+"*")
	port, err := freePort()
	if err != nil {
		return cleanup, err
	}
	s.env, err = b.processEnv(db.URL, caFile, s.prefix, port, s.sc.env)
	if err != nil {
		return cleanup, err
	}

	out, err := runCLI(ctx, s.bin, s.env, "keys", "create", "--workspace", s.workspace,
		"--permissions", "events:publish,webhooks:write", "--plan", "org", "--tier", "standard",
		"--name", "loadbench "+b.runID, "--json")
	if err != nil {
		return cleanup, err
	}
	var key struct {
		ID  string `json:"id"`
		Key string `json:"key"`
	}
	if err := json.Unmarshal(out, &key); err != nil || key.Key == "" {
		return cleanup, fmt.Errorf("gateway keys create printed %q: %v", truncate(string(out), 200), err)
	}
	s.keyID = key.ID

	s.serve, err = startProcess(s.bin, "serve", s.env)
	if err != nil {
		return cleanup, err
	}
	undo = append(undo, func() { _ = s.serve.stop() })
	base := "http://127.0.0.1:" + port
	if err := waitHealthy(ctx, s.serve, base); err != nil {
		return cleanup, err
	}

	s.headers = http.Header{}
	s.headers.Set("X-Forwarded-For", b.clientIP)
	s.headers.Set(echo.HeaderAuthorization, "Bearer "+key.Key)
	s.headers.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	s.url = base + basePath + "/v1/events"
	tr := newTransport(1)
	defer tr.CloseIdleConnections()
	secrets := make([]string, len(s.sc.modes))
	for i := range secrets {
		secrets[i], err = s.createWebhook(ctx, tr, base+basePath+"/v1/webhooks", s.recv.hookURL(i))
		if err != nil {
			return cleanup, err
		}
		s.creates++
	}
	s.recv.setSecrets(secrets)

	s.worker, err = startProcess(s.bin, "worker", s.env)
	if err != nil {
		return cleanup, err
	}
	undo = append(undo, func() { _ = s.worker.stop() })
	return cleanup, nil
}

// processEnv is the environment of a scenario's serve and worker
// processes: development mode (the test-only delivery settings need it)
// with the tests' delivery guard armed, the engine's settings from the
// flags, and extra on top.
func (b *bench) processEnv(dbURL, caFile, prefix, port string, extra map[string]string) (map[string]string, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("random encryption key: %w", err)
	}
	level, _ := b.opts.logLevel.MarshalText()
	env := map[string]string{
		"GATEWAY_ENV":      "development",
		"PORT":             port,
		"LOG_LEVEL":        string(level),
		"BASE_PATH":        basePath,
		"DATABASE_URL":     dbURL,
		"REDIS_URL":        b.opts.redisURL,
		"REDIS_KEY_PREFIX": prefix,
		// As for the in-process gateways: no request is refused, and the
		// limiter still decides every one in Redis.
		"RATE_LIMIT_ORG":           "100000000/1000000000",
		"IP_RATE_LIMIT_PER_MINUTE": "1000000",
		"SECRET_ENCRYPTION_KEY":    base64.StdEncoding.EncodeToString(secret),
		"TRUSTED_PROXIES":          "127.0.0.1",
		"SHUTDOWN_TIMEOUT":         "5s",
		// serve only accepts; the one worker process delivers.
		"RUN_WORKER": "false",
		// The tests' delivery guard (test-only, refused in production):
		// only the receiver on 127.0.0.1 may be reached, with its CA.
		"DELIVERY_ALLOW_ONLY":  "true",
		"DELIVERY_ALLOW_CIDRS": "127.0.0.1/32",
		"DELIVERY_CA_FILE":     caFile,
		// The engine's settings (issue 10); a binary that does not know
		// one ignores it.
		"DELIVERY_CONCURRENCY":          strconv.Itoa(b.opts.deliveryConcurrency),
		"DELIVERY_ENDPOINT_CONCURRENCY": strconv.Itoa(b.opts.endpointConcurrency),
		"DATABASE_MAX_CONNS":            strconv.Itoa(b.opts.databaseMaxConns),
	}
	for k, v := range extra {
		env[k] = v
	}
	return env, nil
}

// freePort returns a port of 127.0.0.1 that was free a moment ago.
func freePort() (string, error) {
	ln, base, err := listen()
	if err != nil {
		return "", err
	}
	if err := ln.Close(); err != nil {
		return "", err
	}
	return base[strings.LastIndexByte(base, ':')+1:], nil
}

// createWebhook registers url for the event type through the API and
// returns the webhook's signing secret.
func (s *scenarioRun) createWebhook(ctx context.Context, tr *http.Transport, api, url string) (string, error) {
	body, err := json.Marshal(map[string]any{"url": url, "events": []string{deliveryEventType}, "description": "loadbench"})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, api, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header = s.headers.Clone()
	status, answer, err := roundTrip(tr, req, make([]byte, 8<<10))
	if err != nil {
		return "", fmt.Errorf("create a webhook: %w", err)
	}
	var created struct {
		Data struct {
			Webhook struct {
				Secret string `json:"secret"`
			} `json:"webhook"`
		} `json:"data"`
	}
	if status != http.StatusCreated || json.Unmarshal(answer, &created) != nil || created.Data.Webhook.Secret == "" {
		return "", fmt.Errorf("create a webhook for %s: status %d: %s", url, status, truncate(string(answer), 300))
	}
	return created.Data.Webhook.Secret, nil
}

// pubResult is what a publishing did.
type pubResult struct {
	ok, errors int64
	start      time.Time
	elapsed    time.Duration
	// p50 and p99 are the publish answers' latency.
	p50, p99 time.Duration
	samples  []string
}

// acceptedPerSecond is events accepted per second of publishing.
func (p *pubResult) acceptedPerSecond() float64 {
	if p.elapsed <= 0 {
		return 0
	}
	return float64(p.ok) / p.elapsed.Seconds()
}

// publish sends n events with the given number of publishers: closed loop
// (each sends its next event when the last was answered) when rate is 0,
// otherwise open loop at rate events/s, each event's time being when it
// was due, so that a publisher falling behind shows in the latencies.
func (s *scenarioRun) publish(ctx context.Context, tr *http.Transport, n, publishers int, rate float64, period int) *pubResult {
	due := make(chan time.Time, n)
	start := time.Now()
	if rate <= 0 {
		for range n {
			due <- time.Time{}
		}
		close(due)
	} else {
		go func() {
			defer close(due)
			interval := time.Duration(float64(time.Second) / rate)
			for i := range n {
				at := start.Add(time.Duration(i) * interval)
				if d := time.Until(at); d > 0 {
					select {
					case <-time.After(d):
					case <-ctx.Done():
						return
					}
				}
				due <- at
			}
		}()
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	res := &pubResult{start: start}
	var mu sync.Mutex
	var latencies []time.Duration
	var wg sync.WaitGroup
	for range min(publishers, n) {
		wg.Go(func() {
			buf := make([]byte, 512)
			var mine []time.Duration
			var ok, bad int64
			var samples []string
			fail := func(s string) {
				bad++
				if len(samples) < maxSamples {
					samples = append(samples, s)
				}
			}
			for at := range due {
				if pctx.Err() != nil {
					break
				}
				req, err := s.newPublish(pctx)
				if err != nil {
					fail("build request: " + err.Error())
					continue
				}
				began := time.Now()
				if at.IsZero() {
					at = began
				}
				status, body, err := roundTrip(tr, req, buf)
				mine = append(mine, time.Since(began))
				switch {
				case err != nil:
					fail(err.Error())
				case status != http.StatusAccepted:
					fail(fmt.Sprintf("status %d, want 202: %s", status, bytes.TrimSpace(body)))
				default:
					if err := s.sent.record(body, at, period, len(s.sc.modes), s.sc.healthyHooks()); err != nil {
						fail(err.Error())
						continue
					}
					ok++
				}
			}
			mu.Lock()
			defer mu.Unlock()
			latencies = append(latencies, mine...)
			res.ok += ok
			res.errors += bad
			for _, smp := range samples {
				if len(res.samples) < maxSamples && !slices.Contains(res.samples, smp) {
					res.samples = append(res.samples, smp)
				}
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	slices.Sort(latencies)
	res.p50, res.p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
	return res
}

// newPublish is one POST /v1/events of a new event.
func (s *scenarioRun) newPublish(ctx context.Context) (*http.Request, error) {
	n := s.seq.Add(1)
	body := fmt.Appendf(nil, `{"type":%q,"data":{"id":%q,"email":"bench-%d@example.com"}}`,
		deliveryEventType, uuid.NewString(), n)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header = s.headers.Clone()
	return req, nil
}

// waitHealthy waits until every healthy delivery promised so far has
// arrived, for at most wait, and reports whether they all did. A worker
// that ended by itself is an error.
func (s *scenarioRun) waitHealthy(ctx context.Context, wait time.Duration) (bool, error) {
	want := s.sent.healthyTotal()
	deadline := time.Now().Add(wait)
	for int64(s.recv.deliveredTo(s.sc.healthy)) < want {
		if ctx.Err() != nil {
			return false, fmt.Errorf("interrupted: %w", ctx.Err())
		}
		if s.worker.exited() {
			return false, fmt.Errorf("the worker stopped by itself: %v; output: %s", s.worker.err, s.worker.logs.tail())
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		time.Sleep(waitPoll)
	}
	return true, nil
}

// analyse joins the receiver's arrivals at the healthy webhooks with the
// publishers' send times of the measured events.
func (s *scenarioRun) analyse(r *scenarioResult) {
	st := s.recv.stats()
	s.sent.mu.Lock()
	r.events, r.promised = s.sent.accepted[periodMeasured], s.sent.healthy[periodMeasured]
	var latencies []time.Duration
	var last time.Time
	for _, rc := range st.first {
		if !s.sc.healthy(rc.hook) {
			continue
		}
		ev, ok := s.sent.events[rc.event]
		if !ok || ev.period != periodMeasured {
			continue
		}
		r.received++
		latencies = append(latencies, rc.at.Sub(ev.at))
		if rc.at.After(last) {
			last = rc.at
		}
	}
	s.sent.mu.Unlock()
	for hook, n := range st.hookHits {
		if hook >= 0 && !s.sc.healthy(hook) {
			r.other += n
		}
	}
	r.duplicates = st.duplicates
	r.losses = max(r.promised-r.received, 0)
	if !last.IsZero() {
		r.window = last.Sub(r.publish.start)
	}
	slices.Sort(latencies)
	r.p50, r.p50Lost = quantileWithLosses(latencies, r.losses, 0.50)
	r.p99, r.p99Lost = quantileWithLosses(latencies, r.losses, 0.99)
}

// quantileWithLosses is the nearest-rank p-quantile of the received
// latencies (sorted) and lost deliveries together, a lost one counting as
// longer than any: lost reports that the quantile falls on one.
func quantileWithLosses(sorted []time.Duration, lost int64, p float64) (time.Duration, bool) {
	total := int64(len(sorted)) + lost
	if total == 0 {
		return 0, false
	}
	i := int64(float64(total)*p+0.999999) - 1
	i = max(0, min(i, total-1))
	if i >= int64(len(sorted)) {
		return 0, true
	}
	return sorted[i], false
}

// sentEvent is an accepted event: when its publish was sent (or due), and
// in which period.
type sentEvent struct {
	at     time.Time
	period int
}

// publishLog is every event the gateway accepted in a scenario.
type publishLog struct {
	mu     sync.Mutex
	events map[string]sentEvent
	// accepted and promised count, by period, the accepted events and the
	// deliveries their answers announced; healthy counts those of them to
	// healthy webhooks.
	accepted, promised, healthy [periods]int64
}

func newPublishLog() *publishLog { return &publishLog{events: map[string]sentEvent{}} }

// record checks a 202 answer (its body starts with the event, announcing
// one delivery per webhook) and notes the event.
func (l *publishLog) record(body []byte, sent time.Time, period, webhooks, healthy int) error {
	var answer struct {
		Data struct {
			Event struct {
				ID         string `json:"id"`
				Deliveries int    `json:"deliveries"`
				Duplicate  bool   `json:"duplicate"`
			} `json:"event"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return fmt.Errorf("202 with a body that is not the event: %v", err)
	}
	ev := answer.Data.Event
	switch {
	case ev.ID == "":
		return errors.New("202 without an event id")
	case ev.Duplicate:
		return errors.New("202 for a new event id, but answered as a duplicate")
	case ev.Deliveries != webhooks:
		return fmt.Errorf("202 with %d deliveries, want %d (one per webhook)", ev.Deliveries, webhooks)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, seen := l.events[ev.ID]; seen {
		return errors.New("202 with an event id answered before")
	}
	l.events[ev.ID] = sentEvent{at: sent, period: period}
	l.accepted[period]++
	l.promised[period] += int64(ev.Deliveries)
	l.healthy[period] += int64(healthy)
	return nil
}

// totals returns the accepted events and promised deliveries of every
// period so far.
func (l *publishLog) totals() (accepted, promised int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for p := range periods {
		accepted += l.accepted[p]
		promised += l.promised[p]
	}
	return accepted, promised
}

// healthyTotal returns the promised deliveries to healthy webhooks of every
// period so far.
func (l *publishLog) healthyTotal() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var n int64
	for p := range periods {
		n += l.healthy[p]
	}
	return n
}
