package config

import (
	"strings"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/gateway/delivery"
)

// TestDeliveryDefaultsAreTheEngines: the defaults of DELIVERY_LEASE,
// DELIVERY_LOG_RETENTION, DELIVERY_RETRY_SCHEDULE and the engine's knobs
// are the delivery package's own (one value each), and the lease follows
// DELIVERY_TIMEOUT with the documented 15 s margin.
func TestDeliveryDefaultsAreTheEngines(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Delivery.Lease != delivery.DefaultLease || delivery.DefaultLease != 25*time.Second {
		t.Errorf("lease default = %s, delivery.DefaultLease = %s, want both 25s", c.Delivery.Lease, delivery.DefaultLease)
	}
	longer, err := Load(env(map[string]string{"DELIVERY_TIMEOUT": "30s"}))
	if err != nil || longer.Delivery.Lease != 45*time.Second {
		t.Errorf("with DELIVERY_TIMEOUT=30s the lease = %v (%v), want 45s", longer, err)
	}
	d := c.Delivery
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"DELIVERY_CONCURRENCY", d.Concurrency, delivery.DefaultConcurrency},
		{"DELIVERY_ENDPOINT_CONCURRENCY", d.EndpointConcurrency, delivery.DefaultEndpointMax},
		{"DELIVERY_ENDPOINT_INITIAL", d.EndpointInitial, delivery.DefaultEndpointInitial},
		{"DELIVERY_BATCH", d.Batch, delivery.DefaultBatch},
		{"DELIVERY_POLL_INTERVAL", d.PollInterval, delivery.DefaultPollInterval},
		{"DELIVERY_CIRCUIT_OPEN_AFTER", d.CircuitOpenAfter, delivery.DefaultOpenAfter},
		{"DELIVERY_CIRCUIT_COOLDOWN", d.CircuitCooldown, delivery.DefaultCooldown},
		{"DELIVERY_CIRCUIT_MAX_COOLDOWN", d.CircuitMaxCooldown, delivery.DefaultMaxCooldown},
		{"DATABASE_MAX_CONNS", c.DatabaseMaxConns, 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("default = %v, want %v", tc.got, tc.want)
			}
		})
	}
}

// TestEngineKnobsAreChecked: the engine's settings are read and their
// cross-checks refuse what cannot work.
func TestEngineKnobsAreChecked(t *testing.T) {
	for _, tc := range []struct {
		name string
		vars map[string]string
		want string // "" for success
	}{
		{"all set", map[string]string{"DELIVERY_CONCURRENCY": "128", "DELIVERY_ENDPOINT_CONCURRENCY": "8", "DELIVERY_ENDPOINT_INITIAL": "2",
			"DELIVERY_BATCH": "32", "DELIVERY_POLL_INTERVAL": "100ms", "DELIVERY_CIRCUIT_OPEN_AFTER": "3",
			"DELIVERY_CIRCUIT_COOLDOWN": "1s", "DATABASE_MAX_CONNS": "32"}, ""},
		{"initial over the cap", map[string]string{"DELIVERY_ENDPOINT_CONCURRENCY": "4", "DELIVERY_ENDPOINT_INITIAL": "8"}, "DELIVERY_ENDPOINT_INITIAL"},
		{"max cooldown under cooldown", map[string]string{"DELIVERY_CIRCUIT_COOLDOWN": "10m", "DELIVERY_CIRCUIT_MAX_COOLDOWN": "1m"}, "DELIVERY_CIRCUIT_MAX_COOLDOWN"},
		{"zero concurrency", map[string]string{"DELIVERY_CONCURRENCY": "0"}, "DELIVERY_CONCURRENCY"},
		{"poll too fast", map[string]string{"DELIVERY_POLL_INTERVAL": "1ms"}, "DELIVERY_POLL_INTERVAL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(env(tc.vars))
			if tc.want == "" {
				if err != nil || c.Delivery.Concurrency != 128 || c.Delivery.PollInterval != 100*time.Millisecond || c.DatabaseMaxConns != 32 {
					t.Fatalf("Load = %+v, %v", c, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load error = %v, want %s named", err, tc.want)
			}
		})
	}
}

// TestDeliveryDefaultsKeepRetentionAndSchedule: retention and schedule
// defaults are the delivery package's.
func TestDeliveryDefaultsKeepRetentionAndSchedule(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
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
