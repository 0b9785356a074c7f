package delivery_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/gateway/secretbox"
	"github.com/leadlex/api-gateway/gateway/signature"
	"github.com/leadlex/api-gateway/gateway/store/memory"
	"github.com/leadlex/api-gateway/gateway/webhooks"
)

// fakeSender answers by URL with its handler (which may block) and counts
// sends per delivery and attempts in flight per URL.
type fakeSender struct {
	mu       sync.Mutex
	handle   func(ctx context.Context, url string) delivery.Result
	sent     map[string]int // by delivery id
	perURL   map[string]int
	inflight map[string]int
	peak     map[string]int
}

func newFakeSender(handle func(ctx context.Context, url string) delivery.Result) *fakeSender {
	return &fakeSender{handle: handle, sent: map[string]int{}, perURL: map[string]int{}, inflight: map[string]int{}, peak: map[string]int{}}
}

func (f *fakeSender) Send(ctx context.Context, url string, header http.Header, _ []byte) delivery.Result {
	f.mu.Lock()
	f.sent[header.Get(signature.HeaderDeliveryID)]++
	f.perURL[url]++
	f.inflight[url]++
	f.peak[url] = max(f.peak[url], f.inflight[url])
	h := f.handle
	f.mu.Unlock()
	res := h(ctx, url)
	f.mu.Lock()
	f.inflight[url]--
	f.mu.Unlock()
	return res
}

func (f *fakeSender) setHandler(h func(ctx context.Context, url string) delivery.Result) {
	f.mu.Lock()
	f.handle = h
	f.mu.Unlock()
}

// count returns the sends to url, and its peak of attempts in flight.
func (f *fakeSender) count(url string) (sends, peak int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.perURL[url], f.peak[url]
}

// duplicates returns how many deliveries were sent more than once.
func (f *fakeSender) duplicates() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.sent {
		if c > 1 {
			n++
		}
	}
	return n
}

func ok200(context.Context, string) delivery.Result {
	c := 200
	return delivery.Result{StatusCode: &c, Duration: time.Millisecond}
}

func status(c int, retryAfter time.Duration) delivery.Result {
	return delivery.Result{StatusCode: &c, ErrClass: delivery.ErrClassHTTP, RetryAfter: retryAfter, Duration: time.Millisecond}
}

// engineEnv is an engine over the memory store with a fake sender and a
// settable clock; every webhook is in its own workspace.
type engineEnv struct {
	t     testing.TB
	ctx   context.Context
	store delivery.Store
	mem   *memory.Store
	box   *secretbox.Box
	clock *clock
	snd   *fakeSender
	hooks map[string]*webhooks.Webhook // by URL
}

func newEngineEnv(t testing.TB) *engineEnv {
	t.Helper()
	box, err := secretbox.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.New()
	return &engineEnv{t: t, ctx: context.Background(), store: mem, mem: mem, box: box, clock: &clock{t: t0},
		snd: newFakeSender(ok200), hooks: map[string]*webhooks.Webhook{}}
}

// webhook creates an active webhook at url in a new workspace.
func (e *engineEnv) webhook(url string) {
	e.t.Helper()
	id := uuid.NewString()
	sealed, err := e.box.Seal([]byte(secret), []byte(id))
	if err != nil {
		e.t.Fatal(err)
	}
	w := &webhooks.Webhook{ID: id, WorkspaceID: uuid.NewString(), URL: url, URLKey: url, Events: []string{eventType},
		Active: true, SecretCiphertext: sealed, CreatedAt: t0}
	if err := e.mem.CreateWebhook(e.ctx, w, 100); err != nil {
		e.t.Fatal(err)
	}
	e.hooks[url] = w
}

// publish publishes n events to url's webhook, due now.
func (e *engineEnv) publish(url string, n int) {
	e.t.Helper()
	w := e.hooks[url]
	for range n {
		_, _, err := e.mem.PublishEvent(e.ctx, delivery.Event{ID: uuid.NewString(), WorkspaceID: w.WorkspaceID, Type: eventType,
			Data: []byte(eventData), CreatedAt: e.clock.Now()})
		if err != nil {
			e.t.Fatal(err)
		}
	}
}

// engine returns an engine with small, fast settings.
func (e *engineEnv) engine() *delivery.Engine {
	return &delivery.Engine{
		Store: e.store, Sender: e.snd, Opener: e.box, Clock: e.clock, Jitter: func() float64 { return 0.5 },
		Concurrency: 8, Batch: 4, PollInterval: 10 * time.Millisecond, RecordDelay: time.Millisecond,
		HeartbeatEvery: 20 * time.Millisecond, StopTimeout: 5 * time.Second, Retention: -1,
		Endpoint: delivery.EndpointPolicy{InitialLimit: 2, MaxLimit: 4, OpenAfter: 3, Cooldown: time.Second, MaxCooldown: 4 * time.Second},
	}
}

// run starts eng and returns the function that stops it and waits.
func (e *engineEnv) run(eng *delivery.Engine) (stop func()) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					e.t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				e.t.Fatal("Run did not return after its context ended")
			}
		})
	}
	e.t.Cleanup(stop)
	return stop
}

// successes counts url's webhook's successful attempts in the store.
func (e *engineEnv) successes(url string) int {
	e.t.Helper()
	w := e.hooks[url]
	_, n, err := e.mem.ListAttempts(e.ctx, w.WorkspaceID, w.ID, delivery.StatusSuccess, 0, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A hanging endpoint holds at most its limit of slots while another
// endpoint's deliveries all flow.
func TestEngineIsolatesAHangingEndpoint(t *testing.T) {
	t.Parallel()
	e := newEngineEnv(t)
	const hang, healthy = "https://hang.example/h", "https://ok.example/h"
	e.webhook(hang)
	e.webhook(healthy)
	release := make(chan struct{})
	e.snd.setHandler(func(_ context.Context, url string) delivery.Result {
		if url == hang {
			<-release
		}
		return ok200(context.Background(), url)
	})
	e.publish(hang, 20)
	e.publish(healthy, 60)
	stop := e.run(e.engine())
	waitFor(t, "the healthy endpoint's 60 deliveries", func() bool { return e.successes(healthy) == 60 })
	sends, peak := e.snd.count(hang)
	if peak > 2 || sends > 2 {
		t.Errorf("the hanging endpoint got %d sends, %d at once; want at most its initial limit 2", sends, peak)
	}
	if _, peak := e.snd.count(healthy); peak > 4 {
		t.Errorf("the healthy endpoint had %d attempts in flight, over its max 4", peak)
	}
	close(release)
	waitFor(t, "the hanging endpoint's deliveries", func() bool { return e.successes(hang) == 20 })
	stop()
	if d := e.snd.duplicates(); d != 0 {
		t.Errorf("%d deliveries sent twice", d)
	}
}

// A 429 with Retry-After pauses the whole endpoint, not just its delivery.
func TestEngineRetryAfterPausesTheEndpoint(t *testing.T) {
	t.Parallel()
	e := newEngineEnv(t)
	const limited, other = "https://limited.example/h", "https://other.example/h"
	e.webhook(limited)
	e.webhook(other)
	e.snd.setHandler(func(_ context.Context, url string) delivery.Result {
		if url == limited {
			return status(http.StatusTooManyRequests, time.Hour)
		}
		return ok200(context.Background(), url)
	})
	e.publish(limited, 10)
	e.publish(other, 10)
	eng := e.engine()
	stop := e.run(eng)
	waitFor(t, "the other endpoint's deliveries", func() bool { return e.successes(other) == 10 })
	time.Sleep(100 * time.Millisecond) // ten poll intervals: a paused endpoint stays quiet
	if sends, _ := e.snd.count(limited); sends == 0 || sends > 2 {
		t.Errorf("the limited endpoint got %d sends; want its first claim's (at most 2) and then none", sends)
	}
	b, err := e.store.Backlog(e.ctx, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if b.PausedEndpoints != 1 || b.Due < 8 {
		t.Errorf("backlog = %+v, want one paused endpoint with its deliveries waiting", b)
	}
	if s := eng.Stats(); s.PausedEndpoints != 1 || s.Attempts["retry"] == 0 {
		t.Errorf("stats = %+v, want one paused endpoint and retried attempts", s)
	}
	// After the pause the endpoint is claimed again.
	e.snd.setHandler(ok200)
	e.clock.Set(t0.Add(time.Hour + time.Second))
	eng.Notify(e.ctx)
	waitFor(t, "the limited endpoint's waiting deliveries", func() bool { return e.successes(limited) >= 8 })
	stop()
}

// An endpoint failing everything opens its circuit: nothing is sent during
// the cooldown, then one probe at a time, and a success closes it.
func TestEngineCircuitOpensAndProbes(t *testing.T) {
	t.Parallel()
	e := newEngineEnv(t)
	const broken = "https://broken.example/h"
	e.webhook(broken)
	e.snd.setHandler(func(context.Context, string) delivery.Result { return status(500, 0) })
	e.publish(broken, 20)
	eng := e.engine()
	eng.Schedule = delivery.Schedule{time.Hour} // no retry during the test
	stop := e.run(eng)
	waitFor(t, "the circuit to open", func() bool { return eng.Stats().OpenCircuits == 1 })
	time.Sleep(50 * time.Millisecond)
	opened, _ := e.snd.count(broken)
	time.Sleep(100 * time.Millisecond)
	if sends, _ := e.snd.count(broken); sends != opened || sends > 4 {
		t.Errorf("sends went from %d to %d while the circuit was open; want at most 4 and none after", opened, sends)
	}
	// After the cooldown: probes one at a time, the first success closes it.
	var probing atomic.Int32
	e.snd.setHandler(func(context.Context, string) delivery.Result {
		if probing.Add(1) == 1 {
			return status(503, 0) // the first probe fails: the cooldown doubles
		}
		return ok200(context.Background(), "")
	})
	e.clock.Set(t0.Add(1500 * time.Millisecond))
	eng.Notify(e.ctx)
	waitFor(t, "the first probe", func() bool { return probing.Load() >= 1 })
	time.Sleep(50 * time.Millisecond)
	if n := probing.Load(); n != 1 {
		t.Errorf("%d probes before the doubled cooldown ended, want 1", n)
	}
	e.clock.Set(t0.Add(4 * time.Second))
	eng.Notify(e.ctx)
	waitFor(t, "the remaining deliveries", func() bool { return e.successes(broken) == 20-int(opened)-1 })
	stop()
	if s := eng.Stats(); s.OpenCircuits != 0 {
		t.Errorf("stats = %+v, want the circuit closed", s)
	}
	b, err := e.store.Backlog(e.ctx, e.clock.Now())
	if err != nil || b.OpenCircuits != 0 {
		t.Errorf("backlog = %+v, %v; want no open circuit stored", b, err)
	}
}

// flakyStore fails RecordAttempts a number of times, as a restarting
// Postgres would.
type flakyStore struct {
	delivery.Store
	failures atomic.Int32
	calls    atomic.Int32
}

func (f *flakyStore) RecordAttempts(ctx context.Context, o []delivery.Outcome, eps []delivery.EndpointState) ([]error, error) {
	f.calls.Add(1)
	if f.failures.Add(-1) >= 0 {
		return nil, errors.New("connection refused")
	}
	return f.Store.RecordAttempts(ctx, o, eps)
}

// The recorder keeps outcomes through store errors and records each once;
// nothing is sent twice.
func TestEngineRecorderRetriesTheStore(t *testing.T) {
	t.Parallel()
	e := newEngineEnv(t)
	flaky := &flakyStore{Store: e.mem}
	flaky.failures.Store(5)
	e.store = flaky
	const url = "https://ok.example/h"
	e.webhook(url)
	e.publish(url, 30)
	eng := e.engine()
	stop := e.run(eng)
	waitFor(t, "every delivery recorded", func() bool { return e.successes(url) == 30 })
	stop()
	if d := e.snd.duplicates(); d != 0 {
		t.Errorf("%d deliveries sent twice", d)
	}
	s := eng.Stats()
	if s.RecordErrors != 5 || s.Recorded != 30 || s.Dropped != 0 {
		t.Errorf("stats = %+v, want 5 record errors, 30 recorded, none dropped", s)
	}
}

// A graceful stop waits for the attempts in flight and records them all,
// and the retired worker holds no lease.
func TestEngineGracefulStopRecordsEverything(t *testing.T) {
	t.Parallel()
	e := newEngineEnv(t)
	const url = "https://slow.example/h"
	e.webhook(url)
	started := make(chan struct{}, 100)
	release := make(chan struct{})
	e.snd.setHandler(func(_ context.Context, url string) delivery.Result {
		started <- struct{}{}
		<-release
		return ok200(context.Background(), url)
	})
	e.publish(url, 10)
	eng := e.engine()
	stop := e.run(eng)
	for range 2 { // the endpoint's initial limit
		<-started
	}
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	time.Sleep(30 * time.Millisecond)
	select {
	case <-stopped:
		t.Fatal("Run returned with attempts in flight")
	default:
	}
	close(release)
	<-stopped
	if n := e.successes(url); n != 2 {
		t.Errorf("%d attempts recorded after the stop, want the 2 in flight", n)
	}
	b, err := e.store.Backlog(e.ctx, e.clock.Now())
	if err != nil || b.InFlight != 0 || b.Due != 8 {
		t.Errorf("backlog = %+v, %v; want no lease left and 8 due", b, err)
	}
}

// A crashed worker's leases are released by a live engine's heartbeat once
// the dead one has been silent for DeadAfter, and its deliveries are sent.
func TestEngineReleasesADeadWorkersLeases(t *testing.T) {
	t.Parallel()
	e := newEngineEnv(t)
	const url = "https://ok.example/h"
	e.webhook(url)
	e.publish(url, 3)
	dead := uuid.NewString()
	if _, err := e.mem.Heartbeat(e.ctx, dead, e.clock.Now(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	cs, err := e.mem.ClaimDue(e.ctx, delivery.ClaimParams{Worker: dead, Now: e.clock.Now(), Lease: time.Hour, Limit: 3, InitialLimit: 4, MaxLimit: 4})
	if err != nil || len(cs) != 3 {
		t.Fatalf("ClaimDue = %d, %v", len(cs), err)
	}
	eng := e.engine()
	e.run(eng)
	time.Sleep(50 * time.Millisecond)
	if n := e.successes(url); n != 0 {
		t.Fatalf("%d deliveries sent while the other worker was alive", n)
	}
	e.clock.Set(t0.Add(6 * time.Second))
	waitFor(t, "the dead worker's deliveries", func() bool { return e.successes(url) == 3 })
	if s := eng.Stats(); s.Released != 3 {
		t.Errorf("stats = %+v, want 3 leases released", s)
	}
}

// Notify wakes an idle engine at once, long before its poll interval.
func TestEngineNotifyWakesIt(t *testing.T) {
	t.Parallel()
	e := newEngineEnv(t)
	const url = "https://ok.example/h"
	e.webhook(url)
	eng := e.engine()
	eng.PollInterval = time.Hour
	e.run(eng)
	waitFor(t, "the first claim", func() bool { return eng.Stats().ClaimCalls >= 1 })
	e.publish(url, 1)
	start := time.Now()
	eng.Notify(e.ctx)
	waitFor(t, "the woken delivery", func() bool { return e.successes(url) == 1 })
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("delivered %s after Notify", d)
	}
}

// BenchmarkEngineOneEndpoint measures the engine's own overhead: deliveries
// to one endpoint through the memory store and a sender that answers at
// once, so that the in-flight limit is the endpoint's (16) and every cycle
// is claim, send, record.
func BenchmarkEngineOneEndpoint(b *testing.B) {
	const n = 2000
	for range b.N {
		b.StopTimer()
		e := newEngineEnv(b)
		e.clock.Set(time.Now())
		const url = "https://fast.example/h"
		e.webhook(url)
		e.publish(url, n)
		eng := e.engine()
		eng.Clock = nil
		eng.Concurrency, eng.Batch, eng.PollInterval = 64, 64, 250*time.Millisecond
		eng.Endpoint = delivery.EndpointPolicy{InitialLimit: 16, MaxLimit: 16}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		b.StartTimer()
		go func() { done <- eng.Run(ctx) }()
		for eng.Stats().Recorded < n {
			time.Sleep(100 * time.Microsecond)
		}
		b.StopTimer()
		cancel()
		<-done
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "deliveries/s")
}

// chanWakeups is a delivery.Wakeups whose channel the test drives and that
// never closes it.
type chanWakeups chan struct{}

func (c chanWakeups) Subscribe(context.Context) <-chan struct{} { return c }

// A subscribed wake-up (Redis, LISTEN) wakes the engine, and a subscription
// that never closes its channel does not keep Run from returning.
func TestEngineSubscribedWakeups(t *testing.T) {
	t.Parallel()
	e := newEngineEnv(t)
	const url = "https://ok.example/h"
	e.webhook(url)
	wakes := make(chanWakeups)
	eng := e.engine()
	eng.PollInterval = time.Hour
	eng.Wakeups = []delivery.Wakeups{wakes}
	stop := e.run(eng)
	waitFor(t, "the first claim", func() bool { return eng.Stats().ClaimCalls >= 1 })
	e.publish(url, 1)
	wakes <- struct{}{}
	waitFor(t, "the woken delivery", func() bool { return e.successes(url) == 1 })
	stop() // fails the test if Run does not return
}

// switchStore fails RecordAttempts while down is set.
type switchStore struct {
	delivery.Store
	down atomic.Bool
}

func (s *switchStore) RecordAttempts(ctx context.Context, o []delivery.Outcome, eps []delivery.EndpointState) ([]error, error) {
	if s.down.Load() {
		return nil, errors.New("the database system is starting up")
	}
	return s.Store.RecordAttempts(ctx, o, eps)
}

// While the store refuses the outcomes, the engine claims nothing, so that
// a delivery whose lease runs out during the outage is not taken over and
// sent again: once the store is back, the outcomes are written first.
func TestEngineClaimsNothingWhileRecordingFails(t *testing.T) {
	t.Parallel()
	e := newEngineEnv(t)
	sw := &switchStore{Store: e.mem}
	sw.down.Store(true)
	e.store = sw
	const url = "https://ok.example/h"
	e.webhook(url)
	e.publish(url, 6)
	eng := e.engine()
	eng.Lease = time.Second
	stop := e.run(eng)
	waitFor(t, "a failed record", func() bool { return eng.Stats().RecordErrors >= 1 })
	claims := eng.Stats().ClaimCalls
	e.clock.Set(t0.Add(5 * time.Second)) // past the leases of the attempts made
	eng.Notify(e.ctx)
	time.Sleep(100 * time.Millisecond)
	if n := eng.Stats().ClaimCalls; n != claims {
		t.Errorf("%d claims while recording failed, want none", n-claims)
	}
	sw.down.Store(false)
	waitFor(t, "every delivery", func() bool { return e.successes(url) == 6 })
	stop()
	if d := e.snd.duplicates(); d != 0 {
		t.Errorf("%d deliveries sent twice", d)
	}
	if s := eng.Stats(); s.Stale != 0 {
		t.Errorf("stats %+v, want no stale outcome", s)
	}
}

// poisonStore refuses every batch holding an outcome of one delivery,
// while answering everything else.
type poisonStore struct {
	delivery.Store
	mu     sync.Mutex
	poison string // a delivery id
}

func (p *poisonStore) RecordAttempts(ctx context.Context, o []delivery.Outcome, eps []delivery.EndpointState) ([]error, error) {
	p.mu.Lock()
	poison := p.poison
	p.mu.Unlock()
	for _, x := range o {
		if x.Attempt.DeliveryID == poison {
			return nil, errors.New("new row violates check constraint")
		}
	}
	return p.Store.RecordAttempts(ctx, o, eps)
}

// An outcome the store refuses while it is up is isolated and dropped; the
// rest of its batch is recorded and the engine keeps delivering.
func TestEngineDropsAnOutcomeTheStoreRefuses(t *testing.T) {
	t.Parallel()
	e := newEngineEnv(t)
	ps := &poisonStore{Store: e.mem}
	e.store = ps
	const url = "https://ok.example/h"
	e.webhook(url)
	e.publish(url, 12)
	w := e.hooks[url]
	log, _, err := e.mem.ListAttempts(e.ctx, w.WorkspaceID, w.ID, delivery.StatusPending, 0, 1)
	if err != nil || len(log) != 1 {
		t.Fatal(log, err)
	}
	ps.poison = log[0].DeliveryID
	eng := e.engine()
	eng.Endpoint.InitialLimit, eng.Endpoint.MaxLimit = 4, 4
	eng.RecordGiveUp = 50 * time.Millisecond
	stop := e.run(eng)
	waitFor(t, "the other deliveries", func() bool { return e.successes(url) == 11 })
	stop()
	if s := eng.Stats(); s.Dropped != 1 {
		t.Errorf("stats %+v, want exactly the refused outcome dropped", s)
	}
}

// forgetfulStore records outcomes but not the endpoints' states, as a store
// that has not yet seen another worker's pause: ClaimDue keeps handing out
// the endpoint's deliveries, and only the engine knows it is paused.
type forgetfulStore struct{ delivery.Store }

func (s forgetfulStore) RecordAttempts(ctx context.Context, o []delivery.Outcome, _ []delivery.EndpointState) ([]error, error) {
	return s.Store.RecordAttempts(ctx, o, nil)
}

// A claim whose endpoint the engine knows to be paused is not sent before
// the pause ends: a short pause is waited out, a long one leaves the claim
// unsent for its lease (and the stored pause) to hold back.
func TestEngineHoldsClaimsOfAPausedEndpoint(t *testing.T) {
	t.Parallel()
	const url = "https://limited.example/h"
	cases := []struct {
		name  string
		pause time.Duration
	}{
		{"short pause is waited out", 300 * time.Millisecond},
		{"long pause leaves the claim unsent", time.Hour},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEngineEnv(t)
			e.store = forgetfulStore{e.mem}
			e.webhook(url)
			var mu sync.Mutex
			var at []time.Time // real arrival times of the sends
			e.snd.setHandler(func(_ context.Context, _ string) delivery.Result {
				mu.Lock()
				defer mu.Unlock()
				at = append(at, time.Now())
				if len(at) == 1 {
					return status(http.StatusTooManyRequests, tc.pause)
				}
				return ok200(context.Background(), url)
			})
			e.publish(url, 3)
			eng := e.engine()
			eng.Endpoint.InitialLimit, eng.Endpoint.MaxLimit = 1, 1 // one claim at a time
			e.run(eng)
			sends := func() int { mu.Lock(); defer mu.Unlock(); return len(at) }
			if tc.pause < time.Second {
				waitFor(t, "the held deliveries", func() bool { return e.successes(url) == 2 })
				mu.Lock()
				defer mu.Unlock()
				if gap := at[1].Sub(at[0]); gap < tc.pause {
					t.Errorf("the next send came %s after the 429, within its %s pause", gap, tc.pause)
				}
				return
			}
			waitFor(t, "a deferred claim", func() bool { return eng.Stats().Deferred > 0 })
			time.Sleep(100 * time.Millisecond) // ten poll intervals
			if n := sends(); n != 1 {
				t.Errorf("%d sends during an hour's pause the store does not know of, want only the first", n)
			}
		})
	}
}
