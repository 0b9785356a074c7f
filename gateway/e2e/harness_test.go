// Package e2e drives the real gateway binary over HTTP against real
// PostgreSQL and Redis: what a client of data.leadlex.com would see.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/leadlex/api-gateway/gateway/delivery/sender"
	"github.com/leadlex/api-gateway/internal/testdb"
	"github.com/leadlex/api-gateway/internal/testdns"
	"github.com/leadlex/api-gateway/internal/testproc"
	"github.com/leadlex/api-gateway/internal/testredis"
	"github.com/redis/go-redis/v9"
)

const base = "/functions/v1/api-gateway"

// testEncryptionKey is the base64 of 32 bytes 0x00..0x1f.
const testEncryptionKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gateway-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "gateway")
	build := exec.Command("go", "build", "-race", "-o", binary, "github.com/leadlex/api-gateway")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the gateway binary:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is the shared set-up of one test: a fresh database, Redis, and the
// environment the binary runs with.
type env struct {
	t     *testing.T
	pool  *pgxpool.Pool
	redis *redis.Client
	// prefix is this test's Redis namespace; testredis deletes it at cleanup.
	prefix string
	vars   map[string]string
}

// newEnv also arms the delivery guard in every process the test runs:
// DELIVERY_ALLOW_ONLY lets deliveries reach only DELIVERY_ALLOW_CIDRS (none
// unless the test starts a receiver), and names resolve only through a test
// DNS server, never the machine's. A process that tried to go further fails
// the test when it stops (see gw.stop).
func newEnv(t *testing.T) *env {
	t.Helper()
	pool, url := testdb.New(t)
	rc, prefix := testredis.New(t)
	return &env{t: t, pool: pool, redis: rc, prefix: prefix, vars: map[string]string{
		"DELIVERY_ALLOW_ONLY":   "true",
		"DNS_SERVER":            testdns.Start(t).Addr(),
		"GATEWAY_ENV":           "development",
		"DATABASE_URL":          url,
		"REDIS_URL":             testredis.URL(),
		"REDIS_KEY_PREFIX":      prefix,
		"SECRET_ENCRYPTION_KEY": testEncryptionKey,
		"LOG_LEVEL":             "info",
	}}
}

func (e *env) environ(extra map[string]string) []string {
	out := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range e.vars {
		if _, over := extra[k]; !over {
			out = append(out, k+"="+v)
		}
	}
	for k, v := range extra {
		out = append(out, k+"="+v)
	}
	return out
}

// cli runs a gateway command and returns stdout, failing the test on a
// non-zero exit.
func (e *env) cli(args ...string) string {
	e.t.Helper()
	out, errOut, code := e.run(nil, args...)
	if code != 0 {
		e.t.Fatalf("gateway %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

func (e *env) run(extra map[string]string, args ...string) (stdout, stderr string, code int) {
	e.t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = e.environ(extra)
	var o, er bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &er
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return o.String(), er.String(), ee.ExitCode()
	}
	if err != nil {
		e.t.Fatalf("run gateway: %v", err)
	}
	return o.String(), er.String(), 0
}

// key is an API key the CLI issued.
type key struct {
	ID          string `json:"id"`
	Key         string `json:"key"`
	WorkspaceID string `json:"workspace_id"`
}

func (e *env) createKey(workspace, perms string, flags ...string) key {
	e.t.Helper()
	args := append([]string{"keys", "create", "--workspace", workspace, "--permissions", perms, "--json"}, flags...)
	out := e.cli(args...)
	var k key
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&k); err != nil || k.ID == "" || k.Key == "" {
		e.t.Fatalf("keys create --json printed %q: %v", out, err)
	}
	if dec.More() {
		e.t.Fatalf("keys create --json printed more than one JSON value: %q", out)
	}
	return k
}

// gw is a running gateway process.
type gw struct {
	t      *testing.T
	url    string
	cmd    *exec.Cmd
	logs   testproc.Output
	done   chan struct{}
	client *http.Client
	// guardTripExpected is set by the test that shows the guard trips;
	// for every other process a guard line in the logs fails the test.
	guardTripExpected bool
}

// freePort is a free loopback port, as the PORT and METRICS_ADDR values
// want it.
func freePort(t *testing.T) string {
	t.Helper()
	return strconv.Itoa(testproc.FreePort(t))
}

// start runs `gateway serve` with the env plus extra variables and waits
// until it answers /healthz. It is stopped with SIGTERM at cleanup.
func (e *env) start(extra map[string]string) *gw {
	e.t.Helper()
	port := freePort(e.t)
	if extra == nil {
		extra = map[string]string{}
	}
	extra["PORT"] = port
	g := &gw{t: e.t, url: "http://127.0.0.1:" + port, client: &http.Client{Timeout: 15 * time.Second}}
	e.launch(g, "serve", extra)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(g.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return g
			}
		}
		select {
		case <-g.done:
			e.t.Fatalf("gateway exited at start:\n%s", g.Logs())
		default:
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("gateway did not become healthy:\n%s", g.Logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// launch starts `gateway <command>` as g's process with the env plus extra
// variables, its output kept in g's logs. It is stopped with SIGTERM at
// cleanup.
func (e *env) launch(g *gw, command string, extra map[string]string) {
	e.t.Helper()
	g.done = make(chan struct{})
	g.cmd = exec.Command(binary, command)
	g.cmd.Env = e.environ(extra)
	g.cmd.Stdout, g.cmd.Stderr = &g.logs, &g.logs
	if err := g.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() { _ = g.cmd.Wait(); close(g.done) }()
	e.t.Cleanup(g.stop)
}

func (g *gw) stop() {
	defer g.checkGuard()
	select {
	case <-g.done:
		return
	default:
	}
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
	case <-time.After(20 * time.Second):
		_ = g.cmd.Process.Kill()
		<-g.done
	}
}

// checkGuard fails the test if the process logged that the delivery guard
// stopped it from reaching an address the test did not allow.
func (g *gw) checkGuard() {
	if logs := g.Logs(); !g.guardTripExpected && strings.Contains(logs, sender.GuardMessage) {
		g.t.Errorf("the gateway tried to reach an address outside the test's receivers (DELIVERY_ALLOW_ONLY refused it):\n%s", logs)
	}
}

// Logs returns everything the process wrote so far.
func (g *gw) Logs() string { return g.logs.String() }

// reply is a decoded response.
type reply struct {
	Status int
	Header http.Header
	Raw    []byte
	Body   map[string]any
}

// errCode returns error.code of an error envelope.
func (r reply) errCode() string {
	if e, ok := r.Body["error"].(map[string]any); ok {
		s, _ := e["code"].(string)
		return s
	}
	return ""
}

func (r reply) errDetails() map[string]any {
	if e, ok := r.Body["error"].(map[string]any); ok {
		d, _ := e["details"].(map[string]any)
		return d
	}
	return nil
}

func (r reply) webhook() map[string]any {
	if d, ok := r.Body["data"].(map[string]any); ok {
		w, _ := d["webhook"].(map[string]any)
		return w
	}
	return nil
}

// req is one request to send.
type req struct {
	method  string
	path    string
	key     string
	body    string
	ctype   string // defaults to application/json when body is set
	headers map[string]string
}

func (g *gw) do(r req) reply {
	g.t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr, err := http.NewRequestWithContext(context.Background(), r.method, g.url+base+r.path, body)
	if err != nil {
		g.t.Fatal(err)
	}
	if r.key != "" {
		hr.Header.Set("Authorization", "Bearer "+r.key)
	}
	switch {
	case r.ctype != "":
		hr.Header.Set("Content-Type", r.ctype)
	case r.body != "":
		hr.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.headers {
		hr.Header.Set(k, v)
	}
	return g.send(hr)
}

func (g *gw) send(hr *http.Request) reply {
	g.t.Helper()
	resp, err := g.client.Do(hr)
	if err != nil {
		g.t.Fatalf("%s %s: %v", hr.Method, hr.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := reply{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.Body); err != nil {
			g.t.Fatalf("%s %s: response is not JSON: %q", hr.Method, hr.URL.Path, raw)
		}
	}
	// Every response, success or error, carries a request ID, and error
	// bodies repeat it.
	rid := resp.Header.Get("X-Request-ID")
	if rid == "" {
		g.t.Errorf("%s %s: no X-Request-ID", hr.Method, hr.URL.Path)
	}
	if e, ok := out.Body["error"].(map[string]any); ok {
		if e["request_id"] != rid {
			g.t.Errorf("error.request_id %v != X-Request-ID %q", e["request_id"], rid)
		}
		if s, _ := e["message"].(string); s == "" {
			g.t.Errorf("error without a message: %s", raw)
		}
	}
	return out
}

func (g *gw) create(k key, body string) reply {
	g.t.Helper()
	return g.do(req{method: "POST", path: "/v1/webhooks", key: k.Key, body: body})
}

// createHook creates a webhook, fails the test unless it is a 201, and
// returns the new webhook's id.
func (g *gw) createHook(k key, body string) string {
	g.t.Helper()
	r := g.create(k, body)
	if r.Status != 201 {
		g.t.Fatalf("create: %d %s", r.Status, r.Raw)
	}
	return r.webhook()["id"].(string)
}

// startWithKey is the prologue of most tests: a fresh env, one key of
// workspaceA with perms and flags, and a gateway started with no extra
// variables.
func startWithKey(t *testing.T, perms string, flags ...string) (*env, key, *gw) {
	t.Helper()
	e := newEnv(t)
	k := e.createKey(workspaceA, perms, flags...)
	return e, k, e.start(nil)
}

// concurrently runs call(0) … call(n-1) in n goroutines released at once
// and returns their replies by index.
func concurrently(n int, call func(i int) reply) []reply {
	replies := make([]reply, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			replies[i] = call(i)
		})
	}
	close(start)
	wg.Wait()
	return replies
}

// count returns the number of rows of a table, optionally for a workspace.
func (e *env) count(table, workspace string) int {
	e.t.Helper()
	var n int
	q := "select count(*) from " + table
	args := []any{}
	if workspace != "" {
		q += " where workspace_id = $1"
		args = append(args, workspace)
	}
	if err := e.pool.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// hookBody is a create request. Tests that never deliver register public
// literals such as https://93.184.215.14/…: nothing is ever sent there (no
// event, /test or /retry for those webhooks), and the guard of newEnv would
// fail the test if it were. Tests that deliver use a receiver's URL.
func hookBody(url string, events ...string) string {
	if len(events) == 0 {
		events = []string{"contact.created"}
	}
	b, _ := json.Marshal(map[string]any{"url": url, "events": events})
	return string(b)
}
