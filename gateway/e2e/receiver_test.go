package e2e

import (
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/internal/testdns"
	"github.com/leadlex/api-gateway/internal/testreceiver"
)

// received is one request the receiver got (Path, Header, Body, At, ...).
type received = testreceiver.Request

// receiver is the shared local HTTPS webhook receiver (internal/testreceiver)
// with what these tests add: a host name in a fake DNS, and answers a test
// scripts.
type receiver struct {
	core *testreceiver.Receiver
	// Name is the host name webhooks use; the fake DNS maps it to the
	// receiver (the test certificate is valid for example.com).
	Name   string
	caFile string
	dns    *testdns.Server

	mu sync.Mutex
	// answer decides the reply to the n-th request (1-based) for one
	// delivery ID; nil answers 200.
	answer func(n int, r *http.Request) (status int, header http.Header)
	// hang makes every request block until the client gives up.
	hang bool
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{Name: "example.com", dns: testdns.Start(t)}
	core, err := testreceiver.Start(testreceiver.Options{Record: true, Answer: rc.reply})
	if err != nil {
		t.Fatal(err)
	}
	rc.core = core
	t.Cleanup(core.Close)
	rc.dns.Set(rc.Name, netip.MustParseAddr("127.0.0.1"))
	if rc.caFile, err = core.WriteCA(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	return rc
}

// reply answers as the test scripted: hang, or answer's status and headers
// with a small JSON body.
func (rc *receiver) reply(w http.ResponseWriter, r *http.Request, got *received) {
	rc.mu.Lock()
	answer, hang := rc.answer, rc.hang
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
		status, h = answer(got.N, r)
	}
	for k, v := range h {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"ok": ` + strconv.FormatBool(status < 300) + `}`))
}

// URL is the webhook URL for a path on this receiver.
func (rc *receiver) URL(path string) string { return rc.core.URLAt(rc.Name, path) }

// got returns the requests so far, in arrival order.
func (rc *receiver) got() []received { return rc.core.Requests() }

// distinct counts the delivery IDs seen: the receiver's effects, once per ID.
func (rc *receiver) distinct() int { return rc.core.Distinct() }

// env points a test environment's gateways at this receiver: its CA, the
// fake DNS, loopback allowed as a delivery target (test-only settings), a
// short retry schedule and separate worker processes.
func (rc *receiver) env(e *env) {
	e.vars["DELIVERY_ALLOW_CIDRS"] = "127.0.0.1/32"
	e.vars["DELIVERY_CA_FILE"] = rc.caFile
	e.vars["DNS_SERVER"] = rc.dns.Addr()
	e.vars["DELIVERY_RETRY_SCHEDULE"] = "300ms,300ms,300ms,300ms,300ms"
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
