package e2e

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestRetryAfterIsAFloorFromTheAnswer: a receiver answering 429 with
// Retry-After: 2 gets its next attempt no sooner than 2 s after that answer,
// although the test schedule's steps are 300 ms (before, the largest step
// capped Retry-After, and the retry came 300 ms later).
func TestRetryAfterIsAFloorFromTheAnswer(t *testing.T) {
	d := newDeliveryEnv(t, 1, nil)
	var mu sync.Mutex
	var answered time.Time
	d.rc.answer = func(n int, _ *http.Request) (int, http.Header) {
		if n == 1 {
			mu.Lock()
			answered = time.Now()
			mu.Unlock()
			return http.StatusTooManyRequests, http.Header{"Retry-After": {"2"}}
		}
		return http.StatusOK, nil
	}
	d.hook(t, "/slow-down", "contact.created")
	d.publish(t, "contact.created", `{"id": "c-1"}`)
	waitFor(t, 20*time.Second, "the second attempt", func() bool { return len(d.rc.got()) == 2 })
	got := d.rc.got()
	mu.Lock()
	gap := got[1].At.Sub(answered)
	mu.Unlock()
	t.Logf("second attempt %s after the 429 answer", gap)
	if gap < 2*time.Second {
		t.Errorf("second attempt came %s after the answer with Retry-After: 2", gap)
	}
	// Jitter lengthens by at most 10%; the rest is queue polling (200 ms).
	if gap > 5*time.Second {
		t.Errorf("second attempt came %s after the answer; Retry-After: 2 asked for 2 s", gap)
	}
}
