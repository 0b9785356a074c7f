package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/gateway/delivery"
)

// TestDeliveryDetail covers GET /v1/webhooks/{id}/logs/{delivery_id} on the
// assembled server: the payload exactly as a delivery sends it, and every
// way of asking for a delivery that is not there.
func TestDeliveryDetail(t *testing.T) {
	receiverURL, env, _ := localReceiver(t)
	app, key := newAppEnv(t, env, Options{})
	ctx := context.Background()
	ws := "7a0c1f7e-8c7b-4d43-9d55-3f4c3a0f9b11"
	hook := func(path string) string {
		t.Helper()
		rec, body := call(t, app, "POST", "/v1/webhooks", key, `{"url": "`+receiverURL+path+`", "events": ["contact.created"]}`)
		if rec.Code != 201 {
			t.Fatalf("create webhook: %d %s", rec.Code, rec.Body)
		}
		return body["data"].(map[string]any)["webhook"].(map[string]any)["id"].(string)
	}
	id, sibling := hook("/a"), hook("/b")
	ev := delivery.Event{ID: uuid.NewString(), WorkspaceID: ws, Type: "contact.created", Data: []byte(`{"id":"c-1","n":1}`), CreatedAt: time.Now().UTC().Truncate(time.Second)}
	ds, _, err := app.Stores.PublishEvent(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	var did string
	for _, d := range ds {
		if d.WebhookID == id {
			did = d.ID
		}
	}
	rec, body := call(t, app, "GET", "/v1/webhooks/"+strings.ToUpper(id)+"/logs/"+strings.ToUpper(did), key, "")
	if rec.Code != 200 {
		t.Fatalf("detail: %d %s", rec.Code, rec.Body)
	}
	d := body["data"].(map[string]any)["delivery"].(map[string]any)
	if d["id"] != did || d["webhook_id"] != id || d["event_id"] != ev.ID || d["status"] != "pending" || d["event"] != "contact.created" {
		t.Errorf("delivery = %v", d)
	}
	if d["payload"] != string(delivery.Payload(ev)) {
		t.Errorf("payload = %v, want the bytes a delivery sends: %s", d["payload"], delivery.Payload(ev))
	}
	if log, ok := d["log"].([]any); !ok || len(log) != 0 {
		t.Errorf("log before any attempt = %v, want []", d["log"])
	}

	_, otherKey, err := app.Keys.Create(ctx, apikeys.CreateParams{WorkspaceID: uuid.NewString(), Permissions: []gateway.Permission{gateway.PermWebhooksRead}, Plan: "org"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, hook, delivery, key string
		status                    int
		code                      gateway.Code
	}{
		{"unknown webhook", uuid.NewString(), did, key, 404, gateway.CodeWebhookNotFound},
		{"malformed webhook id", "wh_1", did, key, 404, gateway.CodeWebhookNotFound},
		{"unknown delivery", id, uuid.NewString(), key, 404, gateway.CodeDeliveryNotFound},
		{"malformed delivery id", id, "dlv_1", key, 404, gateway.CodeDeliveryNotFound},
		{"braced delivery id", id, "{" + did + "}", key, 404, gateway.CodeDeliveryNotFound},
		{"another webhook's delivery", sibling, did, key, 404, gateway.CodeDeliveryNotFound},
		{"another workspace", id, did, otherKey, 404, gateway.CodeWebhookNotFound},
		{"no key", id, did, "", 401, gateway.CodeInvalidKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, body := call(t, app, "GET", "/v1/webhooks/"+tc.hook+"/logs/"+tc.delivery, tc.key, "")
			e, _ := body["error"].(map[string]any)
			if rec.Code != tc.status || e == nil || e["code"] != string(tc.code) {
				t.Errorf("%d %s, want %d %s", rec.Code, rec.Body, tc.status, tc.code)
			}
		})
	}
}
