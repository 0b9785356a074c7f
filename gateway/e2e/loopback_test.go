package e2e

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/gateway/delivery/sender"
)

// The guard the harness arms in every gateway it runs: a test delivery to
// a public address is refused before connect(2), logged with
// sender.GuardMessage (which fails any other test at stop) and recorded as
// blocked_address. The webhook at a public literal itself sends nothing.
func TestDeliveryGuardTripsOnAPublicAddress(t *testing.T) {
	_, k, g := startWithKey(t, "webhooks:write", "--tier", "unmetered")
	g.guardTripExpected = true
	id := g.createHook(k, hookBody("https://93.184.215.14/guard"))
	r := g.do(req{method: "POST", path: "/v1/webhooks/" + id + "/test", key: k.Key})
	if r.Status != 200 || !strings.Contains(string(r.Raw), `"blocked_address"`) {
		t.Errorf("test delivery: %d %s, want 200 with blocked_address", r.Status, r.Raw)
	}
	logs := g.Logs()
	if !strings.Contains(logs, sender.GuardMessage) || !strings.Contains(logs, "93.184.215.14:443") {
		t.Errorf("the gateway did not log the guard refusal:\n%s", logs)
	}
}

// TestMakeRunRoundTrip starts the binary the way `make run` does (plus a
// free port for the gateway and the sink, and the harness's guard), runs
// the lines it prints in a shell, and checks that the sink received the
// published event with both signatures verified.
func TestMakeRunRoundTrip(t *testing.T) {
	e := newEnv(t)
	g := e.start(map[string]string{
		// The Makefile's run target:
		"GATEWAY_ENV": "development", "DEV_PRINT_KEY": "true", "DEV_SINK": "true",
		"DATABASE_URL": "", "SUPABASE_URL": "", "REDIS_URL": "",
		// What `make run` leaves unset, and a free port for the sink.
		"SECRET_ENCRYPTION_KEY": "", "REDIS_KEY_PREFIX": "", "DEV_SINK_ADDR": "127.0.0.1:" + freePort(t),
	})
	lines := printedLines(t, g.Logs())
	script := strings.Join(lines, "\n")
	for _, want := range []string{"/v1/webhooks", "/v1/events", "/logs", "/deliveries", "--cacert"} {
		if !strings.Contains(script, want) {
			t.Fatalf("the printed walk-through has no %q:\n%s", want, script)
		}
	}
	if strings.Contains(script, "93.184") || strings.Count(script, "https://") != strings.Count(script, "https://127.0.0.1:") {
		t.Errorf("the printed walk-through names a receiver off this machine:\n%s", script)
	}
	out := shell(t, script)
	if !strings.Contains(out, `"status":"success"`) {
		t.Errorf("the delivery log step shows no successful delivery (the sink may have been slow; output follows):\n%s", out)
	}
	// The last printed line reads the sink; run it until the delivery is there.
	var got struct {
		Data []struct {
			Path       string            `json:"path"`
			EventType  string            `json:"event_type"`
			Verified   bool              `json:"verified"`
			Signatures map[string]string `json:"signatures"`
		} `json:"data"`
	}
	waitFor(t, 15*time.Second, "the sink to show the delivery", func() bool {
		return json.Unmarshal([]byte(shell(t, lines[len(lines)-1])), &got) == nil && len(got.Data) > 0
	})
	d := got.Data[0]
	if len(got.Data) != 1 || d.Path != "/hooks/crm" || d.EventType != "contact.created" || !d.Verified ||
		d.Signatures["leadlex"] != "valid" || d.Signatures["standard_webhooks"] != "valid" {
		t.Errorf("the sink shows %+v, want one verified contact.created delivery at /hooks/crm", got.Data)
	}
}

// printedLines returns the shell lines of the walk-through `serve` printed:
// the indented block after "Paste these lines into a shell:".
func printedLines(t *testing.T, logs string) []string {
	t.Helper()
	_, block, ok := strings.Cut(logs, "Paste these lines into a shell:\n\n")
	if !ok {
		t.Fatalf("no walk-through printed:\n%s", logs)
	}
	var lines []string
	for _, l := range strings.Split(block, "\n") {
		if !strings.HasPrefix(l, "    ") {
			break
		}
		lines = append(lines, strings.TrimPrefix(l, "    "))
	}
	return lines
}

// shell runs a script with bash, failing the test if it fails.
func shell(t *testing.T, script string) string {
	t.Helper()
	cmd := exec.Command("bash", "-e", "-o", "pipefail", "-c", script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s\n---\n%s", err, script, out)
	}
	return string(out)
}

// Production refuses the sink, its address and the guard setting alike.
func TestProductionRefusesDevelopmentDeliverySettings(t *testing.T) {
	e := newEnv(t)
	_, stderr, code := e.run(map[string]string{"GATEWAY_ENV": "production", "DEV_SINK": "true", "DEV_SINK_ADDR": "127.0.0.1:8443"}, "serve")
	if code != 2 {
		t.Fatalf("exit %d, want 2: %s", code, stderr)
	}
	for _, v := range []string{"DEV_SINK:", "DEV_SINK_ADDR:", "DELIVERY_ALLOW_ONLY:", "DNS_SERVER:"} {
		if !strings.Contains(stderr, v) {
			t.Errorf("stderr does not name %s: %s", v, stderr)
		}
	}
}
