// Package apikeystest is the conformance suite every apikeys.Store must pass,
// so that authentication behaves the same whichever store a deployment uses:
// a key revoked through one store must not still work because another store
// treats revocation, scoping or malformed ids differently.
package apikeystest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/internal/storecheck"

	"github.com/google/uuid"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/gateway/plan"
)

// Run runs the suite. newStore is called once per subtest and must return a
// store without keys of the workspaces the subtest creates; since every
// subtest uses fresh random ids and hashes, returning one shared store is also
// fine. Subtests run one after the other.
func Run(t *testing.T, newStore func(t *testing.T) apikeys.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s apikeys.Store)
	}{
		{"CreateKeyByHashRoundTrip", testRoundTrip},
		{"DescriptionRoundTrip", testDescriptionRoundTrip},
		{"ReturnsCopies", testReturnsCopies},
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
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

// base is outside UTC and has microseconds, so that the suite notices a store
// that keeps the caller's zone or drops sub-second precision. Microseconds
// are what timestamptz holds.
var base = time.Date(2026, 11, 27, 9, 30, 15, 123456000, time.FixedZone("UTC-5", -5*60*60))

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

// ctx bounds every store call, so that a store that hangs fails the test
// instead of the whole test binary.
func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// mustCreate creates k and fails the test on error.
func mustCreate(t *testing.T, s apikeys.Store, k *apikeys.Key) {
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

// mustList lists a workspace's keys and returns their ids.
func mustList(t *testing.T, s apikeys.Store, workspace string, includeRevoked bool) []string {
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
	storecheck.Fields(t, []storecheck.Field{
		storecheck.F("ID", got.ID, want.ID),
		storecheck.F("WorkspaceID", got.WorkspaceID, want.WorkspaceID),
		storecheck.F("Name", got.Name, want.Name),
		storecheck.F("Description", got.Description, want.Description),
		storecheck.F("Prefix", got.Prefix, want.Prefix),
		storecheck.F("Hash", got.Hash, want.Hash),
		storecheck.F("Plan", got.Plan, want.Plan),
		storecheck.F("Tier", got.Tier, want.Tier),
		storecheck.F("CreatedBy", got.CreatedBy, want.CreatedBy),
	})
	if !slices.Equal(got.Permissions, want.Permissions) {
		t.Errorf("Permissions = %q, want %q", got.Permissions, want.Permissions)
	}
	storecheck.UTCTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	storecheck.UTCTimePtr(t, "ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	storecheck.UTCTimePtr(t, "RevokedAt", got.RevokedAt, want.RevokedAt)
	storecheck.UTCTimePtr(t, "LastUsedAt", got.LastUsedAt, want.LastUsedAt)
}

// ptr returns a pointer to a copy of v.
func ptr[T any](v T) *T { return &v }

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
			k.ExpiresAt = ptr(base.Add(90 * 24 * time.Hour))
		}},
		{"no expiry", func(k *apikeys.Key) {
			k.Plan = "org"
			k.Tier = "unmetered"
		}},
		{"created revoked", func(k *apikeys.Key) {
			k.RevokedAt = ptr(base.Add(time.Minute))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := newKey(t, workspace, base)
			tc.modify(k)
			mustCreate(t, s, k)
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
			k := newKey(t, workspace, base.Add(time.Duration(i)*time.Minute))
			k.Description = tc.description
			mustCreate(t, s, k)
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

func testReturnsCopies(t *testing.T, s apikeys.Store) {
	workspace := uuid.NewString()
	k := newKey(t, workspace, base)
	k.Permissions = []gateway.Permission{gateway.PermEventsRead, gateway.PermWebhooksRead}
	k.ExpiresAt = ptr(base.Add(time.Hour))
	want := *k
	want.Permissions = slices.Clone(k.Permissions)
	want.ExpiresAt = ptr(*k.ExpiresAt)
	mustCreate(t, s, k)

	// Neither the value passed in nor the values handed out may alias what
	// the store keeps: a caller widening a returned key's permissions must
	// not widen the stored key.
	k.Permissions[0] = gateway.PermAdminAPIKeys
	*k.ExpiresAt = base.Add(1000 * time.Hour)
	got := mustByHash(t, s, want.Hash)
	got.Permissions[1] = gateway.PermAdminAPIKeys
	*got.ExpiresAt = base.Add(2000 * time.Hour)
	listed, err := s.ListKeys(ctx(t), workspace, true)
	if err != nil || len(listed) != 1 {
		t.Fatalf("ListKeys = %d keys, %v; want 1", len(listed), err)
	}
	listed[0].Permissions[0] = gateway.PermAdminAPIKeys

	assertSameKey(t, mustByHash(t, s, want.Hash), &want)
}

func testUnknownHash(t *testing.T, s apikeys.Store) {
	mustCreate(t, s, newKey(t, uuid.NewString(), base))
	tests := []struct{ name, hash string }{
		{"well-formed unknown hash", newKey(t, "", base).Hash},
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
	first := newKey(t, uuid.NewString(), base)
	mustCreate(t, s, first)

	// Another workspace, another id: the hash alone must be unique, or one
	// plaintext key could authenticate as two principals.
	second := newKey(t, uuid.NewString(), base.Add(time.Second))
	second.Hash = first.Hash
	if err := s.CreateKey(ctx(t), second); err == nil {
		t.Fatal("CreateKey with a duplicate hash succeeded")
	}
	if got := mustByHash(t, s, first.Hash); got.ID != first.ID {
		t.Fatalf("KeyByHash returned key %s, want the first key %s", got.ID, first.ID)
	}
	if ids := mustList(t, s, second.WorkspaceID, true); len(ids) != 0 {
		t.Fatalf("refused key was stored: %v", ids)
	}
}

func testList(t *testing.T, s apikeys.Store) {
	workspace, other := uuid.NewString(), uuid.NewString()
	oldest := newKey(t, workspace, base)
	middle := newKey(t, workspace, base.Add(time.Minute))
	newest := newKey(t, workspace, base.Add(2*time.Minute))
	revoked := newKey(t, workspace, base.Add(90*time.Second))
	revoked.RevokedAt = ptr(base.Add(3 * time.Minute))
	foreign := newKey(t, other, base.Add(time.Hour))
	for _, k := range []*apikeys.Key{middle, revoked, foreign, newest, oldest} {
		mustCreate(t, s, k)
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
			if got := mustList(t, s, tc.workspace, tc.includeRevoked); !slices.Equal(got, tc.want) {
				t.Fatalf("ListKeys = %v,\nwant       %v", got, tc.want)
			}
		})
	}
}

func testRevokeScope(t *testing.T, s apikeys.Store) {
	workspace, other := uuid.NewString(), uuid.NewString()
	at := base.Add(time.Hour)
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
			k := newKey(t, workspace, base)
			mustCreate(t, s, k)
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
	k := newKey(t, uuid.NewString(), base)
	mustCreate(t, s, k)
	first, second := base.Add(time.Hour), base.Add(2*time.Hour)
	for _, at := range []time.Time{first, second} {
		if _, err := s.RevokeKey(ctx(t), k.WorkspaceID, k.ID, "", at); err != nil {
			t.Fatalf("RevokeKey(%v): %v", at, err)
		}
	}
	got := mustByHash(t, s, k.Hash)
	storecheck.UTCTimePtr(t, "RevokedAt", got.RevokedAt, &first)
}

func testRevokeUnknownOrMalformed(t *testing.T, s apikeys.Store) {
	k := newKey(t, uuid.NewString(), base)
	mustCreate(t, s, k)
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
			_, err := s.RevokeKey(ctx(t), tc.workspace, tc.id, "", base)
			if !errors.Is(err, apikeys.ErrNotFound) {
				t.Fatalf("RevokeKey(%q, %q) = %v, want ErrNotFound", tc.workspace, tc.id, err)
			}
		})
	}
	if got := mustByHash(t, s, k.Hash); got.RevokedAt != nil {
		t.Fatalf("key was revoked by a failed call: RevokedAt = %v", got.RevokedAt)
	}
}

// child returns a key of parent's workspace minted by parent a second after
// it.
func child(t *testing.T, parent *apikeys.Key) *apikeys.Key {
	t.Helper()
	k := newKey(t, parent.WorkspaceID, parent.CreatedAt.Add(time.Second))
	k.CreatedBy = parent.ID
	return k
}

func testCreatedByRoundTrip(t *testing.T, s apikeys.Store) {
	parent := newKey(t, uuid.NewString(), base)
	mustCreate(t, s, parent)
	k := child(t, parent)
	mustCreate(t, s, k)
	assertSameKey(t, mustByHash(t, s, k.Hash), k)
	assertSameKey(t, mustByHash(t, s, parent.Hash), parent)
	listed, err := s.ListKeys(ctx(t), parent.WorkspaceID, false)
	if err != nil || len(listed) != 2 {
		t.Fatalf("ListKeys = %d keys, %v; want 2", len(listed), err)
	}
	assertSameKey(t, &listed[0], k)
}

func testMintNeedsLiveParent(t *testing.T, s apikeys.Store) {
	tests := []struct {
		name    string
		parent  func(p *apikeys.Key)
		mint    func(k, p *apikeys.Key)
		wantErr error
	}{
		{"live parent", nil, nil, nil},
		{"parent expires later", func(p *apikeys.Key) { p.ExpiresAt = ptr(base.Add(time.Hour)) }, nil, nil},
		{"parent revoked, stamped later", func(p *apikeys.Key) { p.RevokedAt = ptr(base.Add(time.Hour)) }, nil, apikeys.ErrInactive},
		{"revoked parent", func(p *apikeys.Key) { p.RevokedAt = ptr(base) }, nil, apikeys.ErrInactive},
		{"parent revoked at the mint's instant", func(p *apikeys.Key) { p.RevokedAt = ptr(base.Add(time.Second)) }, nil, apikeys.ErrInactive},
		{"expired parent", func(p *apikeys.Key) { p.ExpiresAt = ptr(base.Add(time.Second)) }, nil, apikeys.ErrInactive},
		{"unknown parent", nil, func(k, _ *apikeys.Key) { k.CreatedBy = uuid.NewString() }, apikeys.ErrInactive},
		{"parent of another workspace", nil, func(k, _ *apikeys.Key) { k.WorkspaceID = uuid.NewString() }, apikeys.ErrInactive},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newKey(t, uuid.NewString(), base)
			if tc.parent != nil {
				tc.parent(p)
			}
			mustCreate(t, s, p)
			k := child(t, p)
			if tc.mint != nil {
				tc.mint(k, p)
			}
			err := s.CreateKey(ctx(t), k)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("CreateKey = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil {
				assertSameKey(t, mustByHash(t, s, k.Hash), k)
				return
			}
			if got, err := s.KeyByHash(ctx(t), k.Hash); !errors.Is(err, apikeys.ErrNotFound) {
				t.Fatalf("a refused mint was stored: %v, %v", got, err)
			}
		})
	}
}

func testKeyByIDScope(t *testing.T, s apikeys.Store) {
	k := newKey(t, uuid.NewString(), base)
	k.RevokedAt = ptr(base.Add(time.Minute))
	mustCreate(t, s, k)
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

// tree creates root → a → b, root → c and an unrelated d in one workspace,
// and returns them.
func tree(t *testing.T, s apikeys.Store) (root, a, b, c, d *apikeys.Key) {
	t.Helper()
	root = newKey(t, uuid.NewString(), base)
	mustCreate(t, s, root)
	a, c = child(t, root), child(t, root)
	mustCreate(t, s, a)
	mustCreate(t, s, c)
	b = child(t, a)
	mustCreate(t, s, b)
	d = newKey(t, root.WorkspaceID, base)
	mustCreate(t, s, d)
	return root, a, b, c, d
}

// revokedIDs returns which of keys the store holds as revoked.
func revokedIDs(t *testing.T, s apikeys.Store, keys ...*apikeys.Key) []string {
	t.Helper()
	var out []string
	for _, k := range keys {
		if mustByHash(t, s, k.Hash).RevokedAt != nil {
			out = append(out, k.ID)
		}
	}
	return out
}

func testRevokeCascades(t *testing.T, s apikeys.Store) {
	root, a, b, c, d := tree(t, s)
	first, second := base.Add(time.Hour), base.Add(2*time.Hour)

	ids, err := s.RevokeKey(ctx(t), root.WorkspaceID, a.ID, "", first)
	if err != nil {
		t.Fatalf("RevokeKey(a): %v", err)
	}
	if slices.Sort(ids); !slices.Equal(ids, sorted(a.ID, b.ID)) {
		t.Fatalf("RevokeKey(a) revoked %v, want a and b %v", ids, sorted(a.ID, b.ID))
	}
	if got := revokedIDs(t, s, root, a, b, c, d); !slices.Equal(got, []string{a.ID, b.ID}) {
		t.Fatalf("revoked after RevokeKey(a): %v, want [a b]", got)
	}

	// The operator's unscoped revoke cascades too; keys revoked before keep
	// their first time.
	ids, err = s.RevokeKey(ctx(t), "", root.ID, "", second)
	if err != nil {
		t.Fatalf("RevokeKey(root): %v", err)
	}
	if slices.Sort(ids); !slices.Equal(ids, sorted(root.ID, c.ID)) {
		t.Fatalf("RevokeKey(root) revoked %v, want root and c %v", ids, sorted(root.ID, c.ID))
	}
	if got := revokedIDs(t, s, root, a, b, c, d); !slices.Equal(got, []string{root.ID, a.ID, b.ID, c.ID}) {
		t.Fatalf("revoked after RevokeKey(root): %v, want all but d", got)
	}
	storecheck.UTCTimePtr(t, "b.RevokedAt", mustByHash(t, s, b.Hash).RevokedAt, &first)
	storecheck.UTCTimePtr(t, "c.RevokedAt", mustByHash(t, s, c.Hash).RevokedAt, &second)

	// A revoked parent mints nothing.
	late := child(t, root)
	late.CreatedAt = second.Add(time.Second)
	if err := s.CreateKey(ctx(t), late); !errors.Is(err, apikeys.ErrInactive) {
		t.Fatalf("CreateKey under a revoked parent = %v, want ErrInactive", err)
	}
	// Revoking again revokes nothing more and is no error.
	if ids, err := s.RevokeKey(ctx(t), root.WorkspaceID, root.ID, "", second); err != nil || len(ids) != 0 {
		t.Fatalf("second RevokeKey(root) = %v, %v; want none, nil", ids, err)
	}
}

// sorted returns ids sorted.
func sorted(ids ...string) []string {
	slices.Sort(ids)
	return ids
}

func testRevokeActor(t *testing.T, s apikeys.Store) {
	at := base.Add(time.Hour)
	tests := []struct {
		name    string
		actor   func(t *testing.T, target *apikeys.Key) string
		wantErr error
	}{
		{"live actor", func(t *testing.T, target *apikeys.Key) string {
			k := newKey(t, target.WorkspaceID, base)
			mustCreate(t, s, k)
			return k.ID
		}, nil},
		{"itself", func(_ *testing.T, target *apikeys.Key) string { return target.ID }, nil},
		{"revoked actor, stamped later", func(t *testing.T, target *apikeys.Key) string {
			k := newKey(t, target.WorkspaceID, base)
			k.RevokedAt = ptr(at.Add(time.Minute))
			mustCreate(t, s, k)
			return k.ID
		}, apikeys.ErrInactive},
		{"expired actor", func(t *testing.T, target *apikeys.Key) string {
			k := newKey(t, target.WorkspaceID, base)
			k.ExpiresAt = ptr(at)
			mustCreate(t, s, k)
			return k.ID
		}, apikeys.ErrInactive},
		{"actor of another workspace", func(t *testing.T, _ *apikeys.Key) string {
			k := newKey(t, uuid.NewString(), base)
			mustCreate(t, s, k)
			return k.ID
		}, apikeys.ErrInactive},
		{"unknown actor", func(*testing.T, *apikeys.Key) string { return uuid.NewString() }, apikeys.ErrInactive},
		{"malformed actor", func(*testing.T, *apikeys.Key) string { return "not-a-uuid" }, apikeys.ErrInactive},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			target := newKey(t, uuid.NewString(), base)
			mustCreate(t, s, target)
			kid := child(t, target)
			mustCreate(t, s, kid)
			_, err := s.RevokeKey(ctx(t), target.WorkspaceID, target.ID, tc.actor(t, target), at)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("RevokeKey = %v, want %v", err, tc.wantErr)
			}
			want := []string(nil)
			if tc.wantErr == nil {
				want = []string{target.ID, kid.ID}
			}
			if got := revokedIDs(t, s, target, kid); !slices.Equal(got, want) {
				t.Fatalf("revoked %v, want %v", got, want)
			}
		})
	}
}

func testTouchKey(t *testing.T, s apikeys.Store) {
	k := newKey(t, uuid.NewString(), base)
	mustCreate(t, s, k)
	later, earlier := base.Add(time.Hour), base.Add(time.Minute)
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
		storecheck.UTCTimePtr(t, st.name, mustByHash(t, s, k.Hash).LastUsedAt, &st.want)
	}
	for _, id := range []string{uuid.NewString(), "not-a-uuid", ""} {
		if err := s.TouchKey(ctx(t), id, later); err != nil {
			t.Errorf("TouchKey(%q) = %v, want nil", id, err)
		}
	}
}

// testMintRace mints grandchildren from a tree while the root is revoked:
// whatever order the store puts them in, no key of the tree may be left live
// afterwards. A store that checks the parent and inserts in two steps, or
// walks the tree without serialising with mints, leaves some alive.
func testMintRace(t *testing.T, s apikeys.Store) {
	root := newKey(t, uuid.NewString(), base)
	mustCreate(t, s, root)
	mid := child(t, root)
	mustCreate(t, s, mid)
	at := base.Add(time.Hour)
	const minters = 8
	var wg sync.WaitGroup
	minted := make([][]*apikeys.Key, minters)
	for i := range minters {
		wg.Go(func() {
			for range 5 {
				k := newKey(t, root.WorkspaceID, at.Add(-time.Second))
				k.CreatedBy = mid.ID
				if err := s.CreateKey(ctx(t), k); err == nil {
					minted[i] = append(minted[i], k)
				} else if !errors.Is(err, apikeys.ErrInactive) {
					t.Errorf("CreateKey: %v", err)
				}
			}
		})
	}
	wg.Go(func() {
		if _, err := s.RevokeKey(ctx(t), "", root.ID, "", at); err != nil {
			t.Errorf("RevokeKey: %v", err)
		}
	})
	wg.Wait()
	// The mints' creation time precedes the revocation, so any mint the
	// store let through must have been caught by the cascade.
	for _, ks := range minted {
		for _, k := range ks {
			if got := mustByHash(t, s, k.Hash); got.RevokedAt == nil {
				t.Errorf("key %s minted during the revoke is still live", k.ID)
			}
		}
	}
}

// testEveryPlanAndTier: every plan and tier gateway/plan knows is one the
// store keeps (the SQL check constraints list the same names).
func testEveryPlanAndTier(t *testing.T, s apikeys.Store) {
	workspace := uuid.NewString()
	for _, p := range plan.Names() {
		for _, tier := range plan.Tiers() {
			k := newKey(t, workspace, base)
			k.Plan, k.Tier = p, tier
			mustCreate(t, s, k)
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
			k := newKey(t, uuid.NewString(), base)
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
