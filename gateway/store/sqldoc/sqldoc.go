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
	"unicode/utf8"

	"github.com/leadlex/api-gateway/gateway"
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

// endpoint is a delivery_endpoints row as gateway_claim_due renders it.
type endpoint struct {
	WebhookID   string `json:"webhook_id"`
	WorkspaceID string `json:"workspace_id"`
	Limit       int    `json:"limit"`
	PausedUntil *Time  `json:"paused_until"`
	Failures    int    `json:"failures"`
	Circuit     string `json:"circuit"`
}

// DecodeClaims decodes gateway_claim_due's answer: an array of claims, each
// as gateway_claim_delivery renders one plus "endpoint", the webhook's
// stored endpoint state or null (a zero EndpointState, whose zero Limit
// says that none is stored).
func DecodeClaims(raw []byte) ([]delivery.Claim, error) {
	var docs []json.RawMessage
	if err := json.Unmarshal(raw, &docs); err != nil {
		return nil, fmt.Errorf("decoding the claims: %w", err)
	}
	out := make([]delivery.Claim, 0, len(docs))
	for _, doc := range docs {
		c, err := DecodeClaim(doc)
		if err != nil {
			return nil, err
		}
		var withEndpoint struct {
			Endpoint *endpoint `json:"endpoint"`
		}
		if err := json.Unmarshal(doc, &withEndpoint); err != nil {
			return nil, fmt.Errorf("decoding the claim's endpoint: %w", err)
		}
		if e := withEndpoint.Endpoint; e != nil {
			c.Endpoint = delivery.EndpointState{WebhookID: e.WebhookID, WorkspaceID: e.WorkspaceID, Limit: e.Limit,
				PausedUntil: e.PausedUntil.Ptr(), Failures: e.Failures, Circuit: e.Circuit}
		}
		out = append(out, *c)
	}
	return out, nil
}

// DecodeBacklog decodes gateway_delivery_backlog's answer.
func DecodeBacklog(raw []byte) (delivery.Backlog, error) {
	var doc struct {
		Due             *int  `json:"due"`
		OldestDue       *Time `json:"oldest_due"`
		InFlight        int   `json:"in_flight"`
		PausedEndpoints int   `json:"paused_endpoints"`
		OpenCircuits    int   `json:"open_circuits"`
		AutoDisabled    int   `json:"auto_disabled"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return delivery.Backlog{}, fmt.Errorf("decoding the backlog: %w", err)
	}
	if doc.Due == nil {
		return delivery.Backlog{}, errors.New("the backlog lacks \"due\"")
	}
	return delivery.Backlog{Due: *doc.Due, OldestDue: doc.OldestDue.Ptr(), InFlight: doc.InFlight,
		PausedEndpoints: doc.PausedEndpoints, OpenCircuits: doc.OpenCircuits, AutoDisabled: doc.AutoDisabled}, nil
}

// Answers of gateway_record_attempt and gateway_record_attempts.
const (
	RecordRecorded = "recorded"
	RecordNotFound = "not_found"
	RecordStale    = "stale"
)

// outcomeDoc is one element of gateway_record_attempts' p_outcomes: the
// arguments of gateway_record_attempt without their p_ prefix.
type outcomeDoc struct {
	ID                 *string `json:"id"`
	WorkspaceID        string  `json:"workspace_id"`
	WebhookID          string  `json:"webhook_id"`
	DeliveryID         string  `json:"delivery_id"`
	Attempt            int     `json:"attempt"`
	Status             string  `json:"status"`
	ResponseStatusCode *int    `json:"response_status_code"`
	ResponseBody       string  `json:"response_body"`
	DurationMS         int     `json:"duration_ms"`
	Error              *string `json:"error"`
	DeliveredAt        string  `json:"delivered_at"`
	NextAttemptAt      *string `json:"next_attempt_at"`
	DisableAfterMS     int64   `json:"disable_after_ms"`
}

// endpointDoc is one element of gateway_record_attempts' p_endpoints.
type endpointDoc struct {
	WebhookID   string  `json:"webhook_id"`
	WorkspaceID string  `json:"workspace_id"`
	Limit       int     `json:"limit"`
	PausedUntil *string `json:"paused_until"`
	Failures    int     `json:"failures"`
	Circuit     string  `json:"circuit"`
}

// Batch is the arguments of gateway_record_attempts, built from a batch of
// outcomes and endpoint states, and how its answers map back to them.
type Batch struct {
	// Outcomes and Endpoints are the JSON arrays p_outcomes and p_endpoints.
	Outcomes, Endpoints json.RawMessage
	// Sent[j] is the index in the caller's outcomes of the function's
	// answer j; outcomes not sent (their ids are not UUIDs, so no such
	// delivery can exist) are not found.
	Sent []int
}

// NewBatch encodes outcomes and endpoints for gateway_record_attempts. now
// replaces a zero DeliveredAt. An attempt id that is not a UUID, and a
// response body that is not valid UTF-8 (which JSON cannot carry: it would
// be silently replaced), are errors, as nothing of the batch may be written
// then; endpoint states of ids that are not UUIDs are dropped, as they
// cannot belong to a webhook.
func NewBatch(outcomes []delivery.Outcome, endpoints []delivery.EndpointState, now time.Time) (*Batch, error) {
	b := &Batch{Sent: make([]int, 0, len(outcomes))}
	docs := make([]outcomeDoc, 0, len(outcomes))
	for i, o := range outcomes {
		a := o.Attempt
		workspaceID, webhookID, deliveryID, ok := a.CanonicalIDs()
		if !ok {
			continue
		}
		var attemptID *string
		if a.ID != "" {
			id, ok := gateway.CanonicalID(a.ID)
			if !ok {
				return nil, fmt.Errorf("the attempt id %q is not a UUID", a.ID)
			}
			attemptID = &id
		}
		if !utf8.ValidString(a.ResponseBody) {
			return nil, errors.New("the response body is not valid UTF-8")
		}
		deliveredAt := a.DeliveredAt
		if deliveredAt.IsZero() {
			deliveredAt = now
		}
		docs = append(docs, outcomeDoc{
			ID: attemptID, WorkspaceID: workspaceID, WebhookID: webhookID, DeliveryID: deliveryID,
			Attempt: a.Attempt, Status: a.Status, ResponseStatusCode: a.ResponseStatusCode,
			ResponseBody: a.ResponseBody, DurationMS: a.DurationMS, Error: a.Error,
			DeliveredAt: FormatTime(deliveredAt), NextAttemptAt: formatTimePtr(o.NextAttemptAt),
			DisableAfterMS: max(o.DisableAfter.Milliseconds(), 0),
		})
		b.Sent = append(b.Sent, i)
	}
	eps := make([]endpointDoc, 0, len(endpoints))
	for _, e := range endpoints {
		webhookID, ok1 := gateway.CanonicalID(e.WebhookID)
		workspaceID, ok2 := gateway.CanonicalID(e.WorkspaceID)
		if !ok1 || !ok2 {
			continue
		}
		eps = append(eps, endpointDoc{WebhookID: webhookID, WorkspaceID: workspaceID, Limit: e.Limit,
			PausedUntil: formatTimePtr(e.PausedUntil), Failures: e.Failures, Circuit: e.Circuit})
	}
	var err error
	if b.Outcomes, err = json.Marshal(docs); err != nil {
		return nil, fmt.Errorf("encoding the outcomes: %w", err)
	}
	if b.Endpoints, err = json.Marshal(eps); err != nil {
		return nil, fmt.Errorf("encoding the endpoint states: %w", err)
	}
	return b, nil
}

// Results maps gateway_record_attempts' answer back to the caller's n
// outcomes: nil for recorded, notClaimed for stale, notFound for not found
// and for the outcomes that were not sent. The store passes its own wrapped
// sentinels.
func (b *Batch) Results(raw []byte, n int, notClaimed, notFound func() error) ([]error, error) {
	var answers []string
	if err := json.Unmarshal(raw, &answers); err != nil {
		return nil, fmt.Errorf("decoding the record answers: %w", err)
	}
	if len(answers) != len(b.Sent) {
		return nil, fmt.Errorf("%d record answers for %d outcomes", len(answers), len(b.Sent))
	}
	results := make([]error, n)
	for i := range results {
		results[i] = notFound()
	}
	for j, answer := range answers {
		switch answer {
		case RecordRecorded:
			results[b.Sent[j]] = nil
		case RecordStale:
			results[b.Sent[j]] = notClaimed()
		case RecordNotFound:
		default:
			return nil, fmt.Errorf("unexpected record answer %q", answer)
		}
	}
	return results, nil
}

// FormatTime renders t for a function's JSON argument: UTC, RFC 3339,
// truncated to the microseconds Postgres keeps (as pgx does), so that what
// is sent is what is stored.
func FormatTime(t time.Time) string {
	return t.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
}

func formatTimePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := FormatTime(*t)
	return &s
}
