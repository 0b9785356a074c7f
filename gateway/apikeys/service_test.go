package apikeys_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/internal/testclock"

	"github.com/google/uuid"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/gateway/plan"
	"github.com/leadlex/api-gateway/gateway/store/memory"
)

var (
	t0        = time.Date(2026, 4, 17, 12, 0, 0, 0, time.UTC)
	plans     = []string{"starter", "pro", "org"}
	keyFormat = regexp.MustCompile(`^wbk_[a-z0-9]{52}$`)
)

const (
	ws       = "5b6f3b0e-8c2a-4d7e-9f10-2a3b4c5d6e7f"
	otherWS  = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
	cacheTTL = 30 * time.Second
)

// countingStore wraps a real store, counts key reads and can fail on demand.
type countingStore struct {
	apikeys.Store
	reads atomic.Int32
	fail  error
	// afterRead, when set, runs between reading a key and returning it.
	afterRead func()
}

func (s *countingStore) KeyByHash(ctx context.Context, hash string) (*apikeys.Key, error) {
	s.reads.Add(1)
	if s.fail != nil {
		return nil, s.fail
	}
	k, err := s.Store.KeyByHash(ctx, hash)
	if s.afterRead != nil {
		s.afterRead()
	}
	return k, err
}

func (s *countingStore) CreateKey(ctx context.Context, k *apikeys.Key) error {
	if s.fail != nil {
		return s.fail
	}
	return s.Store.CreateKey(ctx, k)
}

func (s *countingStore) RevokeKey(ctx context.Context, workspaceID, id, by string, at time.Time) ([]string, error) {
	if s.fail != nil {
		return nil, s.fail
	}
	return s.Store.RevokeKey(ctx, workspaceID, id, by, at)
}

func (s *countingStore) KeyByID(ctx context.Context, workspaceID, id string) (*apikeys.Key, error) {
	if s.fail != nil {
		return nil, s.fail
	}
	return s.Store.KeyByID(ctx, workspaceID, id)
}

func (s *countingStore) ListKeys(ctx context.Context, workspaceID string, includeRevoked bool) ([]apikeys.Key, error) {
	if s.fail != nil {
		return nil, s.fail
	}
	return s.Store.ListKeys(ctx, workspaceID, includeRevoked)
}

type fixture struct {
	clock *testclock.Clock
	mem   *memory.Store
	store *countingStore
	svc   *apikeys.Service
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{clock: testclock.New(t0), mem: memory.New()}
	f.store = &countingStore{Store: f.mem}
	f.svc = apikeys.NewService(f.store, f.clock, plans, cacheTTL)
	t.Cleanup(f.svc.Close)
	return f
}

// create issues a key or fails the test.
func (f *fixture) create(t *testing.T, p apikeys.CreateParams) (*apikeys.Key, string) {
	t.Helper()
	if p.WorkspaceID == "" {
		p.WorkspaceID = ws
	}
	if p.Permissions == nil {
		p.Permissions = []gateway.Permission{gateway.PermWebhooksRead}
	}
	k, plain, err := f.svc.Create(context.Background(), p)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return k, plain
}

func TestGenerateFormatAndUniqueness(t *testing.T) {
	const n = 5000
	seen := make(map[string]bool, n)
	for range n {
		k, err := apikeys.Generate()
		if err != nil {
			t.Fatal(err)
		}
		if !keyFormat.MatchString(k) || !apikeys.WellFormed(k) {
			t.Fatalf("Generate() = %q, want wbk_ and 52 of [a-z0-9]", k)
		}
		if seen[k] {
			t.Fatalf("Generate() repeated %q", k)
		}
		seen[k] = true
	}
}

// TestGenerateDistribution checks that every character is about equally
// likely. With 36 symbols the chi-square statistic has 35 degrees of freedom
// (mean 35, standard deviation 8.4); 150 is 13 deviations out, so a fair
// generator essentially never fails, while the classic modulo bias of
// byte%36 (four symbols 8/7 as likely) scores about 200 on this sample.
func TestGenerateDistribution(t *testing.T) {
	const keys = 2000
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	counts := map[rune]int{}
	total := 0
	for range keys {
		k, err := apikeys.Generate()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range k[len("wbk_"):] {
			counts[r]++
			total++
		}
	}
	if len(counts) != len(alphabet) {
		t.Fatalf("%d distinct characters, want %d: %v", len(counts), len(alphabet), counts)
	}
	expected := float64(total) / float64(len(alphabet))
	chi2 := 0.0
	for _, r := range alphabet {
		d := float64(counts[r]) - expected
		chi2 += d * d / expected
	}
	if chi2 > 150 {
		t.Errorf("chi-square = %.1f over %d characters, want < 150: %v", chi2, total, counts)
	}
}

func TestHash(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	}
	for _, tc := range tests {
		if got := apikeys.Hash(tc.in); got != tc.want {
			t.Errorf("Hash(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	k, _ := apikeys.Generate()
	if h := apikeys.Hash(k); !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(h) || h == apikeys.Hash(k+"x") {
		t.Errorf("Hash(%q) = %q", k, h)
	}
}

func TestWellFormed(t *testing.T) {
	good := "wbk_" + strings.Repeat("a1", 26)
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"generated shape", good, true},
		{"all digits", "wbk_" + strings.Repeat("9", 52), true},
		{"all letters", "wbk_" + strings.Repeat("z", 52), true},
		{"empty", "", false},
		{"prefix only", "wbk_", false},
		{"51 characters", good[:len(good)-1], false},
		{"53 characters", good + "a", false},
		{"upper case body", "wbk_" + strings.Repeat("A1", 26), false},
		{"upper case prefix", "WBK_" + good[4:], false},
		{"other prefix", "wbx_" + good[4:], false},
		{"no underscore", "wbk-" + good[4:], false},
		{"dash in body", good[:10] + "-" + good[11:], false},
		{"underscore in body", good[:10] + "_" + good[11:], false},
		{"space in body", good[:10] + " " + good[11:], false},
		{"non-ASCII", good[:54] + "é", false},
		{"NUL", good[:55] + "\x00", false},
		{"leading space", " " + good[:55], false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := apikeys.WellFormed(tc.in); got != tc.want {
				t.Errorf("WellFormed(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestCreateValidation(t *testing.T) {
	past := t0.Add(-time.Second)
	tests := []struct {
		name    string
		p       apikeys.CreateParams
		field   string
		invalid []string
	}{
		{name: "workspace not a UUID", p: apikeys.CreateParams{WorkspaceID: "ws_123"}, field: "workspace_id"},
		{name: "workspace empty", p: apikeys.CreateParams{WorkspaceID: " "}, field: "workspace_id"},
		{name: "name over 100 characters", p: apikeys.CreateParams{Name: strings.Repeat("n", 101)}, field: "name"},
		{name: "name over 100 multi-byte characters", p: apikeys.CreateParams{Name: strings.Repeat("é", 101)}, field: "name"},
		{name: "description over 500 characters", p: apikeys.CreateParams{Description: strings.Repeat("é", 501)}, field: "description"},
		{name: "no permissions", p: apikeys.CreateParams{Permissions: []gateway.Permission{}}, field: "permissions"},
		{name: "unknown permission", p: apikeys.CreateParams{Permissions: []gateway.Permission{gateway.PermWebhooksRead, "webhooks:delete"}},
			field: "permissions", invalid: []string{"webhooks:delete"}},
		{name: "public is not a permission", p: apikeys.CreateParams{Permissions: []gateway.Permission{"public"}},
			field: "permissions", invalid: []string{"public"}},
		{name: "unknown plan", p: apikeys.CreateParams{Plan: "enterprise"}, field: "plan"},
		{name: "plan is case-sensitive", p: apikeys.CreateParams{Plan: "Pro"}, field: "plan"},
		{name: "unknown tier", p: apikeys.CreateParams{Tier: "platinum"}, field: "rate_limit_tier"},
		{name: "expiry in the past", p: apikeys.CreateParams{ExpiresAt: &past}, field: "expires_at"},
		{name: "expiry now", p: apikeys.CreateParams{ExpiresAt: &t0}, field: "expires_at"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			p := tc.p
			if p.WorkspaceID == "" {
				p.WorkspaceID = ws
			}
			if p.Permissions == nil {
				p.Permissions = []gateway.Permission{gateway.PermWebhooksRead}
			}
			k, plain, err := f.svc.Create(context.Background(), p)
			if err == nil {
				t.Fatalf("Create succeeded: %+v", k)
			}
			var ge *gateway.Error
			if !errors.As(err, &ge) || ge.Code != gateway.CodeValidation {
				t.Fatalf("err = %v, want validation_error", err)
			}
			if k != nil || plain != "" {
				t.Error("a key was returned with the error")
			}
			if ge.Details["field"] != tc.field {
				t.Errorf("details = %v, want field %q", ge.Details, tc.field)
			}
			if tc.invalid != nil {
				if got, _ := ge.Details["invalid"].([]string); !slices.Equal(got, tc.invalid) {
					t.Errorf("details.invalid = %v, want %v", ge.Details["invalid"], tc.invalid)
				}
				if !strings.Contains(ge.Message, tc.invalid[0]) {
					t.Errorf("message %q does not name %q", ge.Message, tc.invalid[0])
				}
			}
			if keys, _ := f.mem.ListKeys(context.Background(), ws, true); len(keys) != 0 {
				t.Errorf("an invalid key was stored: %+v", keys)
			}
		})
	}
}

func TestCreateDefaultsAndNormalisation(t *testing.T) {
	f := newFixture(t)
	f.clock.Advance(750 * time.Millisecond)
	expiry := t0.Add(48*time.Hour + 400*time.Millisecond).In(time.FixedZone("UTC+2", 2*60*60))
	name := strings.Repeat("é", 100)
	k, plain, err := f.svc.Create(context.Background(), apikeys.CreateParams{
		WorkspaceID: strings.ToUpper(ws),
		Name:        name,
		Permissions: []gateway.Permission{gateway.PermWebhooksWrite, gateway.PermEventsRead, gateway.PermWebhooksWrite, gateway.PermAdminAPIKeys, gateway.PermEventsRead},
		ExpiresAt:   &expiry,
	})
	if err != nil {
		t.Fatal(err)
	}
	wantPerms := []gateway.Permission{gateway.PermAdminAPIKeys, gateway.PermEventsRead, gateway.PermWebhooksWrite}
	checks := []struct {
		name      string
		got, want any
	}{
		{"workspace", k.WorkspaceID, ws},
		{"name", k.Name, name},
		{"plan", k.Plan, "starter"},
		{"tier", k.Tier, plan.TierStandard},
		{"permissions", fmt.Sprint(k.Permissions), fmt.Sprint(wantPerms)},
		{"prefix", k.Prefix, plain[:10]},
		{"hash", k.Hash, apikeys.Hash(plain)},
		{"created_at", k.CreatedAt, t0},
		{"expires_at", *k.ExpiresAt, t0.Add(48 * time.Hour)},
		{"expires_at zone", k.ExpiresAt.Location(), time.UTC},
		{"revoked_at", k.RevokedAt == nil, true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if _, err := uuid.Parse(k.ID); err != nil || strings.ToLower(k.ID) != k.ID {
		t.Errorf("ID %q is not a canonical UUID", k.ID)
	}
	if !keyFormat.MatchString(plain) {
		t.Errorf("plaintext %q", plain)
	}

	t.Run("explicit plan and tier are kept", func(t *testing.T) {
		for _, tier := range []string{plan.TierStandard, plan.TierHigh, plan.TierUnmetered} {
			k, _ := f.create(t, apikeys.CreateParams{Plan: "org", Tier: tier})
			if k.Plan != "org" || k.Tier != tier {
				t.Errorf("plan %q tier %q, want org %q", k.Plan, k.Tier, tier)
			}
		}
	})
	t.Run("an expiry a fraction of a second ahead is in the past once truncated", func(t *testing.T) {
		soon := f.clock.Now().Add(100 * time.Millisecond)
		_, _, err := f.svc.Create(context.Background(), apikeys.CreateParams{WorkspaceID: ws, Permissions: []gateway.Permission{gateway.PermEventsRead}, ExpiresAt: &soon})
		if gateway.CodeOf(err) != gateway.CodeValidation {
			t.Errorf("err = %v, want validation_error", err)
		}
	})
}

func TestCreateNeverStoresThePlaintext(t *testing.T) {
	f := newFixture(t)
	k, plain := f.create(t, apikeys.CreateParams{Name: "ci"})
	stored, err := f.mem.KeyByHash(context.Background(), apikeys.Hash(plain))
	if err != nil {
		t.Fatal(err)
	}
	if stored.ID != k.ID || stored.Hash != apikeys.Hash(plain) || stored.Prefix != plain[:10] {
		t.Errorf("stored %+v", stored)
	}
	listed, err := f.svc.List(context.Background(), ws, true)
	if err != nil {
		t.Fatal(err)
	}
	secretPart := plain[10:] // what the display prefix does not show
	for _, rec := range []any{*stored, listed, *k} {
		if s := fmt.Sprintf("%+v", rec); strings.Contains(s, secretPart) || strings.Contains(s, plain) {
			t.Errorf("a record holds the plaintext key: %s", s)
		}
	}
}

func TestCreateStoreFailure(t *testing.T) {
	f := newFixture(t)
	f.store.fail = errors.New("pgx: connection refused")
	_, plain, err := f.svc.Create(context.Background(), apikeys.CreateParams{WorkspaceID: ws, Permissions: []gateway.Permission{gateway.PermEventsRead}})
	if gateway.CodeOf(err) != gateway.CodeInternal || plain != "" {
		t.Errorf("err = %v, plain %q; want internal_error and no key", err, plain)
	}
	if !errors.Is(err, f.store.fail) {
		t.Errorf("the cause is lost: %v", err)
	}
}

func TestAuthenticate(t *testing.T) {
	f := newFixture(t)
	k, plain := f.create(t, apikeys.CreateParams{Plan: "pro", Tier: plan.TierHigh,
		Permissions: []gateway.Permission{gateway.PermWebhooksWrite, gateway.PermEventsPublish}})
	p, err := f.svc.Authenticate(context.Background(), plain)
	if err != nil {
		t.Fatal(err)
	}
	want := gateway.Principal{KeyID: k.ID, WorkspaceID: ws, Plan: "pro", Tier: plan.TierHigh,
		Permissions: []gateway.Permission{gateway.PermEventsPublish, gateway.PermWebhooksWrite}}
	if p.KeyID != want.KeyID || p.WorkspaceID != want.WorkspaceID || p.Plan != want.Plan || p.Tier != want.Tier ||
		!slices.Equal(p.Permissions, want.Permissions) || p.ExpiresAt != nil {
		t.Errorf("principal = %+v, want %+v", p, want)
	}

	unknown, _ := apikeys.Generate()
	tests := []struct {
		name string
		key  string
		want *apikeys.AuthError
	}{
		{"empty", "", apikeys.ErrMissing},
		{"malformed", "wbk_short", apikeys.ErrMalformed},
		{"with a scheme", "Bearer " + plain, apikeys.ErrMalformed},
		{"upper case", strings.ToUpper(plain), apikeys.ErrMalformed},
		{"unknown", unknown, apikeys.ErrUnknown},
		{"the hash is not the key", "wbk_" + k.Hash[:52], apikeys.ErrUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := f.svc.Authenticate(context.Background(), tc.key)
			if p != nil || !errors.Is(err, tc.want) {
				t.Fatalf("Authenticate = %+v, %v; want %v", p, err, tc.want)
			}
			var ae *apikeys.AuthError
			if !errors.As(err, &ae) || ae.Reason == "" || !strings.Contains(ae.Error(), ae.Reason) {
				t.Errorf("err %T %v is not an *AuthError with a reason", err, err)
			}
		})
	}
}

func TestAuthenticateCache(t *testing.T) {
	f := newFixture(t)
	_, plain := f.create(t, apikeys.CreateParams{})
	unknown, _ := apikeys.Generate()
	ctx := context.Background()

	steps := []struct {
		name    string
		advance time.Duration
		key     string
		reads   int32 // store reads after this step
		cached  bool  // Cached(key) after this step
	}{
		{name: "unknown key is not cached", key: unknown, reads: 1},
		{name: "unknown key reads again", key: unknown, reads: 2},
		{name: "first use reads the store", key: plain, reads: 3, cached: true},
		{name: "second use is a cache hit", key: plain, reads: 3, cached: true},
		{name: "still a hit just before the TTL", advance: cacheTTL - time.Nanosecond, key: plain, reads: 3, cached: true},
		{name: "at the TTL the store is read again", advance: time.Nanosecond, key: plain, reads: 4, cached: true},
		{name: "and cached again", advance: cacheTTL / 2, key: plain, reads: 4, cached: true},
	}
	for _, s := range steps {
		f.clock.Advance(s.advance)
		_, err := f.svc.Authenticate(ctx, s.key)
		if s.key == plain && err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := f.store.reads.Load(); got != s.reads {
			t.Errorf("%s: %d store reads, want %d", s.name, got, s.reads)
		}
		if got := f.svc.Cached(s.key); got != s.cached {
			t.Errorf("%s: Cached = %v, want %v", s.name, got, s.cached)
		}
	}
	f.clock.Advance(cacheTTL)
	if f.svc.Cached(plain) {
		t.Error("Cached after the TTL")
	}
	for _, k := range []string{"", "wbk_nope", "Bearer " + plain} {
		if f.svc.Cached(k) {
			t.Errorf("Cached(%q) = true", k)
		}
	}

	t.Run("no cache with a zero TTL", func(t *testing.T) {
		store := &countingStore{Store: f.mem}
		svc := apikeys.NewService(store, f.clock, plans, 0)
		for i := range 3 {
			if _, err := svc.Authenticate(ctx, plain); err != nil {
				t.Fatal(err)
			}
			if svc.Cached(plain) || store.reads.Load() != int32(i+1) {
				t.Fatalf("call %d: cached %v, %d reads", i+1, svc.Cached(plain), store.reads.Load())
			}
		}
	})
}

func TestRevocationThroughAnotherInstance(t *testing.T) {
	f := newFixture(t)
	k, plain := f.create(t, apikeys.CreateParams{})
	other := apikeys.NewService(f.mem, f.clock, plans, cacheTTL) // another gateway instance
	ctx := context.Background()

	if _, err := f.svc.Authenticate(ctx, plain); err != nil { // cached at t0
		t.Fatal(err)
	}
	f.clock.Advance(10 * time.Second)
	if err := other.Revoke(ctx, ws, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Authenticate(ctx, plain); !errors.Is(err, apikeys.ErrRevoked) {
		t.Errorf("the revoking instance: %v, want ErrRevoked at once", err)
	}
	f.clock.Advance(cacheTTL - 10*time.Second - time.Nanosecond)
	if p, err := f.svc.Authenticate(ctx, plain); err != nil || p.KeyID != k.ID {
		t.Errorf("before the cache TTL the old answer stands: %v, %v", p, err)
	}
	f.clock.Advance(time.Nanosecond)
	if _, err := f.svc.Authenticate(ctx, plain); !errors.Is(err, apikeys.ErrRevoked) {
		t.Errorf("after the cache TTL: %v, want ErrRevoked", err)
	}
	// The revoked key stays refused, from the cache too.
	if _, err := f.svc.Authenticate(ctx, plain); !errors.Is(err, apikeys.ErrRevoked) {
		t.Errorf("again: %v, want ErrRevoked", err)
	}
}

func TestRevokeOnThisInstance(t *testing.T) {
	tests := []struct {
		name string
		ws   string
		id   func(k *apikeys.Key) string
	}{
		{"scoped", ws, func(k *apikeys.Key) string { return k.ID }},
		{"operator (unscoped)", "", func(k *apikeys.Key) string { return k.ID }},
		{"upper-case id", ws, func(k *apikeys.Key) string { return strings.ToUpper(k.ID) }},
		{"braced id", ws, func(k *apikeys.Key) string { return "{" + k.ID + "}" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			k, plain := f.create(t, apikeys.CreateParams{})
			_, keep := f.create(t, apikeys.CreateParams{})
			ctx := context.Background()
			for _, p := range []string{plain, keep} {
				if _, err := f.svc.Authenticate(ctx, p); err != nil {
					t.Fatal(err)
				}
			}
			if err := f.svc.Revoke(ctx, tc.ws, tc.id(k)); err != nil {
				t.Fatal(err)
			}
			if f.svc.Cached(plain) {
				t.Error("the revoked key is still cached")
			}
			if _, err := f.svc.Authenticate(ctx, plain); !errors.Is(err, apikeys.ErrRevoked) {
				t.Errorf("right after Revoke: %v, want ErrRevoked", err)
			}
			if !f.svc.Cached(keep) {
				t.Error("Revoke dropped another key from the cache")
			}
			if _, err := f.svc.Authenticate(ctx, keep); err != nil {
				t.Errorf("another key: %v", err)
			}
			listed, _ := f.svc.List(ctx, ws, false)
			if len(listed) != 1 {
				t.Errorf("List without revoked = %d keys, want 1", len(listed))
			}
		})
	}
}

// TestRevokeDuringLookup: a lookup that read the key before a revocation on
// this instance returns what it read, but must not cache it, or the key would
// keep working here for a whole TTL after Revoke returned.
func TestRevokeDuringLookup(t *testing.T) {
	f := newFixture(t)
	k, plain := f.create(t, apikeys.CreateParams{})
	ctx := context.Background()
	read, resume := make(chan struct{}), make(chan struct{})
	f.store.afterRead = func() {
		f.store.afterRead = nil
		close(read)
		<-resume
	}
	done := make(chan error)
	go func() {
		_, err := f.svc.Authenticate(ctx, plain)
		done <- err
	}()
	<-read // the lookup holds the unrevoked record
	if err := f.svc.Revoke(ctx, ws, k.ID); err != nil {
		t.Fatal(err)
	}
	close(resume)
	if err := <-done; err != nil {
		t.Fatalf("the concurrent lookup: %v", err)
	}
	if _, err := f.svc.Authenticate(ctx, plain); !errors.Is(err, apikeys.ErrRevoked) {
		t.Errorf("after Revoke returned: %v, want ErrRevoked", err)
	}
}

func TestRevokeErrors(t *testing.T) {
	f := newFixture(t)
	k, plain := f.create(t, apikeys.CreateParams{})
	ctx := context.Background()
	tests := []struct {
		name   string
		ws, id string
		code   gateway.Code
	}{
		{"unknown id", ws, uuid.NewString(), gateway.CodeNotFound},
		{"malformed id", ws, "key_1", gateway.CodeNotFound},
		{"another workspace", otherWS, k.ID, gateway.CodeNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := f.svc.Revoke(ctx, tc.ws, tc.id); gateway.CodeOf(err) != tc.code {
				t.Errorf("err = %v, want %s", err, tc.code)
			}
		})
	}
	if _, err := f.svc.Authenticate(ctx, plain); err != nil {
		t.Errorf("a refused revoke revoked the key: %v", err)
	}
	f.store.fail = errors.New("pgx: timeout")
	if err := f.svc.Revoke(ctx, ws, k.ID); gateway.CodeOf(err) != gateway.CodeInternal || !errors.Is(err, f.store.fail) {
		t.Errorf("store failure: %v, want internal_error wrapping the cause", err)
	}
}

func TestExpiry(t *testing.T) {
	f := newFixture(t)
	expiry := t0.Add(10 * time.Second) // sooner than the cache TTL
	_, plain := f.create(t, apikeys.CreateParams{ExpiresAt: &expiry})
	ctx := context.Background()
	p, err := f.svc.Authenticate(ctx, plain)
	if err != nil {
		t.Fatal(err)
	}
	if p.ExpiresAt == nil || !p.ExpiresAt.Equal(expiry) {
		t.Errorf("principal ExpiresAt = %v, want %v", p.ExpiresAt, expiry)
	}
	f.clock.Advance(10*time.Second - time.Nanosecond)
	if _, err := f.svc.Authenticate(ctx, plain); err != nil {
		t.Errorf("just before expiry: %v", err)
	}
	f.clock.Advance(time.Nanosecond)
	_, err = f.svc.Authenticate(ctx, plain)
	if !errors.Is(err, apikeys.ErrExpired) {
		t.Errorf("at expiry (served from the cache): %v, want ErrExpired", err)
	}
	if reads := f.store.reads.Load(); reads != 1 {
		t.Errorf("%d store reads, want 1: the cache must not extend a key's life", reads)
	}
	if f.svc.Cached(plain) != true {
		t.Error("an expired key's record should stay cached (it is still refused)")
	}
}

// lyingStore answers every lookup with one key, whatever the hash asked for,
// like a store with a broken matching rule.
type lyingStore struct {
	apikeys.Store
	key *apikeys.Key
}

func (s lyingStore) KeyByHash(context.Context, string) (*apikeys.Key, error) {
	k := *s.key
	return &k, nil
}

func TestAuthenticateRechecksTheHash(t *testing.T) {
	f := newFixture(t)
	k, plain := f.create(t, apikeys.CreateParams{})
	svc := apikeys.NewService(lyingStore{Store: f.mem, key: k}, f.clock, plans, cacheTTL)
	if _, err := svc.Authenticate(context.Background(), plain); err != nil {
		t.Fatalf("the real key: %v", err)
	}
	other, _ := apikeys.Generate()
	if p, err := svc.Authenticate(context.Background(), other); !errors.Is(err, apikeys.ErrUnknown) {
		t.Errorf("another key got %+v, %v; want ErrUnknown", p, err)
	}
	if svc.Cached(other) {
		t.Error("a mismatched record was cached")
	}
}

func TestAuthenticateStoreFailure(t *testing.T) {
	f := newFixture(t)
	_, plain := f.create(t, apikeys.CreateParams{})
	f.store.fail = errors.New("pgx: connection refused")
	p, err := f.svc.Authenticate(context.Background(), plain)
	var ae *apikeys.AuthError
	if p != nil || err == nil || errors.As(err, &ae) {
		t.Fatalf("Authenticate = %v, %v; want a store error, not an AuthError", p, err)
	}
	if !errors.Is(err, f.store.fail) {
		t.Errorf("the cause is lost: %v", err)
	}
	if f.svc.Cached(plain) {
		t.Error("a failed lookup was cached")
	}
	f.store.fail = nil
	if _, err := f.svc.Authenticate(context.Background(), plain); err != nil {
		t.Errorf("after recovery: %v", err)
	}
}

func TestList(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, _ := f.create(t, apikeys.CreateParams{Name: "a"})
	f.clock.Advance(time.Second)
	b, _ := f.create(t, apikeys.CreateParams{Name: "b"})
	f.create(t, apikeys.CreateParams{WorkspaceID: otherWS})
	if err := f.svc.Revoke(ctx, ws, a.ID); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name           string
		includeRevoked bool
		want           []string
	}{
		{"active only", false, []string{b.ID}},
		{"with revoked, newest first", true, []string{b.ID, a.ID}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := f.svc.List(ctx, ws, tc.includeRevoked)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, k := range keys {
				ids = append(ids, k.ID)
			}
			if !slices.Equal(ids, tc.want) {
				t.Errorf("ids = %v, want %v", ids, tc.want)
			}
		})
	}
	if _, err := f.svc.List(ctx, "nope", false); gateway.CodeOf(err) != gateway.CodeValidation {
		t.Errorf("bad workspace: %v, want validation_error", err)
	}
	f.store.fail = errors.New("pgx: timeout")
	if _, err := f.svc.List(ctx, ws, false); gateway.CodeOf(err) != gateway.CodeInternal {
		t.Errorf("store failure: %v, want internal_error", err)
	}
}

// TestConcurrentUse exercises the cache under the race detector.
func TestConcurrentUse(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var plains []string
	var ids []string
	for range 8 {
		k, p := f.create(t, apikeys.CreateParams{})
		plains = append(plains, p)
		ids = append(ids, k.ID)
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for j := range 200 {
				p := plains[(i+j)%len(plains)]
				_, err := f.svc.Authenticate(ctx, p)
				var ae *apikeys.AuthError
				if err != nil && !errors.As(err, &ae) {
					t.Error(err)
				}
				f.svc.Cached(p)
				if j%50 == 0 {
					f.clock.Advance(time.Second)
				}
			}
		})
	}
	wg.Go(func() {
		for _, id := range ids[:4] {
			if err := f.svc.Revoke(ctx, ws, id); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	for i, p := range plains {
		_, err := f.svc.Authenticate(ctx, p)
		if revoked := i < 4; revoked != errors.Is(err, apikeys.ErrRevoked) {
			t.Errorf("key %d: %v", i, err)
		}
	}
}
