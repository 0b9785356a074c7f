package e2e

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// loadResult is what one paced run measured.
type loadResult struct {
	latencies []time.Duration
	statuses  map[int]int
}

func (r loadResult) quantile(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	s := slices.Clone(r.latencies)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
}

// paced sends one request to each target every interval for d (an open
// loop: a slow answer does not delay the next request) and records each
// latency. The targets are driven in the same instants, so that a stall of
// a shared machine hits them alike and their difference stays meaningful.
func paced(t *testing.T, interval, d time.Duration, targets ...func() (int, error)) []loadResult {
	t.Helper()
	var (
		mu  sync.Mutex
		res = make([]loadResult, len(targets))
		wg  sync.WaitGroup
	)
	for i := range res {
		res[i].statuses = map[int]int{}
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	stop := time.After(d)
	for running := true; running; {
		select {
		case <-stop:
			running = false
		case <-tick.C:
			for i, send := range targets {
				wg.Go(func() {
					start := time.Now()
					status, err := send()
					took := time.Since(start)
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						t.Errorf("request: %v", err)
						return
					}
					res[i].latencies = append(res[i].latencies, took)
					res[i].statuses[status]++
				})
			}
		}
	}
	wg.Wait()
	return res
}

// TestDeadRedisAddsMilliseconds runs the real binary with REDIS_URL at a
// closed local port and at a working Redis, drives both at 100 requests/s
// through the whole chain (auth, Redis rate limit, permission) and records
// the latency a dead Redis adds. go-redis used to retry every dial five
// times 100 ms apart, so that about 400 ms went to each request that found
// Redis dead; the target is p99 under 5 ms added, and the test asserts a
// bound loose enough for a loaded CI machine.
func TestDeadRedisAddsMilliseconds(t *testing.T) {
	e := newEnv(t)
	k := e.createKey(uuid.NewString(), "events:read,events:publish", "--plan", "org", "--tier", "high")
	closed := "redis://127.0.0.1:" + freePort(t)
	down := e.start(map[string]string{"REDIS_URL": closed, "RUN_WORKER": "false"})
	up := e.start(map[string]string{"RUN_WORKER": "false"})

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	get := func(g *gw) func() (int, error) {
		return func() (int, error) {
			hr, _ := http.NewRequest("GET", g.url+base+"/v1/events/catalog?category=deal", nil)
			hr.Header.Set("Authorization", "Bearer "+k.Key)
			resp, err := client.Do(hr)
			if err != nil {
				return 0, err
			}
			resp.Body.Close()
			if resp.Header.Get("X-RateLimit-Limit") == "" {
				t.Errorf("status %d without rate-limit headers: limits did not fall back", resp.StatusCode)
			}
			return resp.StatusCode, nil
		}
	}
	// Warm both: the key in the cache, connections open, and on the dead
	// side the one failed call that switches to in-process limits.
	for _, g := range []*gw{down, up} {
		for range 5 {
			if s, err := get(g)(); err != nil || s != 200 {
				t.Fatalf("warm-up: %d %v", s, err)
			}
		}
	}

	const rate, d = 10 * time.Millisecond, 4 * time.Second // 100 requests/s each for 4 s
	runs := paced(t, rate, d, get(up), get(down))
	healthy, dead := runs[0], runs[1]
	for name, r := range map[string]loadResult{"redis up": healthy, "redis down": dead} {
		if r.statuses[200] != len(r.latencies) || len(r.latencies) < 300 {
			t.Errorf("%s: statuses %v of %d requests", name, r.statuses, len(r.latencies))
		}
	}
	added50 := dead.quantile(0.50) - healthy.quantile(0.50)
	added99 := dead.quantile(0.99) - healthy.quantile(0.99)
	t.Logf("100 req/s for %s: redis up p50 %s p99 %s max %s; redis down p50 %s p99 %s max %s; added p50 %s p99 %s",
		d, healthy.quantile(0.5), healthy.quantile(0.99), healthy.quantile(1), dead.quantile(0.5), dead.quantile(0.99), dead.quantile(1), added50, added99)
	if added99 > 50*time.Millisecond {
		t.Errorf("a dead Redis adds %s at p99, want well under 50 ms", added99)
	}

	// Idempotent requests cannot be served without Redis: 503 at once,
	// not after a dial per request.
	idem := paced(t, 20*time.Millisecond, time.Second, func() (int, error) {
		hr, _ := http.NewRequest("POST", down.url+base+"/v1/events", strings.NewReader(`{"type": "contact.created", "data": {"id": "c-1"}}`))
		hr.Header.Set("Content-Type", "application/json")
		hr.Header.Set("Authorization", "Bearer "+k.Key)
		hr.Header.Set("Idempotency-Key", uuid.NewString())
		resp, err := client.Do(hr)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		if resp.Header.Get("Retry-After") != "1" {
			t.Errorf("503 without Retry-After: 1")
		}
		return resp.StatusCode, nil
	})[0]
	if idem.statuses[503] != len(idem.latencies) {
		t.Errorf("idempotent requests with Redis down: %v", idem.statuses)
	}
	t.Logf("idempotent requests with Redis down: p50 %s p99 %s", idem.quantile(0.5), idem.quantile(0.99))
	if p99 := idem.quantile(0.99); p99 > 100*time.Millisecond {
		t.Errorf("idempotent 503 p99 = %s, want well under 100 ms", p99)
	}
}
