// Package sqldoc decodes the JSON documents that the gateway's SQL functions
// (gateway_publish_event, gateway_claim_delivery, ...) return. The postgres
// store receives them over pgx and the supabase store through PostgREST;
// the shape is defined once, in SQL, and decoded once, here.
package sqldoc

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/leadlex/api-gateway/gateway/delivery"
)

// Time is a timestamptz as Postgres renders it in JSON: ISO 8601 with a
// "+hh:mm" offset, or "+hh" / "+hh:mm:ss" in sessions whose zone has such
// offsets. It decodes to UTC; JSON null leaves it zero.
type Time struct{ time.Time }

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z07",
	"2006-01-02T15:04:05.999999999Z07:00:00",
}

// UnmarshalJSON parses a Postgres timestamp.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("timestamp: %w", err)
	}
	for _, layout := range timeLayouts {
		if v, err := time.Parse(layout, s); err == nil {
			t.Time = v.UTC()
			return nil
		}
	}
	return fmt.Errorf("timestamp: cannot parse %q", s)
}

// Ptr converts a nullable timestamp.
func (t *Time) Ptr() *time.Time {
	if t == nil {
		return nil
	}
	v := t.Time
	return &v
}

// Delivery is a deliveries row as the delivery functions render it (to_jsonb
// of the row, without the lease).
type Delivery struct {
	ID            string `json:"id"`
	WorkspaceID   string `json:"workspace_id"`
	WebhookID     string `json:"webhook_id"`
	EventID       string `json:"event_id"`
	EventType     string `json:"event_type"`
	Test          bool   `json:"test"`
	Status        string `json:"status"`
	Attempts      int    `json:"attempts"`
	NextAttemptAt *Time  `json:"next_attempt_at"`
	CreatedAt     Time   `json:"created_at"`
	UpdatedAt     Time   `json:"updated_at"`
}

// Delivery converts the document.
func (d *Delivery) Delivery() delivery.Delivery {
	return delivery.Delivery{
		ID: d.ID, WorkspaceID: d.WorkspaceID, WebhookID: d.WebhookID, EventID: d.EventID,
		EventType: d.EventType, Test: d.Test, Status: d.Status, Attempts: d.Attempts,
		NextAttemptAt: d.NextAttemptAt.Ptr(), CreatedAt: d.CreatedAt.Time, UpdatedAt: d.UpdatedAt.Time,
	}
}

// publish is what gateway_publish_event returns.
type publish struct {
	Created    *bool      `json:"created"`
	Deliveries []Delivery `json:"deliveries"`
}

// DecodePublish decodes gateway_publish_event's answer: the event's
// deliveries and whether the event was new.
func DecodePublish(raw []byte) ([]delivery.Delivery, bool, error) {
	var doc publish
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, false, fmt.Errorf("decoding the publish answer: %w", err)
	}
	if doc.Created == nil {
		return nil, false, errors.New("the publish answer lacks \"created\"")
	}
	out := make([]delivery.Delivery, len(doc.Deliveries))
	for i := range doc.Deliveries {
		out[i] = doc.Deliveries[i].Delivery()
	}
	return out, *doc.Created, nil
}

// claim is what gateway_claim_delivery returns for a successful claim.
type claim struct {
	Delivery *Delivery `json:"delivery"`
	Event    *struct {
		ID          string `json:"id"`
		WorkspaceID string `json:"workspace_id"`
		Type        string `json:"type"`
		Data        string `json:"data"`
		CreatedAt   Time   `json:"created_at"`
	} `json:"event"`
	Target *struct {
		URL                      string  `json:"url"`
		Active                   bool    `json:"active"`
		SecretCiphertext         string  `json:"secret_ciphertext"`
		PreviousSecretCiphertext *string `json:"previous_secret_ciphertext"`
		PreviousSecretExpiresAt  *Time   `json:"previous_secret_expires_at"`
	} `json:"target"`
}

// DecodeClaim decodes gateway_claim_delivery's answer for a claim (the
// caller handles SQL null, which means nothing was claimed).
func DecodeClaim(raw []byte) (*delivery.Claim, error) {
	var c claim
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("decoding the claim: %w", err)
	}
	if c.Delivery == nil || c.Event == nil || c.Target == nil {
		return nil, errors.New("the claim lacks its delivery, event or target")
	}
	previous := ""
	if c.Target.PreviousSecretCiphertext != nil {
		previous = *c.Target.PreviousSecretCiphertext
	}
	return &delivery.Claim{
		Delivery: c.Delivery.Delivery(),
		Event: delivery.Event{ID: c.Event.ID, WorkspaceID: c.Event.WorkspaceID, Type: c.Event.Type,
			Data: json.RawMessage(c.Event.Data), CreatedAt: c.Event.CreatedAt.Time},
		Target: delivery.Target{URL: c.Target.URL, Active: c.Target.Active, SecretCiphertext: c.Target.SecretCiphertext,
			PreviousSecretCiphertext: previous, PreviousSecretExpiresAt: c.Target.PreviousSecretExpiresAt.Ptr()},
	}, nil
}

// DecodeDelivery decodes one delivery document.
func DecodeDelivery(raw []byte) (*delivery.Delivery, error) {
	var doc Delivery
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("decoding the delivery: %w", err)
	}
	d := doc.Delivery()
	return &d, nil
}

// logEntry is one entry of gateway_list_delivery_log: an attempt, or a
// waiting delivery's pending entry (no id, no response, next_attempt_at).
type logEntry struct {
	ID                 *string `json:"id"`
	DeliveryID         string  `json:"delivery_id"`
	WebhookID          string  `json:"webhook_id"`
	WorkspaceID        string  `json:"workspace_id"`
	EventType          string  `json:"event_type"`
	Attempt            int     `json:"attempt"`
	Status             string  `json:"status"`
	ResponseStatusCode *int    `json:"response_status_code"`
	ResponseBody       *string `json:"response_body"`
	DurationMS         *int    `json:"duration_ms"`
	Error              *string `json:"error"`
	DeliveredAt        *Time   `json:"delivered_at"`
	NextAttemptAt      *Time   `json:"next_attempt_at"`
}

// DecodeLog decodes gateway_list_delivery_log's answer for a webhook that
// exists (the caller handles SQL null, which means it does not): one page of
// log entries and the total.
func DecodeLog(raw []byte) ([]delivery.Attempt, int, error) {
	var doc struct {
		Total   *int       `json:"total"`
		Entries []logEntry `json:"entries"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, 0, fmt.Errorf("decoding the delivery log: %w", err)
	}
	if doc.Total == nil {
		return nil, 0, errors.New("the delivery log lacks \"total\"")
	}
	out := make([]delivery.Attempt, len(doc.Entries))
	for i, e := range doc.Entries {
		a := delivery.Attempt{DeliveryID: e.DeliveryID, WebhookID: e.WebhookID, WorkspaceID: e.WorkspaceID,
			EventType: e.EventType, Attempt: e.Attempt, Status: e.Status, ResponseStatusCode: e.ResponseStatusCode,
			Error: e.Error, NextAttemptAt: e.NextAttemptAt.Ptr()}
		if e.ID != nil {
			a.ID = *e.ID
		}
		if e.ResponseBody != nil {
			a.ResponseBody = *e.ResponseBody
		}
		if e.DurationMS != nil {
			a.DurationMS = *e.DurationMS
		}
		if e.DeliveredAt != nil {
			a.DeliveredAt = e.DeliveredAt.Time
		}
		out[i] = a
	}
	return out, *doc.Total, nil
}
