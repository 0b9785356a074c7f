package delivery

import "time"

// The decisions a store applies when it claims a delivery or records an
// attempt, written once, here, as plain functions. The SQL functions of the
// delivery migration (gateway_claim_delivery, gateway_record_attempt) make
// the same decisions inside their transactions, because they must read the
// locked rows to be atomic (and the supabase store reaches them as one RPC);
// the memory store calls these functions instead of keeping its own copy;
// and the stores' conformance suite (storetest.RunDelivery) runs the same
// cases against memory, PostgreSQL and Supabase, so that the SQL and the Go
// cannot drift apart unnoticed.

// CancelOnClaim reports whether claiming a delivery cancels it instead: its
// webhook is inactive (paused by a client or by auto-disable) and it is not
// a test delivery, which is sent whatever the webhook's state.
func CancelOnClaim(webhookActive, test bool) bool { return !webhookActive && !test }

// Stale reports whether the claim that made attempt number attempt no longer
// holds a delivery that is in status with attempts claims so far and a lease
// (leased): it is not pending, or it was claimed again since, or this claim's
// outcome was recorded already (the lease is released). A stale attempt is
// logged but changes neither the delivery nor its webhook.
func Stale(status string, attempts int, leased bool, attempt int) bool {
	return status != StatusPending || attempts != attempt || !leased
}

// Newest reports whether an attempt delivered at at is the webhook's newest
// (or as new as it), so that last_delivery_status and last_delivery_at follow
// it; last is the webhook's last_delivery_at, nil when it has none.
func Newest(last *time.Time, at time.Time) bool { return last == nil || !last.After(at) }

// FailingSince returns the webhook's failing_since after an attempt with
// status at at: nil after a success, otherwise the earlier value, or at when
// this is the first failure since a success.
func FailingSince(prev *time.Time, status string, at time.Time) *time.Time {
	switch {
	case status == StatusSuccess:
		return nil
	case prev != nil:
		return prev
	default:
		return &at
	}
}

// ShouldDisable reports whether a failed attempt at at pauses its webhook:
// the rule is on (after, counted in whole milliseconds as the SQL counts it,
// is positive), the webhook is active, and it has failed since failingSince,
// at least after ago.
func ShouldDisable(active bool, failingSince, at time.Time, after time.Duration) bool {
	ms := after.Milliseconds()
	return ms > 0 && active && !failingSince.After(at.Add(-time.Duration(ms)*time.Millisecond))
}

// DisabledReason is the disabled_reason of a webhook that auto-disable
// paused, failing since since.
func DisabledReason(since time.Time) string {
	return "deliveries have failed since " + since.UTC().Format("2006-01-02T15:04:05Z")
}
