package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// inFlightGrace is how long requests still running when a period ends may
// take to finish before they are cancelled and counted as errors, so that a
// hung server ends the run instead of stalling it.
const inFlightGrace = 5 * time.Second

// maxSamples is how many distinct wrong answers a result keeps to show.
const maxSamples = 5

// target is what a phase's workers send and what they must get back.
type target struct {
	// want is the only status code that counts as a success.
	want int
	// wantPrefix is how every successful body must start.
	wantPrefix []byte
	// maxPerWorker, when positive, further bounds each worker's requests in
	// one period (the create phase keeps under the per-workspace limit).
	maxPerWorker int
	// newWorker returns worker w's request source for one period. ctx is the
	// period's context; requests must carry it.
	newWorker func(ctx context.Context, w int) func() (*http.Request, error)
	// accept, when set, further checks an answer that had the wanted status
	// and body prefix, given the start of its body and when its request was
	// sent; an error makes it a wrong answer. It is called from every
	// worker at once and must be safe for that.
	accept func(body []byte, sent time.Time) error
}

// result is what one server did in its measured period (and its warm-up).
type result struct {
	name       string
	ok, errors int64
	elapsed    time.Duration
	p50, p99   time.Duration
	samples    []string
	// capped reports that -max (or the target's own bound) ended the period
	// before its duration did.
	capped bool

	warmupOK, warmupErrors int64

	// cpu is the CPU time this process used in the measured period, and
	// redisCPU the Redis server's (-1 when unknown).
	cpu, redisCPU time.Duration
	// notes are further observations to print under the table.
	notes []string
}

// perRequest returns d spread over the period's requests, in microseconds,
// or "-" when there were none or d is unknown.
func (r *result) perRequest(d time.Duration) string {
	n := r.ok + r.errors
	if n == 0 || d < 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", float64(d)/float64(time.Microsecond)/float64(n))
}

// rps is successful requests per second of the measured period.
func (r *result) rps() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.ok) / r.elapsed.Seconds()
}

// absorbWarmup records the warm-up's counts next to the measured ones; its
// wrong answers are kept too, because they mean the server is broken.
func (r *result) absorbWarmup(w *result) {
	r.warmupOK, r.warmupErrors = w.ok, w.errors
	for _, s := range w.samples {
		r.addSample("warm-up: " + s)
	}
}

func (r *result) addSample(s string) {
	if len(r.samples) < maxSamples && !slices.Contains(r.samples, s) {
		r.samples = append(r.samples, s)
	}
}

// newTransport returns an HTTP/1.1 client transport that keeps one
// connection per worker alive and refuses to dial anything but 127.0.0.1. It
// ignores proxy settings from the environment.
func newTransport(workers int) *http.Transport {
	dialer := &net.Dialer{Timeout: 2 * time.Second, KeepAlive: -1}
	return &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if host, _, err := net.SplitHostPort(addr); err != nil || host != "127.0.0.1" {
				return nil, fmt.Errorf("loadbench connects only to 127.0.0.1, not %q", addr)
			}
			return dialer.DialContext(ctx, "tcp4", addr)
		},
		MaxIdleConns:        workers,
		MaxIdleConnsPerHost: workers,
		MaxConnsPerHost:     workers,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
}

// worker is one closed-loop client: it sends its next request only after
// the previous answer has been read in full.
type worker struct {
	latencies []time.Duration
	ok, errs  int64
	samples   []string
	capped    bool
}

// drive runs workers closed-loop against t through tr for d, each sending
// at most maxRequests/workers requests, and returns what they measured.
// Only 127.0.0.1 is ever contacted (see newTransport).
func drive(ctx context.Context, tr *http.Transport, t *target, workers int, d time.Duration, maxRequests int) *result {
	perWorker := maxRequests / workers
	if t.maxPerWorker > 0 {
		perWorker = min(perWorker, t.maxPerWorker)
	}
	start := time.Now()
	end := start.Add(d)
	pctx, cancel := context.WithDeadline(ctx, end.Add(inFlightGrace))
	defer cancel()

	ws := make([]*worker, workers)
	var wg sync.WaitGroup
	for i := range ws {
		w := &worker{latencies: make([]time.Duration, 0, min(perWorker, 1<<16))}
		ws[i] = w
		next := t.newWorker(pctx, i)
		wg.Go(func() { w.loop(ctx, tr, t, next, end, perWorker) })
	}
	wg.Wait()

	r := &result{elapsed: time.Since(start)}
	var all []time.Duration
	for _, w := range ws {
		r.ok += w.ok
		r.errors += w.errs
		r.capped = r.capped || w.capped
		all = append(all, w.latencies...)
		for _, s := range w.samples {
			r.addSample(s)
		}
	}
	slices.Sort(all)
	r.p50, r.p99 = percentile(all, 0.50), percentile(all, 0.99)
	return r
}

// loop sends requests until end, the per-worker bound, or an interrupt
// (parent is cancelled), whichever comes first.
func (w *worker) loop(parent context.Context, tr *http.Transport, t *target, next func() (*http.Request, error), end time.Time, bound int) {
	buf := make([]byte, 512)
	for n := 0; ; n++ {
		if n >= bound {
			w.capped = true
			return
		}
		if parent.Err() != nil || !time.Now().Before(end) {
			return
		}
		req, err := next()
		if err != nil {
			w.fail("build request: " + err.Error())
			return
		}
		began := time.Now()
		status, body, err := roundTrip(tr, req, buf)
		elapsed := time.Since(began)
		switch {
		case err != nil && parent.Err() != nil:
			return // interrupted: neither a success nor the server's fault
		case err != nil:
			w.fail(err.Error())
		case status != t.want:
			w.fail(fmt.Sprintf("status %d, want %d: %s", status, t.want, bytes.TrimSpace(body)))
		case !bytes.HasPrefix(body, t.wantPrefix):
			w.fail(fmt.Sprintf("status %d but body %q does not start with %q", status, body, t.wantPrefix))
		case t.accept != nil:
			if err := t.accept(body, began); err != nil {
				w.fail(err.Error())
				continue
			}
			w.ok++
			w.latencies = append(w.latencies, elapsed)
		default:
			w.ok++
			w.latencies = append(w.latencies, elapsed)
		}
	}
}

func (w *worker) fail(sample string) {
	w.errs++
	if len(w.samples) < maxSamples && !slices.Contains(w.samples, sample) {
		w.samples = append(w.samples, sample)
	}
}

// roundTrip sends req and reads the whole answer, so that the connection
// can be reused. It returns the status and the start of the body (up to
// len(buf) bytes).
func roundTrip(tr *http.Transport, req *http.Request, buf []byte) (int, []byte, error) {
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return 0, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	n, err := io.ReadFull(resp.Body, buf)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = nil
	} else if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("read body: %w", err)
	}
	return resp.StatusCode, buf[:n], nil
}

// percentile returns the nearest-rank p-quantile of sorted, or 0 when it is
// empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(float64(len(sorted))*p)) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
