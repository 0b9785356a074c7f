package main

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"fmt"
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

// runCeiling measures the ceiling: the gateway's own sender, configured as
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
	snd := sender.New(sender.Options{
		Timeout:    sender.DefaultTimeout,
		AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		RootCAs:    roots, Exclusive: true,
		OnGuardViolation: func(string) { refused.Add(1) },
	})
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
		res := snd.Send(ctx, url, h, body)
		took = time.Since(began)
		if res.ErrClass != "" || res.StatusCode == nil {
			code := 0
			if res.StatusCode != nil {
				code = *res.StatusCode
			}
			return false, took, fmt.Sprintf("send: %s (status %d)", res.ErrClass, code)
		}
		return true, took, ""
	}
	c := b.opts.deliveryConcurrency
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
