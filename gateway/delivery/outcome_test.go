package delivery_test

import (
	"testing"
	"time"

	"github.com/leadlex/api-gateway/gateway/delivery"
)

func TestCancelOnClaim(t *testing.T) {
	for _, tc := range []struct {
		active, test, want bool
	}{
		{true, false, false}, {true, true, false}, {false, true, false}, {false, false, true},
	} {
		if got := delivery.CancelOnClaim(tc.active, tc.test); got != tc.want {
			t.Errorf("CancelOnClaim(active %v, test %v) = %v, want %v", tc.active, tc.test, got, tc.want)
		}
	}
}

func TestStale(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   string
		attempts int
		leased   bool
		attempt  int
		want     bool
	}{
		{"the claim's own attempt", delivery.StatusPending, 2, true, 2, false},
		{"claimed again since", delivery.StatusPending, 3, true, 2, true},
		{"recorded already (lease released)", delivery.StatusPending, 2, false, 2, true},
		{"finished", delivery.StatusSuccess, 2, false, 2, true},
		{"cancelled", delivery.StatusCancelled, 2, true, 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := delivery.Stale(tc.status, tc.attempts, tc.leased, tc.attempt); got != tc.want {
				t.Errorf("Stale = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNewest(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	before, after := at.Add(-time.Second), at.Add(time.Second)
	for _, tc := range []struct {
		name string
		last *time.Time
		want bool
	}{{"no attempt yet", nil, true}, {"older last", &before, true}, {"same time", &at, true}, {"newer last", &after, false}} {
		if got := delivery.Newest(tc.last, at); got != tc.want {
			t.Errorf("%s: Newest = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestFailingSinceAndShouldDisable(t *testing.T) {
	since := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	const after = 72 * time.Hour
	if got := delivery.FailingSince(&since, delivery.StatusSuccess, since.Add(time.Hour)); got != nil {
		t.Errorf("after a success failing_since = %v, want nil", got)
	}
	if got := delivery.FailingSince(&since, delivery.StatusFailed, since.Add(time.Hour)); got == nil || !got.Equal(since) {
		t.Errorf("a later failure moved failing_since to %v", got)
	}
	first := since.Add(time.Minute)
	if got := delivery.FailingSince(nil, delivery.StatusFailed, first); got == nil || !got.Equal(first) {
		t.Errorf("the first failure's failing_since = %v, want %v", got, first)
	}
	for _, tc := range []struct {
		name   string
		active bool
		at     time.Time
		after  time.Duration
		want   bool
	}{
		{"exactly the period", true, since.Add(after), after, true},
		{"one millisecond short", true, since.Add(after - time.Millisecond), after, false},
		{"long past", true, since.Add(30 * 24 * time.Hour), after, true},
		{"already paused", false, since.Add(after), after, false},
		{"rule off", true, since.Add(after), 0, false},
		{"under a millisecond counts as off", true, since.Add(after), time.Microsecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := delivery.ShouldDisable(tc.active, since, tc.at, tc.after); got != tc.want {
				t.Errorf("ShouldDisable = %v, want %v", got, tc.want)
			}
		})
	}
	if got, want := delivery.DisabledReason(since.In(time.FixedZone("UTC+2", 7200))), "deliveries have failed since 2026-11-28T10:00:00Z"; got != want {
		t.Errorf("DisabledReason = %q, want %q", got, want)
	}
}
