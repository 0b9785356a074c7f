package e2e

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestMetricsListener checks where /metrics answers and how its listener
// fails: only on METRICS_ADDR (never on the API's port, which the edge
// proxy forwards), only GET /metrics there, and a METRICS_ADDR that cannot
// be used stops `serve` and `worker` at start with a message naming it.
func TestMetricsListener(t *testing.T) {
	e := newEnv(t)
	metricsAddr := "127.0.0.1:" + freePort(t)
	g := e.start(map[string]string{"METRICS_ADDR": metricsAddr})
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(t *testing.T, method, url string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}

	t.Run("served on METRICS_ADDR", func(t *testing.T) {
		status, body := get(t, "GET", "http://"+metricsAddr+"/metrics")
		if status != 200 || !strings.Contains(body, "gateway_http_requests_total") || !strings.Contains(body, "go_goroutines") {
			t.Fatalf("GET /metrics: %d %.200s", status, body)
		}
	})
	t.Run("nothing else on METRICS_ADDR", func(t *testing.T) {
		for _, c := range []struct {
			method, path string
			want         int
		}{{"GET", "/", 404}, {"GET", "/debug/pprof/", 404}, {"POST", "/metrics", 405}} {
			if status, _ := get(t, c.method, "http://"+metricsAddr+c.path); status != c.want {
				t.Errorf("%s %s = %d, want %d", c.method, c.path, status, c.want)
			}
		}
	})
	t.Run("not on the API's port", func(t *testing.T) {
		for _, path := range []string{"/metrics", base + "/metrics"} {
			if status, body := get(t, "GET", g.url+path); status != 404 || strings.Contains(body, "gateway_") {
				t.Errorf("GET %s on the API port = %d %.100s, want 404", path, status, body)
			}
		}
	})

	taken, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, tc := range []struct {
		name, command, addr, want string
		code                      int
	}{
		{"serve, address in use", "serve", taken.Addr().String(), "METRICS_ADDR", 1},
		{"worker, address in use", "worker", taken.Addr().String(), "METRICS_ADDR", 1},
		{"serve, not an address", "serve", "metrics", "METRICS_ADDR", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := e.run(map[string]string{"METRICS_ADDR": tc.addr, "PORT": freePort(t), "RUN_WORKER": "false"}, tc.command)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Fatalf("gateway %s with METRICS_ADDR=%s: exit %d, stderr %q; want exit %d naming %s", tc.command, tc.addr, code, stderr, tc.code, tc.want)
			}
		})
	}
}
