package config

import (
	"strings"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/gateway/delivery"
)

// TestDeliveryDefaultsAreTheWorkers: the defaults of DELIVERY_LEASE,
// DELIVERY_LOG_RETENTION and DELIVERY_RETRY_SCHEDULE are the delivery
// package's own (one value each; the lease was 1 min here and 2 min there),
// and the lease is the 1 min the README documents.
func TestDeliveryDefaultsAreTheWorkers(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Delivery.Lease != delivery.DefaultLease || delivery.DefaultLease != time.Minute {
		t.Errorf("lease default = %s, delivery.DefaultLease = %s, want both 1m", c.Delivery.Lease, delivery.DefaultLease)
	}
	if c.Delivery.LogRetention != delivery.DefaultRetention {
		t.Errorf("retention default = %s, want delivery.DefaultRetention %s", c.Delivery.LogRetention, delivery.DefaultRetention)
	}
	if c.Delivery.RetrySchedule.String() != delivery.DefaultSchedule.String() {
		t.Errorf("schedule default = %s, want %s", c.Delivery.RetrySchedule, delivery.DefaultSchedule)
	}
}

// TestRetryScheduleUsesTheOneParser: DELIVERY_RETRY_SCHEDULE is read by
// delivery.ParseSchedule, with its limits and its message.
func TestRetryScheduleUsesTheOneParser(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // "" for success
	}{
		{"1s, 2m", ""},
		{"5s,169h", "longer than"},
		{"5s,0s", "not positive"},
		{"5s,,1m", "not a duration"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			c, err := Load(env(map[string]string{"DELIVERY_RETRY_SCHEDULE": tc.in}))
			if tc.want == "" {
				if err != nil || c.Delivery.RetrySchedule.String() != "1s,2m0s" {
					t.Fatalf("Load = %v, %v", c, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "DELIVERY_RETRY_SCHEDULE") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load error = %v, want DELIVERY_RETRY_SCHEDULE and %q", err, tc.want)
			}
		})
	}
}
