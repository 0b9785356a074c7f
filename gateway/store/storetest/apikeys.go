package storetest

// The apikeys.Store suite: authentication behaves the same whichever store a
// deployment uses; a key revoked through one store must not still work
// because another store treats revocation, scoping or malformed ids
// differently.

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/gateway/plan"
)

// RunAPIKeys runs the apikeys.Store suite. newStore is called once per subtest and must return a
// store without keys of the workspaces the subtest creates; since every
// subtest uses fresh random ids and hashes, returning one shared store is also
// fine. Subtests run one after the other.
func RunAPIKeys(t *testing.T, newStore func(t *testing.T) apikeys.Store) {
	t.Helper()
	runSuite(t, newStore, []suiteCase[apikeys.Store]{
		{"CreateKeyByHashRoundTrip", testRoundTrip},
		{"DescriptionRoundTrip", testDescriptionRoundTrip},
		{"ReturnsCopies", testKeysReturnCopies},
		{"UnknownHash", testUnknownHash},
		{"DuplicateHash", testDuplicateHash},
		{"ListNewestFirst", testList},
		{"RevokeScope", testRevokeScope},
		{"RevokeTwiceKeepsFirstTime", testRevokeTwice},
		{"RevokeUnknownOrMalformedID", testRevokeUnknownOrMalformed},
		{"CreatedByRoundTrip", testCreatedByRoundTrip},
		{"MintNeedsLiveParent", testMintNeedsLiveParent},
		{"KeyByIDScope", testKeyByIDScope},
		{"RevokeCascades", testRevokeCascades},
		{"RevokeActorMustBeLive", testRevokeActor},
		{"TouchKey", testTouchKey},
		{"MintRacingRevokeNeverEscapes", testMintRace},
		{"EveryPlanAndTier", testEveryPlanAndTier},
		{"UnknownPlanOrTierRefused", testUnknownPlanOrTier},
	})
}

// keyBase is outside UTC, in another zone than base, and has microseconds,
// so that the suite notices a store that keeps the caller's zone or drops
// sub-second precision. Microseconds are what timestamptz holds.
var keyBase = time.Date(2026, 11, 27, 9, 30, 15, 123456000, time.FixedZone("UTC-5", -5*60*60))

// newKey returns a valid key of workspace with a fresh id and hash.
func newKey(t *testing.T, workspace string, createdAt time.Time) *apikeys.Key {
	t.Helper()
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(secret)
	hash := hex.EncodeToString(sum[:])
	return &apikeys.Key{
		ID:          uuid.NewString(),
		WorkspaceID: workspace,
		Name:        "test key",
		Prefix:      "wbk_" + hash[:6],
		Hash:        hash,
		Permissions: []gateway.Permission{gateway.PermWebhooksRead},
		Plan:        plan.Default,
		Tier:        plan.TierStandard,
		CreatedAt:   createdAt,
	}
}

// mustCreateKey creates k and fails the test on error.
func mustCreateKey(t *testing.T, s apikeys.Store, k *apikeys.Key) {
	t.Helper()
	if err := s.CreateKey(ctx(t), k); err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
}

// mustByHash looks a key up by hash and fails the test on error.
func mustByHash(t *testing.T, s apikeys.Store, hash string) *apikeys.Key {
	t.Helper()
	k, err := s.KeyByHash(ctx(t), hash)
	if err != nil {
		t.Fatalf("KeyByHash: %v", err)
	}
	return k
}

// mustListKeys lists a workspace's keys and returns their ids.
func mustListKeys(t *testing.T, s apikeys.Store, workspace string, includeRevoked bool) []string {
	t.Helper()
	keys, err := s.ListKeys(ctx(t), workspace, includeRevoked)
	if err != nil {
		t.Fatalf("ListKeys: %v", err)
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.ID
	}
	return out
}

// assertSameKey compares every field; times must be the same instant and in
// UTC. Nil and empty permission lists are the same (both grant nothing).
func assertSameKey(t *testing.T, got, want *apikeys.Key) {
	t.Helper()
	if got == nil {
		t.Fatal("got nil key")
	}
	Fields(t, []Field{
		F("ID", got.ID, want.ID),
		F("WorkspaceID", got.WorkspaceID, want.WorkspaceID),
		F("Name", got.Name, want.Name),
		F("Description", got.Description, want.Description),
		F("Prefix", got.Prefix, want.Prefix),
		F("Hash", got.Hash, want.Hash),
		F("Plan", got.Plan, want.Plan),
		F("Tier", got.Tier, want.Tier),
		F("CreatedBy", got.CreatedBy, want.CreatedBy),
	})
	if !slices.Equal(got.Permissions, want.Permissions) {
		t.Errorf("Permissions = %q, want %q", got.Permissions, want.Permissions)
	}
	UTCTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	UTCTimePtr(t, "ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	UTCTimePtr(t, "RevokedAt", got.RevokedAt, want.RevokedAt)
	UTCTimePtr(t, "LastUsedAt", got.LastUsedAt, want.LastUsedAt)
}

func testRoundTrip(t *testing.T, s apikeys.Store) {
	workspace := uuid.NewString()
	tests := []struct {
		name   string
		modify func(k *apikeys.Key)
	}{
		{"all fields", func(k *apikeys.Key) {
			k.Name = "CI deploy — staging"
			k.Description = "Pushes release events from the staging pipeline."
			// Deliberately not sorted: the store must keep the order.
			k.Permissions = []gateway.Permission{gateway.PermEventsPublish, gateway.PermWebhooksWrite, gateway.PermAdminAPIKeys}
			k.Plan = "pro"
			k.Tier = "high"
			k.ExpiresAt = ptr(keyBase.Add(90 * 24 * time.Hour))
		}},
		{"no expiry", func(k *apikeys.Key) {
			k.Plan = "org"
			k.Tier = "unmetered"
		}},
		{"created revoked", func(k *apikeys.Key) {
			k.RevokedAt = ptr(keyBase.Add(time.Minute))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := newKey(t, workspace, keyBase)
			tc.modify(k)
			mustCreateKey(t, s, k)
			assertSameKey(t, mustByHash(t, s, k.Hash), k)
		})
	}
}

func testDescriptionRoundTrip(t *testing.T, s apikeys.Store) {
	workspace := uuid.NewString()
	tests := []struct{ name, description string }{
		{"text", "Used by the EU billing export — rotate quarterly."},
		{"empty", ""},
		{"500 characters", strings.Repeat("é", 500)},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Distinct creation times give a known list order.
			k := newKey(t, workspace, keyBase.Add(time.Duration(i)*time.Minute))
			k.Description = tc.description
			mustCreateKey(t, s, k)
			assertSameKey(t, mustByHash(t, s, k.Hash), k)

			keys, err := s.ListKeys(ctx(t), workspace, true)
			if err != nil {
				t.Fatalf("ListKeys: %v", err)
			}
			if len(keys) != i+1 || keys[0].ID != k.ID {
				t.Fatalf("ListKeys = %d keys, first %v; want %d, first %s", len(keys), keys, i+1, k.ID)
			}
			assertSameKey(t, &keys[0], k)
		})
	}
}

func testKeysReturnCopies(t *testing.T, s apikeys.Store) {
	workspace := uuid.NewString()
	k := newKey(t, workspace, keyBase)
	k.Permissions = []gateway.Permission{gateway.PermEventsRead, gateway.PermWebhooksRead}
	k.ExpiresAt = ptr(keyBase.Add(time.Hour))
	want := *k
	want.Permissions = slices.Clone(k.Permissions)
	want.ExpiresAt = ptr(*k.ExpiresAt)
	mustCreateKey(t, s, k)

	// Neither the value passed in nor the values handed out may alias what
	// the store keeps: a caller widening a returned key's permissions must
	// not widen the stored key.
	k.Permissions[0] = gateway.PermAdminAPIKeys
	*k.ExpiresAt = keyBase.Add(1000 * time.Hour)
	got := mustByHash(t, s, want.Hash)
	got.Permissions[1] = gateway.PermAdminAPIKeys
	*got.ExpiresAt = keyBase.Add(2000 * time.Hour)
	listed, err := s.ListKeys(ctx(t), workspace, true)
	if err != nil || len(listed) != 1 {
		t.Fatalf("ListKeys = %d keys, %v; want 1", len(listed), err)
	}
	listed[0].Permissions[0] = gateway.PermAdminAPIKeys

	assertSameKey(t, mustByHash(t, s, want.Hash), &want)
}

func testUnknownHash(t *testing.T, s apikeys.Store) {
	mustCreateKey(t, s, newKey(t, uuid.NewString(), keyBase))
	tests := []struct{ name, hash string }{
		{"well-formed unknown hash", newKey(t, "", keyBase).Hash},
		{"empty hash", ""},
		{"not hex", "zz"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if k, err := s.KeyByHash(ctx(t), tc.hash); !errors.Is(err, apikeys.ErrNotFound) {
				t.Fatalf("KeyByHash(%q) = %v, %v; want ErrNotFound", tc.hash, k, err)
			}
		})
	}
}

func testDuplicateHash(t *testing.T, s apikeys.Store) {
	first := newKey(t, uuid.NewString(), keyBase)
	mustCreateKey(t, s, first)

	// Another workspace, another id: the hash alone must be unique, or one
	// plaintext key could authenticate as two principals.
	second := newKey(t, uuid.NewString(), keyBase.Add(time.Second))
	second.Hash = first.Hash
	if err := s.CreateKey(ctx(t), second); err == nil {
		t.Fatal("CreateKey with a duplicate hash succeeded")
	}
	if got := mustByHash(t, s, first.Hash); got.ID != first.ID {
		t.Fatalf("KeyByHash returned key %s, want the first key %s", got.ID, first.ID)
	}
	if ids := mustListKeys(t, s, second.WorkspaceID, true); len(ids) != 0 {
		t.Fatalf("refused key was stored: %v", ids)
	}
}

func testList(t *testing.T, s apikeys.Store) {
	workspace, other := uuid.NewString(), uuid.NewString()
	oldest := newKey(t, workspace, keyBase)
	middle := newKey(t, workspace, keyBase.Add(time.Minute))
	newest := newKey(t, workspace, keyBase.Add(2*time.Minute))
	revoked := newKey(t, workspace, keyBase.Add(90*time.Second))
	revoked.RevokedAt = ptr(keyBase.Add(3 * time.Minute))
	foreign := newKey(t, other, keyBase.Add(time.Hour))
	for _, k := range []*apikeys.Key{middle, revoked, foreign, newest, oldest} {
		mustCreateKey(t, s, k)
	}

	tests := []struct {
		name           string
		workspace      string
		includeRevoked bool
		want           []string
	}{
		{"active only", workspace, false, []string{newest.ID, middle.ID, oldest.ID}},
		{"with revoked", workspace, true, []string{newest.ID, revoked.ID, middle.ID, oldest.ID}},
		{"other workspace", other, true, []string{foreign.ID}},
		{"empty workspace", uuid.NewString(), true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := mustListKeys(t, s, tc.workspace, tc.includeRevoked); !slices.Equal(got, tc.want) {
				t.Fatalf("ListKeys = %v,\nwant       %v", got, tc.want)
			}
		})
	}
}

func testRevokeScope(t *testing.T, s apikeys.Store) {
	workspace, other := uuid.NewString(), uuid.NewString()
	at := keyBase.Add(time.Hour)
	tests := []struct {
		name      string
		scope     func(k *apikeys.Key) string
		wantErr   error
		wantSaved bool
	}{
		{"own workspace", func(k *apikeys.Key) string { return k.WorkspaceID }, nil, true},
		{"operator scope", func(*apikeys.Key) string { return "" }, nil, true},
		{"another workspace", func(*apikeys.Key) string { return other }, apikeys.ErrNotFound, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := newKey(t, workspace, keyBase)
			mustCreateKey(t, s, k)
			_, err := s.RevokeKey(ctx(t), tc.scope(k), k.ID, "", at)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("RevokeKey = %v, want %v", err, tc.wantErr)
			}
			got := mustByHash(t, s, k.Hash)
			want := *k
			if tc.wantSaved {
				want.RevokedAt = &at
			}
			assertSameKey(t, got, &want)
		})
	}
}

func testRevokeTwice(t *testing.T, s apikeys.Store) {
	k := newKey(t, uuid.NewString(), keyBase)
	mustCreateKey(t, s, k)
	first, second := keyBase.Add(time.Hour), keyBase.Add(2*time.Hour)
	for _, at := range []time.Time{first, second} {
		if _, err := s.RevokeKey(ctx(t), k.WorkspaceID, k.ID, "", at); err != nil {
			t.Fatalf("RevokeKey(%v): %v", at, err)
		}
	}
	got := mustByHash(t, s, k.Hash)
	UTCTimePtr(t, "RevokedAt", got.RevokedAt, &first)
}

func testRevokeUnknownOrMalformed(t *testing.T, s apikeys.Store) {
	k := newKey(t, uuid.NewString(), keyBase)
	mustCreateKey(t, s, k)
	tests := []struct {
		name, workspace, id string
	}{
		{"unknown id", k.WorkspaceID, uuid.NewString()},
		{"unknown id, operator scope", "", uuid.NewString()},
		{"malformed id", k.WorkspaceID, "not-a-uuid"},
		{"malformed id, operator scope", "", "not-a-uuid"},
		{"empty id", "", ""},
		{"SQL in id", "", "' or '1'='1"},
		{"malformed workspace", "not-a-uuid", k.ID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.RevokeKey(ctx(t), tc.workspace, tc.id, "", keyBase)
			if !errors.Is(err, apikeys.ErrNotFound) {
				t.Fatalf("RevokeKey(%q, %q) = %v, want ErrNotFound", tc.workspace, tc.id, err)
			}
		})
	}
	if got := mustByHash(t, s, k.Hash); got.RevokedAt != nil {
		t.Fatalf("key was revoked by a failed call: RevokedAt = %v", got.RevokedAt)
	}
}

func testKeyByIDScope(t *testing.T, s apikeys.Store) {
	k := newKey(t, uuid.NewString(), keyBase)
	k.RevokedAt = ptr(keyBase.Add(time.Minute))
	mustCreateKey(t, s, k)
	tests := []struct {
		name, workspace, id string
		found               bool
	}{
		{"own workspace", k.WorkspaceID, k.ID, true},
		{"operator scope", "", k.ID, true},
		{"upper-case id", k.WorkspaceID, strings.ToUpper(k.ID), true},
		{"another workspace", uuid.NewString(), k.ID, false},
		{"unknown id", k.WorkspaceID, uuid.NewString(), false},
		{"malformed id", k.WorkspaceID, "not-a-uuid", false},
		{"SQL in id", "", "' or '1'='1", false},
		{"malformed workspace", "not-a-uuid", k.ID, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.KeyByID(ctx(t), tc.workspace, tc.id)
			if !tc.found {
				if !errors.Is(err, apikeys.ErrNotFound) {
					t.Fatalf("KeyByID = %v, %v; want ErrNotFound", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("KeyByID: %v", err)
			}
			assertSameKey(t, got, k)
		})
	}
}

func testTouchKey(t *testing.T, s apikeys.Store) {
	k := newKey(t, uuid.NewString(), keyBase)
	mustCreateKey(t, s, k)
	later, earlier := keyBase.Add(time.Hour), keyBase.Add(time.Minute)
	steps := []struct {
		name string
		at   time.Time
		want time.Time
	}{
		{"first use", later, later},
		{"an older report does not move it back", earlier, later},
		{"a newer one does", later.Add(time.Minute), later.Add(time.Minute)},
	}
	for _, st := range steps {
		if err := s.TouchKey(ctx(t), k.ID, st.at); err != nil {
			t.Fatalf("%s: TouchKey: %v", st.name, err)
		}
		UTCTimePtr(t, st.name, mustByHash(t, s, k.Hash).LastUsedAt, &st.want)
	}
	for _, id := range []string{uuid.NewString(), "not-a-uuid", ""} {
		if err := s.TouchKey(ctx(t), id, later); err != nil {
			t.Errorf("TouchKey(%q) = %v, want nil", id, err)
		}
	}
}

// testEveryPlanAndTier: every plan and tier gateway/plan knows is one the
// store keeps (the SQL check constraints list the same names).
func testEveryPlanAndTier(t *testing.T, s apikeys.Store) {
	workspace := uuid.NewString()
	for _, p := range plan.Names() {
		for _, tier := range plan.Tiers() {
			k := newKey(t, workspace, keyBase)
			k.Plan, k.Tier = p, tier
			mustCreateKey(t, s, k)
			got := mustByHash(t, s, k.Hash)
			if got.Plan != p || got.Tier != tier {
				t.Errorf("stored plan/tier = %s/%s, want %s/%s", got.Plan, got.Tier, p, tier)
			}
		}
	}
}

// testUnknownPlanOrTier: a plan or tier gateway/plan does not know is
// refused by the store, and nothing is stored.
func testUnknownPlanOrTier(t *testing.T, s apikeys.Store) {
	for _, tc := range []struct{ name, plan, tier string }{
		{"unknown plan", "enterprise", plan.TierStandard},
		{"empty plan", "", plan.TierStandard},
		{"unknown tier", plan.Default, "premium"},
		{"empty tier", plan.Default, ""},
		{"plan in upper case", "PRO", plan.TierStandard},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newKey(t, uuid.NewString(), keyBase)
			k.Plan, k.Tier = tc.plan, tc.tier
			if err := s.CreateKey(ctx(t), k); err == nil {
				t.Fatalf("CreateKey with plan %q and tier %q succeeded", tc.plan, tc.tier)
			}
			if _, err := s.KeyByHash(ctx(t), k.Hash); !errors.Is(err, apikeys.ErrNotFound) {
				t.Errorf("KeyByHash after a refused create = %v, want ErrNotFound", err)
			}
		})
	}
}
