package storetest

// Claims: one winner, the target read with the claim, cancelling for paused
// webhooks, cascades from deleted webhooks, and the due list.

import (
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/gateway/webhooks"
)

func testClaim(t *testing.T, s DeliveryStore) {
	_, hook, d := mustPendingDelivery(t, s)

	assertNotClaimed(t, s, d.ID, base.Add(-time.Microsecond)) // not due yet

	now := base.Add(time.Second)
	c := mustClaim(t, s, d.ID, now)
	want := d
	want.Attempts = 1
	want.UpdatedAt = now
	assertDelivery(t, c.Delivery, want)

	assertNotClaimed(t, s, d.ID, now)              // leased
	assertNotClaimed(t, s, d.ID, now.Add(lease/2)) // leased
	assertNotClaimed(t, s, d.ID, now.Add(lease))   // the lease's last instant
	later := now.Add(lease + time.Microsecond)     // expired: the worker is presumed dead
	again := mustClaim(t, s, d.ID, later)
	if again.Delivery.Attempts != 2 {
		t.Errorf("Attempts after a second claim = %d, want 2", again.Delivery.Attempts)
	}
	UTCTime(t, "UpdatedAt", again.Delivery.UpdatedAt, later)

	// Finished deliveries are not claimable, however late.
	mustRecord(t, s, outcome(again, delivery.StatusSuccess, later.Add(time.Second), nil))
	assertNotClaimed(t, s, d.ID, later.Add(24*time.Hour))

	// A lease under a millisecond would let another worker in at once.
	d2 := mustPublishOne(t, s, hook, base)
	c2, err := s.ClaimDelivery(ctx(t), d2.ID, base, 0)
	assertPlainError(t, "ClaimDelivery with a zero lease", err)
	if c2 != nil {
		t.Errorf("a claim with the error: %+v", c2)
	}
	mustClaim(t, s, d2.ID, base)
}

func testClaimTarget(t *testing.T, s DeliveryStore) {
	workspace, hook, d := mustPendingDelivery(t, s)
	c := mustClaim(t, s, d.ID, base)
	wantTarget := delivery.Target{URL: hook.URL, Active: true, SecretCiphertext: hook.SecretCiphertext}
	if !reflect.DeepEqual(c.Target, wantTarget) {
		t.Errorf("Target = %+v, want %+v", c.Target, wantTarget)
	}

	// After a rotation the claim carries both secrets: the worker signs with
	// both during the overlap.
	expires := base.Add(24 * time.Hour)
	rotated, err := s.RotateSecret(ctx(t), workspace, hook.ID, hook.SecretCiphertext, "sealed:new", expires, base)
	if err != nil {
		t.Fatal(err)
	}
	d2 := mustPublishOne(t, s, hook, base)
	c2 := mustClaim(t, s, d2.ID, base)
	if c2.Target.SecretCiphertext != "sealed:new" || c2.Target.PreviousSecretCiphertext != hook.SecretCiphertext ||
		c2.Target.URL != rotated.URL || !c2.Target.Active {
		t.Errorf("Target after rotation = %+v", c2.Target)
	}
	UTCTimePtr(t, "PreviousSecretExpiresAt", c2.Target.PreviousSecretExpiresAt, &expires)
}

func testClaimUnknownOrMalformedID(t *testing.T, s DeliveryStore) {
	for _, id := range []string{uuid.NewString(), "", "dlv_1", "not-a-uuid", uuid.NewString() + "x"} {
		assertNotClaimed(t, s, id, base)
	}
}

func testConcurrentClaims(t *testing.T, s DeliveryStore) {
	_, _, d := mustPendingDelivery(t, s)

	const n = 10
	errs := make([]error, n)
	claims := make([]*delivery.Claim, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			claims[i], errs[i] = s.ClaimDelivery(ctx(t), d.ID, base.Add(time.Second), lease)
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
			if claims[i].Delivery.Attempts != 1 {
				t.Errorf("the winning claim has Attempts %d, want 1", claims[i].Delivery.Attempts)
			}
		case !errors.Is(err, delivery.ErrNotClaimed):
			t.Errorf("claim %d: %v, want ErrNotClaimed", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d concurrent claims won, want exactly 1", won, n)
	}
}

func testClaimCancelsForPausedWebhook(t *testing.T, s DeliveryStore) {
	workspace, hook, d := mustPendingDelivery(t, s)
	if _, err := s.UpdateWebhook(ctx(t), workspace, hook.ID, webhooks.Patch{Active: ptr(false), UpdatedAt: base}); err != nil {
		t.Fatal(err)
	}
	assertNotClaimed(t, s, d.ID, base)

	// Cancelled for good: making the webhook active again does not bring it
	// back, and it is not due.
	if _, err := s.UpdateWebhook(ctx(t), workspace, hook.ID, webhooks.Patch{Active: ptr(true), UpdatedAt: base}); err != nil {
		t.Fatal(err)
	}
	assertNotClaimed(t, s, d.ID, base.Add(time.Hour))
	due, err := s.DueDeliveries(ctx(t), base.Add(time.Hour), 1000)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(due, d.ID) {
		t.Error("DueDeliveries lists a cancelled delivery")
	}

	// The cancellation was not an attempt; a retry makes it pending again.
	r, err := s.RetryDelivery(ctx(t), workspace, hook.ID, d.ID, base.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if r.Attempts != 0 {
		t.Errorf("Attempts after a cancelled claim = %d, want 0", r.Attempts)
	}
	if c := mustClaim(t, s, d.ID, base.Add(time.Hour)); c.Delivery.Attempts != 1 {
		t.Errorf("Attempts = %d, want 1", c.Delivery.Attempts)
	}
}

func testDeletedWebhook(t *testing.T, s DeliveryStore) {
	workspace, hook := mustActiveHook(t, s)
	kept := mustHook(t, s, workspace, true, typeCreated)
	ds := mustPublish(t, s, newEvent(workspace, typeCreated, base))
	var gone, stays delivery.Delivery
	for _, d := range ds {
		if d.WebhookID == hook.ID {
			gone = d
		} else {
			stays = d
		}
	}
	c := mustClaim(t, s, gone.ID, base)
	next := base.Add(time.Minute)
	mustRecord(t, s, outcome(c, delivery.StatusPending, base.Add(time.Second), &next))
	c2 := mustClaim(t, s, gone.ID, next)

	if err := s.DeleteWebhook(ctx(t), workspace, hook.ID); err != nil {
		t.Fatal(err)
	}
	assertNotClaimed(t, s, gone.ID, next.Add(time.Hour))
	err := s.RecordAttempt(ctx(t), outcome(c2, delivery.StatusSuccess, next.Add(time.Second), nil))
	if !errors.Is(err, delivery.ErrNotFound) {
		t.Errorf("RecordAttempt after the webhook was deleted = %v, want ErrNotFound", err)
	}
	if _, err := s.RetryDelivery(ctx(t), workspace, hook.ID, gone.ID, next); !errors.Is(err, delivery.ErrNotFound) {
		t.Errorf("RetryDelivery after the webhook was deleted = %v, want ErrNotFound", err)
	}
	if _, _, err := s.ListAttempts(ctx(t), workspace, hook.ID, "", 0, 10); !errors.Is(err, delivery.ErrNotFound) {
		t.Errorf("ListAttempts after the webhook was deleted = %v, want ErrNotFound", err)
	}
	due, err := s.DueDeliveries(ctx(t), next.Add(time.Hour), 1000)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(due, gone.ID) {
		t.Error("DueDeliveries lists a delivery of a deleted webhook")
	}
	// The other webhook's delivery of the same event is untouched.
	mustClaim(t, s, stays.ID, base)
	if _, err := s.RetryDelivery(ctx(t), workspace, kept.ID, stays.ID, base); err != nil {
		t.Errorf("RetryDelivery of the other webhook's delivery: %v", err)
	}
}

func testDueDeliveries(t *testing.T, s DeliveryStore) {
	_, hook := mustActiveHook(t, s)
	// Published out of order: the oldest comes first.
	third := mustPublishOne(t, s, hook, dueEra.Add(2*time.Second))
	first := mustPublishOne(t, s, hook, dueEra)
	second := mustPublishOne(t, s, hook, dueEra.Add(time.Second))
	leased := mustPublishOne(t, s, hook, dueEra.Add(500*time.Millisecond))
	later := mustPublishOne(t, s, hook, dueEra.Add(time.Minute))
	done := mustPublishOne(t, s, hook, dueEra.Add(100*time.Millisecond))
	mustRecord(t, s, outcome(mustClaim(t, s, done.ID, dueEra.Add(time.Second)), delivery.StatusSuccess, dueEra.Add(time.Second), nil))
	mustClaim(t, s, leased.ID, dueEra.Add(time.Second)) // leased until +31 s

	due := func(now time.Time, limit int) []string {
		t.Helper()
		ids, err := s.DueDeliveries(ctx(t), now, limit)
		if err != nil {
			t.Fatalf("DueDeliveries: %v", err)
		}
		if ids == nil {
			t.Error("DueDeliveries returned nil")
		}
		return ids
	}
	now := dueEra.Add(5 * time.Second)
	if got, want := due(now, 100), []string{first.ID, second.ID, third.ID}; !slices.Equal(got, want) {
		t.Errorf("due at +5 s: %v, want %v (oldest first; not the leased, later or finished ones)", got, want)
	}
	if got, want := due(now, 2), []string{first.ID, second.ID}; !slices.Equal(got, want) {
		t.Errorf("limit 2: %v, want %v", got, want)
	}
	if got := due(now, 0); len(got) != 0 {
		t.Errorf("limit 0: %v", got)
	}
	if got, want := due(dueEra.Add(time.Second), 100), []string{first.ID, second.ID}; !slices.Equal(got, want) {
		t.Errorf("due exactly at +1 s: %v, want %v", got, want)
	}
	// The lease ends at +31 s: due only after that; the later one at +60 s.
	if got, want := due(dueEra.Add(lease+time.Second), 100), []string{first.ID, second.ID, third.ID}; !slices.Equal(got, want) {
		t.Errorf("at the lease's end: %v, want %v", got, want)
	}
	expired := dueEra.Add(time.Minute)
	if got, want := due(expired, 100), []string{first.ID, leased.ID, second.ID, third.ID, later.ID}; !slices.Equal(got, want) {
		t.Errorf("after the lease: %v, want %v", got, want)
	}
}
