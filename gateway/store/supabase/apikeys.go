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
	CreatedBy   *string              `json:"created_by"`
	LastUsedAt  *pgTime              `json:"last_used_at"`
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
		CreatedBy:   deref(r.CreatedBy),
		LastUsedAt:  r.LastUsedAt.Ptr(),
	}
}

// deref returns *p, or "" for nil (SQL null).
func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// createKeyArgs are the named arguments of gateway_create_api_key. A nil
// CreatedAt lets the function take now(); a nil CreatedBy is a key without a
// parent (the operator CLI's).
type createKeyArgs struct {
	ID          string               `json:"p_id"`
	WorkspaceID string               `json:"p_workspace_id"`
	Name        string               `json:"p_name"`
	Description string               `json:"p_description"`
	KeyPrefix   string               `json:"p_key_prefix"`
	KeyHash     string               `json:"p_key_hash"`
	Permissions []gateway.Permission `json:"p_permissions"`
	Plan        string               `json:"p_plan"`
	Tier        string               `json:"p_tier"`
	ExpiresAt   *string              `json:"p_expires_at"`
	RevokedAt   *string              `json:"p_revoked_at"`
	CreatedAt   *string              `json:"p_created_at"`
	CreatedBy   *string              `json:"p_created_by"`
}

// CreateKey inserts k through POST /rest/v1/rpc/gateway_create_api_key, the
// function the postgres store calls too, which checks a parent's liveness
// under the workspace's lock. A key whose id or hash already exists gives an
// error matching ErrDuplicateKey; a parent that is not live gives
// apikeys.ErrInactive (SQLSTATE LL002); other constraint failures (a
// malformed hash, an unknown plan or tier) give a wrapped error. A zero
// CreatedAt is filled in by the database. On success k is replaced by the
// stored row.
func (s *Store) CreateKey(ctx context.Context, k *apikeys.Key) error {
	const op = "create key"
	if k == nil {
		return s.failf(op, "nil key")
	}
	id, ws, err := s.rowIDs(op, k.ID, k.WorkspaceID)
	if err != nil {
		return err
	}
	perms := k.Permissions
	if perms == nil {
		perms = []gateway.Permission{}
	}
	args := createKeyArgs{
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
		args.CreatedAt = formatTimePtr(&k.CreatedAt)
	}
	if k.CreatedBy != "" {
		parent, ok := canonicalUUID(k.CreatedBy)
		if !ok {
			return s.failf(op, "the parent id %q is not a UUID", k.CreatedBy)
		}
		args.CreatedBy = &parent
	}

	body, err := s.rpc(ctx, fnCreateKey, args)
	if err != nil {
		return s.mapError(op, err, errMap{duplicate: ErrDuplicateKey, inactive: apikeys.ErrInactive})
	}
	row, err := createdRow[keyRow](s, op, body)
	if err != nil {
		return err
	}
	*k = row.key()
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
	return s.oneKey(op, body, err)
}

// oneKey turns the answer of a select that matches at most one key (by a
// unique column) into that key, apikeys.ErrNotFound, or an error.
func (s *Store) oneKey(op string, body []byte, err error) (*apikeys.Key, error) {
	if err != nil {
		return nil, s.mapError(op, err, errMap{notFound: apikeys.ErrNotFound})
	}
	return oneRow(s, op, body, "key", apikeys.ErrNotFound, func(r keyRow) apikeys.Key { return r.key() })
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

// KeyByID returns the key with id (within workspaceID unless it is empty),
// revoked or not, or apikeys.ErrNotFound, also for ids that are not UUIDs,
// without a request.
func (s *Store) KeyByID(ctx context.Context, workspaceID, id string) (*apikeys.Key, error) {
	const op = "key by id"
	kid, ok := canonicalUUID(id)
	if !ok {
		return nil, wrapSentinel(op, apikeys.ErrNotFound)
	}
	ws := ""
	if workspaceID != "" {
		if ws, ok = canonicalUUID(workspaceID); !ok {
			return nil, wrapSentinel(op, apikeys.ErrNotFound)
		}
	}

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	q := s.client.From(tableAPIKeys).
		Select("*", "", false).
		Eq("id", kid)
	if ws != "" {
		q = q.Eq("workspace_id", ws)
	}
	body, _, err := q.ExecuteWithContext(ctx)
	return s.oneKey(op, body, err)
}

// revokeKeyArgs are the named arguments of gateway_revoke_api_key; nil is SQL
// null (no workspace scope, no acting key).
type revokeKeyArgs struct {
	WorkspaceID *string `json:"p_workspace_id"`
	ID          string  `json:"p_id"`
	By          *string `json:"p_by"`
	At          string  `json:"p_at"`
}

// RevokeKey revokes the key with id and every key minted from it,
// transitively, through POST /rest/v1/rpc/gateway_revoke_api_key, which does
// it in one transaction under the workspace's lock, and returns the ids it
// revoked now. Scope and acting key as apikeys.Store says: an unknown key
// (SQLSTATE LL003, or an id that is not a UUID) is apikeys.ErrNotFound, an
// acting key that is not live (LL002) apikeys.ErrInactive. A zero at means
// now.
func (s *Store) RevokeKey(ctx context.Context, workspaceID, id, by string, at time.Time) ([]string, error) {
	const op = "revoke key"
	args := revokeKeyArgs{}
	var ok bool
	if args.ID, ok = canonicalUUID(id); !ok {
		return nil, wrapSentinel(op, apikeys.ErrNotFound)
	}
	if workspaceID != "" {
		ws, ok := canonicalUUID(workspaceID)
		if !ok {
			return nil, wrapSentinel(op, apikeys.ErrNotFound)
		}
		args.WorkspaceID = &ws
	}
	if by != "" {
		actor, ok := canonicalUUID(by)
		if !ok {
			return nil, wrapSentinel(op, apikeys.ErrInactive)
		}
		args.By = &actor
	}
	at = orNow(at)
	args.At = formatTime(at)

	body, err := s.rpc(ctx, fnRevokeKey, args)
	if err != nil {
		return nil, s.mapError(op, err, errMap{notFound: apikeys.ErrNotFound, inactive: apikeys.ErrInactive})
	}
	// A setof uuid function answers with a JSON array of strings.
	ids, err := decodeRows[string](body)
	if err != nil {
		return nil, s.failf(op, "%v", err)
	}
	return ids, nil
}

// touchKeyArgs are the named arguments of gateway_touch_api_key.
type touchKeyArgs struct {
	ID string `json:"p_id"`
	At string `json:"p_at"`
}

// TouchKey records a use through POST /rest/v1/rpc/gateway_touch_api_key,
// which never moves last_used_at backwards. An id that is not a UUID records
// nothing, without a request.
func (s *Store) TouchKey(ctx context.Context, id string, at time.Time) error {
	kid, ok := canonicalUUID(id)
	if !ok {
		return nil
	}
	_, err := s.rpc(ctx, fnTouchKey, touchKeyArgs{ID: kid, At: formatTime(at)})
	return s.mapError("touch key", err, errMap{})
}

// idRow reads only the id column.
type idRow struct {
	ID string `json:"id"`
}
