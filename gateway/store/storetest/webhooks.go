package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/leadlex/api-gateway/gateway/webhooks"
)

// RunWebhooks runs the webhooks.Store suite. newStore is called once per subtest and must return a
// store that holds no webhooks of the workspaces the subtest creates; since
// every subtest uses fresh random workspace ids, returning one shared store is
// also fine. Subtests run one after the other.
func RunWebhooks(t *testing.T, newStore func(t *testing.T) webhooks.Store) {
	t.Helper()
	runSuite(t, newStore, []suiteCase[webhooks.Store]{
		{"CreateGetRoundTrip", testCreateGetRoundTrip},
		{"ReturnsCopies", testWebhooksReturnCopies},
		{"GetFromOtherWorkspace", testGetFromOtherWorkspace},
		{"GetUnknownOrMalformedID", testGetUnknownOrMalformedID},
		{"DuplicateURLKey", testDuplicateURLKey},
		{"Limit", testLimit},
		{"ConcurrentDuplicateCreates", testConcurrentDuplicateCreates},
		{"ConcurrentCreatesAtLimit", testConcurrentCreatesAtLimit},
		{"ListOrder", testListOrder},
		{"ListPaging", testListPaging},
		{"CreateLeavesNoPreviousSecret", testCreateLeavesNoPreviousSecret},
		{"UpdateEachField", testUpdateEachField},
		{"UpdateKeepsSecrets", testUpdateKeepsSecrets},
		{"UpdateReturnsCopies", testUpdateReturnsCopies},
		{"UpdateDuplicateURLKey", testUpdateDuplicateURLKey},
		{"UpdateUnknownOrForeignID", testUpdateUnknownOrForeignID},
		{"UpdateRefusesInvalidValues", testUpdateRefusesInvalidValues},
		{"ConcurrentUpdatesToOneURL", testConcurrentUpdatesToOneURL},
		{"Delete", testDelete},
		{"DeleteUnknownOrForeignID", testDeleteUnknownOrForeignID},
		{"RotateSecret", testRotateSecret},
		{"RotateUnknownOrForeignID", testRotateUnknownOrForeignID},
		{"ConcurrentRotations", testConcurrentRotations},
		{"RotateFromStaleSecret", testRotateFromStaleSecret},
		{"RotateDuringOverlap", testRotateDuringOverlap},
	})
}

// newWebhook returns a valid webhook in workspace with a fresh id.
func newWebhook(workspace, urlKey string, createdAt time.Time) *webhooks.Webhook {
	return &webhooks.Webhook{
		ID:               uuid.NewString(),
		WorkspaceID:      workspace,
		URL:              "https://" + urlKey + "/hook",
		URLKey:           "https://" + urlKey + "/hook",
		Events:           []string{"lead.created"},
		Description:      "test webhook",
		Active:           true,
		SecretCiphertext: "ciphertext",
		CreatedAt:        createdAt,
		UpdatedAt:        createdAt,
	}
}

// mustCreateHook creates w with the given limit and fails the test on error.
func mustCreateHook(t *testing.T, s webhooks.Store, w *webhooks.Webhook, limit int) {
	t.Helper()
	if err := s.CreateWebhook(ctx(t), w, limit); err != nil {
		t.Fatalf("CreateWebhook(%s): %v", w.URLKey, err)
	}
}

// mustGet fetches a webhook and fails the test on error.
func mustGet(t *testing.T, s webhooks.Store, workspace, id string) *webhooks.Webhook {
	t.Helper()
	got, err := s.GetWebhook(ctx(t), workspace, id)
	if err != nil {
		t.Fatalf("GetWebhook(%s): %v", id, err)
	}
	return got
}

// mustListHooks lists a page and fails the test on error.
func mustListHooks(t *testing.T, s webhooks.Store, workspace string, offset, limit int) ([]webhooks.Webhook, int) {
	t.Helper()
	page, total, err := s.ListWebhooks(ctx(t), workspace, offset, limit)
	if err != nil {
		t.Fatalf("ListWebhooks(offset %d, limit %d): %v", offset, limit, err)
	}
	return page, total
}

// assertSameWebhook compares every field; times must be the same instant and
// in UTC, because the API renders them as they come from the store.
func assertSameWebhook(t *testing.T, got, want *webhooks.Webhook) {
	t.Helper()
	if got == nil {
		t.Fatal("got nil webhook")
	}
	Fields(t, []Field{
		F("ID", got.ID, want.ID),
		F("WorkspaceID", got.WorkspaceID, want.WorkspaceID),
		F("URL", got.URL, want.URL),
		F("URLKey", got.URLKey, want.URLKey),
		F("Description", got.Description, want.Description),
		F("Active", got.Active, want.Active),
		F("SecretCiphertext", got.SecretCiphertext, want.SecretCiphertext),
		F("PreviousSecretCiphertext", got.PreviousSecretCiphertext, want.PreviousSecretCiphertext),
	})
	if !slices.Equal(got.Events, want.Events) {
		t.Errorf("Events = %q, want %q (order must be kept)", got.Events, want.Events)
	}
	UTCTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	UTCTime(t, "UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	UTCTimePtr(t, "PreviousSecretExpiresAt", got.PreviousSecretExpiresAt, want.PreviousSecretExpiresAt)
	PtrField(t, "LastDeliveryStatus", got.LastDeliveryStatus, want.LastDeliveryStatus)
	UTCTimePtr(t, "LastDeliveryAt", got.LastDeliveryAt, want.LastDeliveryAt)
}

// ids returns the ids of a page, for readable failure messages.
func ids(page []webhooks.Webhook) []string {
	out := make([]string, len(page))
	for i, w := range page {
		out[i] = w.ID
	}
	return out
}

func testCreateGetRoundTrip(t *testing.T, s webhooks.Store) {
	workspace := uuid.NewString()
	w := newWebhook(workspace, "round-trip.example", base)
	w.URL = "HTTPS://Round-Trip.example:443/hook?a=1"
	// Deliberately not sorted: the store must keep the client's order.
	w.Events = []string{"lead.updated", "lead.created", "call.ended"}
	w.Description = "CRM sync — production"
	w.Active = false
	w.SecretCiphertext = "v1:nonce:sealed"
	mustCreateHook(t, s, w, 10)

	got := mustGet(t, s, workspace, w.ID)
	assertSameWebhook(t, got, w)

	page, total := mustListHooks(t, s, workspace, 0, 10)
	if total != 1 || len(page) != 1 {
		t.Fatalf("ListWebhooks = %d items, total %d; want 1, 1", len(page), total)
	}
	assertSameWebhook(t, &page[0], w)
}

func testWebhooksReturnCopies(t *testing.T, s webhooks.Store) {
	workspace := uuid.NewString()
	w := newWebhook(workspace, "copies.example", base)
	w.Events = []string{"a", "b"}
	want := *w
	want.Events = slices.Clone(w.Events)
	mustCreateHook(t, s, w, 10)

	// Neither the value passed in nor the values handed out may alias what
	// the store keeps.
	w.Events[0] = "mutated-input"
	w.URL = "https://mutated.example"
	got := mustGet(t, s, workspace, w.ID)
	got.Events[1] = "mutated-get"
	page, _ := mustListHooks(t, s, workspace, 0, 10)
	page[0].Events[0] = "mutated-list"

	assertSameWebhook(t, mustGet(t, s, workspace, w.ID), &want)
}

func testGetFromOtherWorkspace(t *testing.T, s webhooks.Store) {
	owner, other := uuid.NewString(), uuid.NewString()
	w := newWebhook(owner, "owner.example", base)
	mustCreateHook(t, s, w, 10)

	_, err := s.GetWebhook(ctx(t), other, w.ID)
	if !errors.Is(err, webhooks.ErrNotFound) {
		t.Fatalf("GetWebhook from another workspace: err = %v, want ErrNotFound", err)
	}
}

func testGetUnknownOrMalformedID(t *testing.T, s webhooks.Store) {
	workspace := uuid.NewString()
	w := newWebhook(workspace, "known.example", base)
	mustCreateHook(t, s, w, 10)

	tests := []struct {
		name, workspace, id string
	}{
		{"unknown id", workspace, uuid.NewString()},
		{"malformed id", workspace, "not-a-uuid"},
		{"empty id", workspace, ""},
		{"id with trailing junk", workspace, w.ID + "x"},
		{"SQL in id", workspace, "' or '1'='1"},
		{"malformed workspace", "not-a-uuid", w.ID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.GetWebhook(ctx(t), tc.workspace, tc.id)
			if !errors.Is(err, webhooks.ErrNotFound) {
				t.Fatalf("GetWebhook(%q, %q) = %v, %v; want ErrNotFound", tc.workspace, tc.id, got, err)
			}
		})
	}
}

func testDuplicateURLKey(t *testing.T, s webhooks.Store) {
	workspace, other := uuid.NewString(), uuid.NewString()
	first := newWebhook(workspace, "dup.example", base)
	mustCreateHook(t, s, first, 10)

	tests := []struct {
		name      string
		workspace string
		url       string
		wantErr   error
	}{
		// Uniqueness is on the normalised key, not on the URL as typed.
		{"same key, different spelling", workspace, "HTTPS://DUP.example:443/hook", webhooks.ErrDuplicateURL},
		{"same key, same spelling", workspace, first.URL, webhooks.ErrDuplicateURL},
		{"same key in another workspace", other, first.URL, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWebhook(tc.workspace, "dup.example", base)
			w.URL = tc.url
			err := s.CreateWebhook(ctx(t), w, 10)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("CreateWebhook = %v, want %v", err, tc.wantErr)
			}
			_, getErr := s.GetWebhook(ctx(t), tc.workspace, w.ID)
			if stored := getErr == nil; stored != (tc.wantErr == nil) {
				t.Fatalf("after CreateWebhook = %v, GetWebhook = %v", err, getErr)
			}
		})
	}
	if _, total := mustListHooks(t, s, workspace, 0, 10); total != 1 {
		t.Fatalf("workspace holds %d webhooks, want 1", total)
	}
}

func testLimit(t *testing.T, s webhooks.Store) {
	const limit = 2
	workspace, other := uuid.NewString(), uuid.NewString()
	for i := range limit {
		mustCreateHook(t, s, newWebhook(workspace, fmt.Sprintf("limit-%d.example", i), base), limit)
	}

	over := newWebhook(workspace, "limit-over.example", base)
	if err := s.CreateWebhook(ctx(t), over, limit); !errors.Is(err, webhooks.ErrLimitReached) {
		t.Fatalf("create past the limit: err = %v, want ErrLimitReached", err)
	}
	if _, err := s.GetWebhook(ctx(t), workspace, over.ID); !errors.Is(err, webhooks.ErrNotFound) {
		t.Fatalf("refused webhook was stored: GetWebhook err = %v", err)
	}
	if _, total := mustListHooks(t, s, workspace, 0, 10); total != limit {
		t.Fatalf("workspace holds %d webhooks, want %d", total, limit)
	}

	// The limit is per workspace, and the caller may raise it.
	mustCreateHook(t, s, newWebhook(other, "limit-other.example", base), limit)
	mustCreateHook(t, s, over, limit+1)
}

func testConcurrentDuplicateCreates(t *testing.T, s webhooks.Store) {
	const n = 20
	workspace := uuid.NewString()
	errs := createConcurrently(t, s, n, 100, func(int) *webhooks.Webhook {
		return newWebhook(workspace, "race.example", base)
	})
	wins, dups := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, webhooks.ErrDuplicateURL):
			dups++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if wins != 1 || dups != n-1 {
		t.Fatalf("%d successes and %d ErrDuplicateURL, want 1 and %d", wins, dups, n-1)
	}
	if _, total := mustListHooks(t, s, workspace, 0, n); total != 1 {
		t.Fatalf("workspace holds %d webhooks, want 1", total)
	}
}

func testConcurrentCreatesAtLimit(t *testing.T, s webhooks.Store) {
	const n, limit = 20, 5
	workspace := uuid.NewString()
	errs := createConcurrently(t, s, n, limit, func(i int) *webhooks.Webhook {
		return newWebhook(workspace, fmt.Sprintf("race-%d.example", i), base)
	})
	wins, limited := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, webhooks.ErrLimitReached):
			limited++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if wins != limit || limited != n-limit {
		t.Fatalf("%d successes and %d ErrLimitReached, want %d and %d", wins, limited, limit, n-limit)
	}
	if _, total := mustListHooks(t, s, workspace, 0, n); total != limit {
		t.Fatalf("workspace holds %d webhooks, want %d", total, limit)
	}
}

// createConcurrently starts n creates at once (released together by a closed
// channel, to make the race as tight as it can be) and returns their errors.
func createConcurrently(t *testing.T, s webhooks.Store, n, limit int, mk func(i int) *webhooks.Webhook) []error {
	t.Helper()
	c := ctx(t)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		w := mk(i)
		wg.Go(func() {
			<-start
			errs[i] = s.CreateWebhook(c, w, limit)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// sortedIDs returns n fresh ids in ascending order, so that a test can build
// rows whose tie-break order it knows in advance.
func sortedIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = uuid.NewString()
	}
	slices.Sort(out)
	return out
}

func testListOrder(t *testing.T, s webhooks.Store) {
	workspace, other := uuid.NewString(), uuid.NewString()
	id := sortedIDs(5)
	// Expected order: newest first; the two rows created at the same instant
	// come by id, descending.
	rows := []struct {
		id        string
		createdAt time.Time
	}{
		{id[1], base.Add(2 * time.Second)},
		{id[4], base.Add(time.Second)},
		{id[2], base.Add(time.Second)},
		{id[0], base.Add(time.Second)},
		{id[3], base},
	}
	// Created in an order unrelated to the expected one.
	for _, i := range []int{2, 4, 0, 3, 1} {
		w := newWebhook(workspace, "order-"+rows[i].id+".example", rows[i].createdAt)
		w.ID = rows[i].id
		mustCreateHook(t, s, w, 10)
	}
	mustCreateHook(t, s, newWebhook(other, "order-other.example", base.Add(time.Hour)), 10)

	want := make([]string, len(rows))
	for i, r := range rows {
		want[i] = r.id
	}
	page, total := mustListHooks(t, s, workspace, 0, 10)
	if got := ids(page); !slices.Equal(got, want) {
		t.Fatalf("order = %v,\nwant      %v", got, want)
	}
	if total != len(rows) {
		t.Fatalf("total = %d, want %d", total, len(rows))
	}
}

func testListPaging(t *testing.T, s webhooks.Store) {
	const n = 7
	workspace := uuid.NewString()
	want := make([]string, n)
	for i := range n {
		// Created oldest first, so the newest-first order is the reverse.
		w := newWebhook(workspace, fmt.Sprintf("page-%d.example", i), base.Add(time.Duration(i)*time.Minute))
		mustCreateHook(t, s, w, n)
		want[n-1-i] = w.ID
	}

	tests := []struct {
		name          string
		offset, limit int
		want          []string
	}{
		{"first page", 0, 3, want[0:3]},
		{"middle page", 3, 3, want[3:6]},
		{"short last page", 6, 3, want[6:7]},
		{"past the end", 10, 3, nil},
		{"everything", 0, 100, want},
		{"zero limit", 0, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			page, total := mustListHooks(t, s, workspace, tc.offset, tc.limit)
			if got := ids(page); !slices.Equal(got, tc.want) {
				t.Errorf("ids = %v, want %v", got, tc.want)
			}
			if total != n {
				t.Errorf("total = %d, want %d", total, n)
			}
		})
	}

	t.Run("empty workspace", func(t *testing.T) {
		page, total := mustListHooks(t, s, uuid.NewString(), 0, 10)
		if len(page) != 0 || total != 0 {
			t.Fatalf("got %d items, total %d; want none", len(page), total)
		}
	})
}
