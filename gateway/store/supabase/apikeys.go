package supabase

import (
	"context"
	"regexp"
	"time"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
)

// keysPageSize is how many keys ListKeys asks for per request. PostgREST may
// cap a response below this (Supabase's "max rows" setting, 1000 by default),
// so ListKeys pages until it has the count that PostgREST reported.
const keysPageSize = 1000

// hashRE is the shape of a stored key hash (lower-case hex SHA-256), as the
// api_keys_key_hash_format constraint requires.
var hashRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// keyRow is a row of the api_keys table as PostgREST renders it.
type keyRow struct {
	ID          string               `json:"id"`
	WorkspaceID string               `json:"workspace_id"`
	Name        string               `json:"name"`
	Description string               `json:"description"`
	KeyPrefix   string               `json:"key_prefix"`
	KeyHash     string               `json:"key_hash"`
	Permissions []gateway.Permission `json:"permissions"`
	Plan        string               `json:"plan"`
	Tier        string               `json:"tier"`
	ExpiresAt   *pgTime              `json:"expires_at"`
	RevokedAt   *pgTime              `json:"revoked_at"`
	CreatedAt   pgTime               `json:"created_at"`
}

// key converts the row to the module's type.
func (r *keyRow) key() apikeys.Key {
	return apikeys.Key{
		ID:          r.ID,
		WorkspaceID: r.WorkspaceID,
		Name:        r.Name,
		Description: r.Description,
		Prefix:      r.KeyPrefix,
		Hash:        r.KeyHash,
		Permissions: r.Permissions,
		Plan:        r.Plan,
		Tier:        r.Tier,
		ExpiresAt:   r.ExpiresAt.Ptr(),
		RevokedAt:   r.RevokedAt.Ptr(),
		CreatedAt:   r.CreatedAt.Time,
	}
}

// keyInsert is the JSON body that inserts one api_keys row. A nil CreatedAt is
// left out so that the column default (now()) applies.
type keyInsert struct {
	ID          string               `json:"id"`
	WorkspaceID string               `json:"workspace_id"`
	Name        string               `json:"name"`
	Description string               `json:"description"`
	KeyPrefix   string               `json:"key_prefix"`
	KeyHash     string               `json:"key_hash"`
	Permissions []gateway.Permission `json:"permissions"`
	Plan        string               `json:"plan"`
	Tier        string               `json:"tier"`
	ExpiresAt   *string              `json:"expires_at"`
	RevokedAt   *string              `json:"revoked_at"`
	CreatedAt   *string              `json:"created_at,omitempty"`
}

// CreateKey inserts k. A key whose id or hash already exists gives an error
// matching ErrDuplicateKey; other constraint failures (a malformed hash, an
// unknown plan or tier) give a wrapped error. A zero CreatedAt is filled in by
// the database. On success k is replaced by the stored row.
func (s *Store) CreateKey(ctx context.Context, k *apikeys.Key) error {
	const op = "create key"
	if k == nil {
		return s.failf(op, "nil key")
	}
	id, ok := canonicalUUID(k.ID)
	if !ok {
		return s.failf(op, "the id %q is not a UUID", k.ID)
	}
	ws, ok := canonicalUUID(k.WorkspaceID)
	if !ok {
		return s.failf(op, "the workspace id %q is not a UUID", k.WorkspaceID)
	}
	perms := k.Permissions
	if perms == nil {
		perms = []gateway.Permission{}
	}
	row := keyInsert{
		ID:          id,
		WorkspaceID: ws,
		Name:        k.Name,
		Description: k.Description,
		KeyPrefix:   k.Prefix,
		KeyHash:     k.Hash,
		Permissions: perms,
		Plan:        k.Plan,
		Tier:        k.Tier,
		ExpiresAt:   formatTimePtr(k.ExpiresAt),
		RevokedAt:   formatTimePtr(k.RevokedAt),
	}
	if !k.CreatedAt.IsZero() {
		row.CreatedAt = formatTimePtr(&k.CreatedAt)
	}

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	body, _, err := s.client.From(tableAPIKeys).
		Insert(row, false, "", "representation", "").
		ExecuteWithContext(ctx)
	if err != nil {
		return s.mapError(op, err, errMap{duplicate: ErrDuplicateKey})
	}
	rows, err := decodeRows[keyRow](body)
	if err != nil {
		return s.failf(op, "%v", err)
	}
	if len(rows) != 1 {
		return s.failf(op, "the insert returned %d rows, want 1", len(rows))
	}
	*k = rows[0].key()
	return nil
}

// KeyByHash returns the key with this hash, revoked or not, or
// apikeys.ErrNotFound. It is the authentication lookup, which is what tells
// the workspace, so it is the one query not filtered by workspace. A hash that
// is not 64 lower-case hex digits is not found without a request.
func (s *Store) KeyByHash(ctx context.Context, hash string) (*apikeys.Key, error) {
	const op = "key by hash"
	if !hashRE.MatchString(hash) {
		return nil, wrapSentinel(op, apikeys.ErrNotFound)
	}

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	body, _, err := s.client.From(tableAPIKeys).
		Select("*", "", false).
		Eq("key_hash", hash).
		ExecuteWithContext(ctx)
	if err != nil {
		return nil, s.mapError(op, err, errMap{notFound: apikeys.ErrNotFound})
	}
	rows, err := decodeRows[keyRow](body)
	if err != nil {
		return nil, s.failf(op, "%v", err)
	}
	switch len(rows) {
	case 0:
		return nil, wrapSentinel(op, apikeys.ErrNotFound)
	case 1:
		k := rows[0].key()
		return &k, nil
	default:
		return nil, s.failf(op, "%d rows for one hash", len(rows))
	}
}

// ListKeys returns the workspace's keys, newest first (ties broken by id,
// descending); revoked ones only when includeRevoked is set. It pages through
// the workspace so that a server-side row cap cannot silently cut the list. A
// workspace id that is not a UUID has no keys.
func (s *Store) ListKeys(ctx context.Context, workspaceID string, includeRevoked bool) ([]apikeys.Key, error) {
	const op = "list keys"
	out := []apikeys.Key{}
	ws, ok := canonicalUUID(workspaceID)
	if !ok {
		return out, nil
	}

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	total := -1 // unknown until the first page
	for {
		count := ""
		if total < 0 {
			count = "exact"
		}
		q := s.client.From(tableAPIKeys).
			Select("*", count, false).
			Eq("workspace_id", ws)
		if !includeRevoked {
			q = q.Is("revoked_at", "null")
		}
		body, n, err := q.
			Order("created_at", newestFirst).
			Order("id", newestFirst).
			Range(len(out), len(out)+keysPageSize-1, "").
			ExecuteWithContext(ctx)
		if err != nil {
			if total >= 0 && errorCode(err) == "PGRST103" {
				break // the rest went away between pages
			}
			return nil, s.mapError(op, err, errMap{})
		}
		rows, err := decodeRows[keyRow](body)
		if err != nil {
			return nil, s.failf(op, "%v", err)
		}
		if total < 0 {
			total = int(n)
			if total < len(rows) {
				// postgrest-go reports 0 when Content-Range is missing.
				return nil, s.failf(op, "the response carries no exact count (Content-Range)")
			}
		}
		for i := range rows {
			out = append(out, rows[i].key())
		}
		if len(rows) == 0 || len(out) >= total {
			break
		}
	}
	return out, nil
}

// revokeBody is the PATCH body of RevokeKey.
type revokeBody struct {
	RevokedAt string `json:"revoked_at"`
}

// idRow reads only the id column.
type idRow struct {
	ID string `json:"id"`
}

// RevokeKey sets revoked_at to at on the key with id, within workspaceID unless
// workspaceID is empty (the operator's unscoped revoke). Only a key not yet
// revoked is updated, so a second revoke keeps the first time and returns nil.
// It returns apikeys.ErrNotFound when no such key exists, also for ids that
// are not UUIDs. A zero at means now.
func (s *Store) RevokeKey(ctx context.Context, workspaceID, id string, at time.Time) error {
	const op = "revoke key"
	kid, ok := canonicalUUID(id)
	if !ok {
		return wrapSentinel(op, apikeys.ErrNotFound)
	}
	ws := ""
	if workspaceID != "" {
		if ws, ok = canonicalUUID(workspaceID); !ok {
			return wrapSentinel(op, apikeys.ErrNotFound)
		}
	}
	if at.IsZero() {
		at = time.Now()
	}

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	upd := s.client.From(tableAPIKeys).
		Update(revokeBody{RevokedAt: formatTime(at)}, "representation", "").
		Eq("id", kid)
	if ws != "" {
		upd = upd.Eq("workspace_id", ws)
	}
	body, _, err := upd.Is("revoked_at", "null").ExecuteWithContext(ctx)
	if err != nil {
		return s.mapError(op, err, errMap{notFound: apikeys.ErrNotFound})
	}
	updated, err := decodeRows[idRow](body)
	if err != nil {
		return s.failf(op, "%v", err)
	}
	if len(updated) > 0 {
		return nil
	}

	// Nothing was updated: the key is either revoked already or absent.
	sel := s.client.From(tableAPIKeys).
		Select("id", "", false).
		Eq("id", kid)
	if ws != "" {
		sel = sel.Eq("workspace_id", ws)
	}
	body, _, err = sel.ExecuteWithContext(ctx)
	if err != nil {
		return s.mapError(op, err, errMap{notFound: apikeys.ErrNotFound})
	}
	existing, err := decodeRows[idRow](body)
	if err != nil {
		return s.failf(op, "%v", err)
	}
	if len(existing) == 0 {
		return wrapSentinel(op, apikeys.ErrNotFound)
	}
	return nil
}
