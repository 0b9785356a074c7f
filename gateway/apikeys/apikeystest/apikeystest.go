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
	"github.com/leadlex/api-gateway/internal/storecheck"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
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
		Plan:        "starter",
		Tier:        "standard",
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
	})
	if !slices.Equal(got.Permissions, want.Permissions) {
		t.Errorf("Permissions = %q, want %q", got.Permissions, want.Permissions)
	}
	storecheck.UTCTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	storecheck.UTCTimePtr(t, "ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	storecheck.UTCTimePtr(t, "RevokedAt", got.RevokedAt, want.RevokedAt)
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
			err := s.RevokeKey(ctx(t), tc.scope(k), k.ID, at)
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
		if err := s.RevokeKey(ctx(t), k.WorkspaceID, k.ID, at); err != nil {
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
			err := s.RevokeKey(ctx(t), tc.workspace, tc.id, base)
			if !errors.Is(err, apikeys.ErrNotFound) {
				t.Fatalf("RevokeKey(%q, %q) = %v, want ErrNotFound", tc.workspace, tc.id, err)
			}
		})
	}
	if got := mustByHash(t, s, k.Hash); got.RevokedAt != nil {
		t.Fatalf("key was revoked by a failed call: RevokedAt = %v", got.RevokedAt)
	}
}
