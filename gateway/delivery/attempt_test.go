package delivery_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/gateway/delivery/sender"
	"github.com/leadlex/api-gateway/gateway/secretbox"
	"github.com/leadlex/api-gateway/gateway/signature"
	"github.com/leadlex/api-gateway/gateway/store/memory"
	"github.com/leadlex/api-gateway/gateway/webhooks"
)

const (
	secret    = "whsec_0123456789abcdef0123456789abcdef0123456789abcdef"
	newSecret = "whsec_fedcba9876543210fedcba9876543210fedcba9876543210"
	eventType = "contact.created"
	eventData = `{"id":"c1","email":"ada@example.com"}`
	tolerance = 5 * time.Minute
)

// t0 is when every test starts; whole seconds, as the store keeps them.
var t0 = time.Date(2026, 4, 17, 14, 0, 0, 0, time.UTC)

// clock is a settable gateway.Clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// request is what the receiver got.
type request struct {
	header http.Header
	body   []byte
}

// receiver is a local HTTPS webhook receiver answering with its current
// handler and recording every request.
type receiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []request
	// answer writes the response; the default is 200.
	answer http.HandlerFunc
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.reqs = append(r.reqs, request{req.Header.Clone(), body})
	answer := r.answer
	r.mu.Unlock()
	if answer == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	answer(w, req)
}

// respond sets the receiver's answer.
func (r *receiver) respond(h http.HandlerFunc) { r.mu.Lock(); r.answer = h; r.mu.Unlock() }

// requests returns what the receiver got so far.
func (r *receiver) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.reqs...)
}

// answer returns a handler writing code with the given headers.
func answer(code int, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "answer")
	}
}

// notifier counts wake-ups.
type notifier struct{ n atomic.Int32 }

func (n *notifier) Notify(context.Context) { n.n.Add(1) }

// harness is an engine wired to the real memory store, a real sender and a
// local receiver, with one webhook subscribed to eventType.
type harness struct {
	t         *testing.T
	ctx       context.Context
	clock     *clock
	store     *memory.Store
	box       *secretbox.Box
	notifier  *notifier
	recv      *receiver
	engine    *delivery.Engine
	logs      *bytes.Buffer
	workspace string
	webhook   string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{
		t: t, ctx: context.Background(), clock: &clock{t: t0}, store: memory.New(),
		notifier: &notifier{}, recv: &receiver{}, logs: &bytes.Buffer{},
		workspace: uuid.NewString(), webhook: uuid.NewString(),
	}
	box, err := secretbox.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	h.box = box
	h.recv.srv = httptest.NewTLSServer(h.recv)
	t.Cleanup(h.recv.srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(h.recv.srv.Certificate())

	url := h.recv.srv.URL + "/hook?token=url-secret"
	err = h.store.CreateWebhook(h.ctx, &webhooks.Webhook{
		ID: h.webhook, WorkspaceID: h.workspace, URL: url, URLKey: url,
		Events: []string{eventType}, Active: true, SecretCiphertext: h.seal(secret), CreatedAt: t0,
	}, 100)
	if err != nil {
		t.Fatal(err)
	}
	h.engine = &delivery.Engine{
		Store: h.store, Opener: box, Clock: h.clock,
		Sender: sender.New(sender.Options{
			Timeout: 5 * time.Second, RootCAs: pool,
			AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		}),
		Jitter: func() float64 { return 0.5 }, // no jitter: exact times
		Logger: slog.New(slog.NewTextHandler(&lockedWriter{w: h.logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	return h
}

// lockedWriter serialises writes to a buffer shared with the test.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// seal encrypts a secret as the webhooks service does: bound to the id.
func (h *harness) seal(s string) string {
	h.t.Helper()
	sealed, err := h.box.Seal([]byte(s), []byte(h.webhook))
	if err != nil {
		h.t.Fatal(err)
	}
	return sealed
}

// publish publishes an event at the current time and returns it with its
// one delivery's id.
func (h *harness) publish() (delivery.Event, string) {
	h.t.Helper()
	ev := delivery.Event{
		ID: uuid.NewString(), WorkspaceID: h.workspace, Type: eventType,
		Data: []byte(eventData), CreatedAt: h.clock.Now(),
	}
	ds, _, err := h.store.PublishEvent(h.ctx, ev)
	if err != nil || len(ds) != 1 {
		h.t.Fatalf("publish: %d deliveries, %v", len(ds), err)
	}
	return ev, ds[0].ID
}

// process makes one attempt of id now (Engine.Send) and fails the test on
// an error.
func (h *harness) process(id string) {
	h.t.Helper()
	if _, err := h.engine.Send(h.ctx, id); err != nil {
		h.t.Fatalf("Send: %v", err)
	}
}

// attempts returns the webhook's attempts, oldest first (without the log
// entries of deliveries waiting for their next attempt).
func (h *harness) attempts() []delivery.Attempt {
	h.t.Helper()
	as, _, err := h.store.ListAttempts(h.ctx, h.workspace, h.webhook, "", 0, 100)
	if err != nil {
		h.t.Fatal(err)
	}
	out := []delivery.Attempt{}
	for i := len(as) - 1; i >= 0; i-- {
		if as[i].ID != "" {
			out = append(out, as[i])
		}
	}
	return out
}

// due reports whether id is pending and due at t, as its log entry shows.
func (h *harness) due(id string, t time.Time) bool {
	h.t.Helper()
	as, _, err := h.store.ListAttempts(h.ctx, h.workspace, h.webhook, delivery.StatusPending, 0, 100)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, a := range as {
		if a.DeliveryID == id && a.NextAttemptAt != nil && !a.NextAttemptAt.After(t) {
			return true
		}
	}
	return false
}

// checkAttempt compares the fields of a that the worker decides.
func checkAttempt(t *testing.T, a delivery.Attempt, n int, status string, code int, class string) {
	t.Helper()
	if a.Attempt != n || a.Status != status {
		t.Errorf("attempt %d %s, want %d %s", a.Attempt, a.Status, n, status)
	}
	if a.ResponseStatusCode == nil || *a.ResponseStatusCode != code {
		t.Errorf("response status %v, want %d", a.ResponseStatusCode, code)
	}
	gotClass := ""
	if a.Error != nil {
		gotClass = *a.Error
	}
	if gotClass != class {
		t.Errorf("error %q, want %q", gotClass, class)
	}
}

func TestPayload(t *testing.T) {
	ev := delivery.Event{
		ID: "e1", WorkspaceID: "w1", Type: "contact.created",
		Data:      []byte(`{"b":1, "a":[1,2]}`),
		CreatedAt: time.Date(2026, 4, 17, 16, 23, 5, 999_999_999, time.FixedZone("CEST", 2*3600)),
	}
	want := `{"id":"e1","type":"contact.created","created_at":"2026-04-17T14:23:05Z","workspace_id":"w1","data":{"b":1, "a":[1,2]}}`
	if got := string(delivery.Payload(ev)); got != want {
		t.Errorf("Payload =\n%s\nwant\n%s", got, want)
	}
	ev.Data = nil
	if got := string(delivery.Payload(ev)); !strings.HasSuffix(got, `"data":null}`) {
		t.Errorf("Payload without data = %s, want data null", got)
	}
}

// TestProcessSuccess checks the success path: one signed POST that verifies
// with the webhook's secret, one success attempt, nothing enqueued.
func TestProcessSuccess(t *testing.T) {
	h := newHarness(t)
	ev, id := h.publish()
	h.clock.Set(t0.Add(2 * time.Second))
	h.process(id)

	reqs := h.recv.requests()
	if len(reqs) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if want := delivery.Payload(ev); !bytes.Equal(r.body, want) {
		t.Errorf("body %s, want %s", r.body, want)
	}
	if err := signature.Verify(r.header, r.body, secret, tolerance, h.clock.Now()); err != nil {
		t.Errorf("signature does not verify: %v", err)
	}
	if got := r.header.Get(signature.HeaderDeliveryID); got != id {
		t.Errorf("delivery id header %q, want %q", got, id)
	}
	if got := r.header.Get(signature.HeaderTimestamp); got != "2026-04-17T14:00:02Z" {
		t.Errorf("timestamp header %q, want the attempt time", got)
	}
	as := h.attempts()
	if len(as) != 1 {
		t.Fatalf("%d attempts, want 1", len(as))
	}
	checkAttempt(t, as[0], 1, delivery.StatusSuccess, 200, "")
	if as[0].ResponseBody != "" || !as[0].DeliveredAt.Equal(h.clock.Now()) || as[0].EventType != eventType {
		t.Errorf("attempt %+v", as[0])
	}
	if h.due(id, t0.Add(24*time.Hour)) {
		t.Error("delivery still pending after a success")
	}
	// A second run finds nothing to do.
	h.process(id)
	if n := len(h.recv.requests()); n != 1 {
		t.Errorf("receiver got %d requests after a repeated Process, want 1", n)
	}
}

// TestProcessRetriesOnSchedule fails every attempt and checks each is
// pending with the next one due after the schedule's step, and the last one
// failed for good.
func TestProcessRetriesOnSchedule(t *testing.T) {
	h := newHarness(t)
	h.recv.respond(answer(http.StatusInternalServerError))
	_, id := h.publish()
	now := t0
	for n := 1; n <= len(delivery.DefaultSchedule)+1; n++ {
		h.clock.Set(now)
		h.process(id)
		as := h.attempts()
		if len(as) != n {
			t.Fatalf("after attempt %d: %d attempts logged", n, len(as))
		}
		if n > len(delivery.DefaultSchedule) {
			checkAttempt(t, as[n-1], n, delivery.StatusFailed, 500, delivery.ErrClassHTTP)
			if h.due(id, now.Add(24*time.Hour)) {
				t.Error("delivery still pending after the last attempt")
			}
			break
		}
		checkAttempt(t, as[n-1], n, delivery.StatusFailed, 500, delivery.ErrClassHTTP)
		next := now.Add(delivery.DefaultSchedule[n-1])
		if h.due(id, next.Add(-time.Millisecond)) || !h.due(id, next) {
			t.Fatalf("after attempt %d the store does not schedule it at %s", n, next)
		}
		// Too early: the claim refuses and nothing is sent.
		h.clock.Set(next.Add(-time.Second))
		h.process(id)
		if got := len(h.recv.requests()); got != n {
			t.Fatalf("an early Process sent: %d requests after %d attempts", got, n)
		}
		now = next
	}
}

// TestProcessOutcomes covers the answers that end or reshape retries.
func TestProcessOutcomes(t *testing.T) {
	tests := []struct {
		name   string
		answer http.HandlerFunc
		test   bool // a test delivery (POST .../test)
		status string
		code   int
		class  string
		wait   time.Duration // expected wait before the next attempt
	}{
		{name: "410 gone fails at once", answer: answer(http.StatusGone),
			status: delivery.StatusFailed, code: 410, class: delivery.ErrClassHTTP},
		{name: "redirect is retried", answer: answer(http.StatusFound, "Location", "/elsewhere"),
			status: delivery.StatusFailed, code: 302, class: delivery.ErrClassRedirect, wait: 5 * time.Second},
		{name: "longer retry-after honoured", answer: answer(http.StatusTooManyRequests, "Retry-After", "600"),
			status: delivery.StatusFailed, code: 429, class: delivery.ErrClassHTTP, wait: 10*time.Minute + 30*time.Second}, // jitter 0.5 lengthens a Retry-After by 5%
		{name: "retry-after capped at 6h", answer: answer(http.StatusServiceUnavailable, "Retry-After", "86400"),
			status: delivery.StatusFailed, code: 503, class: delivery.ErrClassHTTP, wait: 6*time.Hour + 18*time.Minute},
		{name: "shorter retry-after ignored", answer: answer(http.StatusTooManyRequests, "Retry-After", "1"),
			status: delivery.StatusFailed, code: 429, class: delivery.ErrClassHTTP, wait: 5 * time.Second},
		{name: "test delivery never retried", answer: answer(http.StatusInternalServerError), test: true,
			status: delivery.StatusFailed, code: 500, class: delivery.ErrClassHTTP},
		{name: "test delivery success", answer: answer(http.StatusAccepted), test: true,
			status: delivery.StatusSuccess, code: 202},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.recv.respond(tc.answer)
			var id string
			if tc.test {
				d, err := h.store.CreateTestDelivery(h.ctx, delivery.Event{
					ID: uuid.NewString(), WorkspaceID: h.workspace, Type: eventType,
					Data: []byte(eventData), CreatedAt: t0,
				}, h.webhook)
				if err != nil {
					t.Fatal(err)
				}
				id = d.ID
			} else {
				_, id = h.publish()
			}
			h.process(id)
			as := h.attempts()
			if len(as) != 1 {
				t.Fatalf("%d attempts, want 1", len(as))
			}
			checkAttempt(t, as[0], 1, tc.status, tc.code, tc.class)
			if as[0].ResponseBody != "answer" && tc.code != 0 {
				t.Errorf("response body %q", as[0].ResponseBody)
			}
			if tc.wait == 0 {
				if h.due(id, t0.Add(24*time.Hour)) {
					t.Error("retry scheduled, want none")
				}
				return
			}
			if h.due(id, t0.Add(tc.wait-time.Millisecond)) || !h.due(id, t0.Add(tc.wait)) {
				t.Errorf("the next attempt is not due at %s", t0.Add(tc.wait))
			}
			// The log shows the waiting delivery on top: attempt 2, due then.
			log, total, err := h.store.ListAttempts(h.ctx, h.workspace, h.webhook, "", 0, 10)
			if err != nil || total != 2 || log[0].Status != delivery.StatusPending || log[0].Attempt != 2 ||
				log[0].NextAttemptAt == nil || !log[0].NextAttemptAt.Equal(t0.Add(tc.wait)) {
				t.Errorf("log %+v (total %d, %v), want the waiting delivery on top", log, total, err)
			}
		})
	}
}

// TestProcessNetworkFailure checks that a failure without an answer is
// logged with its class and no status, and retried.
func TestProcessNetworkFailure(t *testing.T) {
	h := newHarness(t)
	h.engine.Sender = sender.New(sender.Options{}) // no test allowances: loopback is blocked
	_, id := h.publish()
	h.process(id)
	as := h.attempts()
	if len(as) != 1 || as[0].ResponseStatusCode != nil || as[0].Error == nil || *as[0].Error != delivery.ErrClassBlocked ||
		as[0].Status != delivery.StatusFailed {
		t.Fatalf("attempts %+v, want one failed blocked_address with no status", as)
	}
	if n := len(h.recv.requests()); n != 0 {
		t.Errorf("receiver got %d requests", n)
	}
}

// TestProcessPausedWebhook checks that nothing is sent to a paused webhook
// and its pending delivery is cancelled.
func TestProcessPausedWebhook(t *testing.T) {
	h := newHarness(t)
	_, id := h.publish()
	off := false
	if _, err := h.store.UpdateWebhook(h.ctx, h.workspace, h.webhook, webhooks.Patch{Active: &off, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	h.process(id)
	if n := len(h.recv.requests()); n != 0 {
		t.Errorf("receiver got %d requests from a paused webhook", n)
	}
	if as := h.attempts(); len(as) != 0 {
		t.Errorf("%d attempts logged", len(as))
	}
	if h.due(id, t0.Add(time.Hour)) {
		t.Error("delivery still pending")
	}
}

// TestProcessRotation checks that during the overlap a delivery carries
// both signatures, each of which verifies alone, and after it only the new.
func TestProcessRotation(t *testing.T) {
	tests := []struct {
		name      string
		at        time.Time
		oldPasses bool
	}{
		{"during the overlap", t0.Add(23 * time.Hour), true},
		{"after the overlap", t0.Add(24 * time.Hour), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			if _, err := h.rotate(h.seal(newSecret), t0.Add(24*time.Hour), t0); err != nil {
				t.Fatal(err)
			}
			h.clock.Set(tc.at)
			_, id := h.publish()
			h.process(id)
			reqs := h.recv.requests()
			if len(reqs) != 1 {
				t.Fatalf("receiver got %d requests", len(reqs))
			}
			r := reqs[0]
			if err := signature.Verify(r.header, r.body, newSecret, tolerance, tc.at); err != nil {
				t.Errorf("new secret: %v", err)
			}
			err := signature.Verify(r.header, r.body, secret, tolerance, tc.at)
			if (err == nil) != tc.oldPasses {
				t.Errorf("old secret verifies: %v, want %v", err == nil, tc.oldPasses)
			}
			wantSigs := 1
			if tc.oldPasses {
				wantSigs = 2
			}
			if n := len(strings.Split(r.header.Get(signature.HeaderSignature), ",")); n != wantSigs {
				t.Errorf("X-LeadLex-Signature has %d signatures, want %d", n, wantSigs)
			}
			if n := len(strings.Fields(r.header.Get(signature.HeaderWebhookSig))); n != wantSigs {
				t.Errorf("webhook-signature has %d signatures, want %d", n, wantSigs)
			}
		})
	}
}

// TestProcessSecretDoesNotOpen checks that a secret sealed under another key
// stops the attempt before anything is sent.
func TestProcessSecretDoesNotOpen(t *testing.T) {
	h := newHarness(t)
	other, err := secretbox.New(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	h.engine.Opener = other
	_, id := h.publish()
	if _, err := h.engine.Send(h.ctx, id); err == nil {
		t.Fatal("Send succeeded with a secret it cannot open")
	}
	if n := len(h.recv.requests()); n != 0 {
		t.Errorf("receiver got %d requests", n)
	}
}

// TestProcessUnknownDelivery checks that an id the store cannot claim is not
// an error: a duplicate task, or one for a finished delivery.
func TestProcessUnknownDelivery(t *testing.T) {
	h := newHarness(t)
	for _, id := range []string{uuid.NewString(), "not-a-uuid"} {
		h.process(id)
	}
	if n := len(h.recv.requests()); n != 0 {
		t.Errorf("receiver got %d requests", n)
	}
}

// TestLogsHoldNoSecrets checks that neither secrets, payloads, answers nor
// URLs reach the logs, over a success, a failure and a rotation.
func TestLogsHoldNoSecrets(t *testing.T) {
	h := newHarness(t)
	if _, err := h.rotate(h.seal(newSecret), t0.Add(time.Hour), t0); err != nil {
		t.Fatal(err)
	}
	h.recv.respond(answer(http.StatusInternalServerError))
	_, id := h.publish()
	h.process(id)
	h.recv.respond(answer(http.StatusOK))
	h.clock.Set(t0.Add(5 * time.Second))
	h.process(id)
	logs := h.logs.String()
	if !strings.Contains(logs, id) {
		t.Fatalf("attempts not logged:\n%s", logs)
	}
	for _, s := range []string{secret, newSecret, "ada@example.com", "answer", "url-secret", "127.0.0.1"} {
		if strings.Contains(logs, s) {
			t.Errorf("logs contain %q:\n%s", s, logs)
		}
	}
}

// TestCleanup checks that attempts older than the retention are deleted.
func TestCleanup(t *testing.T) {
	h := newHarness(t)
	_, id := h.publish()
	h.process(id)
	tests := []struct {
		at   time.Time
		want int
	}{
		{t0.Add(29 * 24 * time.Hour), 0},
		{t0.Add(30*24*time.Hour + time.Second), 1},
	}
	for _, tc := range tests {
		h.clock.Set(tc.at)
		n, err := h.engine.Cleanup(h.ctx, 30*24*time.Hour)
		if err != nil || n != tc.want {
			t.Errorf("Cleanup at %s = %d, %v; want %d", tc.at, n, err, tc.want)
		}
	}
}

// TestProcessDisableAfter checks that the engine hands DisableAfter to the
// store: a webhook failing for that long is set inactive.
func TestProcessDisableAfter(t *testing.T) {
	h := newHarness(t)
	h.engine.DisableAfter = time.Hour
	h.recv.respond(answer(http.StatusInternalServerError))
	_, id := h.publish()
	h.process(id)
	h.clock.Set(t0.Add(time.Hour))
	h.process(id)
	w, err := h.store.GetWebhook(h.ctx, h.workspace, h.webhook)
	if err != nil {
		t.Fatal(err)
	}
	if w.Active {
		t.Error("webhook still active after failing for DisableAfter")
	}
	if n := len(h.attempts()); n != 2 {
		t.Errorf("%d attempts, want 2", n)
	}
}
