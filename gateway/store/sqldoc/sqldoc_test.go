package sqldoc

import (
	"testing"
	"time"
)

func TestTimeLayouts(t *testing.T) {
	want := time.Date(2026, 4, 17, 12, 23, 5, 123456000, time.UTC)
	for _, s := range []string{`"2026-04-17T14:23:05.123456+02:00"`, `"2026-04-17T14:23:05.123456+02"`, `"2026-04-17T14:23:05.123456+02:00:00"`, `"2026-04-17T12:23:05.123456Z"`} {
		var tm Time
		if err := tm.UnmarshalJSON([]byte(s)); err != nil || !tm.Equal(want) || tm.Location() != time.UTC {
			t.Errorf("%s: %v %v", s, tm.Time, err)
		}
	}
	var tm Time
	if err := tm.UnmarshalJSON([]byte(`"yesterday"`)); err == nil {
		t.Error("accepted a non-timestamp")
	}
	if (*Time)(nil).Ptr() != nil {
		t.Error("nil Ptr")
	}
}

func TestDecodeErrors(t *testing.T) {
	if _, _, err := DecodePublish([]byte(`{"deliveries": []}`)); err == nil {
		t.Error("publish answer without created accepted")
	}
	if _, err := DecodeClaim([]byte(`{"delivery": {"id": "d"}, "event": {"id": "e"}}`)); err == nil {
		t.Error("claim without target accepted")
	}
	if _, err := DecodeDelivery([]byte(`[]`)); err == nil {
		t.Error("array accepted as a delivery")
	}
}

func TestDecodeClaim(t *testing.T) {
	c, err := DecodeClaim([]byte(`{"delivery": {"id": "d1", "attempts": 2, "next_attempt_at": null, "created_at": "2026-04-17T12:00:00+00:00", "updated_at": "2026-04-17T12:00:00+00:00"},
		"event": {"id": "e1", "type": "contact.created", "data": "{\"id\":1}", "created_at": "2026-04-17T12:00:00+00:00"},
		"target": {"url": "https://93.184.215.14/x", "active": true, "secret_ciphertext": "s", "previous_secret_ciphertext": null, "previous_secret_expires_at": null}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Delivery.ID != "d1" || c.Delivery.Attempts != 2 || c.Delivery.NextAttemptAt != nil || string(c.Event.Data) != `{"id":1}` ||
		c.Target.PreviousSecretCiphertext != "" || c.Target.PreviousSecretExpiresAt != nil || !c.Target.Active {
		t.Errorf("claim %+v", c)
	}
}
