package memory

import "time"

// WebhookHealth returns the webhook's failing_since and disabled_reason, which
// the webhooks.Webhook type does not carry, for tests of the auto-disable
// rule; it exists only in test builds. ok is false when the workspace has no
// such webhook.
func (s *Store) WebhookHealth(workspaceID, webhookID string) (failingSince *time.Time, disabledReason string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.lookup(workspaceID, webhookID)
	if w == nil {
		return nil, "", false
	}
	if h := s.delivery.health[w.ID]; h != nil {
		return clonePtr(h.failingSince), h.disabledReason, true
	}
	return nil, "", true
}
