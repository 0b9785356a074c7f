package delivery

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Schedule lists the waits before each retry of a failed delivery: after
// attempt n (1-based) the next one comes Schedule[n-1] later, so a delivery
// gets 1 + len(Schedule) attempts in all.
type Schedule []time.Duration

// DefaultSchedule is the contract's backoff (§6): 5 s, 30 s, 5 min, 1 h, 6 h.
var DefaultSchedule = Schedule{5 * time.Second, 30 * time.Second, 5 * time.Minute, time.Hour, 6 * time.Hour}

// jitterFraction is how far a wait may move either way (±10%), so that
// deliveries that failed together do not all retry at the same instant.
const jitterFraction = 0.1

// MaxStep is the longest wait one step of a schedule may have.
const MaxStep = 7 * 24 * time.Hour

// ParseSchedule is the one reader of retry schedules (DELIVERY_RETRY_SCHEDULE
// goes through it): a comma-separated list of positive durations of at most
// MaxStep, such as "5s,30s,5m,1h,6h". Spaces around items are ignored; an
// empty list or item is an error (a delivery that is never retried is what
// test deliveries are for).
func ParseSchedule(s string) (Schedule, error) {
	var out Schedule
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		d, err := time.ParseDuration(item)
		if err != nil {
			return nil, fmt.Errorf("retry schedule: %q is not a duration", item)
		}
		if d <= 0 {
			return nil, fmt.Errorf("retry schedule: %q is not positive", item)
		}
		if d > MaxStep {
			return nil, fmt.Errorf("retry schedule: %q is longer than %s", item, MaxStep)
		}
		out = append(out, d)
	}
	return out, nil
}

// String formats s the way ParseSchedule reads it.
func (s Schedule) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}

// MaxRetryAfter is the longest wait a receiver's Retry-After is honoured
// for (contract §6: up to 6 h), whatever the configured schedule.
const MaxRetryAfter = 6 * time.Hour

// Next returns the wait before the attempt that follows attempt (1-based),
// or false when the schedule is exhausted and the delivery has failed for
// good. The caller adds it to the time the answer arrived. The wait is
// s[attempt-1] moved by up to ±10%: jitter returns a value in [0, 1) (nil
// means math/rand), 0.5 leaving the step unchanged. A retryAfter the receiver
// asked for (Retry-After on a 429 or 503), capped at MaxRetryAfter (or the
// schedule's largest step, if that is longer), is a floor: the wait is never
// shorter than it, and jitter only lengthens it (by up to 10%), so that
// receivers that asked for the same pause do not all come back at once.
func (s Schedule) Next(attempt int, retryAfter time.Duration, jitter func() float64) (time.Duration, bool) {
	if attempt < 1 || attempt > len(s) {
		return 0, false
	}
	if jitter == nil {
		jitter = rand.Float64
	}
	j := jitter()
	step := s[attempt-1]
	wait := time.Duration(float64(step) * (1 + jitterFraction*(2*j-1)))
	if retryAfter > 0 {
		asked := min(retryAfter, max(MaxRetryAfter, s.largest()))
		wait = max(wait, asked+time.Duration(float64(asked)*jitterFraction*j))
	}
	return wait, true
}

// largest returns the longest step of s.
func (s Schedule) largest() time.Duration {
	var m time.Duration
	for _, d := range s {
		m = max(m, d)
	}
	return m
}
