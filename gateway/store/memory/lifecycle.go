package memory

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/leadlex/api-gateway/gateway/webhooks"
)

// lookup returns the stored webhook with id in workspaceID, or nil when there
// is none (including when either id is not a UUID). The caller holds s.mu.
func (s *Store) lookup(workspaceID, id string) *webhooks.Webhook {
	id, idErr := canonicalUUID(id)
	workspace, wsErr := canonicalUUID(workspaceID)
	if idErr != nil || wsErr != nil {
		return nil
	}
	w, ok := s.webhooks[id]
	if !ok || w.WorkspaceID != workspace {
		return nil
	}
	return w
}

// UpdateWebhook applies the non-nil fields of p to the webhook and sets
// UpdatedAt to p.UpdatedAt (the current time when that is zero), then returns
// a copy of the result. As the UPDATE on Postgres would, it refuses what the
// table's check constraints refuse, and returns webhooks.ErrDuplicateURL when
// another webhook of the workspace has p.URLKey, leaving the webhook as it
// was in both cases. The secrets are never touched. Making an inactive
// webhook active clears its auto-disable state, as the webhooks_reactivated
// trigger does.
func (s *Store) UpdateWebhook(ctx context.Context, workspaceID, id string, p webhooks.Patch) (*webhooks.Webhook, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory: update webhook: %w", err)
	}
	updatedAt := orNow(p.UpdatedAt)

	s.mu.Lock()
	defer s.mu.Unlock()
	stored := s.lookup(workspaceID, id)
	if stored == nil {
		return nil, fmt.Errorf("memory: update webhook: %w", webhooks.ErrNotFound)
	}

	// Changes go to a copy first, so that a refused update leaves nothing
	// half-applied.
	next := copyWebhook(stored)
	if p.URL != nil {
		next.URL = *p.URL
	}
	if p.URLKey != nil {
		next.URLKey = *p.URLKey
	}
	if p.Events != nil {
		next.Events = slices.Clone(p.Events)
	}
	if p.Description != nil {
		next.Description = *p.Description
	}
	if p.Active != nil {
		next.Active = *p.Active
	}
	next.UpdatedAt = dbTime(updatedAt)
	if err := checkWebhook(next); err != nil {
		return nil, fmt.Errorf("memory: update webhook: %w", err)
	}
	for otherID, other := range s.webhooks {
		if otherID != next.ID && other.WorkspaceID == next.WorkspaceID && other.URLKey == next.URLKey {
			return nil, fmt.Errorf("memory: update webhook: %w", webhooks.ErrDuplicateURL)
		}
	}
	if next.Active && !stored.Active {
		s.delivery.reactivated(next.ID)
		next.DisabledReason = nil
	}
	s.webhooks[next.ID] = next
	return copyWebhook(next), nil
}

// DeleteWebhook removes the webhook with its deliveries and their attempts
// (the schema's ON DELETE CASCADE), or returns webhooks.ErrNotFound when the
// workspace has no webhook with that id.
func (s *Store) DeleteWebhook(ctx context.Context, workspaceID, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: delete webhook: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	stored := s.lookup(workspaceID, id)
	if stored == nil {
		return fmt.Errorf("memory: delete webhook: %w", webhooks.ErrNotFound)
	}
	delete(s.webhooks, stored.ID)
	s.delivery.dropWebhook(stored.ID)
	return nil
}

// RotateSecret persists what gateway_rotate_webhook_secret_if_current does,
// under the store's lock, with the decision taken by webhooks.RotationRefused
// (else webhooks.ErrRotationConflict): the current secret becomes the previous one, expiring
// at previousExpiresAt, newCiphertext becomes the current one and UpdatedAt
// is set to now (the current time when now is zero). It returns a copy of
// the result, or webhooks.ErrNotFound.
func (s *Store) RotateSecret(ctx context.Context, workspaceID, id, expectedCiphertext, newCiphertext string, previousExpiresAt, now time.Time) (*webhooks.Webhook, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory: rotate secret: %w", err)
	}
	now = orNow(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	stored := s.lookup(workspaceID, id)
	if stored == nil {
		return nil, fmt.Errorf("memory: rotate secret: %w", webhooks.ErrNotFound)
	}
	if webhooks.RotationRefused(stored.SecretCiphertext, expectedCiphertext, stored.PreviousSecretExpiresAt, dbTime(previousExpiresAt), dbTime(now)) {
		return nil, fmt.Errorf("memory: rotate secret: %w", webhooks.ErrRotationConflict)
	}
	stored.PreviousSecretCiphertext = stored.SecretCiphertext
	stored.PreviousSecretExpiresAt = dbTimePtr(&previousExpiresAt)
	stored.SecretCiphertext = newCiphertext
	stored.UpdatedAt = dbTime(now)
	return copyWebhook(stored), nil
}
