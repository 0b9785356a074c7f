package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/gateway/signature"
)

// deliveryEnv is a test environment with a receiver, one
// gateway and the given number of worker processes.
type deliveryEnv struct {
	*env
	rc      *receiver
	g       *gw
	workers []*gw
	pub     key // events:publish
	admin   key // webhooks:write
}

func newDeliveryEnv(t *testing.T, workers int, extra map[string]string) *deliveryEnv {
	t.Helper()
	e := newEnv(t)
	rc := newReceiver(t)
	rc.env(e)
	for k, v := range extra {
		e.vars[k] = v
	}
	d := &deliveryEnv{env: e, rc: rc,
		pub:   e.createKey(workspaceA, "events:publish", "--tier", "unmetered"),
		admin: e.createKey(workspaceA, "webhooks:write", "--tier", "unmetered"),
	}
	d.g = e.start(nil)
	for range workers {
		d.workers = append(d.workers, e.startWorker(nil))
	}
	return d
}

// startWorker runs `gateway worker` until the test ends.
func (e *env) startWorker(extra map[string]string) *gw {
	e.t.Helper()
	g := &gw{t: e.t}
	e.launch(g, "worker", extra)
	waitFor(e.t, 20*time.Second, "the worker to start", func() bool {
		select {
		case <-g.done:
			e.t.Fatalf("worker exited:\n%s", g.Logs())
		default:
		}
		return strings.Contains(g.Logs(), `"msg":"worker started"`)
	})
	return g
}

func (d *deliveryEnv) hook(t *testing.T, path string, events ...string) (id, secret string) {
	t.Helper()
	r := d.g.create(d.admin, hookBody(d.rc.URL(path), events...))
	if r.Status != 201 {
		t.Fatalf("create webhook: %d %s", r.Status, r.Raw)
	}
	return r.webhook()["id"].(string), r.webhook()["secret"].(string)
}

func (d *deliveryEnv) publish(t *testing.T, typ, data string) string {
	t.Helper()
	r := d.g.do(req{method: "POST", path: "/v1/events", key: d.pub.Key, body: `{"type": "` + typ + `", "data": ` + data + `}`})
	if r.Status != 202 {
		t.Fatalf("publish: %d %s", r.Status, r.Raw)
	}
	return r.data()["event"].(map[string]any)["id"].(string)
}

func (d *deliveryEnv) logs(t *testing.T, hookID, query string) []map[string]any {
	t.Helper()
	r := d.g.do(req{method: "GET", path: "/v1/webhooks/" + hookID + "/logs" + query, key: d.admin.Key})
	if r.Status != 200 {
		t.Fatalf("logs: %d %s", r.Status, r.Raw)
	}
	var out []map[string]any
	for _, e := range r.items(t, "logs") {
		out = append(out, e.(map[string]any))
	}
	return out
}

func TestSignedDelivery(t *testing.T) {
	d := newDeliveryEnv(t, 1, nil)
	hookID, secret := d.hook(t, "/hook", "contact.created")
	other, _ := d.hook(t, "/other", "deal.created")
	evID := d.publish(t, "contact.created", `{"id": "c-1", "email": "ada@example.com"}`)
	waitFor(t, 15*time.Second, "the delivery", func() bool { return len(d.rc.got()) == 1 })
	time.Sleep(300 * time.Millisecond)
	got := d.rc.got()
	if len(got) != 1 {
		t.Fatalf("%d requests, want 1 (the deal.created webhook must get nothing)", len(got))
	}
	req := got[0]
	var body map[string]any
	if err := json.Unmarshal(req.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body["id"] != evID || body["type"] != "contact.created" || body["workspace_id"] != workspaceA ||
		fmt.Sprint(body["data"]) != "map[email:ada@example.com id:c-1]" {
		t.Errorf("body %s", req.Body)
	}
	if !strings.HasPrefix(string(req.Body), `{"id":"`+evID+`","type":"contact.created","created_at":"`) {
		t.Errorf("envelope order: %s", req.Body)
	}
	if req.Header.Get("User-Agent") != "LeadLex-Webhook/1.0" || req.Header.Get("Content-Type") != "application/json" ||
		!uuidRE.MatchString(req.Header.Get("X-LeadLex-Delivery-ID")) || req.Header.Get("webhook-id") != req.Header.Get("X-LeadLex-Delivery-ID") {
		t.Errorf("headers %v", req.Header)
	}
	// Both signature schemes verify with the secret exactly as issued.
	if err := signature.Verify(req.Header, req.Body, secret, 5*time.Minute, time.Now()); err != nil {
		t.Errorf("signature: %v (headers %v)", err, req.Header)
	}
	logs := d.logs(t, hookID, "")
	if len(logs) != 1 || logs[0]["status"] != "success" || logs[0]["response_status_code"] != float64(200) || logs[0]["error"] != nil ||
		logs[0]["event"] != "contact.created" || logs[0]["attempt"] != float64(1) || logs[0]["delivery_id"] != req.Header.Get("X-LeadLex-Delivery-ID") {
		t.Errorf("logs %v", logs)
	}
	if len(d.logs(t, other, "")) != 0 {
		t.Error("the unsubscribed webhook has log entries")
	}
	r := d.g.do(reqT("GET", "/v1/webhooks/"+hookID, d.admin.Key))
	if w := r.data()["webhook"].(map[string]any); w["last_delivery_status"] != "success" || w["last_delivery_at"] == nil {
		t.Errorf("webhook after delivery: %s", r.Raw)
	}
	t.Run("rotation signs with both secrets", func(t *testing.T) {
		r := d.g.do(req2("POST", "/v1/webhooks/"+hookID+"/rotate-secret", d.admin.Key, `{"expire_previous_in_seconds": 600}`))
		newSecret := r.data()["webhook"].(map[string]any)["secret"].(string)
		d.publish(t, "contact.created", `{"id": "c-2"}`)
		waitFor(t, 15*time.Second, "the second delivery", func() bool { return len(d.rc.got()) == 2 })
		second := d.rc.got()[1]
		for _, s := range []string{newSecret, secret} {
			if err := signature.Verify(second.Header, second.Body, s, 5*time.Minute, time.Now()); err != nil {
				t.Errorf("secret %s...: %v", s[:10], err)
			}
		}
		if n := len(strings.Split(second.Header.Get("X-LeadLex-Signature"), ",")); n != 2 {
			t.Errorf("X-LeadLex-Signature has %d signatures", n)
		}
	})
}

func reqT(method, path, key string) req { return req{method: method, path: path, key: key} }
func req2(method, path, key, body string) req {
	return req{method: method, path: path, key: key, body: body}
}

func TestRetriesFollowTheSchedule(t *testing.T) {
	d := newDeliveryEnv(t, 1, nil)
	d.rc.answer = func(n int, _ *http.Request) (int, http.Header) {
		if n <= 2 {
			return 500, nil
		}
		return 200, nil
	}
	hookID, _ := d.hook(t, "/flaky", "deal.updated")
	d.publish(t, "deal.updated", `{"id": "d-1"}`)
	waitFor(t, 20*time.Second, "three attempts", func() bool { return len(d.rc.got()) == 3 })
	got := d.rc.got()
	ids := map[string]bool{}
	for i, r := range got {
		ids[r.Header.Get("X-LeadLex-Delivery-ID")] = true
		if i > 0 {
			// 300 ms ± 10% jitter between attempts.
			if gap := r.At.Sub(got[i-1].At); gap < 250*time.Millisecond {
				t.Errorf("attempt %d came %s after the previous one", i+1, gap)
			}
		}
		if string(r.Body) != string(got[0].Body) {
			t.Error("the body changed between attempts")
		}
	}
	if len(ids) != 1 {
		t.Errorf("delivery ID changed across retries: %v", ids)
	}
	waitFor(t, 5*time.Second, "three log entries, the last a success", func() bool {
		logs := d.logs(t, hookID, "")
		return len(logs) == 3 && logs[0]["status"] == "success"
	})
	logs := d.logs(t, hookID, "")
	want := []struct {
		status string
		code   float64
		errc   any
	}{{"success", 200, nil}, {"failed", 500, "http_error"}, {"failed", 500, "http_error"}}
	for i, w := range want {
		if logs[i]["status"] != w.status || logs[i]["response_status_code"] != w.code || logs[i]["error"] != w.errc || logs[i]["attempt"] != float64(3-i) {
			t.Errorf("log %d = %v, want %v", i, logs[i], w)
		}
	}
	// Each entry is one attempt with its own outcome: the two failed
	// attempts are found as failed, and nothing waits any more.
	if p := d.logs(t, hookID, "?status=failed"); len(p) != 2 {
		t.Errorf("status=failed gives %d entries", len(p))
	}
	if p := d.logs(t, hookID, "?status=pending"); len(p) != 0 {
		t.Errorf("status=pending gives %d entries after the success", len(p))
	}
	if r := d.g.do(reqT("GET", "/v1/webhooks/"+hookID+"/logs?status=lost", d.admin.Key)); r.Status != 400 {
		t.Errorf("bad status filter: %d", r.Status)
	}
}

func TestFailuresEndTheDelivery(t *testing.T) {
	d := newDeliveryEnv(t, 1, nil)
	t.Run("all attempts fail", func(t *testing.T) {
		d.rc.answer = func(n int, r *http.Request) (int, http.Header) {
			if strings.HasSuffix(r.URL.Path, "/gone") {
				return 410, nil
			}
			return 503, nil
		}
		hookID, _ := d.hook(t, "/down", "task.created")
		d.publish(t, "task.created", `{"id": "t-1"}`)
		waitFor(t, 20*time.Second, "six attempts", func() bool {
			return len(d.logs(t, hookID, "?status=failed")) == 6
		})
		time.Sleep(time.Second)
		logs := d.logs(t, hookID, "")
		if len(logs) != 6 {
			t.Fatalf("logs %v", logs)
		}
		for i, e := range logs {
			if e["status"] != "failed" || e["attempt"] != float64(6-i) {
				t.Errorf("log %d = %v, want failed attempt %d", i, e, 6-i)
			}
		}
	})
	t.Run("410 Gone stops at once", func(t *testing.T) {
		hookID, _ := d.hook(t, "/gone", "task.updated")
		d.publish(t, "task.updated", `{"id": "t-2"}`)
		waitFor(t, 15*time.Second, "the attempt", func() bool { return len(d.logs(t, hookID, "?status=failed")) == 1 })
		time.Sleep(time.Second)
		logs := d.logs(t, hookID, "")
		if len(logs) != 1 || logs[0]["status"] != "failed" || logs[0]["response_status_code"] != float64(410) {
			t.Fatalf("logs %v", logs)
		}
	})
}

func TestPauseAndDeleteStopRetries(t *testing.T) {
	d := newDeliveryEnv(t, 1, map[string]string{"DELIVERY_RETRY_SCHEDULE": "1s,1s,1s,1s,1s"})
	d.rc.answer = func(int, *http.Request) (int, http.Header) { return 500, nil }
	paused, _ := d.hook(t, "/paused", "list.created")
	deleted, _ := d.hook(t, "/deleted", "list.created")
	d.publish(t, "list.created", `{"id": "l-1"}`)
	waitFor(t, 15*time.Second, "the first attempts", func() bool { return len(d.rc.got()) == 2 })
	if r := d.g.do(req2("PATCH", "/v1/webhooks/"+paused, d.admin.Key, `{"active": false}`)); r.Status != 200 {
		t.Fatal(r.Status)
	}
	if r := d.g.do(reqT("DELETE", "/v1/webhooks/"+deleted, d.admin.Key)); r.Status != 200 {
		t.Fatal(r.Status)
	}
	time.Sleep(3 * time.Second)
	if n := len(d.rc.got()); n != 2 {
		t.Fatalf("%d requests after pause and delete, want still 2", n)
	}
	var status string
	_ = d.pool.QueryRow(context.Background(), "select status from deliveries where webhook_id = $1", paused).Scan(&status)
	if status != "cancelled" {
		t.Errorf("paused webhook's delivery is %q", status)
	}
	var n int
	_ = d.pool.QueryRow(context.Background(), "select count(*) from deliveries where webhook_id = $1", deleted).Scan(&n)
	if n != 0 {
		t.Errorf("deleted webhook still has %d deliveries", n)
	}
}

func TestUnsafeReceivers(t *testing.T) {
	d := newDeliveryEnv(t, 1, nil)
	t.Run("redirect is not followed", func(t *testing.T) {
		d.rc.answer = func(_ int, r *http.Request) (int, http.Header) {
			if strings.HasSuffix(r.URL.Path, "/redirect") {
				return 302, http.Header{"Location": {d.rc.URL("/elsewhere")}}
			}
			return 200, nil
		}
		hookID, _ := d.hook(t, "/redirect", "company.created")
		d.publish(t, "company.created", `{"id": "co-1"}`)
		waitFor(t, 15*time.Second, "the attempt", func() bool { return len(d.logs(t, hookID, "?status=failed")) >= 1 })
		logs := d.logs(t, hookID, "?status=failed")
		if logs[len(logs)-1]["error"] != "redirect" || logs[len(logs)-1]["response_status_code"] != float64(302) {
			t.Errorf("logs %v", logs)
		}
		for _, r := range d.rc.got() {
			if r.Path == "/elsewhere" {
				t.Error("redirect followed")
			}
		}
	})
	t.Run("a name that moves to a private address is refused at connect", func(t *testing.T) {
		// A name of its own, so that no kept-alive connection (opened to
		// the address that was public then) is reused.
		const moved = "moved.example.com"
		d.rc.dns.Set(moved, netip.MustParseAddr("127.0.0.1"))
		hookID := d.g.createHook(d.admin, hookBody(strings.Replace(d.rc.URL("/moved"), d.rc.Name, moved, 1), "company.updated"))
		d.rc.dns.Set(moved, netip.MustParseAddr("10.0.0.1"))
		d.publish(t, "company.updated", `{"id": "co-2"}`)
		waitFor(t, 15*time.Second, "the attempt", func() bool { return len(d.logs(t, hookID, "?status=failed")) >= 1 })
		logs := d.logs(t, hookID, "?status=failed")
		if logs[len(logs)-1]["error"] != "blocked_address" || logs[len(logs)-1]["response_status_code"] != nil {
			t.Errorf("logs %v", logs)
		}
		for _, r := range d.rc.got() {
			if r.Path == "/moved" {
				t.Error("the receiver was reached")
			}
		}
	})
}

func TestHangingReceiverTimesOutAfterTenSeconds(t *testing.T) {
	d := newDeliveryEnv(t, 1, map[string]string{"DELIVERY_RETRY_SCHEDULE": "1h"})
	d.rc.hang = true
	hookID, _ := d.hook(t, "/slow", "activity.created")
	d.publish(t, "activity.created", `{"id": "a-1"}`)
	waitFor(t, 30*time.Second, "the timed-out attempt", func() bool { return len(d.logs(t, hookID, "?status=failed")) == 1 })
	e := d.logs(t, hookID, "?status=failed")[0]
	if e["error"] != "timeout" || e["response_status_code"] != nil || e["duration_ms"].(float64) < 9900 || e["duration_ms"].(float64) > 15000 {
		t.Errorf("entry %v", e)
	}
}

func TestTestAndRetryEndpoints(t *testing.T) {
	d := newDeliveryEnv(t, 1, nil)
	fail := true
	var mu sync.Mutex
	d.rc.answer = func(int, *http.Request) (int, http.Header) {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			return 410, nil
		}
		return 200, nil
	}
	hookID, secret := d.hook(t, "/t", "deal.created", "deal.updated")
	r := d.g.do(req2("POST", "/v1/webhooks/"+hookID+"/test", d.admin.Key, ""))
	entry, _ := r.data()["log_entry"].(map[string]any)
	if r.Status != 200 || entry["event"] != "deal.created" || entry["status"] != "failed" || entry["response_status_code"] != float64(410) {
		t.Fatalf("test: %d %s", r.Status, r.Raw)
	}
	got := d.rc.got()
	if len(got) != 1 || signature.Verify(got[0].Header, got[0].Body, secret, time.Minute, time.Now()) != nil {
		t.Fatal("test delivery missing or not signed")
	}
	mu.Lock()
	fail = false
	mu.Unlock()
	did := entry["delivery_id"].(string)
	r = d.g.do(req2("POST", "/v1/webhooks/"+hookID+"/logs/"+did+"/retry", d.admin.Key, ""))
	if r.Status != 202 || r.data()["delivery"].(map[string]any)["status"] != "pending" {
		t.Fatalf("retry: %d %s", r.Status, r.Raw)
	}
	waitFor(t, 15*time.Second, "the re-delivery", func() bool { return len(d.rc.got()) == 2 })
	if d.rc.got()[1].Header.Get("X-LeadLex-Delivery-ID") != did {
		t.Error("a retry must keep the delivery ID")
	}
	for _, bad := range []string{"/v1/webhooks/" + hookID + "/logs/" + hookID + "/retry", "/v1/webhooks/" + hookID + "/logs/nope/retry"} {
		if r := d.g.do(req2("POST", bad, d.admin.Key, "")); r.Status != 404 || r.errCode() != "delivery_not_found" {
			t.Errorf("%s: %d %s", bad, r.Status, r.Raw)
		}
	}
}

func TestNoAcceptedEventIsLost(t *testing.T) {
	// Attempts slower than the publishing, so that a worker dies with a
	// batch in flight.
	d := newDeliveryEnv(t, 2, map[string]string{"DELIVERY_TIMEOUT": "2s", "DELIVERY_LEASE": "3s", "DELIVERY_CONCURRENCY": "4"})
	d.rc.answer = func(int, *http.Request) (int, http.Header) {
		time.Sleep(100 * time.Millisecond)
		return 200, nil
	}
	d.hook(t, "/all", "contact.updated")
	const events = 40
	for i := range events {
		d.publish(t, "contact.updated", fmt.Sprintf(`{"id": "c-%d"}`, i))
		if i == 10 {
			// A worker is killed mid-batch; the other releases its leases
			// once its heartbeat is old.
			_ = d.workers[0].cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	waitFor(t, 60*time.Second, "every event delivered", func() bool { return d.rc.distinct() == events })
	var pending int
	waitFor(t, 10*time.Second, "no pending deliveries", func() bool {
		_ = d.pool.QueryRow(context.Background(), "select count(*) from deliveries where status <> 'success'").Scan(&pending)
		return pending == 0
	})
	t.Logf("%d requests for %d deliveries (duplicates after the kill are de-duplicated by delivery ID)", len(d.rc.got()), events)
}

func TestWebhookFailingTooLongIsPaused(t *testing.T) {
	d := newDeliveryEnv(t, 1, map[string]string{"DELIVERY_DISABLE_AFTER": "1s"})
	d.rc.answer = func(int, *http.Request) (int, http.Header) { return 500, nil }
	hookID, _ := d.hook(t, "/broken", "campaign.started")
	d.publish(t, "campaign.started", `{"id": "cp-1"}`)
	var w map[string]any
	waitFor(t, 20*time.Second, "the webhook to be paused", func() bool {
		w = d.g.do(reqT("GET", "/v1/webhooks/"+hookID, d.admin.Key)).data()["webhook"].(map[string]any)
		return w["active"] == false
	})
	if reason, _ := w["disabled_reason"].(string); !strings.HasPrefix(reason, "deliveries have failed since ") {
		t.Errorf("disabled_reason = %v", w["disabled_reason"])
	}
	// Paused: new events are not delivered to it.
	n := len(d.rc.got())
	d.publish(t, "campaign.started", `{"id": "cp-2"}`)
	time.Sleep(time.Second)
	if len(d.rc.got()) > n+1 { // at most the attempt that was in flight when it was paused
		t.Errorf("a paused webhook keeps receiving: %d → %d", n, len(d.rc.got()))
	}
	// Turning it back on clears the reason.
	r := d.g.do(req2("PATCH", "/v1/webhooks/"+hookID, d.admin.Key, `{"active": true}`))
	if w := r.data()["webhook"].(map[string]any); w["active"] != true || w["disabled_reason"] != nil {
		t.Errorf("after reactivation: %s", r.Raw)
	}
}

func TestPublishingRules(t *testing.T) {
	d := newDeliveryEnv(t, 0, nil)
	d.hook(t, "/p", "deal.created")
	reader := d.createKey(workspaceA, "events:read", "--tier", "unmetered")
	before := func() (events, deliveries int) {
		_ = d.pool.QueryRow(context.Background(), "select (select count(*) from events), (select count(*) from deliveries)").Scan(&events, &deliveries)
		return
	}
	bad := []struct {
		name, key, body string
		status          int
		code            string
	}{
		{"unknown type", d.pub.Key, `{"type": "deal.exploded", "data": {}}`, 400, "invalid_events"},
		{"data not an object", d.pub.Key, `{"type": "deal.created", "data": [1]}`, 400, "validation_error"},
		{"missing data", d.pub.Key, `{"type": "deal.created"}`, 400, "missing_required_field"},
		{"id not a UUID", d.pub.Key, `{"id": "evt-1", "type": "deal.created", "data": {}}`, 400, "validation_error"},
		{"unknown field", d.pub.Key, `{"type": "deal.created", "data": {}, "workspace_id": "` + workspaceA + `"}`, 400, "validation_error"},
		{"no events:publish", reader.Key, `{"type": "deal.created", "data": {}}`, 403, "insufficient_permissions"},
	}
	e0, d0 := before()
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			r := d.g.do(req2("POST", "/v1/events", b.key, b.body))
			if r.Status != b.status || r.errCode() != b.code {
				t.Fatalf("%d %s, want %d %s", r.Status, r.Raw, b.status, b.code)
			}
		})
	}
	if e1, d1 := before(); e1 != e0 || d1 != d0 {
		t.Fatalf("rejected publishes wrote %d events and %d deliveries", e1-e0, d1-d0)
	}
	t.Run("an id makes publishing idempotent", func(t *testing.T) {
		body := `{"id": "7b1d3c9e-2f4a-4b6c-8d0e-1a2b3c4d5e6f", "type": "deal.created", "data": {"id": "d-1"}}`
		first := d.g.do(req2("POST", "/v1/events", d.pub.Key, body))
		again := d.g.do(req2("POST", "/v1/events", d.pub.Key, body))
		ev1, ev2 := first.data()["event"].(map[string]any), again.data()["event"].(map[string]any)
		if first.Status != 202 || again.Status != 202 || ev1["id"] != ev2["id"] || ev1["duplicate"] != false || ev2["duplicate"] != true || ev1["deliveries"] != float64(1) {
			t.Fatalf("first %s, again %s", first.Raw, again.Raw)
		}
		if e1, d1 := before(); e1 != e0+1 || d1 != d0+1 {
			t.Fatalf("two publishes of one id wrote %d events and %d deliveries", e1-e0, d1-d0)
		}
	})
}
