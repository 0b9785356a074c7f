package webhooks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/leadlex/api-gateway/gateway"
)

// NotFound is the answer for an unknown, malformed or foreign id: another
// workspace's webhook is indistinguishable from one that does not exist.
func NotFound() *gateway.Error {
	return gateway.E(gateway.CodeWebhookNotFound, "No webhook with that id.")
}

// storeError maps the store's sentinel errors to API errors in one place.
func (s *Service) storeError(op string, err error) error {
	switch {
	case errors.Is(err, ErrNotFound):
		return NotFound()
	case errors.Is(err, ErrDuplicateURL):
		return gateway.E(gateway.CodeDuplicateWebhook, "This workspace already has a webhook with this URL.")
	case errors.Is(err, ErrRotationConflict):
		return gateway.E(gateway.CodeRotationInProgress, "An earlier rotation of this webhook's secret is still in its overlap, or took effect meanwhile. Rotate again once the previous secret has expired, or with expire_previous_in_seconds 0 to end every earlier secret now.")
	case errors.Is(err, ErrLimitReached):
		return gateway.E(gateway.CodeWebhookLimitReached, fmt.Sprintf("This workspace already has the maximum of %d webhooks.", s.Limit)).
			WithDetails(map[string]any{"limit": s.Limit})
	}
	return gateway.Unavailable(fmt.Errorf("%s: %w", op, err))
}

// Get returns one webhook of the workspace.
func (s *Service) Get(ctx context.Context, workspaceID, id string) (*Webhook, error) {
	_, w, err := s.load(ctx, workspaceID, id, "get webhook")
	return w, err
}

// load parses id and reads that webhook of the workspace, for op; it
// returns the id in its canonical form with the webhook.
func (s *Service) load(ctx context.Context, workspaceID, id, op string) (string, *Webhook, error) {
	id, ok := gateway.ParseID(id)
	if !ok {
		return "", nil, NotFound()
	}
	w, err := s.Store.GetWebhook(ctx, workspaceID, id)
	if err != nil {
		return "", nil, s.storeError(op, err)
	}
	return id, w, nil
}

// List returns a page of the workspace's webhooks, newest first.
func (s *Service) List(ctx context.Context, workspaceID string, p gateway.Page) ([]Webhook, int, error) {
	list, total, err := s.Store.ListWebhooks(ctx, workspaceID, p.Offset(), p.PerPage)
	if err != nil {
		return nil, 0, s.storeError("list webhooks", err)
	}
	return list, total, nil
}

// UpdateInput is a partial update; nil fields stay unchanged.
type UpdateInput struct {
	URL         *string
	Events      []string
	Description *string
	Active      *bool
}

// Update validates and applies a partial update with the same rules as
// Create. The secret never changes here.
func (s *Service) Update(ctx context.Context, workspaceID, id string, in UpdateInput) (*Webhook, error) {
	id, ok := gateway.ParseID(id)
	if !ok {
		return nil, NotFound()
	}
	p := Patch{Description: in.Description, Active: in.Active, UpdatedAt: s.Clock.Now().UTC().Truncate(time.Second)}
	if in.Events != nil {
		if err := ValidateEvents(in.Events); err != nil {
			return nil, err
		}
		p.Events = in.Events
	}
	if in.URL != nil {
		key, err := s.CheckURL(ctx, *in.URL)
		if err != nil {
			return nil, err
		}
		p.URL, p.URLKey = in.URL, &key
	}
	w, err := s.Store.UpdateWebhook(ctx, workspaceID, id, p)
	if err != nil {
		return nil, s.storeError("update webhook", err)
	}
	return w, nil
}

// Delete removes a webhook. (Pending deliveries are cancelled by the
// delivery module, which checks the webhook before every attempt.)
func (s *Service) Delete(ctx context.Context, workspaceID, id string) error {
	id, ok := gateway.ParseID(id)
	if !ok {
		return NotFound()
	}
	if err := s.Store.DeleteWebhook(ctx, workspaceID, id); err != nil {
		return s.storeError("delete webhook", err)
	}
	return nil
}

// Rotated is a webhook right after a secret rotation, with the new secret,
// which exists only here.
type Rotated struct {
	Webhook *Webhook
	Secret  string
}

// MaxRotationOverlap bounds how long a previous secret may stay valid.
const MaxRotationOverlap = 7 * 24 * time.Hour

// RotateSecret issues a new secret; the previous one stays valid for
// overlap (0: it stops at once), so receivers can switch without a gap.
// Overlapping rotations are refused rather than serialised: a rotation
// applies only if the secret read here is still current and no earlier
// rotation's overlap is running (unless overlap is 0, which ends every
// earlier secret now, as the caller asked). So of concurrent calls one
// answers 200 and the others 409 rotation_in_progress, and every secret a
// 200 returned, and the one it replaced, verifies deliveries for the
// overlap asked for. Serialising would let the last of N rotations push
// every earlier secret out of the two slots at once.
func (s *Service) RotateSecret(ctx context.Context, workspaceID, id string, overlap time.Duration) (*Rotated, error) {
	id, current, err := s.load(ctx, workspaceID, id, "rotate secret")
	if err != nil {
		return nil, err
	}
	secret, err := NewSecret()
	if err != nil {
		return nil, gateway.Internal(err)
	}
	sealed, err := s.Sealer.Seal([]byte(secret), []byte(id))
	if err != nil {
		return nil, gateway.Internal(err)
	}
	now := s.Clock.Now().UTC().Truncate(time.Second)
	w, err := s.Store.RotateSecret(ctx, workspaceID, id, current.SecretCiphertext, sealed, now.Add(overlap), now)
	if err != nil {
		return nil, s.storeError("rotate secret", err)
	}
	return &Rotated{Webhook: w, Secret: secret}, nil
}
