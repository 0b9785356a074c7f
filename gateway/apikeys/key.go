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
}

// Store errors.
var (
	// ErrNotFound means no key matches.
	ErrNotFound = errors.New("apikeys: not found")
)

// Store persists API keys.
type Store interface {
	// CreateKey inserts k; its ID and Hash are unique.
	CreateKey(ctx context.Context, k *Key) error
	// KeyByHash returns the key with this hash, revoked or not, or ErrNotFound.
	KeyByHash(ctx context.Context, hash string) (*Key, error)
	// ListKeys returns the workspace's keys, newest first; revoked ones only
	// when includeRevoked is set.
	ListKeys(ctx context.Context, workspaceID string, includeRevoked bool) ([]Key, error)
	// RevokeKey sets RevokedAt on the key with id (within workspaceID, unless
	// workspaceID is empty, which is the operator's unscoped revoke). Revoking
	// a revoked key keeps the first revocation time. ErrNotFound if no such key.
	RevokeKey(ctx context.Context, workspaceID, id string, at time.Time) error
}
