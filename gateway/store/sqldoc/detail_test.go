package sqldoc

import (
	"strings"
	"testing"
)

func TestDecodeDetail(t *testing.T) {
	const delivery = `{"id": "d", "workspace_id": "w", "webhook_id": "h", "event_id": "e", "event_type": "lead.created", "test": false,
		"status": "failed", "attempts": 1, "next_attempt_at": null, "created_at": "2026-12-01T12:00:00+00:00", "updated_at": "2026-12-01T12:00:01+00"}`
	const event = `{"id": "e", "workspace_id": "w", "type": "lead.created", "data": "{\"a\":  1}", "created_at": "2026-12-01T12:00:00+00:00"}`
	const attempt = `{"id": "a", "delivery_id": "d", "webhook_id": "h", "workspace_id": "w", "event_type": "lead.created", "attempt": 1,
		"status": "failed", "response_status_code": 500, "response_body": "no", "duration_ms": 7, "error": "http_error",
		"delivered_at": "2026-12-01T12:00:01+00:00", "next_attempt_at": null}`
	d, err := DecodeDetail([]byte(`{"delivery": ` + delivery + `, "event": ` + event + `, "attempts": [` + attempt + `]}`))
	if err != nil {
		t.Fatal(err)
	}
	if d.Delivery.ID != "d" || d.Delivery.Status != "failed" || string(d.Event.Data) != `{"a":  1}` || len(d.Attempts) != 1 ||
		d.Attempts[0].ID != "a" || *d.Attempts[0].ResponseStatusCode != 500 || d.Attempts[0].DurationMS != 7 || d.Attempts[0].DeliveredAt.IsZero() {
		t.Errorf("decoded %+v", d)
	}
	for _, tc := range []struct{ name, doc, want string }{
		{"not JSON", `{`, "decoding the delivery detail"},
		{"no delivery", `{"event": ` + event + `, "attempts": []}`, "lacks"},
		{"no event", `{"delivery": ` + delivery + `, "attempts": []}`, "lacks"},
		{"no attempts", `{"delivery": ` + delivery + `, "event": ` + event + `}`, "lacks"},
		{"bad attempt", `{"delivery": ` + delivery + `, "event": ` + event + `, "attempts": [{"attempt": "x"}]}`, "delivery log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DecodeDetail([]byte(tc.doc)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("DecodeDetail = %v, want an error with %q", err, tc.want)
			}
		})
	}
}
