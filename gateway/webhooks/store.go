package webhooks

import (
	"context"
	"errors"
	"time"
)

// Webhook is a registered receiver as the store keeps it. The signing secret is
// only ever held encrypted here; the plaintext exists in the create response.
type Webhook struct {
	ID          string
	WorkspaceID string
	// URL is the address exactly as the client gave it.
	URL string
	// URLKey is the normalised URL (scheme and host lower case, default port
	// dropped) on which uniqueness within a workspace is enforced.
	URLKey           string
	Events           []string
	Description      string
	Active           bool
	SecretCiphertext string
	// PreviousSecretCiphertext is the secret replaced by the last rotation,
	// kept until PreviousSecretExpiresAt so that deliveries can carry both
	// signatures during the overlap. Empty when there is none.
	PreviousSecretCiphertext string
	PreviousSecretExpiresAt  *time.Time
	CreatedAt                time.Time
	UpdatedAt                time.Time
	LastDeliveryStatus       *string
	LastDeliveryAt           *time.Time
	// DisabledReason says why delivery paused the webhook (all deliveries
	// failing for too long); nil unless it did. Reactivating clears it.
	DisabledReason *string
}

// Store errors. Implementations return these (possibly wrapped) so that the
// service maps them to API codes in one place.
var (
	// ErrDuplicateURL means the workspace already has a webhook with this URLKey.
	ErrDuplicateURL = errors.New("webhooks: duplicate url in workspace")
	// ErrLimitReached means the workspace already holds the maximum number of webhooks.
	ErrLimitReached = errors.New("webhooks: workspace webhook limit reached")
	// ErrNotFound means no webhook with that id exists in the workspace.
	ErrNotFound = errors.New("webhooks: not found")
	// ErrRotationConflict means the webhook's current secret is no longer
	// the one a rotation expected: another rotation took effect in between.
	ErrRotationConflict = errors.New("webhooks: secret rotated concurrently")
)

// Store persists webhooks. Every method is scoped to one workspace: an id from
// another workspace behaves exactly like an id that does not exist.
type Store interface {
	// CreateWebhook inserts w atomically with two checks: the workspace holds
	// fewer than limit webhooks (else ErrLimitReached) and no webhook of the
	// workspace has w.URLKey (else ErrDuplicateURL). Concurrent calls must not
	// be able to break either rule.
	CreateWebhook(ctx context.Context, w *Webhook, limit int) error
	// GetWebhook returns one webhook of the workspace, or ErrNotFound.
	GetWebhook(ctx context.Context, workspaceID, id string) (*Webhook, error)
	// ListWebhooks returns a page of the workspace's webhooks, newest first
	// (ties broken by id, descending), and the workspace's total count.
	ListWebhooks(ctx context.Context, workspaceID string, offset, limit int) ([]Webhook, int, error)
	// UpdateWebhook applies the non-nil fields of p and sets UpdatedAt, and
	// returns the updated webhook. ErrNotFound if the workspace has no such
	// webhook; ErrDuplicateURL if p.URLKey is taken by another webhook of the
	// workspace (decided by the unique index, so concurrent updates to one URL
	// give one winner). The secrets never change here.
	UpdateWebhook(ctx context.Context, workspaceID, id string, p Patch) (*Webhook, error)
	// DeleteWebhook removes the webhook, or returns ErrNotFound.
	DeleteWebhook(ctx context.Context, workspaceID, id string) error
	// RotateSecret atomically moves the current secret to the previous slot
	// (expiring at previousExpiresAt), stores newCiphertext as the current
	// one, sets UpdatedAt to now, and returns the webhook, provided the
	// current secret is still expectedCiphertext (the one the caller read)
	// and no earlier rotation's overlap is running (the previous secret has
	// expired at now), unless this rotation ends every overlap now
	// (previousExpiresAt not after now). Otherwise it changes nothing and
	// returns ErrRotationConflict, so that of overlapping rotations exactly
	// one applies and no secret a rotation returned, nor the one it
	// replaced, is pushed out before its overlap ends. ErrNotFound if the
	// workspace has no such webhook.
	RotateSecret(ctx context.Context, workspaceID, id, expectedCiphertext, newCiphertext string, previousExpiresAt, now time.Time) (*Webhook, error)
}

// Patch is a partial update; nil fields stay as they are. URL and URLKey
// change together.
type Patch struct {
	URL         *string
	URLKey      *string
	Events      []string // nil: unchanged; otherwise replaces the list
	Description *string
	Active      *bool
	UpdatedAt   time.Time
}

// RotationRefused is the one statement of the rotation rule that the store
// applies atomically with the swap (gateway_rotate_webhook_secret_if_current
// is its SQL twin; the memory store calls this; the conformance suite runs
// the same cases on every store): a rotation is refused when the current
// secret is no longer the one the service read (currentCiphertext differs
// from expectedCiphertext: another rotation won), or when an earlier
// overlap is still running at now (previousExpiresAt, nil when there is
// none, lies after now) and this rotation's overlap would not end now too.
func RotationRefused(currentCiphertext, expectedCiphertext string, previousExpiresAt *time.Time, newPreviousExpiresAt, now time.Time) bool {
	overlapRunning := previousExpiresAt != nil && previousExpiresAt.After(now) && newPreviousExpiresAt.After(now)
	return currentCiphertext != expectedCiphertext || overlapRunning
}
