package e2e

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadlex/api-gateway/internal/testdb"
	"github.com/leadlex/api-gateway/internal/testservices"
)

// throwaway is a delivery environment whose PostgreSQL and Redis are servers
// of the test's own (internal/testservices), so that it may restart and
// flush them.
type throwaway struct {
	*deliveryEnv
	pg *testservices.Postgres
	rs *testservices.Redis
}

// newThrowawayDeliveryEnv is newDeliveryEnv on a throwaway PostgreSQL and
// Redis: the same guard, receiver and settings (newEnv, receiver.env), the
// database and Redis URLs pointing at the test's own servers.
func newThrowawayDeliveryEnv(t *testing.T, workers int, extra map[string]string) *throwaway {
	t.Helper()
	pg := testservices.StartPostgres(t)
	rs := testservices.StartRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	db, err := testdb.Create(ctx, testdb.Options{BaseURL: pg.URL()})
	if err != nil {
		t.Fatal(err)
	}
	// Registered after the servers' cleanups, so it runs before them.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := db.Close(ctx); err != nil {
			t.Logf("dropping the throwaway database: %v", err)
		}
	})
	opts, err := redis.ParseURL(rs.URL())
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(opts)
	t.Cleanup(func() { _ = rc.Close() })

	e := newEnv(t)
	e.pool, e.redis = db.Pool, rc
	e.vars["DATABASE_URL"] = db.URL
	e.vars["REDIS_URL"] = rs.URL()
	recv := newReceiver(t)
	recv.env(e)
	for k, v := range extra {
		e.vars[k] = v
	}
	d := &deliveryEnv{env: e, rc: recv,
		pub:   e.createKey(workspaceA, "events:publish", "--tier", "unmetered"),
		admin: e.createKey(workspaceA, "webhooks:write", "--tier", "unmetered"),
	}
	d.g = e.start(nil)
	for range workers {
		d.workers = append(d.workers, e.startWorker(nil))
	}
	return &throwaway{deliveryEnv: d, pg: pg, rs: rs}
}

// publishLoop publishes events one after another, every gap, until n were
// tried; it runs on its own goroutine. Events the gateway does not accept
// (a service is down) are counted as not accepted, not retried.
type publishLoop struct {
	mu    sync.Mutex
	pubs  []publication
	tried int
	done  chan struct{}
}

func (d *deliveryEnv) startPublishing(typ string, n int, gap time.Duration) *publishLoop {
	l := &publishLoop{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for i := range n {
			p := d.tryPublish(typ, fmt.Sprintf(`{"id": "e-%d"}`, i))
			l.mu.Lock()
			l.pubs = append(l.pubs, p)
			l.tried++
			l.mu.Unlock()
			time.Sleep(gap)
		}
	}()
	return l
}

// wait waits for the loop to end and returns the accepted events' ids, the
// number refused and the first refusal's error.
func (l *publishLoop) wait(t *testing.T) (accepted []string, refused int, first error) {
	t.Helper()
	select {
	case <-l.done:
	case <-time.After(2 * time.Minute):
		t.Fatal("publishing did not end")
	}
	for _, p := range l.pubs {
		if p.err != nil {
			if refused == 0 {
				first = p.err
			}
			refused++
			continue
		}
		accepted = append(accepted, p.id)
	}
	return accepted, refused, first
}

// unfinished counts the deliveries the store has not recorded as a
// success; -1 when the store cannot be read (it may be restarting).
func (d *deliveryEnv) unfinished() int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var n int
	if err := d.pool.QueryRow(ctx, "select count(*) from deliveries where status <> 'success'").Scan(&n); err != nil {
		return -1
	}
	return n
}

// tally compares what the receiver got with the accepted events: the
// accepted events never received, and the requests that repeated a
// delivery ID which had already been answered 2xx (the receiver answers
// 200 to everything here, so every repeat is one).
func tally(accepted []string, reqs []received) (lost []string, duplicates int) {
	got := map[string]bool{}
	for _, r := range reqs {
		got[eventID(r)] = true
		if r.N > 1 {
			duplicates++
		}
	}
	for _, id := range accepted {
		if !got[id] {
			lost = append(lost, id)
		}
	}
	return lost, duplicates
}

// TestDurability: every accepted event is delivered through a kill -9 of a
// worker mid-batch, a FLUSHDB of the gateway's Redis, and a restart of
// PostgreSQL, each on servers of the test's own. Losses must be zero;
// repeats of a delivery are allowed only for attempts in flight at a crash.
func TestDurability(t *testing.T) {
	t.Parallel()
	const (
		events      = 80
		gap         = 25 * time.Millisecond
		slow        = 200 * time.Millisecond
		concurrency = 8
		// disruptAfter is how many requests the receiver has seen when the
		// disruption comes: a batch is in flight by then.
		disruptAfter = 10
	)
	cases := []struct {
		name string
		// disrupt runs mid-run and returns when the system may recover:
		// from then on, every accepted event must arrive within within.
		disrupt func(t *testing.T, d *throwaway)
		within  time.Duration
		// maxDuplicates bounds the repeats: the attempts that can be in
		// flight at a crash.
		maxDuplicates int
	}{
		{
			name: "kill -9 of a worker mid-batch",
			disrupt: func(t *testing.T, d *throwaway) {
				if err := d.workers[0].cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				<-d.workers[0].done
				// The new worker starts while events are still being
				// published; recovery is measured from its start.
				d.workers = append(d.workers, d.startWorker(nil))
			},
			within:        15 * time.Second,
			maxDuplicates: concurrency,
		},
		{
			name:          "FLUSHDB of the gateway's Redis",
			disrupt:       func(t *testing.T, d *throwaway) { d.rs.FlushDB() },
			within:        20 * time.Second,
			maxDuplicates: 0,
		},
		{
			name:          "PostgreSQL restart",
			disrupt:       func(t *testing.T, d *throwaway) { d.pg.Restart() },
			within:        20 * time.Second,
			maxDuplicates: concurrency,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := newThrowawayDeliveryEnv(t, 1, map[string]string{
				"DELIVERY_CONCURRENCY": fmt.Sprint(concurrency),
				"DELIVERY_TIMEOUT":     "5s",
			})
			var g gauge
			d.rc.mu.Lock()
			d.rc.answer = func(int, *http.Request) (int, http.Header) {
				defer g.enter()()
				time.Sleep(slow)
				return http.StatusOK, nil
			}
			d.rc.mu.Unlock()
			d.hook(t, "/durable", "contact.updated")
			loop := d.startPublishing("contact.updated", events, gap)
			waitFor(t, 30*time.Second, "the first deliveries", func() bool { return len(d.rc.got()) >= disruptAfter })
			inFlight := g.current()
			began := time.Now()
			tc.disrupt(t, d)
			recovering := time.Now()
			accepted, refused, firstRefusal := loop.wait(t)
			// Delivered means both: the receiver got every accepted event,
			// and the store knows it (no delivery left unfinished, e.g. a
			// killed worker's claim waiting for its lease to run out).
			received := waitUntil(tc.within, func() bool {
				lost, _ := tally(accepted, d.rc.got())
				return len(lost) == 0
			})
			tookReceived := time.Since(recovering)
			unfinished := -1
			recorded := waitUntil(max(0, tc.within-time.Since(recovering)), func() bool {
				unfinished = d.unfinished()
				return unfinished == 0
			})
			tookRecorded := time.Since(recovering)
			lost, dups := tally(accepted, d.rc.got())
			t.Logf("%d events accepted, %d refused (first refusal: %v) during the disruption (%s long); %d requests in flight when it came; %d lost, %d duplicates; all received %s and all recorded %s after recovery began (%d unfinished)",
				len(accepted), refused, firstRefusal, recovering.Sub(began).Round(time.Millisecond), inFlight, len(lost), dups,
				tookReceived.Round(time.Millisecond), tookRecorded.Round(time.Millisecond), unfinished)
			if inFlight == 0 {
				t.Error("no attempt was in flight when the disruption came: the scenario did not run mid-batch")
			}
			if len(accepted) < events/2 {
				t.Errorf("only %d of %d events accepted: the run did not go on around the disruption", len(accepted), events)
			}
			if !received {
				t.Errorf("%d accepted events not received within %s of the recovery's start (e.g. %v)", len(lost), tc.within, lost[:min(3, len(lost))])
			}
			if !recorded {
				t.Errorf("%d deliveries still unfinished in the store %s after the recovery's start", unfinished, tc.within)
			}
			if dups > tc.maxDuplicates {
				t.Errorf("%d duplicate deliveries, want at most %d (the attempts in flight at a crash)", dups, tc.maxDuplicates)
			}
		})
	}
}
