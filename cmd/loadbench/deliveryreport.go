package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"
)

// checkScenario verifies that a scenario measured a working delivery, not a
// broken one that looks fast or slow: every publish answered 202 with one
// delivery per webhook; every hit carried valid signatures for its
// webhook's secret and an event this scenario published, one delivery ID
// per event and webhook; neither process tripped the delivery guard or
// failed to stop; the publisher's key made its rate-limit decisions in
// Redis; and, where every webhook is healthy, no process logged a warning
// and the database holds every delivery as a success. Losses, duplicates
// and latencies are measurements, judged in the table, not here.
func (b *bench) checkScenario(ctx context.Context, s *scenarioRun, r *scenarioResult, complete bool, stopErr error) []checkLine {
	var lines []checkLine
	name := phaseDelivery + " " + s.sc.name + ": "
	add := func(ok bool, format string, args ...any) {
		lines = append(lines, checkLine{ok, name + fmt.Sprintf(format, args...)})
	}
	accepted, promised := s.sent.totals()
	if r.publish.errors == 0 && r.publish.ok > 0 {
		add(true, "all %d publishes (probe and measured) answered 202 with %d deliveries each", accepted, len(s.sc.modes))
	} else {
		text := fmt.Sprintf("%d wrong publish answers, %d successes", r.publish.errors, r.publish.ok)
		for _, smp := range r.publish.samples {
			text += "\n      " + truncate(smp, 300)
		}
		lines = append(lines, checkLine{false, name + text})
	}

	st := s.recv.stats()
	type pair struct {
		event string
		hook  int
	}
	pairs := make(map[pair]int, len(st.first))
	foreign := 0
	s.sent.mu.Lock()
	for _, rc := range st.first {
		if _, ok := s.sent.events[rc.event]; !ok {
			foreign++
		}
		pairs[pair{rc.event, rc.hook}]++
	}
	s.sent.mu.Unlock()
	twice := 0
	for _, n := range pairs {
		twice += n - 1
	}
	add(foreign == 0 && twice == 0, "%d deliveries of events this scenario did not publish, %d second delivery IDs for one event and webhook", foreign, twice)
	if bad := st.badSignatures + st.malformed; bad == 0 {
		add(true, "all %d receiver hits carried valid signatures (both schemes) for their webhook's secret", st.hits)
	} else {
		text := fmt.Sprintf("%d of %d receiver hits had a bad signature, %d another fault", st.badSignatures, st.hits, st.malformed)
		for _, smp := range st.samples {
			text += "\n      " + truncate(smp, 300)
		}
		lines = append(lines, checkLine{false, name + text})
	}
	if st.serverErrors > 0 {
		add(false, "the receiver's HTTP server logged %d errors (the first %d are on stderr)", st.serverErrors, min(st.serverErrors, maxAlerts))
	}

	clean := s.sc.healthyHooks() == len(s.sc.modes)
	for _, p := range []*process{s.serve, s.worker} {
		warnings, guard, samples := p.logs.counts()
		if guard > 0 {
			add(false, "gateway %s: the delivery guard refused %d destinations outside the receiver", p.name, guard)
		}
		switch {
		case warnings == 0:
			add(true, "gateway %s logged no warnings or errors", p.name)
		case clean:
			add(false, "gateway %s logged %d records at warn level or above: %q", p.name, warnings, samples)
		default:
			r.notes = append(r.notes, fmt.Sprintf("gateway %s logged %d records at warn level or above (expected beside a misbehaving endpoint), e.g. %s",
				p.name, warnings, truncate(firstOr(samples, ""), 200)))
		}
	}
	if stopErr != nil {
		add(false, "stop the processes: %v", stopErr)
	}
	if clean && complete {
		lines = append(lines, checkScenarioStore(ctx, name, s, promised))
	}
	decided, err := sumCounters(ctx, b.redis, s.prefix+"rl:{key:"+s.keyID+"}:d:*")
	lines = append(lines, decisionsLine(name+"publisher key", decided, accepted+s.creates, err))
	return lines
}

func firstOr(s []string, def string) string {
	if len(s) == 0 {
		return def
	}
	return s[0]
}

// checkScenarioStore reads the workspace's deliveries: none may be left
// pending, and each promised delivery must have succeeded.
func checkScenarioStore(ctx context.Context, name string, s *scenarioRun, promised int64) checkLine {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var pending, success, failed, cancelled int64
	err := s.pool.QueryRow(ctx, `select
		count(*) filter (where status = 'pending'),
		count(*) filter (where status = 'success'),
		count(*) filter (where status = 'failed'),
		count(*) filter (where status = 'cancelled')
		from deliveries where workspace_id = $1`, s.workspace).Scan(&pending, &success, &failed, &cancelled)
	if err != nil {
		return checkLine{false, name + "read the deliveries from the database: " + err.Error()}
	}
	text := fmt.Sprintf("%sdatabase at the end: %d pending, %d success, %d failed, %d cancelled deliveries (%d promised)",
		name, pending, success, failed, cancelled, promised)
	return checkLine{pending == 0 && failed == 0 && cancelled == 0 && success == promised, text}
}

// reportDelivery prints the scenarios side by side with their targets, then
// each one's details.
func reportDelivery(w io.Writer, o options, results []*scenarioResult) {
	if len(results) == 0 {
		return
	}
	proto := "HTTP/1.1"
	if o.receiverHTTP2 {
		proto = "HTTP/2"
	}
	fmt.Fprintf(w, "\ndelivery: gateway serve + one gateway worker (the real binary), PostgreSQL and Redis, signed HTTPS POSTs to a %s receiver on 127.0.0.1\n", proto)
	fmt.Fprintf(w, "%d publishers (closed loop unless paced) -> POST /v1/events; DELIVERY_CONCURRENCY=%d DELIVERY_ENDPOINT_CONCURRENCY=%d DATABASE_MAX_CONNS=%d; -deliveries %d, -delivery-wait %s\n\n",
		o.publishers, o.deliveryConcurrency, o.endpointConcurrency, o.databaseMaxConns, o.deliveries, o.deliveryWait)

	var ceiling float64
	for _, r := range results {
		if r.sc.name == scenCeiling {
			ceiling = r.rate()
		}
	}
	const row = "%-36s %-30s %9s %6s %9s %9s %6s %5s %9s  %s\n"
	fmt.Fprintf(w, row, "scenario", "target", "deliv/s", "ratio", "p50 ms", "p99 ms", "lost", "dup", "publish/s", "verdict")
	fmt.Fprintf(w, row, dashes(36), dashes(30), dashes(9), dashes(6), dashes(9), dashes(9), dashes(6), dashes(5), dashes(9), dashes(7))
	for _, r := range results {
		ratio := "-"
		if ceiling > 0 {
			ratio = fmt.Sprintf("%.3f", r.rate()/ceiling)
		}
		q := func(d time.Duration, lost bool) string {
			switch {
			case lost:
				return "lost"
			case r.received == 0:
				return "-"
			}
			return ms(d)
		}
		publish, verdict := fmt.Sprintf("%.0f", r.publish.acceptedPerSecond()), "-"
		if r.sc.pass != nil {
			verdict = "MISS"
			if r.sc.pass(r, ceiling) {
				verdict = "PASS"
			}
		}
		fmt.Fprintf(w, row, r.sc.title, r.sc.target, fmt.Sprintf("%.0f", r.rate()), ratio, q(r.p50, r.p50Lost), q(r.p99, r.p99Lost),
			strconv.FormatInt(r.losses, 10), strconv.FormatInt(r.duplicates, 10), publish, verdict)
	}
	fmt.Fprintf(w, "deliv/s: healthy receipts per second from the first publish to the last receipt; ratio: to the ceiling's; p50/p99: publish -> receipt at the healthy endpoint(s),\n")
	fmt.Fprintf(w, "a lost delivery counting as longer than any (\"lost\" when the quantile falls on one); lost: promised to a healthy endpoint, not received within -delivery-wait\n")
	fmt.Fprintf(w, "of the end of publishing; dup: arrived again after a 2xx; publish/s: events accepted per second of publishing (if it is near deliv/s, publishing may be the bound).\n")

	for _, r := range results {
		fmt.Fprintf(w, "\n%s %s (%s):\n", phaseDelivery, r.sc.name, r.sc.title)
		fmt.Fprintf(w, "  %d events accepted in %.2f s, publish answer p50 %s ms, p99 %s ms; %d of %d healthy deliveries received, window %.2f s\n",
			r.events, r.publish.elapsed.Seconds(), ms(r.publish.p50), ms(r.publish.p99), r.received, r.promised, r.window.Seconds())
		if r.other > 0 {
			fmt.Fprintf(w, "  the misbehaving endpoint got %d hits (attempts and retries)\n", r.other)
		}
		cpu := fmt.Sprintf("bench process %.2f s", r.cpuBench.Seconds())
		if r.sc.name != scenCeiling && r.sc.name != scenPlain {
			cpu = fmt.Sprintf("serve %.2f s, worker %.2f s (whole scenario), %s", r.cpuServe.Seconds(), r.cpuWorker.Seconds(), cpu)
		}
		if r.redisCPU >= 0 {
			cpu += fmt.Sprintf(", redis %.2f s", r.redisCPU.Seconds())
		}
		fmt.Fprintf(w, "  cpu: %s; receiver connections opened: %d\n", cpu, r.connections)
		for _, n := range r.notes {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
}
