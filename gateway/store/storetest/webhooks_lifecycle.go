package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/leadlex/api-gateway/gateway/webhooks"
)

// later is a time after base, again outside UTC and with microseconds, for
// UpdatedAt values and rotation times.
var later = time.Date(2026, 11, 28, 7, 45, 30, 654321000, time.FixedZone("UTC-3", -3*60*60))

// mustUpdate applies p and fails the test on error.
func mustUpdate(t *testing.T, s webhooks.Store, workspace, id string, p webhooks.Patch) *webhooks.Webhook {
	t.Helper()
	got, err := s.UpdateWebhook(ctx(t), workspace, id, p)
	if err != nil {
		t.Fatalf("UpdateWebhook(%s): %v", id, err)
	}
	return got
}

// mustRotate rotates the secret from the current one and fails the test on
// error.
func mustRotate(t *testing.T, s webhooks.Store, workspace, id, ciphertext string, expires, now time.Time) *webhooks.Webhook {
	t.Helper()
	current := mustGet(t, s, workspace, id)
	got, err := s.RotateSecret(ctx(t), workspace, id, current.SecretCiphertext, ciphertext, expires, now)
	if err != nil {
		t.Fatalf("RotateSecret(%s): %v", id, err)
	}
	return got
}

// assertGone checks that the workspace has no webhook with id.
func assertGone(t *testing.T, s webhooks.Store, workspace, id string) {
	t.Helper()
	if got, err := s.GetWebhook(ctx(t), workspace, id); !errors.Is(err, webhooks.ErrNotFound) {
		t.Fatalf("GetWebhook after delete = %v, %v; want ErrNotFound", got, err)
	}
}

// stored returns what the store gives back for w right after creating it:
// the caller's values, with the times the store owns.
func stored(w *webhooks.Webhook) *webhooks.Webhook {
	c := *w
	c.Events = slices.Clone(w.Events)
	c.UpdatedAt = w.CreatedAt
	c.PreviousSecretCiphertext = ""
	c.PreviousSecretExpiresAt = nil
	c.LastDeliveryStatus = nil
	c.LastDeliveryAt = nil
	return &c
}

// foreignIDs are ids under which a webhook of workspace must not be found
// (besides ids from another workspace, which the tests add themselves).
func foreignIDs(workspace, id string) []struct{ name, workspace, id string } {
	return []struct{ name, workspace, id string }{
		{"unknown id", workspace, uuid.NewString()},
		{"malformed id", workspace, "not-a-uuid"},
		{"empty id", workspace, ""},
		{"id with trailing junk", workspace, id + "x"},
		{"SQL in id", workspace, "' or '1'='1"},
		{"malformed workspace", "not-a-uuid", id},
	}
}

// forEachForeignID creates a webhook on host and, in a subtest for each id
// in foreignIDs and for its id in another workspace, runs call, which must
// find nothing; the webhook must then be as it was created.
func forEachForeignID(t *testing.T, s webhooks.Store, host string, call func(t *testing.T, w *webhooks.Webhook, workspace, id string)) {
	t.Helper()
	workspace, other := uuid.NewString(), uuid.NewString()
	w := newWebhook(workspace, host, base)
	mustCreateHook(t, s, w, 10)
	want := stored(w)

	tests := append(foreignIDs(workspace, w.ID),
		struct{ name, workspace, id string }{"another workspace", other, w.ID})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			call(t, w, tc.workspace, tc.id)
			assertSameWebhook(t, mustGet(t, s, workspace, w.ID), want)
		})
	}
}

func testCreateLeavesNoPreviousSecret(t *testing.T, s webhooks.Store) {
	// gateway_create_webhook has no parameters for the previous secret: a
	// new webhook has none, whatever the caller put in the struct.
	workspace := uuid.NewString()
	w := newWebhook(workspace, "no-previous.example", base)
	w.PreviousSecretCiphertext = "stale"
	w.PreviousSecretExpiresAt = ptr(base.Add(time.Hour))
	want := stored(w)
	mustCreateHook(t, s, w, 10)

	got := mustGet(t, s, workspace, want.ID)
	if got.PreviousSecretCiphertext != "" || got.PreviousSecretExpiresAt != nil {
		t.Errorf("GetWebhook: previous secret %q expiring %v, want none", got.PreviousSecretCiphertext, got.PreviousSecretExpiresAt)
	}
	assertSameWebhook(t, got, want)
	page, _ := mustListHooks(t, s, workspace, 0, 10)
	if len(page) != 1 {
		t.Fatalf("ListWebhooks = %d items, want 1", len(page))
	}
	assertSameWebhook(t, &page[0], want)
}

func testUpdateEachField(t *testing.T, s webhooks.Store) {
	workspace := uuid.NewString()
	tests := []struct {
		name  string
		patch webhooks.Patch
		apply func(w *webhooks.Webhook)
	}{
		{
			name:  "url",
			patch: webhooks.Patch{URL: ptr("HTTPS://Moved.example:443/in"), URLKey: ptr("https://moved.example/in")},
			apply: func(w *webhooks.Webhook) {
				w.URL, w.URLKey = "HTTPS://Moved.example:443/in", "https://moved.example/in"
			},
		},
		{
			name:  "events",
			patch: webhooks.Patch{Events: []string{"lead.deleted", "call.ended"}},
			apply: func(w *webhooks.Webhook) { w.Events = []string{"lead.deleted", "call.ended"} },
		},
		{
			name:  "description",
			patch: webhooks.Patch{Description: ptr("Billing — EU")},
			apply: func(w *webhooks.Webhook) { w.Description = "Billing — EU" },
		},
		{
			name:  "description cleared",
			patch: webhooks.Patch{Description: ptr("")},
			apply: func(w *webhooks.Webhook) { w.Description = "" },
		},
		{
			name:  "active",
			patch: webhooks.Patch{Active: ptr(false)},
			apply: func(w *webhooks.Webhook) { w.Active = false },
		},
		{
			name: "all together",
			patch: webhooks.Patch{
				URL: ptr("https://all.example/new"), URLKey: ptr("https://all.example/new"),
				Events: []string{"call.ended"}, Description: ptr("everything"), Active: ptr(false),
			},
			apply: func(w *webhooks.Webhook) {
				w.URL, w.URLKey = "https://all.example/new", "https://all.example/new"
				w.Events = []string{"call.ended"}
				w.Description = "everything"
				w.Active = false
			},
		},
		{
			name:  "nothing but the time",
			apply: func(*webhooks.Webhook) {},
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWebhook(workspace, fmt.Sprintf("update-%d.example", i), base)
			w.Events = []string{"lead.created", "lead.updated"}
			want := stored(w)
			mustCreateHook(t, s, w, 100)

			p := tc.patch
			p.UpdatedAt = later
			tc.apply(want)
			want.UpdatedAt = later
			got := mustUpdate(t, s, workspace, want.ID, p)
			assertSameWebhook(t, got, want)
			assertSameWebhook(t, mustGet(t, s, workspace, want.ID), want)
		})
	}
}

func testUpdateKeepsSecrets(t *testing.T, s webhooks.Store) {
	workspace := uuid.NewString()
	w := newWebhook(workspace, "keeps-secrets.example", base)
	w.SecretCiphertext = "first"
	mustCreateHook(t, s, w, 10)
	want := mustRotate(t, s, workspace, w.ID, "second", later.Add(24*time.Hour), later)

	at := later.Add(time.Minute)
	got := mustUpdate(t, s, workspace, w.ID, webhooks.Patch{
		URL: ptr("https://keeps-secrets.example/v2"), URLKey: ptr("https://keeps-secrets.example/v2"),
		Events: []string{"call.ended"}, Description: ptr("v2"), Active: ptr(false), UpdatedAt: at,
	})
	want.URL, want.URLKey = "https://keeps-secrets.example/v2", "https://keeps-secrets.example/v2"
	want.Events = []string{"call.ended"}
	want.Description = "v2"
	want.Active = false
	want.UpdatedAt = at
	assertSameWebhook(t, got, want)
	assertSameWebhook(t, mustGet(t, s, workspace, w.ID), want)
}

func testUpdateReturnsCopies(t *testing.T, s webhooks.Store) {
	workspace := uuid.NewString()
	w := newWebhook(workspace, "update-copies.example", base)
	mustCreateHook(t, s, w, 10)

	p := webhooks.Patch{Events: []string{"a", "b"}, UpdatedAt: later}
	want := stored(w)
	want.Events = []string{"a", "b"}
	want.UpdatedAt = later
	got := mustUpdate(t, s, workspace, w.ID, p)

	// Neither the patch nor the result may alias what the store keeps.
	p.Events[0] = "mutated-patch"
	got.Events[1] = "mutated-result"
	assertSameWebhook(t, mustGet(t, s, workspace, w.ID), want)
}

func testUpdateDuplicateURLKey(t *testing.T, s webhooks.Store) {
	workspace, other := uuid.NewString(), uuid.NewString()
	taken := newWebhook(workspace, "taken.example", base)
	mover := newWebhook(workspace, "mover.example", base)
	foreign := newWebhook(other, "foreign.example", base)
	for _, w := range []*webhooks.Webhook{taken, mover, foreign} {
		mustCreateHook(t, s, w, 10)
	}
	wantMover := stored(mover)

	t.Run("key of another webhook", func(t *testing.T) {
		// The check is on the key: a different spelling of the same URL
		// is still a duplicate.
		got, err := s.UpdateWebhook(ctx(t), workspace, mover.ID, webhooks.Patch{
			URL: ptr("HTTPS://TAKEN.example:443/hook"), URLKey: ptr(taken.URLKey),
			Description: ptr("must not be applied"), UpdatedAt: later,
		})
		if !errors.Is(err, webhooks.ErrDuplicateURL) {
			t.Fatalf("UpdateWebhook = %v, %v; want ErrDuplicateURL", got, err)
		}
		assertSameWebhook(t, mustGet(t, s, workspace, mover.ID), wantMover)
		assertSameWebhook(t, mustGet(t, s, workspace, taken.ID), stored(taken))
	})

	t.Run("its own key", func(t *testing.T) {
		got := mustUpdate(t, s, workspace, mover.ID, webhooks.Patch{
			URL: ptr("HTTPS://Mover.example/hook"), URLKey: ptr(mover.URLKey), UpdatedAt: later,
		})
		wantMover.URL = "HTTPS://Mover.example/hook"
		wantMover.UpdatedAt = later
		assertSameWebhook(t, got, wantMover)
	})

	t.Run("key used in another workspace only", func(t *testing.T) {
		got := mustUpdate(t, s, other, foreign.ID, webhooks.Patch{
			URL: ptr(taken.URL), URLKey: ptr(taken.URLKey), UpdatedAt: later,
		})
		want := stored(foreign)
		want.URL, want.URLKey, want.UpdatedAt = taken.URL, taken.URLKey, later
		assertSameWebhook(t, got, want)
	})
}

func testUpdateUnknownOrForeignID(t *testing.T, s webhooks.Store) {
	forEachForeignID(t, s, "update-owner.example", func(t *testing.T, _ *webhooks.Webhook, workspace, id string) {
		got, err := s.UpdateWebhook(ctx(t), workspace, id, webhooks.Patch{
			URL: ptr("https://hijack.example"), URLKey: ptr("https://hijack.example"),
			Events: []string{"call.ended"}, Description: ptr("hijacked"), Active: ptr(false), UpdatedAt: later,
		})
		if !errors.Is(err, webhooks.ErrNotFound) {
			t.Fatalf("UpdateWebhook(%q, %q) = %v, %v; want ErrNotFound", workspace, id, got, err)
		}
	})
}

func testUpdateRefusesInvalidValues(t *testing.T, s webhooks.Store) {
	// What the table's check constraints refuse on insert they refuse on
	// update too, and a refused update changes nothing.
	workspace := uuid.NewString()
	w := newWebhook(workspace, "invalid-update.example", base)
	mustCreateHook(t, s, w, 10)
	want := stored(w)

	tests := []struct {
		name  string
		patch webhooks.Patch
	}{
		{"empty events", webhooks.Patch{Events: []string{}, Description: ptr("x")}},
		{"description over 200 characters", webhooks.Patch{Description: ptr(strings.Repeat("é", 201)), Active: ptr(false)}},
		{"url over 2048 characters", webhooks.Patch{URL: ptr("https://e.com/" + strings.Repeat("é", 2035)), URLKey: ptr("https://e.com/long")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.patch
			p.UpdatedAt = later
			got, err := s.UpdateWebhook(ctx(t), workspace, w.ID, p)
			if err == nil || errors.Is(err, webhooks.ErrNotFound) || errors.Is(err, webhooks.ErrDuplicateURL) {
				t.Fatalf("UpdateWebhook = %v, %v; want a plain error", got, err)
			}
			assertSameWebhook(t, mustGet(t, s, workspace, w.ID), want)
		})
	}
}

func testConcurrentUpdatesToOneURL(t *testing.T, s webhooks.Store) {
	const n = 10
	workspace := uuid.NewString()
	hooks := make([]*webhooks.Webhook, n)
	for i := range hooks {
		hooks[i] = newWebhook(workspace, fmt.Sprintf("converge-%d.example", i), base)
		mustCreateHook(t, s, hooks[i], n)
	}
	const target = "https://converge.example/hook"

	c := ctx(t)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, w := range hooks {
		wg.Go(func() {
			<-start
			_, errs[i] = s.UpdateWebhook(c, workspace, w.ID, webhooks.Patch{
				URL: ptr(target), URLKey: ptr(target), UpdatedAt: later,
			})
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	dups := 0
	for i, err := range errs {
		switch {
		case err == nil:
			winner = i
		case errors.Is(err, webhooks.ErrDuplicateURL):
			dups++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if dups != n-1 || winner < 0 {
		t.Fatalf("%d ErrDuplicateURL of %d updates, want exactly one success", dups, n)
	}
	for i, w := range hooks {
		want := stored(w)
		if i == winner {
			want.URL, want.URLKey, want.UpdatedAt = target, target, later
		}
		assertSameWebhook(t, mustGet(t, s, workspace, w.ID), want)
	}
}

func testDelete(t *testing.T, s webhooks.Store) {
	const limit = 2
	workspace := uuid.NewString()
	doomed := newWebhook(workspace, "doomed.example", base)
	kept := newWebhook(workspace, "kept.example", base)
	mustCreateHook(t, s, doomed, limit)
	mustCreateHook(t, s, kept, limit)

	if err := s.DeleteWebhook(ctx(t), workspace, doomed.ID); err != nil {
		t.Fatalf("DeleteWebhook: %v", err)
	}
	assertGone(t, s, workspace, doomed.ID)
	if err := s.DeleteWebhook(ctx(t), workspace, doomed.ID); !errors.Is(err, webhooks.ErrNotFound) {
		t.Fatalf("second DeleteWebhook = %v, want ErrNotFound", err)
	}
	assertSameWebhook(t, mustGet(t, s, workspace, kept.ID), stored(kept))
	if page, total := mustListHooks(t, s, workspace, 0, 10); total != 1 || len(page) != 1 || page[0].ID != kept.ID {
		t.Fatalf("ListWebhooks = %v, total %d; want only %s", ids(page), total, kept.ID)
	}

	// The row is really gone: its URL and its place under the limit are free.
	mustCreateHook(t, s, newWebhook(workspace, "doomed.example", base), limit)
}

func testDeleteUnknownOrForeignID(t *testing.T, s webhooks.Store) {
	forEachForeignID(t, s, "delete-owner.example", func(t *testing.T, _ *webhooks.Webhook, workspace, id string) {
		if err := s.DeleteWebhook(ctx(t), workspace, id); !errors.Is(err, webhooks.ErrNotFound) {
			t.Fatalf("DeleteWebhook(%q, %q) = %v, want ErrNotFound", workspace, id, err)
		}
	})
}

func testRotateSecret(t *testing.T, s webhooks.Store) {
	workspace := uuid.NewString()
	w := newWebhook(workspace, "rotate.example", base)
	w.SecretCiphertext = "secret-0"
	mustCreateHook(t, s, w, 10)
	want := stored(w)

	rotations := []struct {
		ciphertext   string
		now, expires time.Time
		previous     string
	}{
		{"secret-1", later, later.Add(24 * time.Hour), "secret-0"},
		// The second rotation, once the first overlap is over, moves the
		// first rotation's secret into the previous slot; the original one
		// is gone.
		{"secret-2", later.Add(24 * time.Hour), later.Add(25 * time.Hour), "secret-1"},
		// A rotation that ends the overlap at once may come at any time.
		{"secret-3", later.Add(24*time.Hour + time.Minute), later.Add(24*time.Hour + time.Minute), "secret-2"},
		{"secret-4", later.Add(24*time.Hour + 2*time.Minute), later.Add(24 * time.Hour), "secret-3"},
	}
	for i, r := range rotations {
		t.Run(fmt.Sprintf("rotation %d", i+1), func(t *testing.T) {
			got := mustRotate(t, s, workspace, w.ID, r.ciphertext, r.expires, r.now)
			want.SecretCiphertext = r.ciphertext
			want.PreviousSecretCiphertext = r.previous
			want.PreviousSecretExpiresAt = ptr(r.expires)
			want.UpdatedAt = r.now
			assertSameWebhook(t, got, want)
			assertSameWebhook(t, mustGet(t, s, workspace, w.ID), want)
			page, _ := mustListHooks(t, s, workspace, 0, 10)
			if len(page) != 1 {
				t.Fatalf("ListWebhooks = %d items, want 1", len(page))
			}
			assertSameWebhook(t, &page[0], want)

			// The result must not alias what the store keeps.
			*got.PreviousSecretExpiresAt = base
			got.Events[0] = "mutated-result"
			assertSameWebhook(t, mustGet(t, s, workspace, w.ID), want)
		})
	}
}

func testRotateUnknownOrForeignID(t *testing.T, s webhooks.Store) {
	forEachForeignID(t, s, "rotate-owner.example", func(t *testing.T, w *webhooks.Webhook, workspace, id string) {
		got, err := s.RotateSecret(ctx(t), workspace, id, w.SecretCiphertext, "stolen", later.Add(time.Hour), later)
		if !errors.Is(err, webhooks.ErrNotFound) {
			t.Fatalf("RotateSecret(%q, %q) = %v, %v; want ErrNotFound", workspace, id, got, err)
		}
	})
}

func testConcurrentRotations(t *testing.T, s webhooks.Store) {
	// Twenty rotations that all read the same current secret overlap:
	// exactly one applies, the others get ErrRotationConflict and change
	// nothing, so the winner's secret is current and the original one is
	// still the previous secret, for the winner's overlap.
	const n = 20
	workspace := uuid.NewString()
	w := newWebhook(workspace, "rotate-race.example", base)
	w.SecretCiphertext = "secret-0"
	mustCreateHook(t, s, w, 10)

	c := ctx(t)
	results := make([]*webhooks.Webhook, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			results[i], errs[i] = s.RotateSecret(c, workspace, w.ID, "secret-0", fmt.Sprintf("secret-%d", i+1), later.Add(time.Hour), later)
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("rotations %d and %d both applied", winner+1, i+1)
		case err == nil:
			winner = i
		case !errors.Is(err, webhooks.ErrRotationConflict):
			t.Fatalf("rotation %d: %v, want nil or ErrRotationConflict", i+1, err)
		}
	}
	if winner < 0 {
		t.Fatal("no rotation applied")
	}
	want := fmt.Sprintf("secret-%d", winner+1)
	final := mustGet(t, s, workspace, w.ID)
	if final.SecretCiphertext != want || final.PreviousSecretCiphertext != "secret-0" || results[winner].SecretCiphertext != want {
		t.Fatalf("after the race: current %q previous %q (returned %q); want %q and secret-0",
			final.SecretCiphertext, final.PreviousSecretCiphertext, results[winner].SecretCiphertext, want)
	}
	if final.PreviousSecretExpiresAt == nil || !final.PreviousSecretExpiresAt.Equal(later.Add(time.Hour)) {
		t.Errorf("previous secret expires at %v, want %v", final.PreviousSecretExpiresAt, later.Add(time.Hour))
	}
}

func testRotateDuringOverlap(t *testing.T, s webhooks.Store) {
	// While an earlier rotation's previous secret is valid, another rotation
	// with an overlap is refused (it would push that secret out early);
	// one that ends every overlap now is not.
	workspace := uuid.NewString()
	w := newWebhook(workspace, "rotate-overlap.example", base)
	w.SecretCiphertext = "secret-0"
	mustCreateHook(t, s, w, 10)
	first := mustRotate(t, s, workspace, w.ID, "secret-1", later.Add(time.Hour), later)
	for _, at := range []time.Time{later, later.Add(59 * time.Minute)} {
		got, err := s.RotateSecret(ctx(t), workspace, w.ID, "secret-1", "secret-x", at.Add(time.Hour), at)
		if !errors.Is(err, webhooks.ErrRotationConflict) {
			t.Fatalf("rotation at %s during the overlap = %v, %v; want ErrRotationConflict", at, got, err)
		}
		assertSameWebhook(t, mustGet(t, s, workspace, w.ID), first)
	}
	// The overlap has ended at its expiry.
	mustRotate(t, s, workspace, w.ID, "secret-2", later.Add(2*time.Hour), later.Add(time.Hour))
	// During the new overlap, a rotation that ends it now applies.
	got := mustRotate(t, s, workspace, w.ID, "secret-3", later.Add(time.Hour+time.Minute), later.Add(time.Hour+time.Minute))
	if got.SecretCiphertext != "secret-3" || got.PreviousSecretCiphertext != "secret-2" {
		t.Errorf("rotation ending the overlap: current %q previous %q", got.SecretCiphertext, got.PreviousSecretCiphertext)
	}
}

func testRotateFromStaleSecret(t *testing.T, s webhooks.Store) {
	// A rotation that read a secret which is no longer current changes
	// nothing, also after sequential rotations.
	workspace := uuid.NewString()
	w := newWebhook(workspace, "rotate-stale.example", base)
	w.SecretCiphertext = "secret-0"
	mustCreateHook(t, s, w, 10)
	first := mustRotate(t, s, workspace, w.ID, "secret-1", later, later)
	for _, stale := range []string{"secret-0", "", "secret-2"} {
		got, err := s.RotateSecret(ctx(t), workspace, w.ID, stale, "secret-x", later.Add(2*time.Hour), later.Add(time.Minute))
		if !errors.Is(err, webhooks.ErrRotationConflict) {
			t.Fatalf("RotateSecret expecting %q = %v, %v; want ErrRotationConflict", stale, got, err)
		}
		assertSameWebhook(t, mustGet(t, s, workspace, w.ID), first)
	}
}
