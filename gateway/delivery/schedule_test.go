package delivery_test

import (
	"testing"
	"time"

	"github.com/leadlex/api-gateway/gateway/delivery"
)

func TestParseSchedule(t *testing.T) {
	tests := []struct {
		in      string
		want    delivery.Schedule
		wantErr bool
	}{
		{in: "5s,30s,5m,1h,6h", want: delivery.DefaultSchedule},
		{in: " 1s , 2m ", want: delivery.Schedule{time.Second, 2 * time.Minute}},
		{in: "10ms", want: delivery.Schedule{10 * time.Millisecond}},
		{in: "", wantErr: true},
		{in: "5s,,1m", wantErr: true},
		{in: "5s,0s", wantErr: true},
		{in: "-1s", wantErr: true},
		{in: "five", wantErr: true},
		{in: "168h", want: delivery.Schedule{delivery.MaxStep}},
		{in: "5s,168h1s", wantErr: true},
	}
	for _, tc := range tests {
		got, err := delivery.ParseSchedule(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseSchedule(%q) error %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if !tc.wantErr && got.String() != tc.want.String() {
			t.Errorf("ParseSchedule(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	if s := delivery.DefaultSchedule.String(); s != "5s,30s,5m0s,1h0m0s,6h0m0s" {
		t.Errorf("String = %q", s)
	}
	if back, err := delivery.ParseSchedule(delivery.DefaultSchedule.String()); err != nil || back.String() != delivery.DefaultSchedule.String() {
		t.Errorf("String does not round-trip: %s, %v", back, err)
	}
}

func TestScheduleNext(t *testing.T) {
	fixed := func(v float64) func() float64 { return func() float64 { return v } }
	s := delivery.DefaultSchedule
	tests := []struct {
		name       string
		attempt    int
		retryAfter time.Duration
		jitter     func() float64
		want       time.Duration
		ok         bool
	}{
		{"first retry", 1, 0, fixed(0.5), 5 * time.Second, true},
		{"second retry", 2, 0, fixed(0.5), 30 * time.Second, true},
		{"last retry", 5, 0, fixed(0.5), 6 * time.Hour, true},
		{"exhausted", 6, 0, fixed(0.5), 0, false},
		{"attempt 0", 0, 0, fixed(0.5), 0, false},
		{"jitter low edge", 1, 0, fixed(0), 4500 * time.Millisecond, true},
		{"jitter high edge", 3, 0, fixed(1), 330 * time.Second, true},
		{"retry-after longer, no jitter drawn", 1, time.Minute, fixed(0), time.Minute, true},
		{"retry-after longer, jitter only lengthens", 1, time.Minute, fixed(0.5), 63 * time.Second, true},
		{"retry-after longer, most jitter", 1, time.Minute, fixed(0.99), time.Minute + 5940*time.Millisecond, true},
		{"retry-after shorter", 2, 10 * time.Second, fixed(0.5), 30 * time.Second, true},
		{"retry-after shorter than a low-jittered step", 1, 4600 * time.Millisecond, fixed(0), 4600 * time.Millisecond, true},
		{"retry-after capped at 6h", 1, 48 * time.Hour, fixed(0), 6 * time.Hour, true},
		{"cap never shortens the step", 5, 7 * time.Hour, fixed(1), 6*time.Hour + 36*time.Minute, true},
		{"retry-after ignored once exhausted", 6, time.Minute, fixed(0.5), 0, false},
	}
	for _, tc := range tests {
		got, ok := s.Next(tc.attempt, tc.retryAfter, tc.jitter)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: Next(%d, %s) = %s, %v; want %s, %v", tc.name, tc.attempt, tc.retryAfter, got, ok, tc.want, tc.ok)
		}
	}
}

// TestScheduleNextJitterBounds checks that the default random jitter stays
// within ±10% of the step.
func TestScheduleNextJitterBounds(t *testing.T) {
	s := delivery.Schedule{time.Minute}
	seen := map[time.Duration]bool{}
	for range 1000 {
		d, ok := s.Next(1, 0, nil)
		if !ok || d < 54*time.Second || d > 66*time.Second {
			t.Fatalf("Next = %s, %v; want within 54s..66s", d, ok)
		}
		seen[d] = true
	}
	if len(seen) < 10 {
		t.Errorf("only %d distinct waits in 1000 draws: no jitter?", len(seen))
	}
}

// TestScheduleRetryAfterIsAFloor: whatever the schedule (tests run with
// short steps) and the jitter, the wait after an answer with Retry-After is
// at least what it asked for, up to MaxRetryAfter. Before, the schedule's
// largest step capped it, so Retry-After: 2 with a 1.5 s schedule gave
// waits down to 1.35 s.
func TestScheduleRetryAfterIsAFloor(t *testing.T) {
	for _, tc := range []struct {
		name     string
		s        delivery.Schedule
		asked    time.Duration
		floor    time.Duration
		ceilWant time.Duration
	}{
		{"short schedule", delivery.Schedule{1500 * time.Millisecond}, 2 * time.Second, 2 * time.Second, 2200 * time.Millisecond},
		{"unsorted schedule", delivery.Schedule{time.Hour, time.Second}, 24 * time.Hour, delivery.MaxRetryAfter, delivery.MaxRetryAfter * 11 / 10},
		{"schedule longer than the cap", delivery.Schedule{10 * time.Hour}, 8 * time.Hour, 9 * time.Hour, 11 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 1000 {
				d, ok := tc.s.Next(len(tc.s), tc.asked, nil)
				if !ok || d < tc.floor || d > tc.ceilWant {
					t.Fatalf("Next = %s, %v; want within %s..%s", d, ok, tc.floor, tc.ceilWant)
				}
			}
		})
	}
}
