package server

import (
	"context"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
)

// The assembled gateway runs the engine (RunWorker) over its store, and a
// publish wakes it in the same process: with a one-minute poll interval the
// event still arrives within seconds. A stop returns once it is recorded.
func TestRunWorkerDeliversAndIsWokenInProcess(t *testing.T) {
	url, env, hits := localReceiver(t)
	env["DELIVERY_POLL_INTERVAL"] = "1m"
	app, key := newAppEnv(t, env, Options{})
	_, pub, err := app.Keys.Create(context.Background(), apikeys.CreateParams{
		WorkspaceID: "7a0c1f7e-8c7b-4d43-9d55-3f4c3a0f9b11", Permissions: []gateway.Permission{gateway.PermEventsPublish}, Plan: "org",
	})
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := call(t, app, "POST", "/v1/webhooks", key, `{"url": "`+url+`/hook", "events": ["contact.created"]}`)
	if rec.Code != 201 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.RunWorker(ctx) }()
	// Let the engine make its first (empty) claim and go idle.
	deadline := time.Now().Add(10 * time.Second)
	for app.Engine.Stats().ClaimCalls == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the engine never claimed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	rec, _ = call(t, app, "POST", "/v1/events", pub, `{"type": "contact.created", "data": {"id": "c-1"}}`)
	if rec.Code != 202 {
		t.Fatalf("publish: %d %s", rec.Code, rec.Body)
	}
	for hits.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the published event was not delivered: the in-process wake-up did not reach the engine")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("RunWorker: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RunWorker did not stop")
	}
	if s := app.Engine.Stats(); s.Recorded != 1 || s.Attempts["success"] != 1 {
		t.Errorf("engine stats %+v, want one recorded success", s)
	}
}
