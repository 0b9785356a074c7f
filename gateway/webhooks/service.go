// Package webhooks is the webhooks domain: registration of HTTPS receivers
// for LeadLex events. It holds the Webhook type, the Store interface that the
// memory, postgres and supabase stores implement, and the Service with the
// rules (event lists, receiver URLs, signing secrets, rotation), independent
// of HTTP: the route module routes/webhooks translates requests to it.
package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/catalog"
	"github.com/leadlex/api-gateway/gateway/urlcheck"
)

// URLChecker validates receiver URLs and returns their normalised key.
// *urlcheck.Checker implements it.
type URLChecker interface {
	Check(ctx context.Context, raw string) (key string, err error)
}

// Sealer encrypts webhook secrets at rest. *secretbox.Box implements it.
type Sealer interface {
	Seal(plaintext, aad []byte) (string, error)
}

// Service holds the webhook rules, independent of HTTP.
type Service struct {
	Store  Store
	URLs   URLChecker
	Sealer Sealer
	Clock  gateway.Clock
	// Limit is the most webhooks a workspace may hold.
	Limit int
}

// CreateInput is a validated create request.
type CreateInput struct {
	URL         string
	Events      []string
	Description string
	Active      bool
}

// Created is a new webhook with its plaintext secret, which exists only here.
type Created struct {
	Webhook *Webhook
	Secret  string
}

// ValidateEvents checks a subscription list against the catalog: empty,
// unknown and repeated names are invalid_events, with the names in details.
func ValidateEvents(events []string) error {
	if len(events) == 0 {
		return gateway.E(gateway.CodeInvalidEvents, "events must list at least one event type.").
			WithDetails(map[string]any{"invalid": []string{}})
	}
	unknown, dups := catalog.Validate(events)
	if len(unknown) > 0 {
		return gateway.E(gateway.CodeInvalidEvents, "Unknown event type(s); see GET /v1/events/catalog.").
			WithDetails(map[string]any{"invalid": unknown})
	}
	if len(dups) > 0 {
		return gateway.E(gateway.CodeInvalidEvents, "Event types must not repeat.").
			WithDetails(map[string]any{"invalid": dups, "duplicates": dups})
	}
	return nil
}

// CheckURL validates a receiver URL and returns its duplicate-detection key.
func (s *Service) CheckURL(ctx context.Context, raw string) (string, error) {
	key, err := s.URLs.Check(ctx, raw)
	if err != nil {
		var ue *urlcheck.Error
		if errors.As(err, &ue) {
			return "", gateway.E(gateway.CodeInvalidURL, ue.Message).WithDetails(map[string]any{"reason": ue.Reason})
		}
		return "", gateway.Internal(err)
	}
	return key, nil
}

// NewSecret returns a signing secret: "whsec_" and 24 random bytes in hex.
func NewSecret() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "whsec_" + hex.EncodeToString(b), nil
}

// Create validates and stores a webhook for the workspace.
func (s *Service) Create(ctx context.Context, workspaceID string, in CreateInput) (*Created, error) {
	if err := ValidateEvents(in.Events); err != nil {
		return nil, err
	}
	key, err := s.CheckURL(ctx, in.URL)
	if err != nil {
		return nil, err
	}
	secret, err := NewSecret()
	if err != nil {
		return nil, gateway.Internal(err)
	}
	id := uuid.NewString()
	sealed, err := s.Sealer.Seal([]byte(secret), []byte(id))
	if err != nil {
		return nil, gateway.Internal(err)
	}
	now := s.Clock.Now().UTC().Truncate(time.Second)
	w := &Webhook{
		ID:               id,
		WorkspaceID:      workspaceID,
		URL:              in.URL,
		URLKey:           key,
		Events:           in.Events,
		Description:      in.Description,
		Active:           in.Active,
		SecretCiphertext: sealed,
		CreatedAt:        now,
		UpdatedAt:        now,
	}
	if err := s.Store.CreateWebhook(ctx, w, s.Limit); err != nil {
		return nil, s.storeError("create webhook", err)
	}
	return &Created{Webhook: w, Secret: secret}, nil
}
