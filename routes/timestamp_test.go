package routes_test

import (
	"testing"
	"time"

	"github.com/leadlex/api-gateway/routes"
)

func TestTimestamp(t *testing.T) {
	at := time.Date(2026, 12, 1, 11, 30, 15, 999_999_999, time.FixedZone("UTC+2", 2*60*60))
	if got, want := routes.Timestamp(at), "2026-12-01T09:30:15Z"; got != want {
		t.Errorf("Timestamp = %q, want %q (UTC, the fraction dropped)", got, want)
	}
	if got := routes.TimestampPtr(nil); got != nil {
		t.Errorf("TimestampPtr(nil) = %q, want nil", *got)
	}
	if got := routes.TimestampPtr(&at); got == nil || *got != "2026-12-01T09:30:15Z" {
		t.Errorf("TimestampPtr = %v, want the same as Timestamp", got)
	}
}
