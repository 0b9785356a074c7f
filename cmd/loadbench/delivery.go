package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"

	"github.com/leadlex/api-gateway/gateway"
)

// The delivery phase measures event delivery end to end: publishers POST
// /v1/events to a second gateway (the same assembly, configured to deliver
// to a local receiver), its worker (app.RunWorker, in this process) takes
// the deliveries off a private asynq queue and sends them, signed, over
// HTTPS to a receiver on 127.0.0.1, which verifies every signature and
// notes when each delivery arrived.
const (
	phaseDelivery = "delivery"
	// deliveryEventType is the event published; every webhook subscribes
	// to it.
	deliveryEventType = "contact.created"
	// workerStopTimeout bounds stopping the worker: asynq lets running
	// attempts finish for up to 30 s.
	workerStopTimeout = 45 * time.Second
	// waitPoll is how often a wait for deliveries looks at the receiver.
	waitPoll = 5 * time.Millisecond
	// minProbeWait is the least time the probe event's deliveries get to
	// arrive, whatever -delivery-wait says: the worker is just starting.
	minProbeWait = 10 * time.Second
)

// Periods of the delivery phase, in the order they run.
const (
	periodProbe = iota
	periodWarmup
	periodMeasured
	periods
)

// deliveryBench is what the delivery phase set up.
type deliveryBench struct {
	gw      *gatewayServer
	recv    *receiver
	queue   string // the private asynq queue
	url     string // POST /v1/events
	headers http.Header
	keyID   string
	// workspace holds the key and the webhooks, and nothing else.
	workspace string
	webhooks  int
	// creates counts the setup's successful requests (webhook creates),
	// each one rate-limit decision.
	creates int64
	sent    *publishLog
	seq     atomic.Int64
}

// setupDelivery starts the receiver and a gateway that delivers to it on a
// private queue, issues a key of a new workspace with events:publish and
// webhooks:write, creates the webhooks through the API and publishes one
// event, which is delivered when the phase starts its worker.
func (b *bench) setupDelivery(ctx context.Context, dbURL string, headers http.Header) (*deliveryBench, error) {
	recv, err := startReceiver(b.opts.receiverHTTP2, b.stderr)
	if err != nil {
		return nil, err
	}
	b.onClose(recv.close)
	caFile, err := recv.writeCA()
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.Remove(caFile) }() // read once, by server.New

	// asynq has no key prefix: the queue's name is its namespace. Its keys
	// are deleted at the end with the run's other Redis keys, and the name
	// leaves the shared set of queues once the gateway has stopped (this
	// cleanup is registered before the gateway's, so it runs after it).
	queue := "gwbench-" + b.runID
	b.redisPatterns = append(b.redisPatterns, "asynq:{"+queue+"}*")
	b.onClose(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.redis.SRem(ctx, "asynq:queues", queue).Err(); err != nil {
			b.warnf("remove queue %s from asynq:queues: %v", queue, err)
		}
	})
	gw, err := b.startGateway(ctx, dbURL, map[string]string{
		// Test-only settings, refused in production: the receiver is on
		// loopback and its certificate is httptest's.
		"DELIVERY_ALLOW_CIDRS": "127.0.0.1/32",
		"DELIVERY_CA_FILE":     caFile,
		"DELIVERY_QUEUE":       queue,
		"DELIVERY_CONCURRENCY": strconv.Itoa(b.opts.deliveryConcurrency),
		// The phase runs the worker itself, only while it measures.
		"RUN_WORKER": "false",
	})
	if err != nil {
		return nil, err
	}

	workspace := uuid.NewString()
	key, err := b.issueKeyIn(ctx, gw, workspace, gateway.PermEventsPublish, gateway.PermWebhooksWrite)
	if err != nil {
		return nil, err
	}
	h := headers.Clone()
	h.Set(echo.HeaderAuthorization, "Bearer "+key.plain)
	h.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	d := &deliveryBench{
		gw: gw, recv: recv, queue: queue, url: gw.url + basePath + "/v1/events", headers: h,
		keyID: key.id, workspace: workspace, webhooks: b.opts.webhooks, sent: newPublishLog(),
	}

	tr := newTransport(1)
	defer tr.CloseIdleConnections()
	secrets := make([]string, d.webhooks)
	for i := range secrets {
		secrets[i], err = d.createWebhook(ctx, tr, gw.url+basePath+"/v1/webhooks", recv.hookURL(i))
		if err != nil {
			return nil, err
		}
		d.creates++
	}
	recv.setSecrets(secrets)

	res := drive(ctx, tr, d.target(periodProbe), 1, 10*time.Second, 1)
	if res.ok != 1 {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("interrupted: %w", err)
		}
		return nil, fmt.Errorf("%s: the first publish was answered wrongly: %v", phaseDelivery, res.samples)
	}
	return d, nil
}

// createWebhook registers url for the event type through the API and
// returns the webhook's signing secret.
func (d *deliveryBench) createWebhook(ctx context.Context, tr *http.Transport, api, url string) (string, error) {
	body, err := json.Marshal(map[string]any{"url": url, "events": []string{deliveryEventType}, "description": "loadbench"})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, api, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header = d.headers.Clone()
	status, answer, err := roundTrip(tr, req, make([]byte, 8<<10))
	if err != nil {
		return "", fmt.Errorf("create a webhook: %w", err)
	}
	var created struct {
		Data struct {
			Webhook struct {
				ID     string `json:"id"`
				Secret string `json:"secret"`
			} `json:"webhook"`
		} `json:"data"`
	}
	if status != http.StatusCreated || json.Unmarshal(answer, &created) != nil || created.Data.Webhook.Secret == "" {
		return "", fmt.Errorf("create a webhook for %s: status %d: %s", url, status, truncate(string(answer), 300))
	}
	return created.Data.Webhook.Secret, nil
}

// target publishes a new event per request and wants 202 with one delivery
// per webhook; the publish log records each accepted event's id and when
// its request was sent.
func (d *deliveryBench) target(period int) *target {
	return &target{
		want:       http.StatusAccepted,
		wantPrefix: []byte(`{"data":{"event":{`),
		newWorker: func(ctx context.Context, _ int) func() (*http.Request, error) {
			h := d.headers.Clone()
			return func() (*http.Request, error) {
				n := d.seq.Add(1)
				body := fmt.Appendf(nil, `{"type":%q,"data":{"id":%q,"email":"bench-%d@example.com"}}`,
					deliveryEventType, uuid.NewString(), n)
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(body))
				if err != nil {
					return nil, err
				}
				req.Header = h
				return req, nil
			}
		},
		accept: func(body []byte, sent time.Time) error {
			return d.sent.record(body, sent, period, d.webhooks)
		},
	}
}

// sentEvent is an accepted event: when its publish was sent, and in which
// period.
type sentEvent struct {
	at     time.Time
	period int
}

// publishLog is every event the gateway accepted in the phase.
type publishLog struct {
	mu     sync.Mutex
	events map[string]sentEvent
	// accepted and promised count, by period, the accepted events and the
	// deliveries their answers announced.
	accepted, promised [periods]int64
}

func newPublishLog() *publishLog { return &publishLog{events: map[string]sentEvent{}} }

// record checks a 202 answer (its body starts with the event) and notes the
// event.
func (l *publishLog) record(body []byte, sent time.Time, period, webhooks int) error {
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

// deliveryResult is what the delivery phase measured and checked.
type deliveryResult struct {
	publishers, webhooks, concurrency int
	http2                             bool
	// publish is the measured publishing, as the other phases' results.
	publish *result
	// events and deliveries were accepted (deliveries as promised) in the
	// measured period; delivered of those deliveries arrived, duringPublish
	// of them before publishing ended.
	events, deliveries, delivered, duringPublish int64
	// window runs from the first measured publish to the last arrival of a
	// measured delivery; drain from the end of publishing to that arrival.
	window, drain time.Duration
	// complete reports that every delivery of the phase arrived within
	// -delivery-wait of the end of publishing.
	complete bool
	// latency runs from sending a publish to its delivery's arrival.
	min, p50, p99, max time.Duration
	cpu, redisCPU      time.Duration
	// connections counts the connections the receiver accepted in the
	// measured window.
	connections int64
	notes       []string
	checks      []checkLine
}

// measureDelivery runs the delivery phase: it starts the worker, waits for
// the setup's probe event to arrive, publishes for the warm-up and waits for
// its deliveries, then publishes for the measured duration and waits (at
// most -delivery-wait) until every delivery has arrived. The worker is
// stopped before the database is checked.
func (b *bench) measureDelivery(ctx context.Context) (*deliveryResult, error) {
	d, o := b.delivery, b.opts
	r := &deliveryResult{publishers: o.publishers, webhooks: d.webhooks, concurrency: o.deliveryConcurrency, http2: o.receiverHTTP2}

	worker := startWorker(d.gw)
	defer func() {
		if err := worker.stop(); err != nil {
			b.warnf("%s: %v", phaseDelivery, err)
		}
	}()

	if ok, err := waitDelivered(ctx, d, worker, max(o.deliveryWait, minProbeWait)); err != nil {
		return nil, err
	} else if !ok {
		st := d.recv.stats()
		return nil, fmt.Errorf("the probe event's deliveries did not arrive within %s (the receiver had %d hits, %d with a bad signature, %d otherwise wrong: %q)",
			max(o.deliveryWait, minProbeWait), st.hits, st.badSignatures, st.malformed, st.samples)
	}

	tr := newTransport(o.publishers)
	defer tr.CloseIdleConnections()
	runtime.GC()
	warm := drive(ctx, tr, d.target(periodWarmup), o.publishers, o.warmup, o.maxRequests)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("interrupted: %w", err)
	}
	if ok, err := waitDelivered(ctx, d, worker, o.deliveryWait); err != nil {
		return nil, err
	} else if !ok {
		r.notes = append(r.notes, fmt.Sprintf("the warm-up's deliveries had not all arrived %s after it ended; the measured period overlaps them", o.deliveryWait))
	}
	runtime.GC()

	stopProfile := func() {}
	if o.cpuProfile != "" && o.profilePhase == phaseDelivery {
		stop, err := startCPUProfile(o.cpuProfile)
		if err != nil {
			return nil, err
		}
		stopProfile = stop
	}
	pool := d.gw.app.Stores.Pool
	var pool0 *pgxpool.Stat
	if pool != nil {
		pool0 = pool.Stat()
	}
	cpu0, redis0, conns0 := processCPU(), b.redisCPU(ctx), d.recv.connections()
	start := time.Now()
	pub := drive(ctx, tr, d.target(periodMeasured), o.publishers, o.duration, o.maxRequests)
	published := time.Now()
	if err := ctx.Err(); err != nil {
		stopProfile()
		return nil, fmt.Errorf("interrupted: %w", err)
	}
	complete, err := waitDelivered(ctx, d, worker, o.deliveryWait)
	if err != nil {
		stopProfile()
		return nil, err
	}
	stopProfile()
	r.cpu = processCPU() - cpu0
	r.connections = d.recv.connections() - conns0
	r.redisCPU = -1
	if redis1 := b.redisCPU(ctx); redis0 >= 0 && redis1 >= redis0 {
		r.redisCPU = redis1 - redis0
	}
	if pool0 != nil {
		r.notes = append(r.notes, poolNote(pool0, pool.Stat()))
	}
	pub.name = phaseDelivery
	pub.absorbWarmup(warm)
	r.publish, r.complete = pub, complete

	workerErr := worker.stop()
	r.analyse(d, start, published)
	r.checks = b.checkDelivery(context.Background(), d, r, workerErr)
	return r, nil
}

// runningWorker is the delivery gateway's worker running in this process.
type runningWorker struct {
	cancel  context.CancelFunc
	done    chan struct{}
	err     error // what RunWorker returned, once done is closed
	stopped bool
}

// startWorker runs gw's worker (app.RunWorker) until stop.
func startWorker(gw *gatewayServer) *runningWorker {
	ctx, cancel := context.WithCancel(context.Background())
	w := &runningWorker{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		w.err = gw.app.RunWorker(ctx)
	}()
	return w
}

// exited reports whether the worker has returned by itself.
func (w *runningWorker) exited() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

// stop ends the worker, letting attempts in flight finish, and returns
// what RunWorker returned; later calls do nothing.
func (w *runningWorker) stop() error {
	if w.stopped {
		return nil
	}
	w.stopped = true
	w.cancel()
	select {
	case <-w.done:
		return w.err
	case <-time.After(workerStopTimeout):
		return fmt.Errorf("the worker did not stop within %s", workerStopTimeout)
	}
}

// waitDelivered waits until every delivery promised so far has arrived, for
// at most wait, and reports whether they all did. A worker that ended by
// itself is an error.
func waitDelivered(ctx context.Context, d *deliveryBench, worker *runningWorker, wait time.Duration) (bool, error) {
	_, want := d.sent.totals()
	deadline := time.Now().Add(wait)
	for int64(d.recv.delivered()) < want {
		if ctx.Err() != nil {
			return false, fmt.Errorf("interrupted: %w", ctx.Err())
		}
		if worker.exited() {
			return false, fmt.Errorf("the worker stopped by itself: %v", worker.err)
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		time.Sleep(waitPoll)
	}
	return true, nil
}

// analyse joins the receiver's arrivals with the publishers' send times of
// the measured events.
func (r *deliveryResult) analyse(d *deliveryBench, start, published time.Time) {
	st := d.recv.stats()
	d.sent.mu.Lock()
	defer d.sent.mu.Unlock()
	r.events, r.deliveries = d.sent.accepted[periodMeasured], d.sent.promised[periodMeasured]
	var latencies []time.Duration
	var last time.Time
	for _, rc := range st.first {
		ev, ok := d.sent.events[rc.event]
		if !ok || ev.period != periodMeasured {
			continue
		}
		r.delivered++
		latencies = append(latencies, rc.at.Sub(ev.at))
		if rc.at.After(last) {
			last = rc.at
		}
		if rc.at.Before(published) {
			r.duringPublish++
		}
	}
	if !last.IsZero() {
		r.window = last.Sub(start)
		r.drain = max(last.Sub(published), 0)
	}
	slices.Sort(latencies)
	r.p50, r.p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
	if n := len(latencies); n > 0 {
		r.min, r.max = latencies[0], latencies[n-1]
	}
}

// eventsPerSecond is measured events accepted per second of publishing.
func (r *deliveryResult) eventsPerSecond() float64 { return r.publish.rps() }

// deliveriesPerSecond is measured deliveries arrived per second of the
// window from the first publish to the last arrival.
func (r *deliveryResult) deliveriesPerSecond() float64 {
	if r.window <= 0 {
		return 0
	}
	return float64(r.delivered) / r.window.Seconds()
}

// checkDelivery verifies that the phase measured a working delivery:
// every publish answered 202, every accepted event arrived at every
// webhook exactly once in effect (one delivery ID each) with a valid
// signature, the database has nothing pending, the publisher's key made
// its rate-limit decisions in Redis, and the worker stopped.
func (b *bench) checkDelivery(ctx context.Context, d *deliveryBench, r *deliveryResult, workerErr error) []checkLine {
	var lines []checkLine
	add := func(ok bool, format string, args ...any) {
		lines = append(lines, checkLine{ok, phaseDelivery + ": " + fmt.Sprintf(format, args...)})
	}
	p := r.publish
	accepted, promised := d.sent.totals()
	if wrong := p.errors + p.warmupErrors; wrong == 0 && p.ok > 0 {
		add(true, "all %d publishes (probe, warm-up, measured) answered 202 with %d deliveries each", accepted, d.webhooks)
	} else {
		text := fmt.Sprintf("%d wrong publish answers, %d measured successes", wrong, p.ok)
		for _, s := range p.samples {
			text += "\n      " + truncate(s, 300)
		}
		lines = append(lines, checkLine{false, phaseDelivery + ": " + text})
	}

	st := d.recv.stats()
	d.sent.mu.Lock()
	type pair struct {
		event string
		hook  int
	}
	pairs := make(map[pair]int, len(st.first))
	foreign := 0
	for _, rc := range st.first {
		if _, ok := d.sent.events[rc.event]; !ok {
			foreign++
		}
		pairs[pair{rc.event, rc.hook}]++
	}
	d.sent.mu.Unlock()
	twice := 0
	for _, n := range pairs {
		if n > 1 {
			twice += n - 1
		}
	}
	distinct := int64(len(st.first))
	repeated := ""
	if st.repeats > 0 {
		repeated = fmt.Sprintf("; %d hits repeated a delivery ID (at least once: receivers de-duplicate)", st.repeats)
	}
	switch {
	case foreign > 0 || twice > 0:
		add(false, "%d deliveries of events this run did not publish, %d second delivery IDs for one event and webhook", foreign, twice)
	case distinct < promised:
		add(false, "only %d of %d deliveries (%d events x %d webhooks) arrived within %s of the end of publishing: %d missing",
			distinct, promised, accepted, d.webhooks, b.opts.deliveryWait, promised-distinct)
	case distinct > promised:
		add(false, "%d distinct delivery IDs arrived for %d promised deliveries", distinct, promised)
	default:
		add(true, "every accepted event delivered once in effect: %d distinct delivery IDs = %d events x %d webhooks, one per event and webhook%s",
			distinct, accepted, d.webhooks, repeated)
	}

	if bad := st.badSignatures + st.malformed; bad == 0 {
		add(true, "all %d receiver hits carried valid signatures (both schemes) for their webhook's secret", st.hits)
	} else {
		text := fmt.Sprintf("%d of %d receiver hits had a bad signature, %d another fault", st.badSignatures, st.hits, st.malformed)
		for _, s := range st.samples {
			text += "\n      " + truncate(s, 300)
		}
		lines = append(lines, checkLine{false, phaseDelivery + ": " + text})
	}
	if st.serverErrors > 0 {
		add(false, "the receiver's HTTP server logged %d errors (the first %d are on stderr)", st.serverErrors, min(st.serverErrors, maxAlerts))
	}

	if workerErr != nil {
		add(false, "stop the worker: %v", workerErr)
	}
	lines = append(lines, checkDeliveryStore(ctx, d, promised))

	decided, err := sumCounters(ctx, b.redis, limiterPrefix+"{key:"+d.keyID+"}:d:*")
	lines = append(lines, decisionsLine(phaseDelivery, decided, accepted+d.creates, err))
	return lines
}

// checkDeliveryStore reads the workspace's deliveries and attempts: none may
// be left pending, and each promised delivery must have succeeded.
func checkDeliveryStore(ctx context.Context, d *deliveryBench, promised int64) checkLine {
	pool := d.gw.app.Stores.Pool
	fail := func(err error) checkLine {
		return checkLine{false, fmt.Sprintf("%s: read the deliveries from the database: %v", phaseDelivery, err)}
	}
	if pool == nil {
		return fail(errors.New("the gateway has no database pool"))
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var pending, success, failed, cancelled, attempts, unsuccessful int64
	err := pool.QueryRow(ctx, `select
		count(*) filter (where status = 'pending'),
		count(*) filter (where status = 'success'),
		count(*) filter (where status = 'failed'),
		count(*) filter (where status = 'cancelled')
		from deliveries where workspace_id = $1`, d.workspace).Scan(&pending, &success, &failed, &cancelled)
	if err != nil {
		return fail(err)
	}
	err = pool.QueryRow(ctx, `select count(*), count(*) filter (where status <> 'success')
		from delivery_attempts where workspace_id = $1`, d.workspace).Scan(&attempts, &unsuccessful)
	if err != nil {
		return fail(err)
	}
	text := fmt.Sprintf("%s: database at the end: %d pending, %d success, %d failed, %d cancelled deliveries; %d attempts, %d of them unsuccessful",
		phaseDelivery, pending, success, failed, cancelled, attempts, unsuccessful)
	return checkLine{pending == 0 && failed == 0 && cancelled == 0 && success == promised, text}
}

// reportDelivery prints the delivery phase's section.
func reportDelivery(w io.Writer, r *deliveryResult) {
	proto := "HTTP/1.1"
	if r.http2 {
		proto = "HTTP/2"
	}
	fmt.Fprintf(w, "\ndelivery: POST /v1/events -> asynq (Redis) -> worker -> signed HTTPS POST to a %s receiver on 127.0.0.1\n", proto)
	fmt.Fprintf(w, "%d publishers (closed loop), %d webhook(s) subscribed, DELIVERY_CONCURRENCY=%d; worker and receiver run in this process\n\n",
		r.publishers, r.webhooks, r.concurrency)
	const row = "%-30s %12s  %s\n"
	fmt.Fprintf(w, row, "delivery", "value", "")
	fmt.Fprintf(w, row, dashes(30), dashes(12), "")
	name := "events accepted/s"
	if r.publish.capped {
		name += "*"
	}
	fmt.Fprintf(w, row, name, fmt.Sprintf("%.0f", r.eventsPerSecond()),
		fmt.Sprintf("%d events in %.2f s; publish answer p50 %s ms, p99 %s ms", r.events, r.publish.elapsed.Seconds(), ms(r.publish.p50), ms(r.publish.p99)))
	fmt.Fprintf(w, row, "deliveries completed/s", fmt.Sprintf("%.0f", r.deliveriesPerSecond()),
		fmt.Sprintf("%d of %d deliveries arrived, %.2f s from the first publish to the last arrival", r.delivered, r.deliveries, r.window.Seconds()))
	during := 0.0
	if s := r.publish.elapsed.Seconds(); s > 0 {
		during = float64(r.duringPublish) / s
	}
	fmt.Fprintf(w, row, "  while publishing/s", fmt.Sprintf("%.0f", during),
		fmt.Sprintf("%d arrived before publishing ended", r.duringPublish))
	fmt.Fprintf(w, row, "  drain after publishing s", fmt.Sprintf("%.2f", r.drain.Seconds()), "last arrival after the last publish answer")
	latency := func(d time.Duration) string {
		if r.delivered == 0 {
			return "-"
		}
		return ms(d)
	}
	fmt.Fprintf(w, row, "publish->receipt p50 ms", latency(r.p50), "from sending the publish to the delivery's arrival")
	fmt.Fprintf(w, row, "publish->receipt p99 ms", latency(r.p99), fmt.Sprintf("min %s ms, max %s ms", latency(r.min), latency(r.max)))
	perEvent := func(d time.Duration) string {
		if r.events == 0 || d < 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f", float64(d)/float64(time.Microsecond)/float64(r.events))
	}
	fmt.Fprintf(w, row, "receiver connections", strconv.FormatInt(r.connections, 10),
		"opened by the sender in that window (each a TLS handshake)")
	fmt.Fprintf(w, row, "cpu us/event", perEvent(r.cpu), "this process (publishers, gateway, worker, receiver), publish to last arrival")
	fmt.Fprintf(w, row, "redis us/event", perEvent(r.redisCPU), "the Redis server's")
	if r.publish.capped {
		fmt.Fprintf(w, "* stopped by -max before the duration ended; events accepted/s is over the time it ran.\n")
	}
	if !r.complete {
		fmt.Fprintf(w, "not every delivery arrived within -delivery-wait; deliveries completed/s counts those that did (see the checks).\n")
	}
	for _, n := range r.notes {
		fmt.Fprintf(w, "%s: %s\n", phaseDelivery, n)
	}
}
