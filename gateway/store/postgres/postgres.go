// Package postgres is the gateway's store on a direct pgx connection to
// Postgres (or to Supabase's Postgres). It leaves every rule the schema can
// enforce (unique keys, check constraints, the webhook limit) to the schema,
// and only translates the resulting errors into the domain's.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/gateway/webhooks"
)

// Compile-time guards: a drift between this store and either interface breaks
// the build here rather than at the call site that wires it.
var (
	_ webhooks.Store = (*Store)(nil)
	_ apikeys.Store  = (*Store)(nil)
)

// Names from the schema that the error mapping depends on.
const (
	codeUniqueViolation = "23505"
	// codeLimitReached is raised by gateway_create_webhook.
	codeLimitReached = "LL001"
	// codeKeyInactive is raised by gateway_create_api_key and
	// gateway_revoke_api_key when the acting key is not live.
	codeKeyInactive = "LL002"
	// codeKeyNotFound is raised by gateway_revoke_api_key.
	codeKeyNotFound = "LL003"
	// codeRotationConflict is raised by gateway_rotate_webhook_secret_if_current.
	codeRotationConflict    = "LL004"
	constraintWebhookURLKey = "webhooks_workspace_url_key"
)

// errMalformedID marks an id that is not a UUID. It never leaves the package:
// mapError turns it into the caller's not-found error, because to a client an
// id that cannot exist is the same as one that does not.
var errMalformedID = errors.New("malformed uuid")

// Store implements webhooks.Store and apikeys.Store on a pgx pool. It is safe
// for concurrent use because the pool is.
type Store struct {
	pool *pgxpool.Pool
}

// New returns a store on pool. The pool stays the caller's to close, since the
// caller may share it with other stores.
func New(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool}
}

// Ping reports whether the database answers, for the readiness probe: an
// instance that cannot reach its data should be taken out of rotation.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// webhookColumns is the select list that scanWebhook reads, in its order. It
// also serves as the RETURNING list of writes and as the select list over the
// rows that the SQL functions return.
const webhookColumns = `id, workspace_id, url, url_key, events, description, active,
	secret_ciphertext, previous_secret_ciphertext, previous_secret_expires_at,
	created_at, updated_at, last_delivery_status, last_delivery_at, disabled_reason`

// CreateWebhook inserts w through gateway_create_webhook, the SQL function the
// supabase store calls too, so that the limit rule lives in one place. As
// that function does, it stores UpdatedAt = CreatedAt and ignores the Last*
// fields.
func (s *Store) CreateWebhook(ctx context.Context, w *webhooks.Webhook, limit int) error {
	const op = "create webhook"
	// int4 parameter: a limit beyond it is no limit at all.
	limit = min(limit, math.MaxInt32)
	// Ids that are not UUIDs go through as given, for Postgres to refuse.
	id, _ := canonicalID(w.ID)
	workspaceID, _ := canonicalID(w.WorkspaceID)
	_, err := s.pool.Exec(ctx,
		`select id from gateway_create_webhook($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		id, workspaceID, w.URL, w.URLKey, w.Events, w.Description, w.Active,
		w.SecretCiphertext, w.CreatedAt, int32(limit))
	if err != nil {
		return mapError(op, webhooks.ErrNotFound, err)
	}
	return nil
}

// GetWebhook returns one webhook of the workspace, or ErrNotFound, also for
// ids that are not UUIDs.
func (s *Store) GetWebhook(ctx context.Context, workspaceID, id string) (*webhooks.Webhook, error) {
	const op = "get webhook"
	id, okID := canonicalID(id)
	workspaceID, okWorkspace := canonicalID(workspaceID)
	if !okID || !okWorkspace {
		return nil, mapError(op, webhooks.ErrNotFound, errMalformedID)
	}
	row := s.pool.QueryRow(ctx,
		`select `+webhookColumns+` from webhooks where id = $1 and workspace_id = $2`,
		id, workspaceID)
	w, err := scanWebhook(row)
	if err != nil {
		return nil, mapError(op, webhooks.ErrNotFound, err)
	}
	return w, nil
}

// ListWebhooks returns a page of the workspace's webhooks, newest first with
// ties broken by id descending, and the total. Page and count come from one
// snapshot, so the total always agrees with the rows. A negative offset or
// limit counts as zero.
func (s *Store) ListWebhooks(ctx context.Context, workspaceID string, offset, limit int) ([]webhooks.Webhook, int, error) {
	const op = "list webhooks"
	page := []webhooks.Webhook{}
	workspaceID, ok := canonicalID(workspaceID)
	if !ok {
		return page, 0, nil
	}
	offset, limit = max(offset, 0), max(limit, 0)
	var total int
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error {
			if err := tx.QueryRow(ctx, `select count(*) from webhooks where workspace_id = $1`, workspaceID).Scan(&total); err != nil {
				return err
			}
			rows, err := tx.Query(ctx,
				`select `+webhookColumns+` from webhooks where workspace_id = $1
				 order by created_at desc, id desc offset $2 limit $3`,
				workspaceID, int64(offset), int64(limit))
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				w, err := scanWebhook(rows)
				if err != nil {
					return err
				}
				page = append(page, *w)
			}
			return rows.Err()
		})
	if err != nil {
		return nil, 0, mapError(op, webhooks.ErrNotFound, err)
	}
	return page, total, nil
}

// scanWebhook reads one row selected with webhookColumns. A null previous
// secret (never rotated) becomes the empty string.
func scanWebhook(row pgx.Row) (*webhooks.Webhook, error) {
	var (
		w        webhooks.Webhook
		previous *string
	)
	err := row.Scan(&w.ID, &w.WorkspaceID, &w.URL, &w.URLKey, &w.Events, &w.Description,
		&w.Active, &w.SecretCiphertext, &previous, &w.PreviousSecretExpiresAt,
		&w.CreatedAt, &w.UpdatedAt, &w.LastDeliveryStatus, &w.LastDeliveryAt, &w.DisabledReason)
	if err != nil {
		return nil, err
	}
	if previous != nil {
		w.PreviousSecretCiphertext = *previous
	}
	w.PreviousSecretExpiresAt = utcPtr(w.PreviousSecretExpiresAt)
	w.CreatedAt = w.CreatedAt.UTC()
	w.UpdatedAt = w.UpdatedAt.UTC()
	w.LastDeliveryAt = utcPtr(w.LastDeliveryAt)
	return &w, nil
}

// keyColumns is the select list that scanKey reads, in its order, and the
// column list of CreateKey's insert.
const keyColumns = `id, workspace_id, name, description, key_prefix, key_hash, permissions,
	plan, tier, expires_at, revoked_at, created_at, created_by, last_used_at`

// CreateKey inserts k through gateway_create_api_key, the SQL function the
// supabase store calls too, so that the parent check lives in one place. A
// duplicate id or hash, or a value the schema's checks refuse, is returned as
// a wrapped database error; a parent that is not live is ErrInactive. A zero
// CreatedAt takes the current time instead of being stored as year 1.
func (s *Store) CreateKey(ctx context.Context, k *apikeys.Key) error {
	const op = "create key"
	var createdAt any
	if !k.CreatedAt.IsZero() {
		createdAt = k.CreatedAt
	}
	id, _ := canonicalID(k.ID)
	workspaceID, _ := canonicalID(k.WorkspaceID)
	perms := make([]string, len(k.Permissions))
	for i, p := range k.Permissions {
		perms[i] = string(p)
	}
	var createdBy any
	if k.CreatedBy != "" {
		createdBy, _ = canonicalID(k.CreatedBy)
	}
	_, err := s.pool.Exec(ctx,
		`select id from gateway_create_api_key($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		id, workspaceID, k.Name, k.Description, k.Prefix, k.Hash, perms, k.Plan, k.Tier,
		k.ExpiresAt, k.RevokedAt, createdAt, createdBy)
	if err != nil {
		return mapError(op, apikeys.ErrNotFound, err)
	}
	return nil
}

// KeyByHash returns the key with this hash, revoked or not, or ErrNotFound.
func (s *Store) KeyByHash(ctx context.Context, hash string) (*apikeys.Key, error) {
	const op = "key by hash"
	row := s.pool.QueryRow(ctx, `select `+keyColumns+` from api_keys where key_hash = $1`, hash)
	k, err := scanKey(row)
	if err != nil {
		return nil, mapError(op, apikeys.ErrNotFound, err)
	}
	return k, nil
}

// ListKeys returns the workspace's keys, newest first with ties broken by id
// descending (the order of api_keys_workspace_created_idx); revoked ones only
// when includeRevoked is set.
func (s *Store) ListKeys(ctx context.Context, workspaceID string, includeRevoked bool) ([]apikeys.Key, error) {
	const op = "list keys"
	keys := []apikeys.Key{}
	workspaceID, ok := canonicalID(workspaceID)
	if !ok {
		return keys, nil
	}
	rows, err := s.pool.Query(ctx,
		`select `+keyColumns+` from api_keys
		 where workspace_id = $1 and ($2 or revoked_at is null)
		 order by created_at desc, id desc`,
		workspaceID, includeRevoked)
	if err != nil {
		return nil, mapError(op, apikeys.ErrNotFound, err)
	}
	defer rows.Close()
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, mapError(op, apikeys.ErrNotFound, err)
		}
		keys = append(keys, *k)
	}
	if err := rows.Err(); err != nil {
		return nil, mapError(op, apikeys.ErrNotFound, err)
	}
	return keys, nil
}

// KeyByID returns the key with id, within workspaceID unless it is empty, or
// ErrNotFound, also for ids that are not UUIDs.
func (s *Store) KeyByID(ctx context.Context, workspaceID, id string) (*apikeys.Key, error) {
	const op = "key by id"
	id, okID := canonicalID(id)
	okWorkspace := true
	if workspaceID != "" {
		workspaceID, okWorkspace = canonicalID(workspaceID)
	}
	if !okID || !okWorkspace {
		return nil, mapError(op, apikeys.ErrNotFound, errMalformedID)
	}
	row := s.pool.QueryRow(ctx,
		`select `+keyColumns+` from api_keys where id = $1 and ($2 = '' or workspace_id::text = $2)`,
		id, workspaceID)
	k, err := scanKey(row)
	if err != nil {
		return nil, mapError(op, apikeys.ErrNotFound, err)
	}
	return k, nil
}

// RevokeKey revokes the key and every key minted from it through
// gateway_revoke_api_key, which walks the tree and writes it in one
// transaction under the workspace's lock. An empty workspaceID is the
// operator's unscoped revoke; ids that are not UUIDs are ErrNotFound.
func (s *Store) RevokeKey(ctx context.Context, workspaceID, id, by string, at time.Time) ([]string, error) {
	const op = "revoke key"
	id, okID := canonicalID(id)
	var workspace, actor any
	okWorkspace, okBy := true, true
	if workspaceID != "" {
		workspace, okWorkspace = canonicalID(workspaceID)
	}
	if by != "" {
		actor, okBy = canonicalID(by)
	}
	if !okID || !okWorkspace {
		return nil, mapError(op, apikeys.ErrNotFound, errMalformedID)
	}
	if !okBy {
		return nil, fmt.Errorf("postgres: %s: %w", op, apikeys.ErrInactive)
	}
	rows, err := s.pool.Query(ctx, `select gateway_revoke_api_key($1, $2, $3, $4)::text`, workspace, id, actor, at)
	if err != nil {
		return nil, mapError(op, apikeys.ErrNotFound, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, mapError(op, apikeys.ErrNotFound, err)
	}
	return ids, nil
}

// TouchKey records a use through gateway_touch_api_key, which never moves
// last_used_at backwards. An unknown or malformed id records nothing.
func (s *Store) TouchKey(ctx context.Context, id string, at time.Time) error {
	id, ok := canonicalID(id)
	if !ok {
		return nil
	}
	if _, err := s.pool.Exec(ctx, `select gateway_touch_api_key($1, $2)`, id, at); err != nil {
		return mapError("touch key", apikeys.ErrNotFound, err)
	}
	return nil
}

// scanKey reads one row selected with keyColumns.
func scanKey(row pgx.Row) (*apikeys.Key, error) {
	var (
		k         apikeys.Key
		perms     []string
		createdBy *string
	)
	err := row.Scan(&k.ID, &k.WorkspaceID, &k.Name, &k.Description, &k.Prefix, &k.Hash, &perms,
		&k.Plan, &k.Tier, &k.ExpiresAt, &k.RevokedAt, &k.CreatedAt, &createdBy, &k.LastUsedAt)
	if err != nil {
		return nil, err
	}
	k.Permissions = make([]gateway.Permission, len(perms))
	for i, p := range perms {
		k.Permissions[i] = gateway.Permission(p)
	}
	k.CreatedAt = k.CreatedAt.UTC()
	k.ExpiresAt = utcPtr(k.ExpiresAt)
	k.RevokedAt = utcPtr(k.RevokedAt)
	k.LastUsedAt = utcPtr(k.LastUsedAt)
	if createdBy != nil {
		k.CreatedBy = *createdBy
	}
	return &k, nil
}

// mapError is the one place where database errors become domain errors, so
// that every method agrees on them and one test covers the mapping. notFound
// is the calling module's not-found error. Domain errors keep the database
// error in their chain for the logs.
func mapError(op string, notFound, err error) error {
	var pgErr *pgconn.PgError
	switch {
	case errors.Is(err, pgx.ErrNoRows), errors.Is(err, errMalformedID):
		return fmt.Errorf("postgres: %s: %w", op, notFound)
	case errors.As(err, &pgErr) && pgErr.Code == codeUniqueViolation && pgErr.ConstraintName == constraintWebhookURLKey:
		return fmt.Errorf("postgres: %s: %w: %w", op, webhooks.ErrDuplicateURL, err)
	case errors.As(err, &pgErr) && pgErr.Code == codeKeyInactive:
		return fmt.Errorf("postgres: %s: %w", op, apikeys.ErrInactive)
	case errors.As(err, &pgErr) && pgErr.Code == codeKeyNotFound:
		return fmt.Errorf("postgres: %s: %w", op, apikeys.ErrNotFound)
	case errors.As(err, &pgErr) && pgErr.Code == codeLimitReached:
		return fmt.Errorf("postgres: %s: %w: %w", op, webhooks.ErrLimitReached, err)
	case errors.As(err, &pgErr) && pgErr.Code == codeRotationConflict:
		return fmt.Errorf("postgres: %s: %w: %w", op, webhooks.ErrRotationConflict, err)
	default:
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
}

// canonicalID returns s in the form Postgres prints uuids in, and whether s
// is an id by gateway.CanonicalID, the one rule for store ids. Checking in Go, instead
// of mapping SQLSTATE 22P02 afterwards, keeps an invalid id from being
// confused with any other invalid input to the same statement; an invalid s
// is returned as it is, for the statements that let Postgres refuse it.
func canonicalID(s string) (string, bool) {
	if id, ok := gateway.CanonicalID(s); ok {
		return id, true
	}
	return s, false
}

// orNow is t, or the current time when t is zero (the stores' rule for a
// time the caller left out).
func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}

// utcPtr converts a nullable timestamp to UTC; pgx returns local time.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}
