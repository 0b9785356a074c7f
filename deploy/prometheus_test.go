package deploy

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// promtoolPath is Debian's promtool (package prometheus), which
// .ci/services.sh installs.
const promtoolPath = "/usr/bin/promtool"

// promtoolTimeout bounds one promtool run; each takes well under a second.
const promtoolTimeout = 2 * time.Minute

// TestPrometheusRules checks the alert rules and the example scrape
// configuration with promtool, and runs the rules' unit tests
// (prometheus/alerts_test.yml): a rule that does not parse, a config that
// does not load, or an alert that fires when it must not (or not when it
// must) fails here with promtool's own report. A missing promtool is a
// failure, never a skip.
func TestPrometheusRules(t *testing.T) {
	if _, err := os.Stat(promtoolPath); err != nil {
		t.Fatalf("promtool is missing (%v): install Debian's prometheus package with `.ci/services.sh install prometheus`; make test does", err)
	}
	dir := "prometheus"
	tests := []struct {
		name string
		args []string
	}{
		{"check rules", []string{"check", "rules", "alerts.yml"}},
		// check config also checks the rule files the config loads.
		{"check config", []string{"check", "config", "prometheus.yml"}},
		{"test rules", []string{"test", "rules", "alerts_test.yml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := promtool(t, dir, tc.args...)
			if err != nil {
				t.Fatalf("promtool %v in %s: %v\n%s", tc.args, dir, err, out)
			}
			t.Logf("promtool %v:\n%s", tc.args, out)
		})
	}
}

// promtool runs promtool in dir (rule and test files name their neighbours
// relative to it) and returns its combined output.
func promtool(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), promtoolTimeout)
	defer cancel()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, promtoolPath, args...)
	cmd.Dir = abs
	out, err := cmd.CombinedOutput()
	return string(out), err
}
