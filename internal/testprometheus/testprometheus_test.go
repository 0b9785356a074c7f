package testprometheus

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fixture is a fixed /metrics page in Prometheus's text format.
const fixture = `# HELP fixture_temperature A gauge with a label.
# TYPE fixture_temperature gauge
fixture_temperature{room="kitchen"} 21.5
fixture_temperature{room="cellar"} 12
# HELP fixture_requests_total A counter.
# TYPE fixture_requests_total counter
fixture_requests_total 7
`

// serveFixture serves fixture on /metrics of a loopback test server.
func serveFixture(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprint(w, fixture)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestStartScrapesAndQueries starts a real Prometheus scraping a fixed
// /metrics page and checks that queries through the HTTP API answer what
// the page says, with the job, instance and extra labels the target was
// given.
func TestStartScrapesAndQueries(t *testing.T) {
	srv := serveFixture(t)
	addr := strings.TrimPrefix(srv.URL, "http://")
	p := Start(t, Target{Job: "fixture", Addr: addr, Labels: map[string]string{"env": "test"}})

	// The first scrape comes within a ScrapeInterval or two.
	up := p.EventuallyValue(t, `up{job="fixture"}`, 1)
	if up.Metric["instance"] != addr || up.Metric["env"] != "test" {
		t.Fatalf("up has labels %v, want instance=%s and env=test", up.Metric, addr)
	}

	tests := []struct {
		name, promql string
		wantType     string
		want         []string // Sample.String of each sample, in order
	}{
		{"a gauge", `fixture_temperature{room="kitchen"}`, "vector",
			[]string{`{__name__="fixture_temperature",env="test",instance="` + addr + `",job="fixture",room="kitchen"} => 21.5`}},
		{"an aggregation", `sum by (job) (fixture_temperature)`, "vector",
			[]string{`{job="fixture"} => 33.5`}},
		{"a counter", `sum(fixture_requests_total)`, "vector", []string{`{} => 7`}},
		{"a scalar", `scalar(fixture_requests_total) * 2`, "scalar", []string{`{} => 14`}},
		{"nothing matches", `fixture_temperature{room="attic"}`, "vector", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := p.Query(t, tc.promql)
			if r.Type != tc.wantType {
				t.Fatalf("%s: type %s, want %s", tc.promql, r.Type, tc.wantType)
			}
			var got []string
			for _, s := range r.Samples {
				got = append(got, s.String())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("%s:\ngot  %q\nwant %q", tc.promql, got, tc.want)
			}
		})
	}

	t.Run("a refused query fails at once", func(t *testing.T) {
		start := time.Now()
		_, err := p.poll(`sum(`, HasValue(1), time.Minute)
		if err == nil || !strings.Contains(err.Error(), "refused") {
			t.Fatalf("poll of a syntax error: %v, want a refusal", err)
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("poll of a syntax error waited for the deadline (%s) instead of failing at once", time.Since(start))
		}
	})
	t.Run("an answer that never comes fails at the deadline", func(t *testing.T) {
		r, err := p.poll(`sum(fixture_requests_total)`, HasValue(8), 2*time.Second)
		if err == nil || !strings.Contains(err.Error(), "want value 8, got 7") {
			t.Fatalf("poll for a value never scraped: %v, want a deadline error naming the last answer", err)
		}
		if v, ok := r.Value(); !ok || v != 7 {
			t.Fatalf("poll returned %s, want the last answer (7)", r)
		}
	})
	t.Run("a range query is refused", func(t *testing.T) {
		_, err := p.query(`fixture_requests_total[5s]`)
		if err == nil || !strings.Contains(err.Error(), "matrix") {
			t.Fatalf("instant query of a range: %v, want a refusal naming the matrix", err)
		}
	})
}

// TestTargetsMustBeLoopback checks that a configuration naming anything but
// a loopback IP address is refused before Prometheus starts, and that the
// targets of one job share a scrape job.
func TestTargetsMustBeLoopback(t *testing.T) {
	tests := []struct {
		name    string
		targets []Target
		wantErr string
	}{
		{"IPv4 loopback", []Target{{Job: "a", Addr: "127.0.0.1:9464"}, {Job: "a", Addr: "127.0.0.2:9464"}}, ""},
		{"IPv6 loopback", []Target{{Job: "a", Addr: "[::1]:9464"}}, ""},
		{"a name", []Target{{Job: "a", Addr: "localhost:9464"}}, "loopback IP"},
		{"a private address", []Target{{Job: "a", Addr: "10.0.0.1:9464"}}, "loopback IP"},
		{"a public address", []Target{{Job: "a", Addr: "192.0.2.1:9464"}}, "loopback IP"},
		{"no port", []Target{{Job: "a", Addr: "127.0.0.1"}}, "missing port"},
		{"no job", []Target{{Addr: "127.0.0.1:9464"}}, "no job"},
		{"two paths in one job", []Target{{Job: "a", Addr: "127.0.0.1:1"}, {Job: "a", Addr: "127.0.0.1:2", Path: "/m"}}, "different metrics paths"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config(Config{Targets: tc.targets})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("config: %v", err)
				}
				if n := strings.Count(string(cfg), `"job_name"`); n != 1 {
					t.Fatalf("config has %d scrape jobs, want 1:\n%s", n, cfg)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("config: %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

// fixtureRules records a sum of the fixture's gauge and alerts, at once,
// when the kitchen is warmer than 20 degrees.
const fixtureRules = `groups:
  - name: fixture
    rules:
      - record: job:fixture_temperature:sum
        expr: sum by (job) (fixture_temperature)
      - alert: FixtureKitchenWarm
        expr: fixture_temperature{room="kitchen"} > 20
        labels:
          severity: info
`

// TestStartConfigEvaluatesRules starts Prometheus with a rule file and
// checks that what a recording rule records and the alert a rule fires are
// queryable.
func TestStartConfigEvaluatesRules(t *testing.T) {
	srv := serveFixture(t)
	rules := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(rules, []byte(fixtureRules), 0o644); err != nil {
		t.Fatal(err)
	}
	p := StartConfig(t, Config{
		Targets:   []Target{{Job: "fixture", Addr: strings.TrimPrefix(srv.URL, "http://")}},
		RuleFiles: []string{rules},
	})
	got := p.EventuallyValue(t, `job:fixture_temperature:sum`, 33.5)
	if got.Metric["job"] != "fixture" {
		t.Errorf("recorded series %s, want job=fixture", got)
	}
	alert := p.EventuallyValue(t, `ALERTS{alertname="FixtureKitchenWarm",alertstate="firing"}`, 1)
	if alert.Metric["room"] != "kitchen" || alert.Metric["severity"] != "info" {
		t.Errorf("alert %s, want room=kitchen and severity=info", alert)
	}
	if r := p.Query(t, `ALERTS{room="cellar"}`); len(r.Samples) != 0 {
		t.Errorf("the cellar (12 degrees) alerts: %s", r)
	}
}

// TestConfigRuleFiles checks that rule files are named by absolute path
// and that a missing one is refused before Prometheus starts.
func TestConfigRuleFiles(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yml")
	if err := os.WriteFile(rules, []byte(fixtureRules), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	cfg, err := config(Config{RuleFiles: []string{"rules.yml"}})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	abs, _ := filepath.Abs(rules)
	if !strings.Contains(string(cfg), fmt.Sprintf("%q", abs)) {
		t.Errorf("config does not name %s by its absolute path:\n%s", abs, cfg)
	}
	if _, err := config(Config{RuleFiles: []string{"missing.yml"}}); err == nil {
		t.Error("config with a missing rule file: no error")
	}
}
