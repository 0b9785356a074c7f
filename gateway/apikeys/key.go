// Package apikeys issues, stores and verifies the gateway's API keys. Keys are
// shown once, at creation; only their SHA-256 hash is stored. The CLI and the
// API share this one implementation.
package apikeys

import (
	"context"
	"errors"
	"time"

	"github.com/leadlex/api-gateway/gateway"
)

// Key is an API key's stored record. It never holds the plaintext key.
type Key struct {
	ID          string
	WorkspaceID string
	Name        string
	Description string
	// Prefix is the first characters of the key ("wbk_ab12cd"), kept so that
	// operators can recognise a key in listings without it being usable.
	Prefix string
	// Hash is the lowercase hex SHA-256 of the full plaintext key.
	Hash        string
	Permissions []gateway.Permission
	Plan        string
	Tier        string
	ExpiresAt   *time.Time
	RevokedAt   *time.Time
	CreatedAt   time.Time
	// CreatedBy is the id of the key that minted this one through the API,
	// empty for keys the operator CLI made. It is what revocation cascades
	// along.
	CreatedBy string
	// LastUsedAt is when the key last authenticated a request, as recorded
	// off the request path (at most once a minute per instance); nil if never.
	LastUsedAt *time.Time
}

// CanAct reports whether k may mint or revoke keys at now: it is not revoked
// at all (whatever time its revocation carries, since the clocks of gateway
// instances differ, a mint stamped a moment before a revocation must not
// slip past it) and not expired. The SQL functions of the 20261201000001
// migration state the same condition; the stores check it atomically with
// the write.
func (k *Key) CanAct(now time.Time) bool {
	return k.RevokedAt == nil && (k.ExpiresAt == nil || k.ExpiresAt.After(now))
}

// Store errors.
var (
	// ErrNotFound means no key matches.
	ErrNotFound = errors.New("apikeys: not found")
	// ErrInactive means the acting key of a mint or a revoke (the parent of
	// a new key, or the key revoking) is unknown, revoked or expired, as
	// read by the store in the same transaction as the write.
	ErrInactive = errors.New("apikeys: acting key is revoked, expired or unknown")
)

// Store persists API keys.
type Store interface {
	// CreateKey inserts k; its ID and Hash are unique. When k.CreatedBy is
	// set, the parent must be a key of k's workspace that is live at
	// k.CreatedAt, checked atomically with the insert (and serialised with
	// RevokeKey), else ErrInactive and nothing is stored.
	CreateKey(ctx context.Context, k *Key) error
	// KeyByHash returns the key with this hash, revoked or not, or ErrNotFound.
	KeyByHash(ctx context.Context, hash string) (*Key, error)
	// ListKeys returns the workspace's keys, newest first; revoked ones only
	// when includeRevoked is set.
	ListKeys(ctx context.Context, workspaceID string, includeRevoked bool) ([]Key, error)
	// KeyByID returns the key with id (within workspaceID, unless it is
	// empty), revoked or not, or ErrNotFound, also for malformed ids.
	KeyByID(ctx context.Context, workspaceID, id string) (*Key, error)
	// RevokeKey sets RevokedAt on the key with id (within workspaceID, unless
	// workspaceID is empty, which is the operator's unscoped revoke) and on
	// every key minted from it, transitively, in one atomic step, and returns
	// the ids it revoked now. Revoking a revoked key keeps the first
	// revocation time. ErrNotFound if no such key. When by is set, the key
	// with that id must be live at at, checked atomically with the write,
	// else ErrInactive and nothing changes.
	RevokeKey(ctx context.Context, workspaceID, id, by string, at time.Time) ([]string, error)
	// TouchKey records that the key was used at at; a later LastUsedAt is
	// kept. An unknown id is no error (nothing to record).
	TouchKey(ctx context.Context, id string, at time.Time) error
}
