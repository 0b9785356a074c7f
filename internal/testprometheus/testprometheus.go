// Package testprometheus starts a real Prometheus (Debian's, which
// .ci/services.sh installs) that belongs to one test: its own configuration
// scraping the targets the test names every second, its own storage under
// t.TempDir() and its own loopback port. The test then asks it PromQL
// questions through its HTTP API, as a dashboard or an alert would, so that
// what the gateway exposes is proven to scrape and to add up, not only to
// print. t.Cleanup stops it.
//
// It imports nothing of the gateway, so that a test helper never depends on
// the code it helps to test.
package testprometheus

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/internal/testproc"
)

// BinaryPath is Debian's prometheus (package prometheus).
const BinaryPath = "/usr/bin/prometheus"

// ScrapeInterval is how often the test's Prometheus scrapes every target
// (and evaluates rules): often enough that a test waits about a second for
// what it did to show.
const ScrapeInterval = time.Second

// startTimeout bounds the wait for Prometheus to report ready; it takes
// about a second on a quiet machine, more beside other test processes.
const startTimeout = 60 * time.Second

// stopTimeout bounds the graceful shutdown before the process is killed.
const stopTimeout = 10 * time.Second

// WaitTimeout is how long Eventually waits for a query to give the wanted
// answer before it fails the test. It is a deadline for something that is
// expected within a few scrapes, not a measurement: generous, for a loaded
// machine.
const WaitTimeout = 60 * time.Second

// pollInterval is how often Eventually asks again.
const pollInterval = 250 * time.Millisecond

// Target is one address for Prometheus to scrape.
type Target struct {
	// Job is the scrape job, the job label of every series scraped from
	// the target. Targets with the same Job share one scrape job.
	Job string
	// Addr is host:port, where host is a loopback IP address (127.0.0.0/8
	// or ::1): tests never reach anything off the machine. It becomes the
	// instance label.
	Addr string
	// Path is the metrics path; "" means /metrics.
	Path string
	// Labels are added to every series scraped from the target.
	Labels map[string]string
}

// Prometheus is a running Prometheus server of one test.
type Prometheus struct {
	addr   string
	cmd    *exec.Cmd
	done   chan struct{}
	client *http.Client
	out    testproc.Output
}

// Config is what StartConfig's Prometheus scrapes and evaluates.
type Config struct {
	// Targets are scraped every ScrapeInterval.
	Targets []Target
	// RuleFiles are Prometheus rule files (recording and alerting rules),
	// evaluated every ScrapeInterval: a test can then query what a rule
	// records, and ALERTS, against the metrics the real processes expose.
	RuleFiles []string
}

// Start is StartConfig with targets and no rules.
func Start(tb testing.TB, targets ...Target) *Prometheus {
	tb.Helper()
	return StartConfig(tb, Config{Targets: targets})
}

// StartConfig writes a configuration that scrapes c.Targets and evaluates
// c.RuleFiles every ScrapeInterval, starts BinaryPath on a free 127.0.0.1
// port with its storage under tb.TempDir(), and returns once Prometheus
// answers /-/ready (it has loaded the configuration and the rules by then).
// A missing binary, a target off loopback, a rule file that does not load
// or a failed start fails the test (never skips it). Cleanup stops the
// server.
func StartConfig(tb testing.TB, c Config) *Prometheus {
	tb.Helper()
	if _, err := os.Stat(BinaryPath); err != nil {
		tb.Fatalf("testprometheus: %v (install Debian's prometheus package: `.ci/services.sh install prometheus`; make test does)", err)
	}
	cfg, err := config(c)
	if err != nil {
		tb.Fatalf("testprometheus: %v", err)
	}
	dir := tb.TempDir()
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		tb.Fatalf("testprometheus: %v", err)
	}
	p := &Prometheus{
		addr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(testproc.FreePort(tb))),
		done:   make(chan struct{}),
		client: &http.Client{Timeout: 10 * time.Second},
	}
	p.cmd = exec.Command(BinaryPath,
		"--config.file="+cfgPath,
		"--web.listen-address="+p.addr,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--log.level=warn",
	)
	p.cmd.Dir = dir
	p.cmd.SysProcAttr = sysProcAttr()
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("testprometheus: start %s: %v", BinaryPath, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	tb.Cleanup(p.stop)
	if err := p.waitReady(); err != nil {
		tb.Fatalf("testprometheus: %v\nconfiguration:\n%s\nprometheus's log:\n%s", err, cfg, p.Logs())
	}
	return p
}

// URL is the server's base URL, e.g. http://127.0.0.1:40123.
func (p *Prometheus) URL() string { return "http://" + p.addr }

// Logs is what Prometheus has printed so far (warnings and errors only).
func (p *Prometheus) Logs() string {
	return p.out.String()
}

// Sample is one element of a query's answer: its labels and value. A scalar
// answer is one Sample without labels.
type Sample struct {
	Metric map[string]string
	Value  float64
}

// String prints the sample as PromQL prints a series, {a="b"} => 1.
func (s Sample) String() string {
	keys := make([]string, 0, len(s.Metric))
	for k := range s.Metric {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.Quote(s.Metric[k])
	}
	return "{" + strings.Join(parts, ",") + "} => " + strconv.FormatFloat(s.Value, 'g', -1, 64)
}

// Result is an instant query's answer.
type Result struct {
	// Type is "vector" or "scalar" (an instant query of a range selector,
	// a "matrix", is refused: ask for a function of it instead).
	Type string
	// Samples are the vector's elements, or the scalar as one Sample.
	Samples []Sample
}

// String lists the samples, for failure messages.
func (r Result) String() string {
	if len(r.Samples) == 0 {
		return r.Type + " (empty)"
	}
	parts := make([]string, len(r.Samples))
	for i, s := range r.Samples {
		parts[i] = s.String()
	}
	return r.Type + " " + strings.Join(parts, "; ")
}

// Value is the value of a single-sample answer, and false when the answer
// has no sample or more than one.
func (r Result) Value() (float64, bool) {
	if len(r.Samples) != 1 {
		return 0, false
	}
	return r.Samples[0].Value, true
}

// Query evaluates promql now through /api/v1/query and returns the answer;
// an error answer (a PromQL syntax error, say) fails the test.
func (p *Prometheus) Query(tb testing.TB, promql string) Result {
	tb.Helper()
	r, err := p.query(promql)
	if err != nil {
		tb.Fatalf("testprometheus: %v", err)
	}
	return r
}

// Eventually asks promql again every pollInterval until check accepts the
// answer, and fails the test with the last answer and check's last
// complaint when WaitTimeout passes first. Scraped values show up a scrape
// or two after the fact, so a test waits for them with this rather than
// querying once; WaitTimeout is a deadline, not a measurement. A query that
// Prometheus refuses fails the test at once.
func (p *Prometheus) Eventually(tb testing.TB, promql string, check func(Result) error) Result {
	tb.Helper()
	r, err := p.poll(promql, check, WaitTimeout)
	if err != nil {
		tb.Fatalf("testprometheus: %v", err)
	}
	return r
}

// EventuallyValue waits, as Eventually does, until promql answers exactly
// one sample whose value is want, and returns that sample.
func (p *Prometheus) EventuallyValue(tb testing.TB, promql string, want float64) Sample {
	tb.Helper()
	return p.Eventually(tb, promql, HasValue(want)).Samples[0]
}

// HasValue is a check for Eventually: the answer is exactly one sample, of
// value want (NaN matches NaN).
func HasValue(want float64) func(Result) error {
	return func(r Result) error {
		v, ok := r.Value()
		switch {
		case !ok:
			return fmt.Errorf("want one sample of value %g, got %d samples", want, len(r.Samples))
		case v == want, math.IsNaN(v) && math.IsNaN(want):
			return nil
		default:
			return fmt.Errorf("want value %g, got %g", want, v)
		}
	}
}

// poll is Eventually without the test: the answer check accepted, or an
// error once timeout has passed (or at once for a refused query).
func (p *Prometheus) poll(promql string, check func(Result) error, timeout time.Duration) (Result, error) {
	deadline := time.Now().Add(timeout)
	for {
		r, err := p.query(promql)
		var refused *queryError
		if errors.As(err, &refused) {
			return Result{}, err
		}
		if err == nil {
			if err = check(r); err == nil {
				return r, nil
			}
		}
		if time.Now().After(deadline) {
			return r, fmt.Errorf("%s: no wanted answer within %s: %v (last answer: %s)\nprometheus's log:\n%s",
				promql, timeout, err, r, p.Logs())
		}
		time.Sleep(pollInterval)
	}
}

// queryError is Prometheus's refusal of a query (status "error").
type queryError struct {
	promql, errType, msg string
}

func (e *queryError) Error() string {
	return fmt.Sprintf("query %s refused: %s: %s", e.promql, e.errType, e.msg)
}

// apiAnswer is the envelope of /api/v1/query's JSON answer.
type apiAnswer struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

// query runs one instant query.
func (p *Prometheus) query(promql string) (Result, error) {
	u := p.URL() + "/api/v1/query?" + url.Values{"query": {promql}}.Encode()
	resp, err := p.client.Get(u)
	if err != nil {
		return Result{}, fmt.Errorf("query %s: %w", promql, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return Result{}, fmt.Errorf("query %s: %w", promql, err)
	}
	var a apiAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return Result{}, fmt.Errorf("query %s: HTTP %d, not an API answer (%v): %.500s", promql, resp.StatusCode, err, body)
	}
	if a.Status != "success" {
		return Result{}, &queryError{promql: promql, errType: a.ErrorType, msg: a.Error}
	}
	return decode(promql, a.Data.ResultType, a.Data.Result)
}

// decode turns the data of a successful answer into a Result.
func decode(promql, typ string, raw json.RawMessage) (Result, error) {
	r := Result{Type: typ}
	switch typ {
	case "vector":
		var vec []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		}
		if err := json.Unmarshal(raw, &vec); err != nil {
			return Result{}, fmt.Errorf("query %s: decode vector: %w", promql, err)
		}
		for _, e := range vec {
			v, err := sampleValue(e.Value)
			if err != nil {
				return Result{}, fmt.Errorf("query %s: %w", promql, err)
			}
			r.Samples = append(r.Samples, Sample{Metric: e.Metric, Value: v})
		}
	case "scalar":
		var pair [2]any
		if err := json.Unmarshal(raw, &pair); err != nil {
			return Result{}, fmt.Errorf("query %s: decode scalar: %w", promql, err)
		}
		v, err := sampleValue(pair)
		if err != nil {
			return Result{}, fmt.Errorf("query %s: %w", promql, err)
		}
		r.Samples = []Sample{{Metric: map[string]string{}, Value: v}}
	default:
		return Result{}, &queryError{promql: promql, errType: "testprometheus",
			msg: fmt.Sprintf("answer of type %q: only vectors and scalars are supported (an instant query of a range selector gives a matrix)", typ)}
	}
	return r, nil
}

// sampleValue reads the value of a [timestamp, "value"] pair; Prometheus
// writes the value as a string ("1", "NaN", "+Inf").
func sampleValue(pair [2]any) (float64, error) {
	s, ok := pair[1].(string)
	if !ok {
		return 0, fmt.Errorf("sample value %v is not a string", pair[1])
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("sample value %q: %w", s, err)
	}
	return v, nil
}

// waitReady waits until /-/ready answers 200, the process ends, or
// startTimeout passes.
func (p *Prometheus) waitReady() error {
	deadline := time.Now().Add(startTimeout)
	for {
		resp, err := p.client.Get(p.URL() + "/-/ready")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("/-/ready answered %s", resp.Status)
		}
		select {
		case <-p.done:
			return fmt.Errorf("prometheus exited before it was ready (%v)", p.cmd.ProcessState)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("prometheus on %s not ready after %s: %v", p.addr, startTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends the process this package started (by its own pid): SIGTERM,
// so that Prometheus shuts down as in production, then a kill after
// stopTimeout.
func (p *Prometheus) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// The configuration is written as JSON, which is YAML too: no YAML library
// for one small file.
type (
	configFile struct {
		Global        globalConfig   `json:"global"`
		RuleFiles     []string       `json:"rule_files,omitempty"`
		ScrapeConfigs []scrapeConfig `json:"scrape_configs"`
	}
	globalConfig struct {
		ScrapeInterval     string `json:"scrape_interval"`
		ScrapeTimeout      string `json:"scrape_timeout"`
		EvaluationInterval string `json:"evaluation_interval"`
	}
	scrapeConfig struct {
		JobName       string         `json:"job_name"`
		MetricsPath   string         `json:"metrics_path"`
		StaticConfigs []staticConfig `json:"static_configs"`
	}
	staticConfig struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels,omitempty"`
	}
)

// config is the configuration file for c: one scrape job per Job and
// metrics path, in the order the targets first name them, and the rule
// files by absolute path (Prometheus resolves relative ones against the
// configuration's directory, a temporary one).
func config(c Config) ([]byte, error) {
	interval := ScrapeInterval.String()
	cfg := configFile{
		Global:        globalConfig{ScrapeInterval: interval, ScrapeTimeout: interval, EvaluationInterval: interval},
		ScrapeConfigs: []scrapeConfig{},
	}
	for _, f := range c.RuleFiles {
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("rule file: %w", err)
		}
		cfg.RuleFiles = append(cfg.RuleFiles, abs)
	}
	jobs := map[string]int{}
	for _, t := range c.Targets {
		if t.Job == "" {
			return nil, fmt.Errorf("target %q has no job", t.Addr)
		}
		if err := loopback(t.Addr); err != nil {
			return nil, err
		}
		path := t.Path
		if path == "" {
			path = "/metrics"
		}
		i, ok := jobs[t.Job]
		if !ok {
			i = len(cfg.ScrapeConfigs)
			jobs[t.Job] = i
			cfg.ScrapeConfigs = append(cfg.ScrapeConfigs, scrapeConfig{JobName: t.Job, MetricsPath: path})
		}
		if cfg.ScrapeConfigs[i].MetricsPath != path {
			return nil, fmt.Errorf("job %s: targets with different metrics paths (%s, %s): give them different jobs", t.Job, cfg.ScrapeConfigs[i].MetricsPath, path)
		}
		cfg.ScrapeConfigs[i].StaticConfigs = append(cfg.ScrapeConfigs[i].StaticConfigs,
			staticConfig{Targets: []string{t.Addr}, Labels: t.Labels})
	}
	return json.MarshalIndent(cfg, "", "  ")
}

// loopback refuses a target that is not a loopback IP address and port.
func loopback(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("target %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("target %q: the host must be a loopback IP address (tests reach nothing off the machine)", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("target %q: bad port", addr)
	}
	return nil
}
