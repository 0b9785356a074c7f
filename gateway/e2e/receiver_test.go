package e2e

import (
	"context"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/internal/testdns"
)

// received is one request the receiver got.
type received struct {
	Path   string
	Header http.Header
	Body   []byte
	At     time.Time
}

// receiver is a local HTTPS webhook receiver whose answers a test scripts.
type receiver struct {
	srv *httptest.Server
	// Name is the host name webhooks use; the fake DNS maps it to the
	// receiver (the test certificate is valid for example.com).
	Name   string
	caFile string
	dns    *testdns.Server

	mu       sync.Mutex
	requests []received
	// answer decides the reply to the n-th request (1-based) for one
	// delivery ID; nil answers 200.
	answer func(n int, r *http.Request) (status int, header http.Header)
	perID  map[string]int
	// hang makes every request block until the client gives up.
	hang bool
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{Name: "example.com", perID: map[string]int{}, dns: testdns.Start(t)}
	rc.srv = httptest.NewTLSServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	rc.dns.Set(rc.Name, netip.MustParseAddr("127.0.0.1"))
	rc.caFile = filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rc.srv.Certificate().Raw})
	if err := os.WriteFile(rc.caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.requests = append(rc.requests, received{Path: r.URL.Path, Header: r.Header.Clone(), Body: body, At: time.Now()})
	id := r.Header.Get("X-LeadLex-Delivery-ID")
	rc.perID[id]++
	n, answer, hang := rc.perID[id], rc.answer, rc.hang
	rc.mu.Unlock()
	if hang {
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
		return
	}
	status := http.StatusOK
	var h http.Header
	if answer != nil {
		status, h = answer(n, r)
	}
	for k, v := range h {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"ok": ` + strconv.FormatBool(status < 300) + `}`))
}

// URL is the webhook URL for a path on this receiver.
func (rc *receiver) URL(path string) string {
	_, port, _ := net.SplitHostPort(rc.srv.Listener.Addr().String())
	return "https://" + rc.Name + ":" + port + path
}

func (rc *receiver) got() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.requests...)
}

// distinct counts the delivery IDs seen: the receiver's effects, once per ID.
func (rc *receiver) distinct() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.perID)
}

// env points a test environment's gateways at this receiver: its CA, the
// fake DNS, loopback allowed as a delivery target (test-only settings), a
// short retry schedule, separate worker processes and a private queue.
func (rc *receiver) env(e *env, queue string) {
	e.vars["DELIVERY_ALLOW_CIDRS"] = "127.0.0.1/32"
	e.vars["DELIVERY_CA_FILE"] = rc.caFile
	e.vars["DNS_SERVER"] = rc.dns.Addr()
	e.vars["DELIVERY_RETRY_SCHEDULE"] = "300ms,300ms,300ms,300ms,300ms"
	e.vars["DELIVERY_SWEEP_INTERVAL"] = "200ms"
	e.vars["DELIVERY_QUEUE"] = queue
	e.vars["RUN_WORKER"] = "false"
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// deleteQueue removes every Redis key of an asynq queue: what a Redis flush
// does to the gateway's queue, limited to data this test created.
func (e *env) deleteQueue(queue string) int {
	e.t.Helper()
	ctx := context.Background()
	n := 0
	iter := e.redis.Scan(ctx, 0, "asynq:{"+queue+"}*", 1000).Iterator()
	for iter.Next(ctx) {
		n += int(e.redis.Del(ctx, iter.Val()).Val())
	}
	e.redis.SRem(ctx, "asynq:queues", queue)
	return n
}

// forgetAsynqServer removes a killed worker's heartbeat entries from asynq's
// shared server and worker sets (asynq removes them itself on a graceful
// shutdown, which a killed process never gets to).
func (e *env) forgetAsynqServer(pid int) {
	e.t.Helper()
	ctx := context.Background()
	marker := ":" + strconv.Itoa(pid) + ":"
	for _, set := range []string{"asynq:servers", "asynq:workers"} {
		members, _ := e.redis.ZRange(ctx, set, 0, -1).Result()
		for _, m := range members {
			if strings.Contains(m, marker) {
				e.redis.ZRem(ctx, set, m)
				e.redis.Del(ctx, m)
			}
		}
	}
}
