package webhooks_test

import (
	"testing"
	"time"

	"github.com/leadlex/api-gateway/gateway/webhooks"
)

func TestRotationRefused(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	running, over := now.Add(time.Hour), now.Add(-time.Hour)
	for _, tc := range []struct {
		name      string
		current   string
		previous  *time.Time
		newExpiry time.Time
		want      bool
	}{
		{"first rotation", "a", nil, now.Add(24 * time.Hour), false},
		{"another rotation won", "b", nil, now.Add(24 * time.Hour), true},
		{"an overlap still runs", "a", &running, now.Add(24 * time.Hour), true},
		{"an overlap still runs, this one ends now", "a", &running, now, false},
		{"the earlier overlap is over", "a", &over, now.Add(24 * time.Hour), false},
		{"the earlier overlap ends exactly now", "a", &now, now.Add(24 * time.Hour), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := webhooks.RotationRefused(tc.current, "a", tc.previous, tc.newExpiry, now); got != tc.want {
				t.Errorf("RotationRefused = %v, want %v", got, tc.want)
			}
		})
	}
}
