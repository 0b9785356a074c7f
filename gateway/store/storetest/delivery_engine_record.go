package storetest

// The delivery engine's store, continued: RecordAttempts batches (answers in
// order, stale attempts logged, the webhook row following the newest
// attempt, auto-disable as if one by one), endpoint state upserts (pauses
// merged by the later), worker heartbeats and retirement, and the backlog.
// See delivery_engine.go for why these subtests work in engineEra.

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/gateway/webhooks"
)

// claimOf returns the claim of delivery d among claims, failing the test
// if there is none.
func claimOf(t *testing.T, claims []delivery.Claim, d delivery.Delivery) *delivery.Claim {
	t.Helper()
	for i := range claims {
		if claims[i].Delivery.ID == d.ID {
			return &claims[i]
		}
	}
	t.Fatalf("no claim of %s among %v", d.ID, claimedIDs(claims))
	return nil
}

func testRecordAttemptsBatch(t *testing.T, s DeliveryStore) {
	workspace := uuid.NewString()
	hook := engineHook(t, s, workspace)
	ds := publishDue(t, s, hook, 3, engineEra, time.Second)
	now := engineEra.Add(time.Minute)
	p := claimParams(uuid.NewString(), now, 10, 10, 10)
	p.Lease = 2 * time.Hour // still held at the retry
	claims := mustClaimDue(t, s, p)
	if len(claims) != 3 {
		t.Fatalf("claimed %v, want all 3", claimedIDs(claims))
	}
	c0, c1, c2 := claimOf(t, claims, ds[0]), claimOf(t, claims, ds[1]), claimOf(t, claims, ds[2])

	retry := now.Add(time.Hour)
	done := outcome(c0, delivery.StatusSuccess, now.Add(2*time.Second), nil)
	duplicate := done
	duplicate.Attempt.ID = uuid.NewString()
	stale := outcome(c1, delivery.StatusSuccess, now.Add(time.Second), nil)
	stale.Attempt.Attempt = 7 // not the claim's attempt
	unknown := outcome(c1, delivery.StatusSuccess, now.Add(time.Second), nil)
	unknown.Attempt.DeliveryID = uuid.NewString()
	malformed := outcome(c1, delivery.StatusSuccess, now.Add(time.Second), nil)
	malformed.Attempt.DeliveryID = "dlv_1"
	retried := outcome(c2, delivery.StatusFailed, now.Add(time.Second), &retry)

	results, err := s.RecordAttempts(ctx(t), []delivery.Outcome{done, duplicate, stale, unknown, malformed, retried}, nil)
	if err != nil {
		t.Fatalf("RecordAttempts: %v", err)
	}
	want := []error{nil, delivery.ErrNotClaimed, delivery.ErrNotClaimed, delivery.ErrNotFound, delivery.ErrNotFound, nil}
	if len(results) != len(want) {
		t.Fatalf("RecordAttempts: %d results, want %d", len(results), len(want))
	}
	for i, w := range want {
		if (w == nil) != (results[i] == nil) || w != nil && !errors.Is(results[i], w) {
			t.Errorf("result %d = %v, want %v", i, results[i], w)
		}
	}

	// Every attempt of an existing delivery is logged, stale ones included.
	page, _ := mustListAttempts(t, s, hook, "", 0, 100)
	logged := attemptIDs(page)
	for _, o := range []delivery.Outcome{done, duplicate, stale, retried} {
		if !slices.Contains(logged, o.Attempt.ID) {
			t.Errorf("attempt %s is not in the log %v", o.Attempt.ID, logged)
		}
	}
	if slices.Contains(logged, unknown.Attempt.ID) {
		t.Error("the attempt of an unknown delivery is in the log")
	}

	// The newest attempt (the success, listed first) sets the webhook's
	// last delivery, whatever the order in the batch.
	w := mustGetHook(t, s, hook)
	PtrField(t, "LastDeliveryStatus", w.LastDeliveryStatus, ptr(delivery.StatusSuccess))
	UTCTimePtr(t, "LastDeliveryAt", w.LastDeliveryAt, ptr(done.Attempt.DeliveredAt))

	// The stale outcome left its delivery leased; the retried one is free
	// once due, the finished one for good.
	worker := uuid.NewString()
	if got := mustClaimDue(t, s, claimParams(worker, retry.Add(-time.Second), 10, 10, 10)); len(got) != 0 {
		t.Errorf("claimed before the retry is due, with ds[1] leased: %v", claimedIDs(got))
	}
	assertClaimed(t, "at the retry", mustClaimDue(t, s, claimParams(worker, retry, 10, 10, 10)), ds[2])

	// An empty batch is no error.
	if results, err := s.RecordAttempts(ctx(t), nil, nil); err != nil || len(results) != 0 {
		t.Errorf("an empty batch = %v, %v", results, err)
	}
}

func testRecordAttemptsDisable(t *testing.T, s DeliveryStore) {
	tests := []struct {
		name string
		// offsets of the attempts after the claim, in batch order, and
		// whether each succeeded
		at      []time.Duration
		success []bool
		active  bool
		status  string
	}{
		{"failing past DisableAfter", []time.Duration{61 * time.Minute, 0, 30 * time.Minute}, []bool{false, false, false}, false, delivery.StatusFailed},
		{"a success in between", []time.Duration{61 * time.Minute, 0, 10 * time.Minute}, []bool{false, false, true}, true, delivery.StatusFailed},
		{"a newest success", []time.Duration{10 * time.Minute, 0, 70 * time.Minute}, []bool{false, false, true}, true, delivery.StatusSuccess},
		{"within DisableAfter", []time.Duration{59 * time.Minute, 0}, []bool{false, false}, true, delivery.StatusFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hook := engineHook(t, s, uuid.NewString())
			ds := publishDue(t, s, hook, len(tc.at), engineEra, time.Second)
			now := engineEra.Add(time.Minute)
			claims := mustClaimDue(t, s, claimParams(uuid.NewString(), now, 10, 10, 10))
			outcomes := make([]delivery.Outcome, len(ds))
			newest := time.Time{}
			for i, d := range ds {
				status := delivery.StatusFailed
				if tc.success[i] {
					status = delivery.StatusSuccess
				}
				at := now.Add(tc.at[i])
				if at.After(newest) {
					newest = at
				}
				outcomes[i] = outcome(claimOf(t, claims, d), status, at, nil)
				outcomes[i].DisableAfter = time.Hour
			}
			disabledBefore := mustBacklog(t, s, now).AutoDisabled
			mustRecordAll(t, s, outcomes, nil)
			w := mustGetHook(t, s, hook)
			if w.Active != tc.active {
				t.Errorf("Active = %v, want %v", w.Active, tc.active)
			}
			wantDisabled := 0
			if !tc.active {
				wantDisabled = 1
			}
			if got := mustBacklog(t, s, now).AutoDisabled - disabledBefore; got != wantDisabled {
				t.Errorf("Backlog.AutoDisabled grew by %d, want %d", got, wantDisabled)
			}
			if !tc.active {
				// Made active again, it is no longer counted.
				if _, err := s.UpdateWebhook(ctx(t), hook.WorkspaceID, hook.ID, webhooks.Patch{Active: ptr(true), UpdatedAt: now.Add(2 * time.Hour)}); err != nil {
					t.Fatal(err)
				}
				if got := mustBacklog(t, s, now).AutoDisabled; got != disabledBefore {
					t.Errorf("after reactivation Backlog.AutoDisabled = %d, want %d", got, disabledBefore)
				}
			}
			if (w.DisabledReason != nil) == tc.active {
				t.Errorf("DisabledReason = %v with Active %v", w.DisabledReason, w.Active)
			}
			PtrField(t, "LastDeliveryStatus", w.LastDeliveryStatus, &tc.status)
			UTCTimePtr(t, "LastDeliveryAt", w.LastDeliveryAt, &newest)
		})
	}
}

func testRecordAttemptsEndpoints(t *testing.T, s DeliveryStore) {
	workspace := uuid.NewString()
	hook := engineHook(t, s, workspace)
	ds := publishDue(t, s, hook, 2, engineEra, time.Second)
	early, late := engineEra.Add(time.Hour), engineEra.Add(2*time.Hour)
	mustRecordAll(t, s, nil, []delivery.EndpointState{
		{WebhookID: hook.ID, WorkspaceID: workspace, Limit: 4, PausedUntil: &late, Failures: 3, Circuit: delivery.CircuitOpen},
		// Not a webhook of that workspace: nothing to keep, and no error.
		{WebhookID: uuid.NewString(), WorkspaceID: workspace, Limit: 1, Circuit: delivery.CircuitClosed},
	})
	// A shorter pause does not cut the stored one; the rest is replaced.
	mustRecordAll(t, s, nil, []delivery.EndpointState{
		{WebhookID: hook.ID, WorkspaceID: workspace, Limit: 1, PausedUntil: &early, Failures: 0, Circuit: delivery.CircuitClosed},
	})
	worker := uuid.NewString()
	if got := mustClaimDue(t, s, claimParams(worker, early, 10, 10, 10)); len(got) != 0 {
		t.Errorf("claimed at the shorter pause's end: %v", claimedIDs(got))
	}
	claims := mustClaimDue(t, s, claimParams(worker, late, 10, 10, 10))
	assertClaimed(t, "at the later pause's end, Limit 1", claims, ds[0])
	if len(claims) == 1 {
		e := claims[0].Endpoint
		Fields(t, []Field{F("WebhookID", e.WebhookID, hook.ID), F("WorkspaceID", e.WorkspaceID, workspace),
			F("Limit", e.Limit, 1), F("Failures", e.Failures, 0), F("Circuit", e.Circuit, delivery.CircuitClosed)})
		UTCTimePtr(t, "PausedUntil", e.PausedUntil, &late)

		// Stored with outcomes in one batch: a nil pause keeps the stored one.
		mustRecordAll(t, s, []delivery.Outcome{outcome(&claims[0], delivery.StatusSuccess, late, nil)},
			[]delivery.EndpointState{{WebhookID: hook.ID, WorkspaceID: workspace, Limit: 2, Failures: 0, Circuit: delivery.CircuitClosed}})
		next := mustClaimDue(t, s, claimParams(worker, late, 10, 10, 10))
		assertClaimed(t, "after the batch", next, ds[1])
		if len(next) == 1 {
			if next[0].Endpoint.Limit != 2 {
				t.Errorf("Limit = %d, want 2", next[0].Endpoint.Limit)
			}
			UTCTimePtr(t, "PausedUntil after a nil pause", next[0].Endpoint.PausedUntil, &late)
		}
	}
}

func testHeartbeat(t *testing.T, s DeliveryStore) {
	hook := engineHook(t, s, uuid.NewString())
	ds := publishDue(t, s, hook, 3, engineEra, time.Second)
	const deadAfter = 30 * time.Second
	alive, dying := uuid.NewString(), uuid.NewString()
	now := engineEra.Add(time.Minute)
	long := func(worker string, at time.Time) delivery.ClaimParams {
		p := claimParams(worker, at, 2, 10, 10)
		p.Lease = time.Hour
		return p
	}
	heartbeat := func(worker string, at time.Time) int {
		t.Helper()
		n, err := s.Heartbeat(ctx(t), worker, at, deadAfter)
		if err != nil {
			t.Fatalf("Heartbeat: %v", err)
		}
		return n
	}
	heartbeat(dying, now)
	heartbeat(alive, now)
	lost := mustClaimDue(t, s, long(dying, now))
	assertClaimed(t, "the dying worker's claim", lost, ds[0], ds[1])
	held := mustClaimDue(t, s, long(alive, now))
	assertClaimed(t, "the live worker's claim", held, ds[2])

	// Within deadAfter nobody is dead; the worker's own leases are never
	// released by its heartbeat.
	if n := heartbeat(alive, now.Add(deadAfter)); n != 0 {
		t.Errorf("Heartbeat at +deadAfter released %d, want 0", n)
	}
	later := now.Add(deadAfter + time.Second)
	if n := heartbeat(alive, later); n != 2 {
		t.Errorf("Heartbeat after the other worker died released %d, want 2", n)
	}
	again := mustClaimDue(t, s, long(alive, later))
	assertClaimed(t, "the released deliveries, at once", again, ds[0], ds[1])
	for _, c := range again {
		if c.Delivery.Attempts != 2 {
			t.Errorf("Attempts of a released delivery's new claim = %d, want 2", c.Delivery.Attempts)
		}
	}
	// The dead worker's record is stale; the live one's lease held.
	results, err := s.RecordAttempts(ctx(t), []delivery.Outcome{
		outcome(&lost[0], delivery.StatusSuccess, later, nil),
		outcome(&held[0], delivery.StatusSuccess, later, nil),
	}, nil)
	if err != nil || len(results) != 2 || !errors.Is(results[0], delivery.ErrNotClaimed) || results[1] != nil {
		t.Errorf("RecordAttempts = %v, %v; want [ErrNotClaimed, nil]", results, err)
	}
	// A forgotten worker that comes back is simply alive again.
	if n := heartbeat(dying, later.Add(deadAfter)); n != 0 {
		t.Errorf("the returning worker's heartbeat released %d, want 0 (the live one beat at +%v)", n, deadAfter+time.Second)
	}
	if _, err := s.Heartbeat(ctx(t), "not-a-uuid", later, deadAfter); err == nil {
		t.Error("Heartbeat of a worker id that is not a UUID succeeded")
	}
}

func testRetireWorker(t *testing.T, s DeliveryStore) {
	hook := engineHook(t, s, uuid.NewString())
	ds := publishDue(t, s, hook, 1, engineEra, 0)
	now := engineEra.Add(time.Minute)
	retiring := uuid.NewString()
	if _, err := s.Heartbeat(ctx(t), retiring, now, time.Minute); err != nil {
		t.Fatal(err)
	}
	p := claimParams(retiring, now, 10, 10, 10)
	p.Lease = time.Hour
	assertClaimed(t, "before retiring", mustClaimDue(t, s, p), ds[0])
	if err := s.RetireWorker(ctx(t), retiring); err != nil {
		t.Fatalf("RetireWorker: %v", err)
	}
	again := mustClaimDue(t, s, claimParams(uuid.NewString(), now, 10, 10, 10))
	assertClaimed(t, "a retired worker's lease, released", again, ds[0])
	if err := s.RetireWorker(ctx(t), retiring); err != nil {
		t.Errorf("RetireWorker of a forgotten worker: %v", err)
	}
}

// mustBacklog returns the store's backlog at now.
func mustBacklog(t *testing.T, s DeliveryStore, now time.Time) delivery.Backlog {
	t.Helper()
	b, err := s.Backlog(ctx(t), now)
	if err != nil {
		t.Fatalf("Backlog: %v", err)
	}
	return b
}

func testBacklog(t *testing.T, s DeliveryStore) {
	now := engineEra.Add(time.Hour)
	backlog := func() delivery.Backlog {
		t.Helper()
		b, err := s.Backlog(ctx(t), now)
		if err != nil {
			t.Fatalf("Backlog: %v", err)
		}
		return b
	}
	// Leases and pauses of other subtests (in later eras) are unexpired at
	// now: those counts are compared by difference. Nothing else is due this
	// early, so Due and OldestDue are exact.
	before := backlog()
	if before.Due != 0 || before.OldestDue != nil {
		t.Fatalf("before: Due %d, OldestDue %v; want nothing due in engineEra", before.Due, before.OldestDue)
	}

	workspace := uuid.NewString()
	hook := engineHook(t, s, workspace)
	ds := publishDue(t, s, hook, 4, engineEra, time.Second)
	publishDue(t, s, hook, 1, now.Add(time.Second), 0) // not due yet
	if _, err := s.CreateTestDelivery(ctx(t), newEvent(workspace, hook.Events[0], engineEra), hook.ID); err != nil {
		t.Fatal(err)
	}
	p := claimParams(uuid.NewString(), engineEra.Add(time.Minute), 1, 10, 10)
	p.Lease = 2 * time.Hour
	assertClaimed(t, "one in flight", mustClaimDue(t, s, p), ds[0])
	p.Lease = time.Minute
	assertClaimed(t, "one whose lease ends before now", mustClaimDue(t, s, p), ds[1])
	paused := engineHook(t, s, workspace)
	until := now.Add(time.Hour)
	mustRecordAll(t, s, nil, []delivery.EndpointState{
		{WebhookID: hook.ID, WorkspaceID: workspace, Limit: 3, Circuit: delivery.CircuitOpen},
		{WebhookID: paused.ID, WorkspaceID: workspace, Limit: 1, PausedUntil: &until, Circuit: delivery.CircuitOpen},
	})

	after := backlog()
	// Due: ds[1] (lease expired), ds[2], ds[3]; the oldest is ds[1].
	Fields(t, []Field{
		F("Due", after.Due, 3),
		F("InFlight added", after.InFlight-before.InFlight, 1),
		F("PausedEndpoints added", after.PausedEndpoints-before.PausedEndpoints, 1),
		F("OpenCircuits added", after.OpenCircuits-before.OpenCircuits, 2),
	})
	UTCTimePtr(t, "OldestDue", after.OldestDue, ptr(engineEra.Add(time.Second)))
}
