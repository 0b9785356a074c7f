package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	gwdelivery "github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/gateway/delivery/sender"
	"github.com/leadlex/api-gateway/gateway/signature"
)

// runCeiling measures the ceiling (and, for the plain scenario, the same
// with a plain client that keeps one connection per slot): the gateway's own sender, configured as
// the bench's worker configures it (the default attempt timeout, the
// receiver's address allowed and nothing else, its CA trusted), sends
// signed POSTs of the gateway's payload straight to a receiver at the
// worker's concurrency, with no store and no queue. A warm-up of one POST
// per slot opens the connections first, as a running worker has them.
func (b *bench) runCeiling(ctx context.Context, sc *scenario) (*scenarioResult, error) {
	recv, err := startReceiver(b.opts.receiverHTTP2, b.stderr)
	if err != nil {
		return nil, err
	}
	defer recv.close()
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	secret := "whsec_" + hex.EncodeToString(raw)
	recv.setSecrets([]string{secret})
	recv.setModes(sc.modes)
	roots := x509.NewCertPool()
	roots.AddCert(recv.core.Certificate())
	var refused atomic.Int64
	c := b.opts.deliveryConcurrency
	var post func(ctx context.Context, url string, h http.Header, body []byte) (ok bool, problem string)
	if sc.name == scenPlain {
		// A plain client: the sender's TLS settings and bounds, but one
		// idle connection kept per slot, so nothing is re-dialled.
		tr := newTransport(c)
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}
		tr.ForceAttemptHTTP2 = true
		tr.TLSHandshakeTimeout, tr.ResponseHeaderTimeout = sender.DefaultTimeout, sender.DefaultTimeout
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr, Timeout: sender.DefaultTimeout}
		post = func(ctx context.Context, url string, h http.Header, body []byte) (bool, string) {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
			if err != nil {
				return false, err.Error()
			}
			req.Header = h
			resp, err := client.Do(req)
			if err != nil {
				return false, err.Error()
			}
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, sender.MaxBody))
			_ = resp.Body.Close()
			if resp.StatusCode < 200 || resp.StatusCode > 299 {
				return false, fmt.Sprintf("status %d", resp.StatusCode)
			}
			return true, ""
		}
	} else {
		snd := sender.New(sender.Options{
			Timeout:    sender.DefaultTimeout,
			AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
			RootCAs:    roots, Exclusive: true,
			OnGuardViolation: func(string) { refused.Add(1) },
		})
		post = func(ctx context.Context, url string, h http.Header, body []byte) (bool, string) {
			res := snd.Send(ctx, url, h, body)
			if res.ErrClass != "" || res.StatusCode == nil {
				code := 0
				if res.StatusCode != nil {
					code = *res.StatusCode
				}
				return false, fmt.Sprintf("send: %s (status %d)", res.ErrClass, code)
			}
			return true, ""
		}
	}
	url := recv.hookURL(0)
	workspace := uuid.NewString()

	var mu sync.Mutex
	sent := map[string]time.Time{} // measured events, by id
	send := func(measured bool) (ok bool, took time.Duration, problem string) {
		ev := gwdelivery.Event{ID: uuid.NewString(), WorkspaceID: workspace, Type: deliveryEventType,
			Data: fmt.Appendf(nil, `{"id":%q,"email":"bench@example.com"}`, uuid.NewString()), CreatedAt: time.Now()}
		body := gwdelivery.Payload(ev)
		began := time.Now()
		if measured {
			mu.Lock()
			sent[ev.ID] = began
			mu.Unlock()
		}
		h := signature.Headers(uuid.NewString(), began, body, secret)
		ok, problem = post(ctx, url, h, body)
		return ok, time.Since(began), problem
	}
	run := func(n int, measured bool) *pubResult {
		jobs := make(chan struct{}, n)
		for range n {
			jobs <- struct{}{}
		}
		close(jobs)
		res := &pubResult{start: time.Now()}
		var lat []time.Duration
		var rmu sync.Mutex
		var wg sync.WaitGroup
		for range min(c, n) {
			wg.Go(func() {
				for range jobs {
					if ctx.Err() != nil {
						return
					}
					ok, took, problem := send(measured)
					rmu.Lock()
					lat = append(lat, took)
					if ok {
						res.ok++
					} else {
						res.errors++
						if len(res.samples) < maxSamples && !slices.Contains(res.samples, problem) {
							res.samples = append(res.samples, problem)
						}
					}
					rmu.Unlock()
				}
			})
		}
		wg.Wait()
		res.elapsed = time.Since(res.start)
		slices.Sort(lat)
		res.p50, res.p99 = percentile(lat, 0.50), percentile(lat, 0.99)
		return res
	}

	warm := run(c, false)
	cpu0, conns0 := processCPU(), recv.connections()
	pub := run(sc.events, true)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("interrupted: %w", err)
	}
	r := &scenarioResult{sc: sc, publish: pub, redisCPU: -1}
	r.cpuBench = processCPU() - cpu0
	r.connections = recv.connections() - conns0

	st := recv.stats()
	var latencies []time.Duration
	var last time.Time
	mu.Lock()
	for _, rc := range st.first {
		at, ok := sent[rc.event]
		if !ok {
			continue
		}
		r.received++
		latencies = append(latencies, rc.at.Sub(at))
		if rc.at.After(last) {
			last = rc.at
		}
	}
	r.events, r.promised = int64(len(sent)), int64(len(sent))
	mu.Unlock()
	r.losses, r.duplicates = max(r.promised-r.received, 0), st.duplicates
	if !last.IsZero() {
		r.window = last.Sub(pub.start)
	}
	slices.Sort(latencies)
	r.p50, r.p50Lost = quantileWithLosses(latencies, r.losses, 0.50)
	r.p99, r.p99Lost = quantileWithLosses(latencies, r.losses, 0.99)
	r.notes = append(r.notes, "p50/p99 run from the start of a send to its receipt; \"publish/s\" is the sends that were answered 2xx per second of sending")
	if r.connections > int64(c) {
		r.notes = append(r.notes, fmt.Sprintf("%d connections (each a TLS handshake) for %d sends at %d in flight: the client keeps fewer idle connections per host than it has sends in flight", r.connections, pub.ok, c))
	}

	name := phaseDelivery + " " + sc.name + ": "
	add := func(ok bool, format string, args ...any) {
		r.checks = append(r.checks, checkLine{ok, name + fmt.Sprintf(format, args...)})
	}
	if wrong := pub.errors + warm.errors; wrong == 0 {
		add(true, "all %d sends (warm-up and measured) answered 2xx", pub.ok+warm.ok)
	} else {
		add(false, "%d sends failed: %q", wrong, append(warm.samples, pub.samples...))
	}
	add(st.badSignatures+st.malformed == 0, "%d receiver hits, %d with a bad signature, %d otherwise wrong %q", st.hits, st.badSignatures, st.malformed, st.samples)
	add(r.received == r.promised, "%d of %d measured deliveries arrived", r.received, r.promised)
	if n := refused.Load(); n > 0 {
		add(false, "the sender's guard refused %d destinations outside the receiver", n)
	}
	return r, nil
}
