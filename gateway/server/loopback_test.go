package server

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// localReceiver starts an HTTPS receiver on loopback for the deliveries a
// test makes, and returns its base URL, the test-only settings that let the
// gateway reach it (and nothing else), and its request count.
func localReceiver(t *testing.T) (string, map[string]string, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv.URL, map[string]string{"DELIVERY_ALLOW_CIDRS": "127.0.0.1/32", "DELIVERY_CA_FILE": ca}, &hits
}

// The shared helper's guard: a test delivery to a public address is
// refused before connect(2), reported to OnGuardViolation (which fails any
// other test) and recorded as blocked_address.
func TestGuardTripsOnAPublicAddress(t *testing.T) {
	var mu sync.Mutex
	var tripped []string
	app, key := newApp(t, Options{OnGuardViolation: func(address string) {
		mu.Lock()
		defer mu.Unlock()
		tripped = append(tripped, address)
	}})
	// Registering a public literal sends nothing; only /test does.
	rec, body := call(t, app, "POST", "/v1/webhooks", key, `{"url": "https://93.184.215.14/guard", "events": ["contact.created"]}`)
	if rec.Code != 201 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	id := body["data"].(map[string]any)["webhook"].(map[string]any)["id"].(string)
	rec, _ = call(t, app, "POST", "/v1/webhooks/"+id+"/test", key, "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"blocked_address"`) {
		t.Errorf("test delivery: %d %s, want 200 with error blocked_address", rec.Code, rec.Body)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(tripped) != 1 || tripped[0] != "93.184.215.14:443" {
		t.Errorf("guard reported %q, want [93.184.215.14:443]", tripped)
	}
}

// Under the guard a name is never looked up by the machine's resolver: the
// lookup fails (an invalid_url, not a 5xx) and is reported.
func TestGuardKeepsNamesOffTheSystemResolver(t *testing.T) {
	var tripped atomic.Int64
	app, key := newApp(t, Options{OnGuardViolation: func(string) { tripped.Add(1) }})
	rec, _ := call(t, app, "POST", "/v1/webhooks", key, `{"url": "https://hooks.example.com/guard", "events": ["contact.created"]}`)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "invalid_url") {
		t.Errorf("create with a name: %d %s, want 400 invalid_url", rec.Code, rec.Body)
	}
	if tripped.Load() == 0 {
		t.Error("the lookup was not reported to the guard")
	}
}

// A test that delivers brings a local receiver, and the guard lets the
// delivery through to it without a report.
func TestGuardLetsDeliveriesReachTheTestsReceiver(t *testing.T) {
	url, env, hits := localReceiver(t)
	app, key := newAppEnv(t, env, Options{})
	rec, body := call(t, app, "POST", "/v1/webhooks", key, `{"url": "`+url+`/hook", "events": ["contact.created"]}`)
	if rec.Code != 201 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	id := body["data"].(map[string]any)["webhook"].(map[string]any)["id"].(string)
	rec, _ = call(t, app, "POST", "/v1/webhooks/"+id+"/test", key, "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"success"`) || hits.Load() != 1 {
		t.Errorf("test delivery: %d %s, receiver hits %d; want a success and one hit", rec.Code, rec.Body, hits.Load())
	}
}
