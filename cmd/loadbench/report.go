package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"
)

// chainTarget is the share of the bare+redis_rate throughput the chain
// should keep.
const chainTarget = 0.90

// report prints the results table and the throughput ratios.
func report(w io.Writer, opts options, results []*result) {
	fmt.Fprintf(w, "\nloadbench: %d workers (closed loop, keep-alive), warm-up %s, measured %s per server\n",
		opts.concurrency, opts.warmup, opts.duration)
	fmt.Fprintf(w, "%s %s/%s, GOMAXPROCS=%d, NumCPU=%d; load generator and servers share the machine\n\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), runtime.NumCPU())

	const row = "%-16s %11s %8s %8s %9s %7s %10s %10s\n"
	fmt.Fprintf(w, row, "server", "requests/s", "p50 ms", "p99 ms", "requests", "errors", "cpu us/req", "redis us/req")
	fmt.Fprintf(w, row, dashes(16), dashes(11), dashes(8), dashes(8), dashes(9), dashes(7), dashes(10), dashes(10))
	byName := map[string]*result{}
	for _, r := range results {
		byName[r.name] = r
		name := r.name
		if r.capped {
			name += "*"
		}
		fmt.Fprintf(w, row, name, fmt.Sprintf("%.0f", r.rps()), ms(r.p50), ms(r.p99),
			fmt.Sprint(r.ok+r.errors), fmt.Sprint(r.errors), r.perRequest(r.cpu), r.perRequest(r.redisCPU))
	}
	for _, r := range results {
		if r.capped {
			fmt.Fprintf(w, "* stopped by -max before the duration ended; requests/s is over the time it ran.\n")
			break
		}
	}
	fmt.Fprintf(w, "cpu us/req: CPU time of this process (load generator and server) per request; redis us/req: the Redis server's.\n")
	for _, r := range results {
		for _, n := range r.notes {
			fmt.Fprintf(w, "%s: %s\n", r.name, n)
		}
	}

	fmt.Fprintf(w, "\n%-26s %7s\n", "ratio (requests/s)", "value")
	fmt.Fprintf(w, "%-26s %7s\n", dashes(26), dashes(7))
	ratio := func(label, num, den, note string) {
		n, d := byName[num], byName[den]
		if n == nil || d == nil || d.rps() == 0 {
			fmt.Fprintf(w, "%-26s %7s\n", label, "n/a")
			return
		}
		fmt.Fprintf(w, "%-26s %7.3f  %s\n", label, n.rps()/d.rps(), note)
	}
	ratio("bare+redis_rate / bare", phaseRedisRate, phaseBare, "the ceiling: one Redis decision per request")
	chainNote := fmt.Sprintf("target >= %.2f: ", chainTarget)
	if c, r := byName[phaseChain], byName[phaseRedisRate]; c != nil && r != nil && r.rps() > 0 && c.rps()/r.rps() >= chainTarget {
		chainNote += "met"
	} else {
		chainNote += "NOT met"
	}
	ratio("chain / bare+redis_rate", phaseChain, phaseRedisRate, chainNote)
	ratio("chain / bare", phaseChain, phaseBare, "")
	ratio("chain+metrics / chain", phaseMetrics, phaseChain, "what metrics cost the hot path")
	ratio("chain+metrics / bare+redis_rate", phaseMetrics, phaseRedisRate, fmt.Sprintf("target >= %.2f with metrics on", chainTarget))
	ratio("create / bare", phaseCreate, phaseBare, "")
	if c, d := byName[phaseChain], byName[phaseRedisDown]; c != nil && d != nil {
		fmt.Fprintf(w, "\nredis down: p99 %s ms against %s ms with redis: %s ms added (target under %s ms)\n",
			ms(d.p99), ms(c.p99), ms(d.p99-c.p99), ms(redisDownTarget))
	}
}

// redisDownTarget is the p99 latency a dead Redis may add.
const redisDownTarget = 5 * time.Millisecond

func dashes(n int) string { return strings.Repeat("-", n) }

// ms formats a latency in milliseconds.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond))
}

// checkLine is one consistency check and whether it passed.
type checkLine struct {
	ok   bool
	text string
}

// check verifies that the numbers mean what they claim: every answer was
// the expected one, each gateway phase made all its rate-limit decisions in
// Redis (not in the in-process fallback), the delivery phase (when it ran)
// passed its own checks, and the gateway logged no warning. results[i]
// belongs to b.phases[i].
func (b *bench) check(ctx context.Context, results []*result, delivery []*scenarioResult) []checkLine {
	var lines []checkLine
	for i, r := range results {
		p := b.phases[i]
		total := r.ok + r.warmupOK + p.probes
		wrong := r.errors + r.warmupErrors
		if wrong == 0 && r.ok > 0 {
			lines = append(lines, checkLine{true, fmt.Sprintf("%s: all %d answers (probe, warm-up, measured) as expected", r.name, total)})
		} else {
			text := fmt.Sprintf("%s: %d wrong answers, %d measured successes", r.name, wrong, r.ok)
			for _, s := range r.samples {
				text += "\n      " + truncate(s, 300)
			}
			lines = append(lines, checkLine{false, text})
		}
		if len(p.keyIDs) == 0 {
			continue
		}
		var decided int64
		var err error
		for _, id := range p.keyIDs {
			var n int64
			n, err = sumCounters(ctx, b.redis, limiterPrefix+"{key:"+id+"}:d:*")
			if err != nil {
				break
			}
			decided += n
		}
		lines = append(lines, decisionsLine(r.name, decided, total, err))
	}
	for _, r := range delivery {
		lines = append(lines, r.checks...)
	}
	if n := b.warnings.Load(); n > 0 {
		lines = append(lines, checkLine{false, fmt.Sprintf("the gateway logged %d records at warn level or above (the first %d are on stderr)", n, min(n, maxAlerts))})
	} else {
		lines = append(lines, checkLine{true, "the gateway logged no warnings or errors"})
	}
	return lines
}

// decisionsLine checks that a phase's total successful requests were each
// one rate-limit decision made in Redis (decided, read with err).
func decisionsLine(name string, decided, total int64, err error) checkLine {
	switch {
	case err != nil:
		return checkLine{false, fmt.Sprintf("%s: read the limiter's counters: %v", name, err)}
	case decided < total:
		return checkLine{false, fmt.Sprintf("%s: only %d of %d successful requests were rate-limit decisions in Redis; the rest fell back to in-process limits", name, decided, total)}
	case decided > total:
		return checkLine{true, fmt.Sprintf("%s: %d rate-limit decisions made in Redis for %d successful requests; %d requests were counted twice (the gateway's Redis client retries a limiter script whose reply timed out)", name, decided, total, decided-total)}
	default:
		return checkLine{true, fmt.Sprintf("%s: %d rate-limit decisions made in Redis for %d successful requests", name, decided, total)}
	}
}

// printChecks prints the checks and reports whether all passed.
func printChecks(w io.Writer, lines []checkLine) bool {
	fmt.Fprintf(w, "\nchecks\n")
	all := true
	for _, l := range lines {
		mark := "ok  "
		if !l.ok {
			mark, all = "FAIL", false
		}
		fmt.Fprintf(w, "  %s %s\n", mark, l.text)
	}
	return all
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
