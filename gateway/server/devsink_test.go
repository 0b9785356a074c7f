package server

import (
	"fmt"
	"strings"
	"testing"
)

// In development with DEV_SINK, exactly the sink's address is a delivery
// target: a webhook there is accepted and its deliveries verify at the sink
// (through a secret rotation too), while any other loopback port is not.
func TestDevSinkIsTheOneLocalTarget(t *testing.T) {
	app, key := newAppEnv(t, map[string]string{"DEV_SINK": "true", "DEV_SINK_ADDR": "127.0.0.1:0"}, Options{})
	if app.Sink == nil {
		t.Fatal("DEV_SINK=true started no sink")
	}
	port := app.Sink.AddrPort().Port()
	for _, u := range []string{
		"https://127.0.0.1:1/hooks/crm",                     // another port
		fmt.Sprintf("https://127.0.0.2:%d/hooks/crm", port), // another loopback address
		fmt.Sprintf("https://localhost:%d/hooks/crm", port), // a name, even for the sink
	} {
		rec, _ := call(t, app, "POST", "/v1/webhooks", key, `{"url": "`+u+`", "events": ["contact.created"]}`)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), "invalid_url") {
			t.Errorf("create at %s: %d %s, want 400 invalid_url", u, rec.Code, rec.Body)
		}
	}
	rec, body := call(t, app, "POST", "/v1/webhooks", key, `{"url": "`+app.Sink.URL()+`/hooks/crm", "events": ["contact.created"]}`)
	if rec.Code != 201 {
		t.Fatalf("create at the sink: %d %s", rec.Code, rec.Body)
	}
	id := body["data"].(map[string]any)["webhook"].(map[string]any)["id"].(string)
	for i, step := range []string{"test", "rotate-secret", "test"} {
		if step == "rotate-secret" {
			if rec, _ := call(t, app, "POST", "/v1/webhooks/"+id+"/rotate-secret", key, `{"expire_previous_in_seconds": 3600}`); rec.Code != 200 {
				t.Fatalf("rotate: %d %s", rec.Code, rec.Body)
			}
			continue
		}
		rec, _ := call(t, app, "POST", "/v1/webhooks/"+id+"/test", key, "")
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"success"`) {
			t.Fatalf("step %d: test delivery: %d %s", i, rec.Code, rec.Body)
		}
		d := app.Sink.Deliveries()[0]
		if !d.Verified || d.Signatures.LeadLex != "valid" || d.Signatures.StandardWebhooks != "valid" || d.Path != "/hooks/crm" {
			t.Errorf("step %d: the sink kept %+v, want both signatures valid", i, d)
		}
	}
	if n := len(app.Sink.Deliveries()); n != 2 {
		t.Errorf("the sink kept %d deliveries, want 2", n)
	}
}

// Without DEV_SINK there is no sink, and its address is as refused as any
// other loopback address.
func TestNoDevSinkByDefault(t *testing.T) {
	app, key := newApp(t, Options{})
	if app.Sink != nil {
		t.Fatal("a sink started without DEV_SINK")
	}
	rec, _ := call(t, app, "POST", "/v1/webhooks", key, `{"url": "https://127.0.0.1:8443/hooks/crm", "events": ["contact.created"]}`)
	if rec.Code != 400 {
		t.Errorf("create at the default sink address: %d %s, want 400", rec.Code, rec.Body)
	}
}
