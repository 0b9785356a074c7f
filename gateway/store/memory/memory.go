// Package memory is the in-process store behind `make run` and the fast unit
// tests. It keeps the SQL schema's constraints (unique keys, check
// constraints, the per-workspace webhook limit) rather than being a lenient
// fake, so that code which passes against it does not start failing on
// Postgres. Decisions the SQL functions make (auto-disable, stale attempts,
// cancelling on claim, the rotation rule) it does not re-derive: it calls the
// domain packages' functions that state them, and the shared conformance
// suites hold it and the SQL to the same cases.
package memory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/gateway/plan"
	"github.com/leadlex/api-gateway/gateway/webhooks"
)

// Compile-time guards: a drift between this store and either interface breaks
// the build here rather than at the call site that wires it.
var (
	_ webhooks.Store = (*Store)(nil)
	_ apikeys.Store  = (*Store)(nil)
)

// Limits copied from the schema's check constraints
// (deploy/supabase/migrations/20261127000001_gateway_core.sql, and
// 20261127000002_rotation_and_key_description.sql for key descriptions).
const (
	maxURLChars            = 2048
	maxDescriptionChars    = 200
	maxKeyDescriptionChars = 500
)

var (
	keyHashFormat = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// Store keeps webhooks, API keys, events, deliveries and attempts in maps
// behind one mutex. One lock for everything is deliberate: the webhook limit
// and duplicate checks must be atomic with the insert, a claim or an outcome
// must be atomic with the webhook it reads or updates, and the store is never
// the bottleneck where it is used. The zero value is not ready; use New.
type Store struct {
	mu sync.Mutex
	// webhooks and keys are indexed by canonical (lower-case) UUID, as
	// Postgres would return them.
	webhooks map[string]*webhooks.Webhook
	keys     map[string]*apikeys.Key
	// keyByHash mirrors the unique constraint on api_keys.key_hash.
	keyByHash map[string]string
	// delivery holds events, deliveries and attempts (delivery.go).
	delivery deliveryState
	// traces is the event_traces table (traces.go); events are never
	// deleted here, so neither are its rows.
	traces map[eventKey]string
}

// New returns an empty store.
func New() *Store {
	return &Store{
		webhooks:  make(map[string]*webhooks.Webhook),
		keys:      make(map[string]*apikeys.Key),
		keyByHash: make(map[string]string),
		delivery:  newDeliveryState(),
	}
}

// CreateWebhook stores a copy of w if the workspace holds fewer than limit
// webhooks and none with w.URLKey. Like gateway_create_webhook, it checks the
// limit first, sets UpdatedAt to CreatedAt and ignores the Last* and
// PreviousSecret* fields: a new webhook has not been updated, delivered to or
// rotated yet.
func (s *Store) CreateWebhook(ctx context.Context, w *webhooks.Webhook, limit int) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: create webhook: %w", err)
	}
	id, workspace, err := rowIDs("id", w.ID, w.WorkspaceID)
	if err != nil {
		return fmt.Errorf("memory: create webhook: %w", err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()

	count := 0
	duplicate := false
	for _, existing := range s.webhooks {
		if existing.WorkspaceID != workspace {
			continue
		}
		count++
		if existing.URLKey == w.URLKey {
			duplicate = true
		}
	}
	if count >= limit {
		return fmt.Errorf("memory: create webhook: %w", webhooks.ErrLimitReached)
	}
	if err := checkWebhook(w); err != nil {
		return fmt.Errorf("memory: create webhook: %w", err)
	}
	if _, taken := s.webhooks[id]; taken {
		return fmt.Errorf("memory: create webhook: id %s already exists", id)
	}
	if duplicate {
		return fmt.Errorf("memory: create webhook: %w", webhooks.ErrDuplicateURL)
	}

	stored := copyWebhook(w)
	stored.ID = id
	stored.WorkspaceID = workspace
	stored.CreatedAt = dbTime(w.CreatedAt)
	stored.UpdatedAt = stored.CreatedAt
	stored.LastDeliveryStatus = nil
	stored.LastDeliveryAt = nil
	stored.PreviousSecretCiphertext = ""
	stored.PreviousSecretExpiresAt = nil
	s.webhooks[id] = stored
	return nil
}

// checkWebhook applies the webhooks table's check constraints to w.
func checkWebhook(w *webhooks.Webhook) error {
	switch {
	case utf8.RuneCountInString(w.URL) > maxURLChars:
		return fmt.Errorf("url longer than %d characters", maxURLChars)
	case utf8.RuneCountInString(w.Description) > maxDescriptionChars:
		return fmt.Errorf("description longer than %d characters", maxDescriptionChars)
	case len(w.Events) == 0:
		return errors.New("no events")
	}
	return nil
}

// GetWebhook returns a copy of the webhook, or ErrNotFound when it does not
// exist in workspaceID (including when either id is not a UUID).
func (s *Store) GetWebhook(ctx context.Context, workspaceID, id string) (*webhooks.Webhook, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory: get webhook: %w", err)
	}
	id, idErr := canonicalUUID(id)
	workspace, wsErr := canonicalUUID(workspaceID)
	if idErr != nil || wsErr != nil {
		return nil, fmt.Errorf("memory: get webhook: %w", webhooks.ErrNotFound)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.webhooks[id]
	if !ok || w.WorkspaceID != workspace {
		return nil, fmt.Errorf("memory: get webhook: %w", webhooks.ErrNotFound)
	}
	return copyWebhook(w), nil
}

// ListWebhooks returns copies of one page of the workspace's webhooks, newest
// first with ties broken by id descending, and the workspace's total. A
// negative offset or limit counts as zero.
func (s *Store) ListWebhooks(ctx context.Context, workspaceID string, offset, limit int) ([]webhooks.Webhook, int, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("memory: list webhooks: %w", err)
	}
	workspace, err := canonicalUUID(workspaceID)
	if err != nil {
		return []webhooks.Webhook{}, 0, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []*webhooks.Webhook
	for _, w := range s.webhooks {
		if w.WorkspaceID == workspace {
			all = append(all, w)
		}
	}
	slices.SortFunc(all, func(a, b *webhooks.Webhook) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	offset, limit = max(offset, 0), max(limit, 0)
	lo := min(offset, len(all))
	hi := min(lo+limit, len(all))
	page := make([]webhooks.Webhook, 0, hi-lo)
	for _, w := range all[lo:hi] {
		page = append(page, *copyWebhook(w))
	}
	return page, len(all), nil
}

// CreateKey stores a copy of k, enforcing the schema's rules: UUID ids, unique
// id and hash, a lower-case hex SHA-256 hash, a known plan and tier. A zero
// CreatedAt takes the current time, as the column default would.
func (s *Store) CreateKey(ctx context.Context, k *apikeys.Key) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: create key: %w", err)
	}
	id, workspace, err := rowIDs("id", k.ID, k.WorkspaceID)
	if err != nil {
		return fmt.Errorf("memory: create key: %w", err)
	}
	switch {
	case !keyHashFormat.MatchString(k.Hash):
		return errors.New("memory: create key: hash is not lower-case hex SHA-256")
	case !plan.KnownPlan(k.Plan):
		return fmt.Errorf("memory: create key: unknown plan %q", k.Plan)
	case !plan.KnownTier(k.Tier):
		return fmt.Errorf("memory: create key: unknown tier %q", k.Tier)
	case utf8.RuneCountInString(k.Description) > maxKeyDescriptionChars:
		return fmt.Errorf("memory: create key: description longer than %d characters", maxKeyDescriptionChars)
	}
	parent := ""
	if k.CreatedBy != "" {
		if parent, err = canonicalUUID(k.CreatedBy); err != nil {
			return fmt.Errorf("memory: create key: created_by: %w", err)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.keys[id]; taken {
		return fmt.Errorf("memory: create key: id %s already exists", id)
	}
	stored := copyKey(k)
	stored.CreatedAt = dbNow(stored.CreatedAt)
	if parent != "" {
		// As gateway_create_api_key: the parent must be able to act, read under the
		// same lock as the insert, so a concurrent revoke cannot miss it.
		p, ok := s.keys[parent]
		if !ok || p.WorkspaceID != workspace || !p.CanAct(stored.CreatedAt) {
			return fmt.Errorf("memory: create key: %w", apikeys.ErrInactive)
		}
	}
	if _, taken := s.keyByHash[k.Hash]; taken {
		return errors.New("memory: create key: hash already exists")
	}
	stored.ID = id
	stored.WorkspaceID = workspace
	stored.CreatedBy = parent
	stored.ExpiresAt = dbTimePtr(stored.ExpiresAt)
	stored.RevokedAt = dbTimePtr(stored.RevokedAt)
	stored.LastUsedAt = nil
	s.keys[id] = stored
	s.keyByHash[stored.Hash] = id
	return nil
}

// KeyByHash returns a copy of the key with this hash, revoked or not.
func (s *Store) KeyByHash(ctx context.Context, hash string) (*apikeys.Key, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory: key by hash: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.keyByHash[hash]
	if !ok {
		return nil, fmt.Errorf("memory: key by hash: %w", apikeys.ErrNotFound)
	}
	return copyKey(s.keys[id]), nil
}

// ListKeys returns copies of the workspace's keys, newest first with ties
// broken by id descending (the order of the Postgres index), leaving out
// revoked keys unless includeRevoked is set.
func (s *Store) ListKeys(ctx context.Context, workspaceID string, includeRevoked bool) ([]apikeys.Key, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory: list keys: %w", err)
	}
	workspace, err := canonicalUUID(workspaceID)
	if err != nil {
		return []apikeys.Key{}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []apikeys.Key{}
	for _, k := range s.keys {
		if k.WorkspaceID != workspace || (k.RevokedAt != nil && !includeRevoked) {
			continue
		}
		out = append(out, *copyKey(k))
	}
	slices.SortFunc(out, func(a, b apikeys.Key) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return out, nil
}

// KeyByID returns a copy of the key with id, within workspaceID unless it is
// empty; malformed ids are ErrNotFound.
func (s *Store) KeyByID(ctx context.Context, workspaceID, id string) (*apikeys.Key, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory: key by id: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.scopedKey(workspaceID, id)
	if err != nil {
		return nil, fmt.Errorf("memory: key by id: %w", err)
	}
	return copyKey(k), nil
}

// scopedKey returns the stored key with id within workspaceID (any workspace
// when it is empty), or ErrNotFound. The caller holds s.mu.
func (s *Store) scopedKey(workspaceID, id string) (*apikeys.Key, error) {
	id, err := canonicalUUID(id)
	if err != nil {
		return nil, apikeys.ErrNotFound
	}
	workspace := ""
	if workspaceID != "" {
		if workspace, err = canonicalUUID(workspaceID); err != nil {
			return nil, apikeys.ErrNotFound
		}
	}
	k, ok := s.keys[id]
	if !ok || (workspace != "" && k.WorkspaceID != workspace) {
		return nil, apikeys.ErrNotFound
	}
	return k, nil
}

// RevokeKey sets RevokedAt on the key and on every key minted from it,
// transitively, unless already set, so that the first revocation time
// survives a retried or repeated revoke, as gateway_revoke_api_key does. An
// empty workspaceID is the operator's unscoped revoke; a non-empty by must be
// a live key of the target's workspace. It returns the ids revoked now.
func (s *Store) RevokeKey(ctx context.Context, workspaceID, id, by string, at time.Time) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory: revoke key: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	root, err := s.scopedKey(workspaceID, id)
	if err != nil {
		return nil, fmt.Errorf("memory: revoke key: %w", err)
	}
	t := dbTime(at)
	if by != "" {
		actor, err := s.scopedKey(root.WorkspaceID, by)
		if err != nil || !actor.CanAct(t) {
			return nil, fmt.Errorf("memory: revoke key: %w", apikeys.ErrInactive)
		}
	}
	revoked := []string{}
	tree := []string{root.ID}
	seen := map[string]bool{root.ID: true}
	for len(tree) > 0 {
		k := s.keys[tree[0]]
		tree = tree[1:]
		if k.RevokedAt == nil {
			k.RevokedAt = &t
			revoked = append(revoked, k.ID)
		}
		for _, child := range s.keys {
			if child.CreatedBy == k.ID && !seen[child.ID] {
				seen[child.ID] = true
				tree = append(tree, child.ID)
			}
		}
	}
	return revoked, nil
}

// TouchKey sets LastUsedAt to at unless a later time is recorded.
func (s *Store) TouchKey(ctx context.Context, id string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: touch key: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.scopedKey("", id)
	if err != nil {
		return nil
	}
	t := dbTime(at)
	if k.LastUsedAt == nil || k.LastUsedAt.Before(t) {
		k.LastUsedAt = &t
	}
	return nil
}

// canonicalUUID returns s in the lower-case hyphenated form Postgres prints,
// so that ids compare and sort the way they do in the uuid column, or an
// error when s is not an id by gateway.CanonicalID, the one rule for store ids.
func canonicalUUID(s string) (string, error) {
	id, ok := gateway.CanonicalID(s)
	if !ok {
		return "", fmt.Errorf("not a UUID: %q", s)
	}
	return id, nil
}

// rowIDs returns the canonical id and workspace id of a row to store, or an
// error naming the one that is not a UUID (idName is what the id is called).
func rowIDs(idName, id, workspaceID string) (string, string, error) {
	cid, err := canonicalUUID(id)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", idName, err)
	}
	ws, err := canonicalUUID(workspaceID)
	if err != nil {
		return "", "", fmt.Errorf("workspace id: %w", err)
	}
	return cid, ws, nil
}

// dbNow is dbTime of t, or of the current time when t is zero (the stores'
// rule for a time the caller left out).
func dbNow(t time.Time) time.Time { return dbTime(orNow(t)) }

// orNow is t, or the current time when t is zero.
func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}

// dbTime returns t as a timestamptz column gives it back: in UTC, to the
// microsecond (pgx truncates when encoding), without a monotonic reading.
func dbTime(t time.Time) time.Time {
	return t.Truncate(time.Microsecond).UTC()
}

// dbTimePtr is dbTime for nullable columns; it also unshares the pointer.
func dbTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := dbTime(*t)
	return &v
}

// copyWebhook returns a deep copy, so that neither the caller of a write nor
// the caller of a read can reach the stored value through a slice or pointer.
func copyWebhook(w *webhooks.Webhook) *webhooks.Webhook {
	c := *w
	c.Events = slices.Clone(w.Events)
	c.LastDeliveryStatus = clonePtr(w.LastDeliveryStatus)
	c.LastDeliveryAt = clonePtr(w.LastDeliveryAt)
	c.PreviousSecretExpiresAt = clonePtr(w.PreviousSecretExpiresAt)
	c.DisabledReason = clonePtr(w.DisabledReason)
	return &c
}

// clonePtr returns a pointer to a copy of *p, or nil for nil.
func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// copyKey is copyWebhook for keys.
func copyKey(k *apikeys.Key) *apikeys.Key {
	c := *k
	c.Permissions = slices.Clone(k.Permissions)
	if c.Permissions == nil {
		// The column is NOT NULL; an empty array is what Postgres returns.
		c.Permissions = []gateway.Permission{}
	}
	c.ExpiresAt = clonePtr(k.ExpiresAt)
	c.RevokedAt = clonePtr(k.RevokedAt)
	c.LastUsedAt = clonePtr(k.LastUsedAt)
	return &c
}
