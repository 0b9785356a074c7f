package ratelimit

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// flakyLimiter is a Primary whose health the test sets; it counts what it
// was asked.
type flakyLimiter struct {
	down atomic.Bool
	// failAfter is how long a failing call takes (a dial timing out).
	failAfter time.Duration
	allows    atomic.Int64
	probes    atomic.Int64
}

var errDown = errors.New("connection refused")

func (l *flakyLimiter) Allow(context.Context, string, Limits, time.Time) (Decision, error) {
	l.allows.Add(1)
	if l.down.Load() {
		time.Sleep(l.failAfter)
		return Decision{}, errDown
	}
	return Decision{Allowed: true}, nil
}

// probingLimiter is a flakyLimiter that is also a Prober.
type probingLimiter struct{ flakyLimiter }

func (l *probingLimiter) Probe(context.Context) error {
	l.probes.Add(1)
	if l.down.Load() {
		return errDown
	}
	return nil
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func waitHealthy(t *testing.T, f *Fallback) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for f.Degraded() {
		if time.Now().After(deadline) {
			t.Fatal("still degraded although Primary is healthy")
		}
		time.Sleep(time.Millisecond)
	}
}

// allowMany runs n concurrent decisions.
func allowMany(t *testing.T, f *Fallback, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, err := f.Allow(context.Background(), "k", Limits{PerMinute: 1_000_000}, base); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// TestFallbackAsksADeadPrimaryOnce checks the bound behind the README's
// promise: once Primary failed, requests never call it again; only a
// background probe per cooldown does, and a recovered Primary is used
// again.
func TestFallbackAsksADeadPrimaryOnce(t *testing.T) {
	p := &probingLimiter{flakyLimiter{failAfter: 2 * time.Millisecond}}
	p.down.Store(true)
	f := &Fallback{Primary: p, Secondary: NewMemory(), Cooldown: 5 * time.Millisecond, Logger: discard()}
	allowMany(t, f, 1)
	for range 10 {
		allowMany(t, f, 20)
		time.Sleep(6 * time.Millisecond)
	}
	if n := p.allows.Load(); n != 1 {
		t.Fatalf("Primary decided %d times while down, want only the first failure", n)
	}
	if n := p.probes.Load(); n < 1 || n > 21 {
		t.Fatalf("%d probes in 10 cooldowns, want one per cooldown at most", n)
	}
	p.down.Store(false)
	time.Sleep(6 * time.Millisecond)
	allowMany(t, f, 1)
	waitHealthy(t, f)
	allowMany(t, f, 3)
	if n := p.allows.Load(); n != 4 {
		t.Fatalf("Primary decided %d times after recovering, want 1 + 3", n)
	}
}

// TestFallbackOneCallerChecksAPlainPrimary checks that without a Prober,
// exactly one request per cooldown asks Primary, however many arrive at once.
func TestFallbackOneCallerChecksAPlainPrimary(t *testing.T) {
	p := &flakyLimiter{failAfter: 20 * time.Millisecond}
	p.down.Store(true)
	f := &Fallback{Primary: p, Secondary: NewMemory(), Cooldown: time.Hour, Logger: discard()}
	allowMany(t, f, 1)
	f.downUntil.Store(time.Now().Add(-time.Second).UnixNano())
	allowMany(t, f, 50)
	if n := p.allows.Load(); n != 2 {
		t.Fatalf("Primary asked %d times, want the first failure and one check", n)
	}
	if !f.Degraded() {
		t.Fatal("a failed check ended degraded mode")
	}
	p.down.Store(false)
	f.downUntil.Store(time.Now().Add(-time.Second).UnixNano())
	allowMany(t, f, 1)
	if f.Degraded() {
		t.Fatal("a successful check did not end degraded mode")
	}
}

// TestFallbackCountsDecisionsBySource checks what the metrics report: each
// decision is counted once, under the limiter that made it, failures are
// not decisions, and the time in fallback grows only while degraded.
func TestFallbackCountsDecisionsBySource(t *testing.T) {
	p := &probingLimiter{}
	f := &Fallback{Primary: p, Secondary: NewMemory(), Cooldown: time.Hour, Logger: discard()}
	allow := func(n int, perMinute int) {
		t.Helper()
		for range n {
			if _, err := f.Allow(context.Background(), "k", Limits{PerMinute: perMinute}, base); err != nil {
				t.Fatal(err)
			}
		}
	}
	allow(3, 1)
	if f.DegradedFor() != 0 {
		t.Fatalf("DegradedFor = %v before any failure", f.DegradedFor())
	}
	p.down.Store(true)
	allow(3, 1) // the first fails over; in-process, one is allowed, two limited
	primary, secondary := f.Counts()
	if primary != (Counts{Allowed: 3}) || secondary != (Counts{Allowed: 1, Limited: 2}) {
		t.Fatalf("Counts = %+v, %+v; want {3 0}, {1 2}", primary, secondary)
	}
	time.Sleep(2 * time.Millisecond)
	during := f.DegradedFor()
	if during < 2*time.Millisecond {
		t.Fatalf("DegradedFor = %v while degraded for 2ms or more", during)
	}
	p.down.Store(false)
	f.downUntil.Store(time.Now().Add(-time.Second).UnixNano())
	allow(1, 1000) // claims the check: the probe restores Primary in the background
	waitHealthy(t, f)
	ended := f.DegradedFor()
	time.Sleep(2 * time.Millisecond)
	if ended < during || f.DegradedFor() != ended {
		t.Fatalf("DegradedFor = %v after the end (was %v, during %v); want it fixed once restored", f.DegradedFor(), ended, during)
	}
}

func TestCountedCountsDecisions(t *testing.T) {
	c := &Counted{Limiter: NewMemory()}
	for range 3 {
		if _, err := c.Allow(context.Background(), "k", Limits{PerMinute: 2}, base); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.Counts(); got != (Counts{Allowed: 2, Limited: 1}) {
		t.Fatalf("Counts = %+v, want {2 1}", got)
	}
}
