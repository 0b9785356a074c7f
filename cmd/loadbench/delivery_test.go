package main

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/gateway/delivery/sender"
)

func TestParseScenarios(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"", nil, false},
		{"none", nil, false},
		{"false", nil, false},
		{"all", allScenarios, false},
		{"true", allScenarios, false},
		{"one", []string{scenOne}, false},
		// The ceiling runs first whatever the order, so ratios can use it.
		{"steady, one,ceiling,plain", []string{scenCeiling, scenPlain, scenOne, scenSteady}, false},
		{"one,one", []string{scenOne}, false},
		{"one,nope", nil, true},
		{"one,", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseScenarios(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseScenarios(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if !tt.wantErr && !slices.Equal(got, tt.want) {
				t.Errorf("parseScenarios(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestScenarioSizes(t *testing.T) {
	byName := map[string]*scenario{}
	for _, sc := range scenarios(allScenarios, 20_000) {
		byName[sc.name] = sc
	}
	tests := []struct {
		name                   string
		events, hooks, healthy int
	}{
		{scenCeiling, 20_000, 1, 1},
		{scenPlain, 20_000, 1, 1},
		{scenOne, 20_000, 1, 1},
		{scenFanout, 2_000, 10, 10},
		{scenHang, 1_000, 2, 1},
		{scenStorm, 1_000, 2, 1},
		{scenSteady, 5_000, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := byName[tt.name]
			if sc == nil {
				t.Fatalf("no scenario %s", tt.name)
			}
			if sc.events != tt.events || len(sc.modes) != tt.hooks || sc.healthyHooks() != tt.healthy {
				t.Errorf("%d events x %d webhooks (%d healthy), want %d x %d (%d healthy)",
					sc.events, len(sc.modes), sc.healthyHooks(), tt.events, tt.hooks, tt.healthy)
			}
		})
	}
	if got := byName[scenStorm].env["DELIVERY_RETRY_SCHEDULE"]; got != stormSchedule {
		t.Errorf("the storm's retry schedule is %q, want %q", got, stormSchedule)
	}
}

func TestQuantileWithLosses(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = ms(i + 1)
	}
	tests := []struct {
		name     string
		sorted   []time.Duration
		lost     int64
		p        float64
		want     time.Duration
		wantLost bool
	}{
		{"empty", nil, 0, 0.99, 0, false},
		{"all lost", nil, 3, 0.5, 0, true},
		{"p50 of 100", hundred, 0, 0.50, ms(50), false},
		{"p99 of 100", hundred, 0, 0.99, ms(99), false},
		{"p99 with one lost of 101", hundred, 1, 0.99, ms(100), false},
		{"p99 with two lost of 102", hundred, 2, 0.99, 0, true},
		{"p50 with half lost", hundred, 100, 0.50, ms(100), false},
		{"p50 with more than half lost", hundred, 101, 0.50, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, lost := quantileWithLosses(tt.sorted, tt.lost, tt.p)
			if got != tt.want || lost != tt.wantLost {
				t.Errorf("quantileWithLosses = %s, lost %v; want %s, lost %v", got, lost, tt.want, tt.wantLost)
			}
		})
	}
}

func TestScenarioTargets(t *testing.T) {
	byName := map[string]*scenario{}
	for _, sc := range scenarios(allScenarios, 20_000) {
		byName[sc.name] = sc
	}
	// result has received deliveries over a window of one second.
	result := func(received, lost, dups int64, p99 time.Duration) *scenarioResult {
		return &scenarioResult{received: received, losses: lost, duplicates: dups, window: time.Second, p99: p99}
	}
	tests := []struct {
		name     string
		scenario string
		r        *scenarioResult
		ceiling  float64
		want     bool
	}{
		{"one endpoint fast enough", scenOne, result(2500, 0, 0, 0), 19_000, true},
		{"one endpoint under 2000/s", scenOne, result(1999, 0, 0, 0), 19_000, false},
		{"one endpoint under a tenth of the ceiling", scenOne, result(2500, 0, 0, 0), 30_000, false},
		{"one endpoint without a ceiling", scenOne, result(2500, 0, 0, 0), 0, false},
		{"one endpoint losing one", scenOne, result(2500, 1, 0, 0), 19_000, false},
		{"one endpoint with a duplicate", scenOne, result(2500, 0, 1, 0), 19_000, false},
		{"fan-out fast enough", scenFanout, result(3000, 0, 0, 0), 19_000, true},
		{"fan-out too slow", scenFanout, result(2999, 0, 0, 0), 19_000, false},
		{"hang, healthy p99 under 1 s", scenHang, result(1000, 0, 0, 999*time.Millisecond), 0, true},
		{"hang, healthy p99 of 1 s", scenHang, result(1000, 0, 0, time.Second), 0, false},
		{"storm, healthy p99 lost", scenStorm, &scenarioResult{received: 10, losses: 990, window: time.Second, p99Lost: true}, 0, false},
		{"steady p99 under 100 ms", scenSteady, result(5000, 0, 0, 99*time.Millisecond), 0, true},
		{"steady p99 over 100 ms", scenSteady, result(5000, 0, 0, 101*time.Millisecond), 0, false},
		{"steady, nothing received", scenSteady, result(0, 0, 0, 0), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := byName[tt.scenario].pass(tt.r, tt.ceiling); got != tt.want {
				t.Errorf("pass = %v, want %v", got, tt.want)
			}
		})
	}
	if byName[scenCeiling].pass != nil || byName[scenPlain].pass != nil {
		t.Error("the ceiling or the plain client has a target; they are references")
	}
}

func TestPublishLogCountsHealthyDeliveries(t *testing.T) {
	l := newPublishLog()
	answer := func(id string, deliveries int) []byte {
		return []byte(`{"data":{"event":{"id":"` + id + `","deliveries":` + string(rune('0'+deliveries)) + `}}}`)
	}
	now := time.Now()
	if err := l.record(answer("e-1", 2), now, periodProbe, 2, 1); err != nil {
		t.Fatal(err)
	}
	if err := l.record(answer("e-2", 2), now, periodMeasured, 2, 1); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		body []byte
		want string
	}{
		{"the same event twice", answer("e-2", 2), "answered before"},
		{"fewer deliveries than webhooks", answer("e-3", 1), "want 2"},
		{"no event id", []byte(`{"data":{"event":{"deliveries":2}}}`), "without an event id"},
		{"a duplicate", []byte(`{"data":{"event":{"id":"e-4","deliveries":2,"duplicate":true}}}`), "duplicate"},
		{"not JSON", []byte(`{"data":`), "not the event"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := l.record(tt.body, now, periodMeasured, 2, 1)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("record = %v, want an error with %q", err, tt.want)
			}
		})
	}
	accepted, promised := l.totals()
	if accepted != 2 || promised != 4 || l.healthyTotal() != 2 || l.healthy[periodMeasured] != 1 {
		t.Errorf("accepted %d, promised %d, healthy %d (measured %d); want 2, 4, 2 (1)",
			accepted, promised, l.healthyTotal(), l.healthy[periodMeasured])
	}
}

func TestReceiverModes(t *testing.T) {
	rc, err := startReceiver(false, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rc.close)
	rc.setSecrets([]string{secret0, secret1, secret0})
	rc.setModes([]hookMode{modeHealthy, modeFail, modeHang})
	event := func(id string) string { return `{"id":"` + id + `","type":"` + deliveryEventType + `","data":{}}` }
	do := func(t *testing.T, req *http.Request) int {
		t.Helper()
		resp, err := benchClient(t, rc).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode
	}

	tests := []struct {
		name string
		req  *http.Request
		want int
	}{
		{"healthy", delivery(t, http.MethodPost, rc.hookURL(0), "d-1", event("e-1"), secret0), http.StatusOK},
		{"healthy again: a duplicate", delivery(t, http.MethodPost, rc.hookURL(0), "d-1", event("e-1"), secret0), http.StatusOK},
		{"failing", delivery(t, http.MethodPost, rc.hookURL(1), "d-2", event("e-1"), secret1), http.StatusInternalServerError},
		{"failing again: a retry", delivery(t, http.MethodPost, rc.hookURL(1), "d-2", event("e-1"), secret1), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := do(t, tt.req); got != tt.want {
				t.Errorf("status %d, want %d", got, tt.want)
			}
		})
	}

	t.Run("hanging until released", func(t *testing.T) {
		got := make(chan int, 1)
		req := delivery(t, http.MethodPost, rc.hookURL(2), "d-3", event("e-1"), secret0)
		go func() { got <- do(t, req) }()
		deadline := time.Now().Add(5 * time.Second)
		for rc.deliveredTo(func(h int) bool { return h == 2 }) == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the hanging webhook's request never arrived")
			}
			time.Sleep(time.Millisecond)
		}
		select {
		case code := <-got:
			t.Fatalf("answered %d before the release, want it held", code)
		case <-time.After(100 * time.Millisecond):
		}
		rc.releaseHangs()
		select {
		case code := <-got:
			if code != http.StatusInternalServerError {
				t.Errorf("status %d after the release, want 500", code)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("still held 5 s after the release")
		}
	})

	st := rc.stats()
	if st.repeats != 2 || st.duplicates != 1 {
		t.Errorf("repeats %d, duplicates %d; want 2 (the healthy and the failing one), 1 (only after a 2xx)", st.repeats, st.duplicates)
	}
	wantHits := map[int]int64{0: 2, 1: 2, 2: 1}
	for hook, n := range wantHits {
		if st.hookHits[hook] != n {
			t.Errorf("webhook %d had %d hits, want %d", hook, st.hookHits[hook], n)
		}
	}
	if got := rc.deliveredTo(func(h int) bool { return h < 2 }); got != 2 {
		t.Errorf("deliveredTo(webhooks 0 and 1) = %d, want 2", got)
	}
	if r := st.first["d-1"]; !r.ok {
		t.Error("d-1 was answered 200 but is not marked ok")
	}
	if r := st.first["d-2"]; r.ok {
		t.Error("d-2 was answered 500 but is marked ok")
	}
}

func TestLogScan(t *testing.T) {
	var l logScan
	lines := []string{
		`{"level":"INFO","msg":"worker started"}`,
		`{"level":"WARN","msg":"delivery attempt"}`,
		`{"level":"ERROR","msg":"` + sender.GuardMessage + `"}`,
		`{"level":"INFO","msg":"done"}`,
	}
	// Written in pieces that split lines, as a pipe delivers them.
	all := strings.Join(lines, "\n") + "\n"
	for i := 0; i < len(all); i += 7 {
		if _, err := l.Write([]byte(all[i:min(i+7, len(all))])); err != nil {
			t.Fatal(err)
		}
	}
	warnings, guard, samples := l.counts()
	if warnings != 2 || guard != 1 || len(samples) != 2 {
		t.Errorf("warnings %d, guard %d, samples %d; want 2, 1, 2", warnings, guard, len(samples))
	}
	if tail := l.tail(); !strings.HasSuffix(tail, `"msg":"done"}`) {
		t.Errorf("tail %q does not end with the last line", tail)
	}
}
