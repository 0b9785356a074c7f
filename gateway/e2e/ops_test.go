package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/leadlex/api-gateway/internal/testdb"
)

func TestNoPlaintextSecretsStoredOrLogged(t *testing.T) {
	e, k, g := startWithKey(t, "webhooks:write", "--plan", "org")
	r := g.create(k, hookBody("https://93.184.215.14/secret-check"))
	if r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	secret := r.webhook()["secret"].(string)
	// A request that fails after auth, to get error paths into the log too.
	g.do(req{method: "POST", path: "/v1/webhooks", key: k.Key, body: `{"url": "` + secret + `"}`})

	ctx := context.Background()
	for _, table := range []string{"api_keys", "webhooks"} {
		rows, err := e.pool.Query(ctx, "select row_to_json(t)::text from "+table+" t")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			var row string
			if err := rows.Scan(&row); err != nil {
				t.Fatal(err)
			}
			n++
			for _, plain := range []string{k.Key, k.Key[4:], secret, secret[6:]} {
				if strings.Contains(row, plain) {
					t.Errorf("%s row holds a plaintext secret: %s", table, row)
				}
			}
		}
		rows.Close()
		if n == 0 {
			t.Fatalf("no %s rows to inspect", table)
		}
	}
	// The key's hash is what is stored.
	var hashes int
	_ = e.pool.QueryRow(ctx, "select count(*) from api_keys where key_hash ~ '^[0-9a-f]{64}$'").Scan(&hashes)
	if hashes != 1 {
		t.Errorf("%d hashed keys, want 1", hashes)
	}
	g.stop()
	logs := g.Logs()
	if !strings.Contains(logs, `"status":201`) {
		t.Fatalf("access log missing: %s", logs)
	}
	for _, plain := range []string{k.Key, secret, "Bearer"} {
		if strings.Contains(logs, plain) {
			t.Errorf("logs contain %q:\n%s", plain, logs)
		}
	}
	// Every log line is JSON with the request ID, status and latency.
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("log line is not JSON: %q", line)
			continue
		}
		if m["msg"] == "request" && (m["request_id"] == nil || m["latency_ms"] == nil || m["status"] == nil) {
			t.Errorf("access log line lacks fields: %q", line)
		}
	}
}

func TestHealthAndReadiness(t *testing.T) {
	e := newEnv(t)
	g := e.start(nil)
	for _, path := range []string{"/healthz", "/readyz"} {
		for _, prefix := range []string{"", base} {
			resp, err := http.Get(g.url + prefix + path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("%s%s: %d %s", prefix, path, resp.StatusCode, body)
			}
			if path == "/readyz" && (!strings.Contains(string(body), `"database":"ok"`) || !strings.Contains(string(body), `"redis":"ok"`)) {
				t.Errorf("readyz body %s", body)
			}
		}
	}
}

func TestGracefulShutdownFinishesRequestsInFlight(t *testing.T) {
	e, k, g := startWithKey(t, "webhooks:write", "--plan", "org")
	pr, pw := io.Pipe()
	hr, _ := http.NewRequest("POST", g.url+base+"/v1/webhooks", pr)
	hr.Header.Set("Authorization", "Bearer "+k.Key)
	hr.Header.Set("Content-Type", "application/json")
	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(hr)
		if err != nil {
			done <- result{err: err}
			return
		}
		resp.Body.Close()
		done <- result{status: resp.StatusCode}
	}()
	body := hookBody("https://93.184.215.14/in-flight")
	// Half the body is sent; the handler is now reading it.
	if _, err := pw.Write([]byte(body[:10])); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	select {
	case <-g.done:
		t.Fatal("the gateway exited with a request in flight")
	default:
	}
	// New connections are refused while draining.
	if _, err := http.Get(g.url + "/healthz"); err == nil {
		t.Error("a new request was accepted during shutdown")
	}
	_, _ = pw.Write([]byte(body[10:]))
	pw.Close()
	res := <-done
	if res.err != nil || res.status != 201 {
		t.Fatalf("in-flight request: %d %v", res.status, res.err)
	}
	select {
	case <-g.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the gateway did not exit after draining")
	}
	if code := g.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d after SIGTERM", code)
	}
	if n := e.count("webhooks", workspaceA); n != 1 {
		t.Errorf("%d rows, want the in-flight webhook", n)
	}
}

func TestProductionRefusesUnsafeSettings(t *testing.T) {
	e := newEnv(t)
	_, stderr, code := e.run(map[string]string{"GATEWAY_ENV": "production", "DATABASE_URL": "", "REDIS_URL": "", "SECRET_ENCRYPTION_KEY": ""}, "serve")
	if code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	for _, v := range []string{"DATABASE_URL", "REDIS_URL", "SECRET_ENCRYPTION_KEY"} {
		if !strings.Contains(stderr, v) {
			t.Errorf("stderr does not name %s: %s", v, stderr)
		}
	}
	_, stderr, code = e.run(map[string]string{"PORT": "eighty"}, "serve")
	if code != 2 || !strings.Contains(stderr, "PORT") {
		t.Errorf("bad PORT: exit %d %s", code, stderr)
	}
}

func TestKeysCLI(t *testing.T) {
	e := newEnv(t)
	ws := uuid.NewString()
	a := e.createKey(ws, "webhooks:read,webhooks:write", "--name", "ci", "--plan", "pro", "--tier", "high", "--expires-at", time.Now().Add(48*time.Hour).UTC().Format(time.RFC3339))
	b := e.createKey(ws, "events:publish")
	e.cli("keys", "revoke", b.ID)

	var listed []map[string]any
	if err := json.Unmarshal([]byte(e.cli("keys", "list", "--workspace", ws, "--json")), &listed); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 || listed[0]["id"] != a.ID || listed[0]["plan"] != "pro" || listed[0]["tier"] != "high" || listed[0]["expires_at"] == nil {
		t.Fatalf("list = %v", listed)
	}
	all := e.cli("keys", "list", "--workspace", ws, "--include-revoked", "--json")
	if !strings.Contains(all, b.ID) {
		t.Errorf("--include-revoked misses the revoked key: %s", all)
	}
	table := e.cli("keys", "list", "--workspace", ws, "--include-revoked")
	for _, out := range []string{all, table} {
		if strings.Contains(out, a.Key) || strings.Contains(out, b.Key) || strings.Contains(out, `"key"`) {
			t.Errorf("list prints a key: %s", out)
		}
	}
	bad := []struct {
		name string
		args []string
		want string
	}{
		{"unknown permission", []string{"keys", "create", "--workspace", ws, "--permissions", "webhooks:delete"}, "webhooks:delete"},
		{"bad workspace", []string{"keys", "create", "--workspace", "acme", "--permissions", "webhooks:read"}, "workspace"},
		{"bad plan", []string{"keys", "create", "--workspace", ws, "--permissions", "webhooks:read", "--plan", "gold"}, "plan"},
		{"past expiry", []string{"keys", "create", "--workspace", ws, "--permissions", "webhooks:read", "--expires-at", "2020-01-01T00:00:00Z"}, "expires_at"},
		{"revoke unknown", []string{"keys", "revoke", uuid.NewString()}, "No API key"},
		{"unknown command", []string{"keys", "rotate"}, "rotate"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := e.run(nil, tt.args...)
			if code == 0 || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q (want it to mention %q)", code, stderr, tt.want)
			}
		})
	}
	if n := e.count("api_keys", ws); n != 2 {
		t.Errorf("%d keys in the workspace, want 2 (bad commands write nothing)", n)
	}
}

func TestMigrateCommand(t *testing.T) {
	e := newEnv(t)
	_, url := testdb.NewEmpty(t)
	env := map[string]string{"DATABASE_URL": url}
	out, errOut, code := e.run(env, "migrate")
	if code != 0 || !strings.Contains(out, "applied") {
		t.Fatalf("first migrate: %d %s %s", code, out, errOut)
	}
	out, _, code = e.run(env, "migrate")
	if code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("second migrate: %d %s", code, out)
	}
}
