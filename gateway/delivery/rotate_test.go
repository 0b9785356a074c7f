package delivery_test

import (
	"time"

	"github.com/leadlex/api-gateway/gateway/webhooks"
)

// rotate rotates the harness webhook's secret from its current one, as the
// webhooks service does.
func (h *harness) rotate(sealed string, expires, now time.Time) (*webhooks.Webhook, error) {
	h.t.Helper()
	current, err := h.store.GetWebhook(h.ctx, h.workspace, h.webhook)
	if err != nil {
		return nil, err
	}
	return h.store.RotateSecret(h.ctx, h.workspace, h.webhook, current.SecretCiphertext, sealed, expires, now)
}
