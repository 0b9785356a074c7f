package ratelimit

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/internal/testredis"
	"github.com/redis/go-redis/v9"
)

// base is a fixed instant a little before a UTC midnight, so that the suite
// also crosses a day boundary.
var base = time.Date(2026, 4, 17, 23, 58, 0, 0, time.UTC)

func limiters(t *testing.T) map[string]func(t *testing.T) (Limiter, string) {
	return map[string]func(t *testing.T) (Limiter, string){
		"memory": func(t *testing.T) (Limiter, string) { return NewMemory(), "s" },
		"redis": func(t *testing.T) (Limiter, string) {
			client, prefix := testredis.New(t)
			r := NewRedis(client, prefix)
			if err := r.Load(context.Background()); err != nil {
				t.Fatal(err)
			}
			return r, "s"
		},
	}
}

func allow(t *testing.T, l Limiter, subject string, lim Limits, at time.Time) Decision {
	t.Helper()
	d, err := l.Allow(context.Background(), subject, lim, at)
	if err != nil {
		t.Fatalf("Allow: %v", err)
	}
	return d
}

func TestLimiters(t *testing.T) {
	for name, mk := range limiters(t) {
		t.Run(name, func(t *testing.T) {
			t.Run("minute window is exact and sliding", func(t *testing.T) {
				l, s := mk(t)
				lim := Limits{PerMinute: 10, PerDay: 100}
				for i := range 10 {
					d := allow(t, l, s, lim, base.Add(time.Duration(i)*time.Second))
					if !d.Allowed || d.DayRemaining != 100-(i+1) || d.DayLimit != 100 {
						t.Fatalf("request %d: %+v", i+1, d)
					}
				}
				d := allow(t, l, s, lim, base.Add(10*time.Second))
				if d.Allowed || d.Window != WindowMinute || d.Limit != 10 {
					t.Fatalf("11th request: %+v, want minute rejection", d)
				}
				// The oldest hit (at base) leaves the window at base+60s.
				if d.RetryAfter != 50*time.Second {
					t.Errorf("RetryAfter = %s, want 50s", d.RetryAfter)
				}
				if d.DayRemaining != 90 {
					t.Errorf("a rejected request changed the day count: remaining %d", d.DayRemaining)
				}
				if d := allow(t, l, s, lim, base.Add(59999*time.Millisecond)); d.Allowed {
					t.Fatal("allowed before the oldest hit left the window")
				}
				if d := allow(t, l, s, lim, base.Add(60*time.Second)); !d.Allowed {
					t.Fatalf("not allowed after the oldest hit left: %+v", d)
				}
			})
			t.Run("day window resets at midnight UTC", func(t *testing.T) {
				l, s := mk(t)
				lim := Limits{PerDay: 3}
				for range 3 {
					if d := allow(t, l, s, lim, base); !d.Allowed {
						t.Fatalf("rejected early: %+v", d)
					}
				}
				d := allow(t, l, s, lim, base)
				if d.Allowed || d.Window != WindowDay || d.Limit != 3 || d.DayRemaining != 0 {
					t.Fatalf("4th: %+v", d)
				}
				midnight := time.Date(2026, 4, 18, 0, 0, 0, 0, time.UTC)
				if !d.DayReset.Equal(midnight) || d.RetryAfter != 2*time.Minute {
					t.Errorf("reset %s retry %s", d.DayReset, d.RetryAfter)
				}
				if d := allow(t, l, s, lim, midnight); !d.Allowed || d.DayRemaining != 2 {
					t.Fatalf("after midnight: %+v", d)
				}
			})
			t.Run("subjects are independent", func(t *testing.T) {
				l, _ := mk(t)
				lim := Limits{PerMinute: 1}
				if !allow(t, l, "a", lim, base).Allowed || !allow(t, l, "b", lim, base).Allowed {
					t.Fatal("second subject limited by the first")
				}
				if allow(t, l, "a", lim, base).Allowed {
					t.Fatal("subject a not limited")
				}
			})
			t.Run("zero limits mean unlimited", func(t *testing.T) {
				l, s := mk(t)
				for range 50 {
					if !allow(t, l, s, Limits{}, base).Allowed {
						t.Fatal("unlimited subject was limited")
					}
				}
			})
		})
	}
}

func TestRedisSharesStateBetweenInstances(t *testing.T) {
	client, prefix := testredis.New(t)
	a, b := NewRedis(client, prefix), NewRedis(client, prefix)
	lim := Limits{PerMinute: 2}
	// Same millisecond on two instances: both must count.
	if !allow(t, a, "k", lim, base).Allowed || !allow(t, b, "k", lim, base).Allowed {
		t.Fatal("first two requests rejected")
	}
	if allow(t, a, "k", lim, base).Allowed {
		t.Fatal("third request across instances allowed")
	}
}

func TestFallbackUsesMemoryWhileRedisIsDown(t *testing.T) {
	// A port nothing listens on: connection refused at once.
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 50 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { _ = dead.Close() })
	f := &Fallback{Primary: NewRedis(dead, "x:"), Secondary: NewMemory(), Cooldown: time.Hour, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	lim := Limits{PerMinute: 2}
	for i := range 2 {
		d, err := f.Allow(context.Background(), "k", lim, base)
		if err != nil || !d.Allowed {
			t.Fatalf("request %d: %+v %v", i, d, err)
		}
	}
	if !f.Degraded() {
		t.Fatal("Fallback does not report degraded mode")
	}
	if d, _ := f.Allow(context.Background(), "k", lim, base); d.Allowed {
		t.Fatal("fallback limiter did not limit")
	}
}

func TestFallbackReturnsToRedis(t *testing.T) {
	client, prefix := testredis.New(t)
	f := &Fallback{Primary: NewRedis(client, prefix), Secondary: NewMemory(), Cooldown: time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	f.downUntil.Store(time.Now().Add(-time.Second).UnixNano())
	// The cooldown is over: this request still decides in-process while a
	// background check finds Redis healthy.
	if _, err := f.Allow(context.Background(), "k", Limits{PerMinute: 5}, base); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, f)
	if _, err := f.Allow(context.Background(), "k", Limits{PerMinute: 5}, base); err != nil {
		t.Fatal(err)
	}
	n, err := client.Exists(context.Background(), prefix+"{k}:m").Result()
	if err != nil || n != 1 {
		t.Fatalf("decision did not reach Redis: %d %v", n, err)
	}
}

func TestRedisWindowHoldsAtMostTheLimit(t *testing.T) {
	client, prefix := testredis.New(t)
	r := NewRedis(client, prefix)
	for i := range 50 {
		allow(t, r, "k", Limits{PerMinute: 5}, base.Add(time.Duration(i)*13*time.Second))
	}
	if n, err := client.LLen(context.Background(), prefix+"{k}:m").Result(); err != nil || n != 5 {
		t.Fatalf("window list holds %d entries (%v), want 5", n, err)
	}
}

// TestRedisMatchesMemory drives both limiters with one random sequence of
// requests and expects identical decisions: the Redis script and the
// in-process limiter implement one algorithm.
func TestRedisMatchesMemory(t *testing.T) {
	client, prefix := testredis.New(t)
	r, m := NewRedis(client, prefix), NewMemory()
	rng := rand.New(rand.NewPCG(1, 2))
	lim := Limits{PerMinute: 7, PerDay: 60}
	now := base
	for i := range 400 {
		now = now.Add(time.Duration(rng.IntN(12000)) * time.Millisecond)
		subject := []string{"a", "b"}[rng.IntN(2)]
		dr, dm := allow(t, r, subject, lim, now), allow(t, m, subject, lim, now)
		if dr != dm {
			t.Fatalf("request %d at %s: redis %+v, memory %+v", i, now, dr, dm)
		}
	}
}
