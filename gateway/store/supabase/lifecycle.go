package supabase

import (
	"context"
	"time"

	"github.com/leadlex/api-gateway/gateway/webhooks"
)

// webhookPatch is the PATCH body of UpdateWebhook. A nil field is left out of
// the JSON, so PostgREST leaves its column alone. Events uses omitzero rather
// than omitempty: a non-nil empty list must reach the database, whose check
// constraint refuses it, instead of silently meaning "unchanged".
type webhookPatch struct {
	URL         *string  `json:"url,omitzero"`
	URLKey      *string  `json:"url_key,omitzero"`
	Events      []string `json:"events,omitzero"`
	Description *string  `json:"description,omitzero"`
	Active      *bool    `json:"active,omitzero"`
	UpdatedAt   string   `json:"updated_at"`
}

// rotateSecretArgs are the named arguments of
// gateway_rotate_webhook_secret_if_current.
type rotateSecretArgs struct {
	WorkspaceID       string `json:"p_workspace_id"`
	ID                string `json:"p_id"`
	Expected          string `json:"p_expected_ciphertext"`
	SecretCiphertext  string `json:"p_secret_ciphertext"`
	PreviousExpiresAt string `json:"p_previous_expires_at"`
	Now               string `json:"p_now"`
}

// webhookIDs returns the canonical forms of a workspace id and a webhook id,
// and false when either is not a UUID (such an id cannot exist, so the caller
// answers not-found without a request).
func webhookIDs(workspaceID, id string) (ws, wid string, ok bool) {
	if wid, ok = canonicalUUID(id); !ok {
		return "", "", false
	}
	if ws, ok = canonicalUUID(workspaceID); !ok {
		return "", "", false
	}
	return ws, wid, true
}

// oneWebhook decodes a response that holds the one row a write by id
// touched: an empty array is webhooks.ErrNotFound.
func (s *Store) oneWebhook(op string, body []byte) (*webhooks.Webhook, error) {
	return oneRow(s, op, body, "id", webhooks.ErrNotFound, func(r webhookRow) webhooks.Webhook { return r.webhook() })
}

// UpdateWebhook sends the non-nil fields of p and updated_at (p.UpdatedAt, or
// the current time when that is zero) as
// PATCH /rest/v1/webhooks?id=eq.<id>&workspace_id=eq.<workspace> with
// "Prefer: return=representation", and returns the updated row. An empty
// answer (no such webhook in the workspace) and an id that is not a UUID are
// webhooks.ErrNotFound; the unique index's 23505 is webhooks.ErrDuplicateURL.
func (s *Store) UpdateWebhook(ctx context.Context, workspaceID, id string, p webhooks.Patch) (*webhooks.Webhook, error) {
	const op = "update webhook"
	ws, wid, ok := webhookIDs(workspaceID, id)
	if !ok {
		return nil, wrapSentinel(op, webhooks.ErrNotFound)
	}
	updatedAt := orNow(p.UpdatedAt)
	patch := webhookPatch{
		URL:         p.URL,
		URLKey:      p.URLKey,
		Events:      p.Events,
		Description: p.Description,
		Active:      p.Active,
		UpdatedAt:   formatTime(updatedAt),
	}

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	body, _, err := s.client.From(tableWebhooks).
		Update(patch, "representation", "").
		Eq("id", wid).
		Eq("workspace_id", ws).
		ExecuteWithContext(ctx)
	if err != nil {
		return nil, s.mapError(op, err, errMap{duplicate: webhooks.ErrDuplicateURL, notFound: webhooks.ErrNotFound})
	}
	return s.oneWebhook(op, body)
}

// DeleteWebhook removes the webhook with
// DELETE /rest/v1/webhooks?id=eq.<id>&workspace_id=eq.<workspace> and
// "Prefer: return=representation", so that the answer tells whether a row
// went: an empty array, like an id that is not a UUID, is
// webhooks.ErrNotFound.
func (s *Store) DeleteWebhook(ctx context.Context, workspaceID, id string) error {
	const op = "delete webhook"
	ws, wid, ok := webhookIDs(workspaceID, id)
	if !ok {
		return wrapSentinel(op, webhooks.ErrNotFound)
	}

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	body, _, err := s.client.From(tableWebhooks).
		Delete("representation", "").
		Eq("id", wid).
		Eq("workspace_id", ws).
		ExecuteWithContext(ctx)
	if err != nil {
		return s.mapError(op, err, errMap{notFound: webhooks.ErrNotFound})
	}
	deleted, err := decodeRows[idRow](body)
	if err != nil {
		return s.failf(op, "%v", err)
	}
	switch len(deleted) {
	case 0:
		return wrapSentinel(op, webhooks.ErrNotFound)
	case 1:
		return nil
	default:
		return s.failf(op, "%d rows deleted for one id", len(deleted))
	}
}

// RotateSecret calls gateway_rotate_webhook_secret_if_current through
// POST /rest/v1/rpc/gateway_rotate_webhook_secret_if_current (the same route
// as CreateWebhook, for the same reasons). The function swaps the secrets in
// one UPDATE, which a PATCH cannot express, if the current secret is still
// expectedCiphertext (SQLSTATE LL004, webhooks.ErrRotationConflict,
// otherwise). A zero now means the current time. An empty answer and an id
// that is not a UUID are webhooks.ErrNotFound.
func (s *Store) RotateSecret(ctx context.Context, workspaceID, id, expectedCiphertext, newCiphertext string, previousExpiresAt, now time.Time) (*webhooks.Webhook, error) {
	const op = "rotate secret"
	ws, wid, ok := webhookIDs(workspaceID, id)
	if !ok {
		return nil, wrapSentinel(op, webhooks.ErrNotFound)
	}
	now = orNow(now)
	args := rotateSecretArgs{
		WorkspaceID:       ws,
		ID:                wid,
		Expected:          expectedCiphertext,
		SecretCiphertext:  newCiphertext,
		PreviousExpiresAt: formatTime(previousExpiresAt),
		Now:               formatTime(now),
	}

	body, err := s.rpc(ctx, fnRotateWebhookSecret, args)
	if err != nil {
		return nil, s.mapError(op, err, errMap{notFound: webhooks.ErrNotFound, conflict: webhooks.ErrRotationConflict})
	}
	return s.oneWebhook(op, body)
}
