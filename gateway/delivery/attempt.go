package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/google/uuid"
)

// Payload returns the body of a delivery of ev (contract §6): exactly
// {"id":…,"type":…,"created_at":…,"workspace_id":…,"data":…} in this order,
// created_at in RFC 3339 UTC with whole seconds and data as published.
func Payload(ev Event) []byte {
	data := []byte(ev.Data)
	if len(data) == 0 {
		data = []byte("null")
	}
	var b bytes.Buffer
	b.Grow(128 + len(data))
	b.WriteString(`{"id":`)
	writeString(&b, ev.ID)
	b.WriteString(`,"type":`)
	writeString(&b, ev.Type)
	b.WriteString(`,"created_at":`)
	writeString(&b, ev.CreatedAt.UTC().Format(time.RFC3339))
	b.WriteString(`,"workspace_id":`)
	writeString(&b, ev.WorkspaceID)
	b.WriteString(`,"data":`)
	b.Write(data)
	b.WriteByte('}')
	return b.Bytes()
}

// writeString appends s as a JSON string.
func writeString(b *bytes.Buffer, s string) {
	q, _ := json.Marshal(s) // a string always marshals
	b.Write(q)
}

// secrets opens the webhook's current secret and, while it has not expired,
// the previous one, in that order.
func (e *Engine) secrets(c *Claim, now time.Time) ([]string, error) {
	aad := []byte(c.Delivery.WebhookID)
	cur, err := e.Opener.Open(c.Target.SecretCiphertext, aad)
	if err != nil {
		return nil, err
	}
	out := []string{string(cur)}
	t := c.Target
	if t.PreviousSecretCiphertext != "" && t.PreviousSecretExpiresAt != nil && now.Before(*t.PreviousSecretExpiresAt) {
		prev, err := e.Opener.Open(t.PreviousSecretCiphertext, aad)
		if err != nil {
			return nil, err
		}
		out = append(out, string(prev))
	}
	return out, nil
}

// outcome turns a send result into what the store records: success on a
// 2xx; otherwise failed, with the next attempt's time (the delivery stays
// pending) while the schedule allows another, and without one (failed for
// good) when it does not, when the receiver answered 410 Gone, or for a test
// delivery (never retried).
func (e *Engine) outcome(c *Claim, res Result, start, end time.Time) Outcome {
	d := c.Delivery
	a := Attempt{
		ID:                 uuid.NewString(),
		DeliveryID:         d.ID,
		WebhookID:          d.WebhookID,
		WorkspaceID:        d.WorkspaceID,
		EventType:          d.EventType,
		Attempt:            d.Attempts,
		ResponseStatusCode: res.StatusCode,
		ResponseBody:       res.Body,
		DurationMS:         int(max(res.Duration, 0).Milliseconds()),
		DeliveredAt:        start,
	}
	o := Outcome{DisableAfter: e.DisableAfter}
	switch {
	case res.ErrClass == "":
		a.Status = StatusSuccess
	case d.Test || res.Gone:
		a.Status = StatusFailed
	default:
		a.Status = StatusFailed
		if wait, ok := e.schedule().Next(d.Attempts, res.RetryAfter, e.Jitter); ok {
			next := end.Add(wait)
			o.NextAttemptAt = &next
		}
	}
	if res.ErrClass != "" {
		class := res.ErrClass
		a.Error = &class
	}
	o.Attempt = a
	return o
}

// logAttempt writes one line per recorded attempt: ids, outcome and timing,
// never the URL, secrets, payload or the receiver's answer.
func (e *Engine) logAttempt(ctx context.Context, o Outcome) {
	a := o.Attempt
	attrs := []slog.Attr{
		slog.String("delivery_id", a.DeliveryID),
		slog.String("webhook_id", a.WebhookID),
		slog.String("workspace_id", a.WorkspaceID),
		slog.String("event_type", a.EventType),
		slog.Int("attempt", a.Attempt),
		slog.String("status", a.Status),
		slog.Int("duration_ms", a.DurationMS),
	}
	if a.ResponseStatusCode != nil {
		attrs = append(attrs, slog.Int("response_status_code", *a.ResponseStatusCode))
	}
	if a.Error != nil {
		attrs = append(attrs, slog.String("error", *a.Error))
	}
	if o.NextAttemptAt != nil {
		attrs = append(attrs, slog.Time("next_attempt_at", *o.NextAttemptAt))
	}
	level := slog.LevelInfo
	if a.Status == StatusFailed {
		level = slog.LevelWarn
	}
	e.logger().LogAttrs(ctx, level, "delivery attempt", attrs...)
}
