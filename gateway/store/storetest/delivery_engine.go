package storetest

// The delivery engine's store (issue 10): ClaimDue's selection rules
// (per-endpoint in-flight limits, stored limits, MaxLimit, pauses, fairness
// between workspaces and webhooks, test deliveries, inactive webhooks,
// expired leases, concurrent claimers). Recording batches, endpoint states,
// workers and the backlog are in delivery_engine_record.go.
//
// ClaimDue, Heartbeat and Backlog are not scoped to a workspace, and the
// suite shares one store between subtests. So every engine subtest works in
// engineEra, earlier than any time another subtest uses (dueEra 2001,
// retentionEra 1995, base 2026): a claim at engineEra sees no other
// subtest's due deliveries. And every webhook an engine subtest makes is
// deleted when it ends (with its deliveries, attempts and endpoint state),
// so that the next engine subtest sees none of its rows either.

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/gateway/webhooks"
)

// engineCases are the engine's subtests, appended to RunDelivery's table.
var engineCases = []suiteCase[DeliveryStore]{
	{"ClaimDueInFlightLimit", testClaimDueInFlightLimit},
	{"ClaimDueStoredLimitAndMaxLimit", testClaimDueStoredLimit},
	{"ClaimDuePausedEndpoint", testClaimDuePaused},
	{"ClaimDueFairBetweenWorkspaces", testClaimDueFairWorkspaces},
	{"ClaimDueAlternatesWebhooks", testClaimDueAlternatesWebhooks},
	{"ClaimDueSkipsTestDeliveries", testClaimDueSkipsTests},
	{"ClaimDueCancelsInactiveWebhooks", testClaimDueCancelsInactive},
	{"ClaimDueExpiredLease", testClaimDueExpiredLease},
	{"ClaimDueConcurrent", testClaimDueConcurrent},
	{"RecordAttemptsBatch", testRecordAttemptsBatch},
	{"RecordAttemptsLastDeliveryAndDisable", testRecordAttemptsDisable},
	{"RecordAttemptsEndpointUpsert", testRecordAttemptsEndpoints},
	{"HeartbeatReleasesDeadWorkers", testHeartbeat},
	{"RetireWorker", testRetireWorker},
	{"Backlog", testBacklog},
}

// engineEra is when the engine subtests' deliveries are due (see the file
// comment): earlier than any other subtest's times.
var engineEra = time.Date(1985, 6, 7, 8, 9, 10, 111213000, time.FixedZone("UTC+5", 5*60*60))

// engineHook makes an active webhook of workspace subscribed to an event
// type of its own (so that publishing to it makes a delivery to it alone),
// deleted with everything of it when the subtest ends.
func engineHook(t *testing.T, s DeliveryStore, workspace string) *webhooks.Webhook {
	t.Helper()
	hook := mustHook(t, s, workspace, true, "engine."+uuid.NewString())
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.DeleteWebhook(c, hook.WorkspaceID, hook.ID); err != nil {
			t.Errorf("cleanup: DeleteWebhook: %v", err)
		}
	})
	return hook
}

// publishDue publishes n events to hook, due at from, from+step, ...
func publishDue(t *testing.T, s DeliveryStore, hook *webhooks.Webhook, n int, from time.Time, step time.Duration) []delivery.Delivery {
	t.Helper()
	out := make([]delivery.Delivery, n)
	for i := range out {
		out[i] = mustPublishOne(t, s, hook, from.Add(time.Duration(i)*step))
	}
	return out
}

// claimParams are the parameters most engine claims use: a lease of
// `lease`, the given limit, and per-endpoint limits initial and maxLimit.
func claimParams(worker string, now time.Time, limit, initial, maxLimit int) delivery.ClaimParams {
	return delivery.ClaimParams{Worker: worker, Now: now, Lease: lease, Limit: limit, InitialLimit: initial, MaxLimit: maxLimit}
}

// mustClaimDue calls ClaimDue and fails the test on an error.
func mustClaimDue(t *testing.T, s DeliveryStore, p delivery.ClaimParams) []delivery.Claim {
	t.Helper()
	claims, err := s.ClaimDue(ctx(t), p)
	if err != nil {
		t.Fatalf("ClaimDue(%+v): %v", p, err)
	}
	return claims
}

// claimedIDs returns the claims' delivery ids in order.
func claimedIDs(claims []delivery.Claim) []string {
	out := make([]string, len(claims))
	for i, c := range claims {
		out[i] = c.Delivery.ID
	}
	return out
}

// assertClaimed checks that claims are exactly the deliveries want, in
// order.
func assertClaimed(t *testing.T, what string, claims []delivery.Claim, want ...delivery.Delivery) {
	t.Helper()
	if got, w := claimedIDs(claims), deliveryIDs(want); !slices.Equal(got, w) {
		t.Errorf("%s: claimed %v, want %v", what, got, w)
	}
}

// mustRecordAll records outcomes with RecordAttempts and fails the test
// unless every one was applied.
func mustRecordAll(t *testing.T, s DeliveryStore, outcomes []delivery.Outcome, endpoints []delivery.EndpointState) {
	t.Helper()
	results, err := s.RecordAttempts(ctx(t), outcomes, endpoints)
	if err != nil {
		t.Fatalf("RecordAttempts: %v", err)
	}
	if len(results) != len(outcomes) {
		t.Fatalf("RecordAttempts: %d results for %d outcomes", len(results), len(outcomes))
	}
	for i, r := range results {
		if r != nil {
			t.Errorf("RecordAttempts: outcome %d: %v", i, r)
		}
	}
}

func testClaimDueInFlightLimit(t *testing.T, s DeliveryStore) {
	hook := engineHook(t, s, uuid.NewString())
	ds := publishDue(t, s, hook, 5, engineEra, time.Second)
	now := engineEra.Add(time.Minute)
	worker := uuid.NewString()

	claims := mustClaimDue(t, s, claimParams(worker, now, 10, 2, 10))
	assertClaimed(t, "InitialLimit 2", claims, ds[0], ds[1])
	for i, c := range claims {
		want := ds[i]
		want.Attempts = 1
		want.UpdatedAt = now
		assertDelivery(t, c.Delivery, want)
		if c.Endpoint.Limit != 0 {
			t.Errorf("Endpoint.Limit = %d for an endpoint without a stored state, want 0", c.Endpoint.Limit)
		}
		if c.Target.URL != hook.URL || !c.Target.Active || c.Target.SecretCiphertext != hook.SecretCiphertext {
			t.Errorf("Target = %+v", c.Target)
		}
		if c.Event.ID != ds[i].EventID || c.Event.Type != hook.Events[0] || len(c.Event.Data) == 0 {
			t.Errorf("Event = %+v", c.Event)
		}
	}
	if again := mustClaimDue(t, s, claimParams(worker, now, 10, 2, 10)); len(again) != 0 {
		t.Errorf("a second claim with 2 in flight: %v, want none", claimedIDs(again))
	}

	// One recorded: one slot, for the next oldest.
	mustRecordAll(t, s, []delivery.Outcome{outcome(&claims[0], delivery.StatusSuccess, now.Add(time.Second), nil)}, nil)
	next := mustClaimDue(t, s, claimParams(worker, now.Add(time.Second), 10, 2, 10))
	assertClaimed(t, "after one was recorded", next, ds[2])

	// Limit bounds the claim however many slots are free.
	other := engineHook(t, s, uuid.NewString())
	more := publishDue(t, s, other, 3, engineEra, time.Second)
	assertClaimed(t, "Limit 1", mustClaimDue(t, s, claimParams(worker, now.Add(time.Second), 1, 10, 10)), more[0])
	if got := mustClaimDue(t, s, claimParams(worker, now.Add(time.Second), 0, 10, 10)); len(got) != 0 {
		t.Errorf("Limit 0 claimed %v", claimedIDs(got))
	}
}

func testClaimDueStoredLimit(t *testing.T, s DeliveryStore) {
	workspace := uuid.NewString()
	hook := engineHook(t, s, workspace)
	ds := publishDue(t, s, hook, 6, engineEra, time.Second)
	mustRecordAll(t, s, nil, []delivery.EndpointState{
		{WebhookID: hook.ID, WorkspaceID: workspace, Limit: 3, Circuit: delivery.CircuitClosed},
	})
	now := engineEra.Add(time.Minute)
	worker := uuid.NewString()
	claims := mustClaimDue(t, s, claimParams(worker, now, 10, 1, 10))
	assertClaimed(t, "stored Limit 3 over InitialLimit 1", claims, ds[0], ds[1], ds[2])
	for _, c := range claims {
		want := delivery.EndpointState{WebhookID: hook.ID, WorkspaceID: workspace, Limit: 3, Circuit: delivery.CircuitClosed}
		if c.Endpoint != want {
			t.Errorf("Endpoint = %+v, want %+v", c.Endpoint, want)
		}
	}

	// MaxLimit clamps a stored limit and InitialLimit alike.
	capped := engineHook(t, s, workspace)
	publishDue(t, s, capped, 4, engineEra, time.Second)
	mustRecordAll(t, s, nil, []delivery.EndpointState{
		{WebhookID: capped.ID, WorkspaceID: workspace, Limit: 5, Circuit: delivery.CircuitClosed},
	})
	fresh := engineHook(t, s, uuid.NewString())
	publishDue(t, s, fresh, 4, engineEra, time.Second)
	got := mustClaimDue(t, s, claimParams(worker, now, 20, 8, 2))
	var ofCapped, ofFresh, ofHook int
	for _, c := range got {
		switch c.Delivery.WebhookID {
		case capped.ID:
			ofCapped++
		case fresh.ID:
			ofFresh++
		case hook.ID:
			ofHook++
		}
	}
	if ofCapped != 2 || ofFresh != 2 || ofHook != 0 {
		t.Errorf("with MaxLimit 2: %d claims of the limit-5 endpoint, %d of the new one (InitialLimit 8), %d of the one with 3 in flight; want 2, 2, 0",
			ofCapped, ofFresh, ofHook)
	}

	// A limit under one still lets one attempt through.
	one := engineHook(t, s, uuid.NewString())
	ods := publishDue(t, s, one, 2, engineEra, time.Second)
	var ofOne []delivery.Claim
	for _, c := range mustClaimDue(t, s, claimParams(worker, now, 20, 0, 5)) {
		if c.Delivery.WebhookID == one.ID {
			ofOne = append(ofOne, c)
		}
	}
	assertClaimed(t, "InitialLimit 0", ofOne, ods[0])
}

func testClaimDuePaused(t *testing.T, s DeliveryStore) {
	workspace := uuid.NewString()
	hook := engineHook(t, s, workspace)
	ds := publishDue(t, s, hook, 2, engineEra, time.Second)
	until := engineEra.Add(time.Hour)
	mustRecordAll(t, s, nil, []delivery.EndpointState{
		{WebhookID: hook.ID, WorkspaceID: workspace, Limit: 4, PausedUntil: &until, Failures: 2, Circuit: delivery.CircuitClosed},
	})
	worker := uuid.NewString()
	if got := mustClaimDue(t, s, claimParams(worker, engineEra.Add(time.Minute), 10, 4, 10)); len(got) != 0 {
		t.Errorf("a paused endpoint: claimed %v", claimedIDs(got))
	}
	if got := mustClaimDue(t, s, claimParams(worker, until.Add(-time.Microsecond), 10, 4, 10)); len(got) != 0 {
		t.Errorf("just before the pause ends: claimed %v", claimedIDs(got))
	}
	claims := mustClaimDue(t, s, claimParams(worker, until, 10, 4, 10))
	assertClaimed(t, "when the pause ends", claims, ds[0], ds[1])
	for _, c := range claims {
		UTCTimePtr(t, "Endpoint.PausedUntil", c.Endpoint.PausedUntil, &until)
		if c.Endpoint.Failures != 2 || c.Endpoint.Limit != 4 {
			t.Errorf("Endpoint = %+v", c.Endpoint)
		}
	}
}

func testClaimDueFairWorkspaces(t *testing.T, s DeliveryStore) {
	busy := engineHook(t, s, uuid.NewString())
	burst := publishDue(t, s, busy, 50, engineEra, time.Millisecond)
	quiet := engineHook(t, s, uuid.NewString())
	single := publishDue(t, s, quiet, 1, engineEra.Add(time.Hour), 0)

	claims := mustClaimDue(t, s, claimParams(uuid.NewString(), engineEra.Add(2*time.Hour), 2, 100, 100))
	// Both are their workspace's first; the older goes first.
	assertClaimed(t, "Limit 2 with a burst of 50 in another workspace", claims, burst[0], single[0])
}

func testClaimDueAlternatesWebhooks(t *testing.T, s DeliveryStore) {
	workspace := uuid.NewString()
	first := engineHook(t, s, workspace)
	second := engineHook(t, s, workspace)
	a := publishDue(t, s, first, 3, engineEra, time.Second)
	b := publishDue(t, s, second, 3, engineEra.Add(time.Minute), time.Second)
	claims := mustClaimDue(t, s, claimParams(uuid.NewString(), engineEra.Add(time.Hour), 4, 10, 10))
	assertClaimed(t, "two webhooks of one workspace", claims, a[0], b[0], a[1], b[1])
}

func testClaimDueSkipsTests(t *testing.T, s DeliveryStore) {
	workspace := uuid.NewString()
	hook := engineHook(t, s, workspace)
	test, err := s.CreateTestDelivery(ctx(t), newEvent(workspace, hook.Events[0], engineEra), hook.ID)
	if err != nil {
		t.Fatal(err)
	}
	regular := publishDue(t, s, hook, 1, engineEra.Add(time.Second), 0)
	now := engineEra.Add(time.Minute)
	assertClaimed(t, "a test and a regular delivery", mustClaimDue(t, s, claimParams(uuid.NewString(), now, 10, 10, 10)), regular[0])
	if got := mustClaimDue(t, s, claimParams(uuid.NewString(), now, 10, 10, 10)); len(got) != 0 {
		t.Errorf("the test delivery was claimed: %v", claimedIDs(got))
	}
	// It stays pending for the API call that sends it.
	if c := mustClaim(t, s, test.ID, now); c.Delivery.Attempts != 1 {
		t.Errorf("the test delivery's claim: Attempts %d, want 1", c.Delivery.Attempts)
	}
}

func testClaimDueCancelsInactive(t *testing.T, s DeliveryStore) {
	workspace := uuid.NewString()
	paused := engineHook(t, s, workspace)
	active := engineHook(t, s, workspace)
	gone := publishDue(t, s, paused, 3, engineEra, time.Second)
	kept := publishDue(t, s, active, 1, engineEra.Add(time.Minute), 0)
	if _, err := s.UpdateWebhook(ctx(t), workspace, paused.ID, webhooks.Patch{Active: ptr(false), UpdatedAt: engineEra}); err != nil {
		t.Fatal(err)
	}
	now := engineEra.Add(time.Hour)
	assertClaimed(t, "beside an inactive webhook", mustClaimDue(t, s, claimParams(uuid.NewString(), now, 10, 10, 10)), kept[0])

	// Cancelled for good: reactivating the webhook does not bring them back.
	if _, err := s.UpdateWebhook(ctx(t), workspace, paused.ID, webhooks.Patch{Active: ptr(true), UpdatedAt: engineEra}); err != nil {
		t.Fatal(err)
	}
	if got := mustClaimDue(t, s, claimParams(uuid.NewString(), now, 10, 10, 10)); len(got) != 0 {
		t.Errorf("cancelled deliveries claimed after reactivation: %v", claimedIDs(got))
	}
	for _, d := range gone {
		assertNotClaimed(t, s, d.ID, now)
		// Cancelling was not an attempt.
		r, err := s.RetryDelivery(ctx(t), workspace, paused.ID, d.ID, now)
		if err != nil {
			t.Fatal(err)
		}
		if r.Attempts != 0 {
			t.Errorf("Attempts of a cancelled delivery = %d, want 0", r.Attempts)
		}
	}
}

func testClaimDueExpiredLease(t *testing.T, s DeliveryStore) {
	hook := engineHook(t, s, uuid.NewString())
	ds := publishDue(t, s, hook, 1, engineEra, 0)
	now := engineEra.Add(time.Second)
	first := mustClaimDue(t, s, claimParams(uuid.NewString(), now, 10, 10, 10))
	assertClaimed(t, "first claim", first, ds[0])
	for _, at := range []time.Time{now, now.Add(lease / 2), now.Add(lease)} {
		if got := mustClaimDue(t, s, claimParams(uuid.NewString(), at, 10, 10, 10)); len(got) != 0 {
			t.Errorf("claimed at %v, inside the lease: %v", at, claimedIDs(got))
		}
	}
	later := now.Add(lease + time.Microsecond)
	again := mustClaimDue(t, s, claimParams(uuid.NewString(), later, 10, 1, 10))
	assertClaimed(t, "after the lease expired (limit 1: the expired lease is not in flight)", again, ds[0])
	if len(again) == 1 {
		if again[0].Delivery.Attempts != 2 {
			t.Errorf("Attempts after the second claim = %d, want 2", again[0].Delivery.Attempts)
		}
		UTCTime(t, "UpdatedAt", again[0].Delivery.UpdatedAt, later)
		// The first claim's outcome is stale now.
		results, err := s.RecordAttempts(ctx(t), []delivery.Outcome{outcome(&first[0], delivery.StatusSuccess, later, nil)}, nil)
		if err != nil || len(results) != 1 || !errors.Is(results[0], delivery.ErrNotClaimed) {
			t.Errorf("recording the expired claim = %v, %v; want [ErrNotClaimed]", results, err)
		}
	}
}

func testClaimDueConcurrent(t *testing.T, s DeliveryStore) {
	const perHook, limit, claimers = 10, 3, 8
	hooks := make(map[string]bool)
	for range 3 {
		hook := engineHook(t, s, uuid.NewString())
		publishDue(t, s, hook, perHook, engineEra, time.Millisecond)
		hooks[hook.ID] = true
	}
	now := engineEra.Add(time.Minute)
	results := make([][]delivery.Claim, claimers)
	errs := make([]error, claimers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range claimers {
		wg.Go(func() {
			<-start
			results[i], errs[i] = s.ClaimDue(ctx(t), claimParams(uuid.NewString(), now, 4, limit, 10))
		})
	}
	close(start)
	wg.Wait()
	seen := make(map[string]bool)
	perWebhook := make(map[string]int)
	for i, claims := range results {
		if errs[i] != nil {
			t.Fatalf("claimer %d: %v", i, errs[i])
		}
		for _, c := range claims {
			if seen[c.Delivery.ID] {
				t.Errorf("delivery %s claimed twice", c.Delivery.ID)
			}
			seen[c.Delivery.ID] = true
			if !hooks[c.Delivery.WebhookID] {
				t.Errorf("claimed a delivery of another webhook: %+v", c.Delivery)
			}
			perWebhook[c.Delivery.WebhookID]++
		}
	}
	for hook := range hooks {
		if perWebhook[hook] != limit {
			t.Errorf("webhook %s has %d claims in flight, want exactly its limit %d", hook, perWebhook[hook], limit)
		}
	}
}
