package storetest

// Lineage: created_by, minting needs a live parent, cascading revocation,
// the revoking key must be live, and a mint racing a revoke never escapes.

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/leadlex/api-gateway/gateway/apikeys"
)

// child returns a key of parent's workspace minted by parent a second after
// it.
func child(t *testing.T, parent *apikeys.Key) *apikeys.Key {
	t.Helper()
	k := newKey(t, parent.WorkspaceID, parent.CreatedAt.Add(time.Second))
	k.CreatedBy = parent.ID
	return k
}

func testCreatedByRoundTrip(t *testing.T, s apikeys.Store) {
	parent := newKey(t, uuid.NewString(), keyBase)
	mustCreateKey(t, s, parent)
	k := child(t, parent)
	mustCreateKey(t, s, k)
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
		{"parent expires later", func(p *apikeys.Key) { p.ExpiresAt = ptr(keyBase.Add(time.Hour)) }, nil, nil},
		{"parent revoked, stamped later", func(p *apikeys.Key) { p.RevokedAt = ptr(keyBase.Add(time.Hour)) }, nil, apikeys.ErrInactive},
		{"revoked parent", func(p *apikeys.Key) { p.RevokedAt = ptr(keyBase) }, nil, apikeys.ErrInactive},
		{"parent revoked at the mint's instant", func(p *apikeys.Key) { p.RevokedAt = ptr(keyBase.Add(time.Second)) }, nil, apikeys.ErrInactive},
		{"expired parent", func(p *apikeys.Key) { p.ExpiresAt = ptr(keyBase.Add(time.Second)) }, nil, apikeys.ErrInactive},
		{"unknown parent", nil, func(k, _ *apikeys.Key) { k.CreatedBy = uuid.NewString() }, apikeys.ErrInactive},
		{"parent of another workspace", nil, func(k, _ *apikeys.Key) { k.WorkspaceID = uuid.NewString() }, apikeys.ErrInactive},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newKey(t, uuid.NewString(), keyBase)
			if tc.parent != nil {
				tc.parent(p)
			}
			mustCreateKey(t, s, p)
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

// tree creates root → a → b, root → c and an unrelated d in one workspace,
// and returns them.
func tree(t *testing.T, s apikeys.Store) (root, a, b, c, d *apikeys.Key) {
	t.Helper()
	root = newKey(t, uuid.NewString(), keyBase)
	mustCreateKey(t, s, root)
	a, c = child(t, root), child(t, root)
	mustCreateKey(t, s, a)
	mustCreateKey(t, s, c)
	b = child(t, a)
	mustCreateKey(t, s, b)
	d = newKey(t, root.WorkspaceID, keyBase)
	mustCreateKey(t, s, d)
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
	first, second := keyBase.Add(time.Hour), keyBase.Add(2*time.Hour)

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
	UTCTimePtr(t, "b.RevokedAt", mustByHash(t, s, b.Hash).RevokedAt, &first)
	UTCTimePtr(t, "c.RevokedAt", mustByHash(t, s, c.Hash).RevokedAt, &second)

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
	at := keyBase.Add(time.Hour)
	tests := []struct {
		name    string
		actor   func(t *testing.T, target *apikeys.Key) string
		wantErr error
	}{
		{"live actor", func(t *testing.T, target *apikeys.Key) string {
			k := newKey(t, target.WorkspaceID, keyBase)
			mustCreateKey(t, s, k)
			return k.ID
		}, nil},
		{"itself", func(_ *testing.T, target *apikeys.Key) string { return target.ID }, nil},
		{"revoked actor, stamped later", func(t *testing.T, target *apikeys.Key) string {
			k := newKey(t, target.WorkspaceID, keyBase)
			k.RevokedAt = ptr(at.Add(time.Minute))
			mustCreateKey(t, s, k)
			return k.ID
		}, apikeys.ErrInactive},
		{"expired actor", func(t *testing.T, target *apikeys.Key) string {
			k := newKey(t, target.WorkspaceID, keyBase)
			k.ExpiresAt = ptr(at)
			mustCreateKey(t, s, k)
			return k.ID
		}, apikeys.ErrInactive},
		{"actor of another workspace", func(t *testing.T, _ *apikeys.Key) string {
			k := newKey(t, uuid.NewString(), keyBase)
			mustCreateKey(t, s, k)
			return k.ID
		}, apikeys.ErrInactive},
		{"unknown actor", func(*testing.T, *apikeys.Key) string { return uuid.NewString() }, apikeys.ErrInactive},
		{"malformed actor", func(*testing.T, *apikeys.Key) string { return "not-a-uuid" }, apikeys.ErrInactive},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			target := newKey(t, uuid.NewString(), keyBase)
			mustCreateKey(t, s, target)
			kid := child(t, target)
			mustCreateKey(t, s, kid)
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

// testMintRace mints grandchildren from a tree while the root is revoked:
// whatever order the store puts them in, no key of the tree may be left live
// afterwards. A store that checks the parent and inserts in two steps, or
// walks the tree without serialising with mints, leaves some alive.
func testMintRace(t *testing.T, s apikeys.Store) {
	root := newKey(t, uuid.NewString(), keyBase)
	mustCreateKey(t, s, root)
	mid := child(t, root)
	mustCreateKey(t, s, mid)
	at := keyBase.Add(time.Hour)
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
