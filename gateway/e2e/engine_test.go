package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The tests of the delivery engine's promises (issue 10), driving the real
// `gateway serve` and `gateway worker` processes against real PostgreSQL and
// Redis and the local HTTPS receiver. They set the engine's settings by the
// names the engine reads (DELIVERY_ENDPOINT_CONCURRENCY, …); a binary that
// does not know a setting yet ignores it, so the tests also run, and show
// what fails, on a binary from before the engine.

// gauge counts the requests one endpoint of the receiver is answering right
// now, and the most it ever answered at once.
type gauge struct {
	mu       sync.Mutex
	now, max int
}

// enter counts a request in; the returned func counts it out.
func (g *gauge) enter() func() {
	g.mu.Lock()
	g.now++
	g.max = max(g.max, g.now)
	g.mu.Unlock()
	return func() {
		g.mu.Lock()
		g.now--
		g.mu.Unlock()
	}
}

// peak is the most requests answered at once so far.
func (g *gauge) peak() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.max
}

// current is the number of requests being answered now.
func (g *gauge) current() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.now
}

// publication is the outcome of one POST /v1/events.
type publication struct {
	// id is the event's id when the gateway accepted it (202).
	id string
	// done is when the answer arrived: latencies are measured from it.
	done time.Time
	// err says why the event was not accepted; nil for a 202.
	err error
}

// tryPublish publishes one event and reports the outcome instead of failing
// the test, so that it can run on any goroutine and while a service is down
// (an event that was not accepted is simply not counted).
func (d *deliveryEnv) tryPublish(typ, data string) publication {
	body := `{"type": "` + typ + `", "data": ` + data + `}`
	hr, err := http.NewRequestWithContext(context.Background(), "POST", d.g.url+base+"/v1/events", strings.NewReader(body))
	if err != nil {
		return publication{err: err, done: time.Now()}
	}
	hr.Header.Set("Authorization", "Bearer "+d.pub.Key)
	hr.Header.Set("Content-Type", "application/json")
	resp, err := d.g.client.Do(hr)
	if err != nil {
		return publication{err: err, done: time.Now()}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	p := publication{done: time.Now()}
	if resp.StatusCode != http.StatusAccepted {
		p.err = fmt.Errorf("publish: %d %s", resp.StatusCode, raw)
		return p
	}
	var out struct {
		Data struct {
			Event struct {
				ID string `json:"id"`
			} `json:"event"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || out.Data.Event.ID == "" {
		p.err = fmt.Errorf("publish: answer without an event id: %s", raw)
		return p
	}
	p.id = out.Data.Event.ID
	return p
}

// publishMany publishes n events of typ from publishers goroutines at once
// and fails the test unless every one is accepted.
func (d *deliveryEnv) publishMany(t *testing.T, typ string, n, publishers int) []publication {
	t.Helper()
	out := make([]publication, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range publishers {
		wg.Go(func() {
			for i := range next {
				out[i] = d.tryPublish(typ, fmt.Sprintf(`{"id": "e-%d"}`, i))
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, p := range out {
		if p.err != nil {
			t.Fatalf("event %d: %v", i, p.err)
		}
	}
	return out
}

// eventID is the id in a delivery's body (the event's id).
func eventID(r received) string {
	var b struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(r.Body, &b)
	return b.ID
}

// firstArrivals maps each event id to the first time a request for it
// reached path on the receiver.
func firstArrivals(reqs []received, path string) map[string]time.Time {
	out := map[string]time.Time{}
	for _, r := range reqs {
		if r.Path != path {
			continue
		}
		id := eventID(r)
		if at, seen := out[id]; !seen || r.At.Before(at) {
			out[id] = r.At
		}
	}
	return out
}

// latencies are publish→receipt times, from the publish answer to the
// receiver's arrival timestamp, of the published events that arrived (a
// delivery can arrive before its publish answer: that counts as zero).
func latencies(pubs []publication, arrived map[string]time.Time) []time.Duration {
	var out []time.Duration
	for _, p := range pubs {
		if at, ok := arrived[p.id]; ok {
			out = append(out, max(0, at.Sub(p.done)))
		}
	}
	slices.Sort(out)
	return out
}

// quantile is the q-quantile (0 < q ≤ 1) of sorted durations, nearest rank;
// zero for none.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*q+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// waitUntil polls cond until it holds or timeout passes, and reports which;
// unlike waitFor it does not stop the test, so that a test can report what
// it measured before it fails.
func waitUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(25 * time.Millisecond)
	}
	return true
}

// TestEngineHealthyEndpointUnaffectedByNeighbour: two webhooks of one
// workspace subscribed to the same type, one healthy, the other hanging
// (12 s, cut by DELIVERY_TIMEOUT) or answering 500 to everything (with a
// short retry schedule). The healthy one gets every event within a few
// seconds, with a p99 publish→receipt close to the baseline's (the same
// run without a neighbour), while the neighbour never has more attempts in
// flight than DELIVERY_ENDPOINT_CONCURRENCY.
//
// The absolute target (p99 under a second) is make bench's to check: a
// -race build on a shared machine says little about absolute latency, but
// a neighbour's effect shows against the baseline measured in the same run.
// The subtests run one after the other, baseline first, and not in parallel
// with other tests.
func TestEngineHealthyEndpointUnaffectedByNeighbour(t *testing.T) {
	const (
		events      = 300
		endpointCap = 4
		// slack is what a neighbour may add to the baseline's p99: the
		// noise of a shared machine, far below a hanging attempt (3 s).
		slack = time.Second
		// allWithin is how long after the last publish the healthy
		// endpoint may take to have every event.
		allWithin = 10 * time.Second
	)
	cases := []struct {
		name string
		env  map[string]string
		// neighbour answers the other webhook's requests; nil means no
		// neighbour: the baseline, which tells a slow engine from a
		// neighbour's effect.
		neighbour func(r *http.Request) (int, http.Header)
	}{
		{name: "no neighbour (baseline)", env: map[string]string{"DELIVERY_TIMEOUT": "3s"}},
		{
			name: "hanging neighbour",
			env:  map[string]string{"DELIVERY_TIMEOUT": "3s", "DELIVERY_RETRY_SCHEDULE": "1s,1s,1s"},
			neighbour: func(r *http.Request) (int, http.Header) {
				select {
				case <-r.Context().Done():
				case <-time.After(12 * time.Second):
				}
				return http.StatusOK, nil
			},
		},
		{
			name: "failing neighbour",
			env:  map[string]string{"DELIVERY_TIMEOUT": "3s", "DELIVERY_RETRY_SCHEDULE": "1s,1s,1s"},
			neighbour: func(*http.Request) (int, http.Header) {
				return http.StatusInternalServerError, nil
			},
		},
	}
	var baseline time.Duration // the baseline's p99, set by the first case
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			extra := map[string]string{
				"DELIVERY_CONCURRENCY":          "20",
				"DELIVERY_ENDPOINT_CONCURRENCY": strconv.Itoa(endpointCap),
				"DELIVERY_ENDPOINT_INITIAL":     strconv.Itoa(endpointCap),
			}
			for k, v := range tc.env {
				extra[k] = v
			}
			d := newDeliveryEnv(t, 1, extra)
			var bad gauge
			d.rc.mu.Lock()
			d.rc.answer = func(_ int, r *http.Request) (int, http.Header) {
				if r.URL.Path == "/neighbour" {
					defer bad.enter()()
					return tc.neighbour(r)
				}
				return http.StatusOK, nil
			}
			d.rc.mu.Unlock()
			if tc.neighbour != nil {
				d.hook(t, "/neighbour", "contact.created")
			}
			d.hook(t, "/healthy", "contact.created")

			pubs := d.publishMany(t, "contact.created", events, 8)
			last := pubs[0].done
			for _, p := range pubs {
				last = later(last, p.done)
			}
			all := waitUntil(time.Until(last.Add(allWithin)), func() bool {
				return len(firstArrivals(d.rc.got(), "/healthy")) >= events
			})
			arrived := firstArrivals(d.rc.got(), "/healthy")
			lat := latencies(pubs, arrived)
			neighbourRequests := len(d.rc.got()) - countPath(d.rc.got(), "/healthy")
			t.Logf("healthy endpoint: %d of %d events within %s of the last publish; publish→receipt p50 %s p99 %s max %s; neighbour: %d requests, at most %d in flight (cap %d)",
				len(arrived), events, allWithin, quantile(lat, 0.5), quantile(lat, 0.99), quantile(lat, 1), neighbourRequests, bad.peak(), endpointCap)
			if !all {
				t.Errorf("the healthy endpoint got %d of %d events within %s of the last publish", len(arrived), events, allWithin)
			}
			p99 := quantile(lat, 0.99)
			switch {
			case tc.neighbour == nil:
				baseline = p99
			case baseline == 0:
				t.Error("no baseline was measured")
			case p99 > 2*baseline+slack:
				t.Errorf("healthy endpoint p99 publish→receipt %s beside the neighbour, want at most 2 × the baseline's %s + %s", p99, baseline, slack)
			}
			if tc.neighbour != nil && neighbourRequests == 0 {
				t.Error("the neighbour got no request: the scenario did not run")
			}
			if peak := bad.peak(); peak > endpointCap {
				t.Errorf("the neighbour had %d attempts in flight at once, over DELIVERY_ENDPOINT_CONCURRENCY=%d", peak, endpointCap)
			}
		})
	}
}

// later returns the later of two times.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// countPath counts the requests to one path.
func countPath(reqs []received, path string) int {
	n := 0
	for _, r := range reqs {
		if r.Path == path {
			n++
		}
	}
	return n
}

// TestEngineRetryAfterPausesTheEndpoint: an endpoint that answers 429 or 503
// with Retry-After: 3 gets no request at all for those 3 seconds, neither
// the retry of that delivery nor any of the webhook's other deliveries that
// fall due meanwhile; then every delivery arrives.
func TestEngineRetryAfterPausesTheEndpoint(t *testing.T) {
	t.Parallel()
	const (
		pause = 3 * time.Second
		// slack allows for the time between the receiver writing the
		// answer and the gateway reading it.
		slack = 300 * time.Millisecond
		// more is how many deliveries fall due during the pause.
		more = 19
	)
	d := newDeliveryEnv(t, 1, map[string]string{"DELIVERY_TIMEOUT": "3s"})
	var mu sync.Mutex
	answered := map[string]time.Time{} // path → when its one 429/503 was written
	statusOf := map[string]int{"/limited-429": http.StatusTooManyRequests, "/limited-503": http.StatusServiceUnavailable}
	d.rc.mu.Lock()
	d.rc.answer = func(_ int, r *http.Request) (int, http.Header) {
		mu.Lock()
		defer mu.Unlock()
		if _, done := answered[r.URL.Path]; !done {
			answered[r.URL.Path] = time.Now()
			return statusOf[r.URL.Path], http.Header{"Retry-After": {"3"}}
		}
		return http.StatusOK, nil
	}
	d.rc.mu.Unlock()
	cases := []struct{ path, event string }{
		{"/limited-429", "contact.created"},
		{"/limited-503", "deal.created"},
	}
	for _, tc := range cases {
		d.hook(t, tc.path, tc.event)
	}
	for _, tc := range cases {
		t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
			first := d.tryPublish(tc.event, `{"id": "first"}`)
			if first.err != nil {
				t.Fatal(first.err)
			}
			waitFor(t, 15*time.Second, "the first answer with Retry-After", func() bool {
				mu.Lock()
				defer mu.Unlock()
				_, ok := answered[tc.path]
				return ok
			})
			mu.Lock()
			t0 := answered[tc.path]
			mu.Unlock()
			// The rest fall due while the endpoint is paused.
			pubs := append([]publication{first}, d.publishMany(t, tc.event, more, 4)...)
			all := waitUntil(pause+15*time.Second, func() bool {
				return len(firstArrivals(d.rc.got(), tc.path)) == len(pubs)
			})
			var during []time.Duration
			var resumed time.Time
			for _, r := range d.rc.got() {
				if r.Path != tc.path || !r.At.After(t0) {
					continue
				}
				if gap := r.At.Sub(t0); gap < pause-slack {
					during = append(during, gap)
				} else if resumed.IsZero() || r.At.Before(resumed) {
					resumed = r.At
				}
			}
			after := "none"
			if !resumed.IsZero() {
				after = resumed.Sub(t0).Round(time.Millisecond).String()
			}
			t.Logf("%d requests during the %s pause (at %v after the answer); first request after it: %s after the answer; %d of %d deliveries arrived",
				len(during), pause, during, after, len(firstArrivals(d.rc.got(), tc.path)), len(pubs))
			if len(during) > 0 {
				t.Errorf("%d requests reached the endpoint within %s of its Retry-After: 3 answer", len(during), pause-slack)
			}
			if !all {
				t.Errorf("%d of %d deliveries arrived within %s", len(firstArrivals(d.rc.got(), tc.path)), len(pubs), pause+15*time.Second)
			}
		})
	}
}

// TestEngineInFlightCapAcrossWorkers: with two worker processes and a
// receiver that takes 500 ms per request, the receiver never answers more
// than DELIVERY_ENDPOINT_CONCURRENCY requests of the webhook at once, and
// all 100 deliveries arrive.
func TestEngineInFlightCapAcrossWorkers(t *testing.T) {
	t.Parallel()
	const (
		events      = 100
		endpointCap = 4
		slow        = 500 * time.Millisecond
	)
	d := newDeliveryEnv(t, 2, map[string]string{
		"DELIVERY_CONCURRENCY":          "8",
		"DELIVERY_ENDPOINT_CONCURRENCY": strconv.Itoa(endpointCap),
		"DELIVERY_ENDPOINT_INITIAL":     strconv.Itoa(endpointCap),
		"DELIVERY_TIMEOUT":              "5s",
	})
	var g gauge
	d.rc.mu.Lock()
	d.rc.answer = func(int, *http.Request) (int, http.Header) {
		defer g.enter()()
		time.Sleep(slow)
		return http.StatusOK, nil
	}
	d.rc.mu.Unlock()
	d.hook(t, "/slow", "task.created")
	start := time.Now()
	d.publishMany(t, "task.created", events, 4)
	// At the cap, 100 deliveries of 500 ms take 12.5 s; the bound leaves
	// room for an engine that starts below the cap and for a busy machine.
	all := waitUntil(60*time.Second, func() bool { return d.rc.distinct() >= events })
	t.Logf("%d of %d deliveries in %s, %d requests, at most %d in flight at once (cap %d)",
		d.rc.distinct(), events, time.Since(start).Round(time.Millisecond), len(d.rc.got()), g.peak(), endpointCap)
	if !all {
		t.Errorf("%d of %d deliveries arrived within 60 s", d.rc.distinct(), events)
	}
	if p := g.peak(); p > endpointCap {
		t.Errorf("%d requests in flight at once across two workers, over DELIVERY_ENDPOINT_CONCURRENCY=%d", p, endpointCap)
	}
}
