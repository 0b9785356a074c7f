package delivery_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/gateway/delivery"
)

func code(c int) *int { return &c }

func TestAdapt(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { v := now.Add(d); return &v }
	p := delivery.EndpointPolicy{InitialLimit: 4, MaxLimit: 8, SlowAfter: time.Second, OpenAfter: 3,
		Cooldown: 10 * time.Second, MaxCooldown: 35 * time.Second, MaxPause: time.Hour}
	fast := delivery.Result{StatusCode: code(200), Duration: 10 * time.Millisecond}
	slow := delivery.Result{StatusCode: code(200), Duration: 2 * time.Second}
	timeout := delivery.Result{ErrClass: delivery.ErrClassTimeout, Duration: 10 * time.Second}
	refused := delivery.Result{ErrClass: delivery.ErrClassConnectionRefused}
	http500 := delivery.Result{StatusCode: code(500), ErrClass: delivery.ErrClassHTTP}
	http404 := delivery.Result{StatusCode: code(404), ErrClass: delivery.ErrClassHTTP}
	limited := delivery.Result{StatusCode: code(429), ErrClass: delivery.ErrClassHTTP, RetryAfter: 30 * time.Second}
	unavailable := delivery.Result{StatusCode: code(503), ErrClass: delivery.ErrClassHTTP, RetryAfter: 48 * time.Hour}
	closed := func(limit, failures int) delivery.EndpointState {
		return delivery.EndpointState{WebhookID: "w", Limit: limit, Failures: failures, Circuit: delivery.CircuitClosed}
	}
	tests := []struct {
		name  string
		state delivery.EndpointState
		res   delivery.Result
		want  delivery.EndpointState
	}{
		{"no state starts at the initial limit, a fast success adds one", delivery.EndpointState{WebhookID: "w"}, fast, closed(5, 0)},
		{"a fast success adds one", closed(5, 0), fast, closed(6, 0)},
		{"up to the max", closed(8, 0), fast, closed(8, 0)},
		{"a stored limit above the max is cut", closed(20, 0), slow, closed(8, 0)},
		{"a slow success keeps the limit and resets failures", closed(5, 2), slow, closed(5, 0)},
		{"a timeout halves", closed(8, 0), timeout, closed(4, 1)},
		{"a refused connection halves", closed(5, 0), refused, closed(2, 1)},
		{"a 500 halves, never below 1", closed(1, 1), http500, closed(1, 2)},
		{"a 404 keeps the limit but counts", closed(6, 0), http404, closed(6, 1)},
		{"a 429 with Retry-After pauses the endpoint", closed(6, 0), limited,
			delivery.EndpointState{WebhookID: "w", Limit: 3, Failures: 1, Circuit: delivery.CircuitClosed, PausedUntil: at(30 * time.Second)}},
		{"a 503 Retry-After is bounded", closed(6, 0), unavailable,
			delivery.EndpointState{WebhookID: "w", Limit: 3, Failures: 1, Circuit: delivery.CircuitClosed, PausedUntil: at(time.Hour)}},
		{"a pause is never shortened", delivery.EndpointState{WebhookID: "w", Limit: 6, Circuit: delivery.CircuitClosed, PausedUntil: at(2 * time.Hour)}, limited,
			delivery.EndpointState{WebhookID: "w", Limit: 3, Failures: 1, Circuit: delivery.CircuitClosed, PausedUntil: at(2 * time.Hour)}},
		{"the OpenAfter-th failure opens the circuit", closed(6, 2), http500,
			delivery.EndpointState{WebhookID: "w", Limit: 1, Failures: 3, Circuit: delivery.CircuitOpen, PausedUntil: at(10 * time.Second)}},
		{"a failed probe doubles the cooldown", delivery.EndpointState{WebhookID: "w", Limit: 1, Failures: 3, Circuit: delivery.CircuitOpen}, timeout,
			delivery.EndpointState{WebhookID: "w", Limit: 1, Failures: 4, Circuit: delivery.CircuitOpen, PausedUntil: at(20 * time.Second)}},
		{"a failure during the cooldown changes nothing", delivery.EndpointState{WebhookID: "w", Limit: 1, Failures: 3, Circuit: delivery.CircuitOpen, PausedUntil: at(5 * time.Second)}, timeout,
			delivery.EndpointState{WebhookID: "w", Limit: 1, Failures: 3, Circuit: delivery.CircuitOpen, PausedUntil: at(5 * time.Second)}},
		{"a Retry-After during the cooldown still extends the pause", delivery.EndpointState{WebhookID: "w", Limit: 1, Failures: 3, Circuit: delivery.CircuitOpen, PausedUntil: at(5 * time.Second)}, limited,
			delivery.EndpointState{WebhookID: "w", Limit: 1, Failures: 3, Circuit: delivery.CircuitOpen, PausedUntil: at(30 * time.Second)}},
		{"the cooldown is bounded", delivery.EndpointState{WebhookID: "w", Limit: 1, Failures: 30, Circuit: delivery.CircuitOpen}, timeout,
			delivery.EndpointState{WebhookID: "w", Limit: 1, Failures: 31, Circuit: delivery.CircuitOpen, PausedUntil: at(35 * time.Second)}},
		{"a successful probe closes the circuit", delivery.EndpointState{WebhookID: "w", Limit: 1, Failures: 7, Circuit: delivery.CircuitOpen, PausedUntil: at(-time.Second)}, fast,
			delivery.EndpointState{WebhookID: "w", Limit: 2, Failures: 0, Circuit: delivery.CircuitClosed, PausedUntil: at(-time.Second)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := delivery.Adapt(tc.state, tc.res, now, p)
			if !sameState(got, tc.want) {
				t.Errorf("Adapt = %s, want %s", show(got), show(tc.want))
			}
		})
	}
}

// Adapt's zero policy uses the documented defaults.
func TestAdaptDefaults(t *testing.T) {
	t.Parallel()
	now := time.Now()
	st := delivery.EndpointState{}
	for range 100 {
		st = delivery.Adapt(st, delivery.Result{StatusCode: code(204)}, now, delivery.EndpointPolicy{})
	}
	if st.Limit != delivery.DefaultEndpointMax {
		t.Errorf("after 100 fast successes Limit = %d, want %d", st.Limit, delivery.DefaultEndpointMax)
	}
	for range delivery.DefaultOpenAfter - 1 {
		st = delivery.Adapt(st, delivery.Result{ErrClass: delivery.ErrClassTimeout}, now, delivery.EndpointPolicy{})
	}
	if st.Circuit != delivery.CircuitClosed {
		t.Fatalf("circuit opened after %d failures", delivery.DefaultOpenAfter-1)
	}
	st = delivery.Adapt(st, delivery.Result{ErrClass: delivery.ErrClassTimeout}, now, delivery.EndpointPolicy{})
	if st.Circuit != delivery.CircuitOpen || st.PausedUntil == nil || !st.PausedUntil.Equal(now.Add(delivery.DefaultCooldown)) {
		t.Errorf("after %d failures: %s, want open for %s", delivery.DefaultOpenAfter, show(st), delivery.DefaultCooldown)
	}
}

func sameState(a, b delivery.EndpointState) bool {
	if (a.PausedUntil == nil) != (b.PausedUntil == nil) || (a.PausedUntil != nil && !a.PausedUntil.Equal(*b.PausedUntil)) {
		return false
	}
	a.PausedUntil, b.PausedUntil = nil, nil
	return a == b
}

func show(s delivery.EndpointState) string {
	p := "nil"
	if s.PausedUntil != nil {
		p = s.PausedUntil.Format(time.TimeOnly)
	}
	return "{limit " + itoa(s.Limit) + " failures " + itoa(s.Failures) + " " + s.Circuit + " paused " + p + "}"
}

func itoa(n int) string { return strconv.Itoa(n) }
