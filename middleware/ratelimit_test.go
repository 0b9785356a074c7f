package middleware_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/internal/testclock"
	"github.com/leadlex/api-gateway/routes"

	"github.com/labstack/echo/v4"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/ratelimit"
	"github.com/leadlex/api-gateway/middleware"
)

type rateFixture struct {
	e       *echo.Echo
	clock   *testclock.Clock
	limiter *countingLimiter
	calls   int
}

// newRateFixture mounts RateLimit on GET /x; the principal comes from the
// X-Test-Key header, so that tests can act as several keys.
func newRateFixture(t *testing.T, start time.Time, limiter middleware.Limiter, logger *slog.Logger,
	limitsFor func(p *gateway.Principal) (ratelimit.Limits, bool)) *rateFixture {
	t.Helper()
	f := &rateFixture{clock: testclock.New(start), limiter: &countingLimiter{inner: limiter}}
	if logger == nil {
		logger = discardLogger()
	}
	rl := &middleware.RateLimit{Limiter: f.limiter, LimitsFor: limitsFor, Clock: f.clock, Logger: logger}
	setPrincipal := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			routes.SetPrincipal(c, &gateway.Principal{KeyID: c.Request().Header.Get("X-Test-Key"), Plan: "starter", Tier: "standard"})
			return next(c)
		}
	}
	f.e = newEcho(t)
	f.e.GET("/x", func(c echo.Context) error {
		f.calls++
		return c.NoContent(http.StatusNoContent)
	}, setPrincipal, rl.Middleware())
	return f
}

func (f *rateFixture) do(key string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/x", nil)
	req.Header.Set("X-Test-Key", key)
	return serve(f.e, req)
}

func fixedLimits(l ratelimit.Limits) func(*gateway.Principal) (ratelimit.Limits, bool) {
	return func(*gateway.Principal) (ratelimit.Limits, bool) { return l, true }
}

func epoch(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// checkLimitHeaders checks the X-RateLimit-* headers of a response.
func checkLimitHeaders(t *testing.T, rec *httptest.ResponseRecorder, limit, remaining int, reset time.Time) {
	t.Helper()
	h := rec.Header()
	if got := h.Get("X-RateLimit-Limit"); got != strconv.Itoa(limit) {
		t.Errorf("X-RateLimit-Limit = %q, want %d", got, limit)
	}
	if got := h.Get("X-RateLimit-Remaining"); got != strconv.Itoa(remaining) {
		t.Errorf("X-RateLimit-Remaining = %q, want %d", got, remaining)
	}
	if got := h.Get("X-RateLimit-Reset"); got != epoch(reset) {
		t.Errorf("X-RateLimit-Reset = %q, want %s (%s)", got, epoch(reset), reset)
	}
}

func TestRateLimitMinuteWindow(t *testing.T) {
	start := time.Date(2026, 2, 25, 12, 0, 0, 0, time.UTC)
	midnight := time.Date(2026, 2, 26, 0, 0, 0, 0, time.UTC) // 1772064000
	f := newRateFixture(t, start, ratelimit.NewMemory(), nil, fixedLimits(ratelimit.Limits{PerMinute: 2, PerDay: 1000}))

	steps := []struct {
		name       string
		advance    time.Duration
		status     int
		remaining  int
		retryAfter string
	}{
		{name: "first", status: http.StatusNoContent, remaining: 999},
		{name: "second", advance: 200 * time.Millisecond, status: http.StatusNoContent, remaining: 998},
		{name: "third is over the minute limit", status: http.StatusTooManyRequests, remaining: 998, retryAfter: "60"},
		{name: "fractional wait rounds up", advance: 59*time.Second + 100*time.Millisecond, status: http.StatusTooManyRequests, remaining: 998, retryAfter: "1"},
		{name: "let in when the oldest hit leaves", advance: 700 * time.Millisecond, status: http.StatusNoContent, remaining: 997},
		{name: "full again", status: http.StatusTooManyRequests, remaining: 997, retryAfter: "1"},
	}
	calls := 0
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			f.clock.Advance(s.advance)
			rec := f.do("key-a")
			if got := f.limiter.calls(); !slices.Equal(got, []string{"key:key-a"}) {
				t.Errorf("limiter asked %v, want exactly one call for key:key-a", got)
			}
			checkLimitHeaders(t, rec, 1000, s.remaining, midnight)
			if s.status == http.StatusNoContent {
				calls++
				if rec.Code != http.StatusNoContent || f.calls != calls {
					t.Fatalf("status %d, handler ran %d times: %s", rec.Code, f.calls, rec.Body)
				}
				if rec.Header().Get(echo.HeaderRetryAfter) != "" {
					t.Error("Retry-After on an allowed request")
				}
				return
			}
			env := decodeError(t, rec, http.StatusTooManyRequests, gateway.CodeRateLimited)
			if f.calls != calls {
				t.Error("the handler ran for a limited request")
			}
			if got := rec.Header().Get(echo.HeaderRetryAfter); got != s.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, s.retryAfter)
			}
			want := map[string]any{"window": "minute", "limit": float64(2), "retry_after": mustFloat(t, s.retryAfter)}
			for k, v := range want {
				if env.Error.Details[k] != v {
					t.Errorf("details.%s = %v, want %v (all: %v)", k, env.Error.Details[k], v, env.Error.Details)
				}
			}
			if len(env.Error.Details) != len(want) {
				t.Errorf("details = %v, want exactly %v", env.Error.Details, want)
			}
		})
	}
}

func TestRateLimitDayWindow(t *testing.T) {
	start := time.Date(2026, 2, 25, 23, 59, 58, 250_000_000, time.UTC)
	midnight := time.Date(2026, 2, 26, 0, 0, 0, 0, time.UTC)
	f := newRateFixture(t, start, ratelimit.NewMemory(), nil, fixedLimits(ratelimit.Limits{PerDay: 2}))

	for i := range 2 {
		rec := f.do("key-a")
		if rec.Code != http.StatusNoContent {
			t.Fatalf("request %d: %d", i+1, rec.Code)
		}
		checkLimitHeaders(t, rec, 2, 1-i, midnight)
	}
	rec := f.do("key-a")
	env := decodeError(t, rec, http.StatusTooManyRequests, gateway.CodeRateLimited)
	checkLimitHeaders(t, rec, 2, 0, midnight)
	if got := rec.Header().Get("X-RateLimit-Reset"); got != "1772064000" {
		t.Errorf("X-RateLimit-Reset = %q, want Unix seconds 1772064000 (2026-02-26T00:00:00Z)", got)
	}
	// 1.75 s to midnight rounds up to 2.
	if got := rec.Header().Get(echo.HeaderRetryAfter); got != "2" {
		t.Errorf("Retry-After = %q, want 2", got)
	}
	if d := env.Error.Details; d["window"] != "day" || d["limit"] != float64(2) || d["retry_after"] != float64(2) {
		t.Errorf("details = %v", d)
	}
	if !strings.Contains(env.Error.Message, "day") {
		t.Errorf("message %q does not name the window", env.Error.Message)
	}

	t.Run("another key has its own counters", func(t *testing.T) {
		rec := f.do("key-b")
		if rec.Code != http.StatusNoContent {
			t.Fatalf("status %d", rec.Code)
		}
		checkLimitHeaders(t, rec, 2, 1, midnight)
	})
	t.Run("a new UTC day resets the count and the reset time", func(t *testing.T) {
		f.clock.Advance(1750 * time.Millisecond)
		rec := f.do("key-a")
		if rec.Code != http.StatusNoContent {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		checkLimitHeaders(t, rec, 2, 1, midnight.Add(24*time.Hour))
	})
}

func TestRateLimitUnmetered(t *testing.T) {
	f := newRateFixture(t, t0, ratelimit.NewMemory(), nil, func(p *gateway.Principal) (ratelimit.Limits, bool) {
		return ratelimit.Limits{PerMinute: 1, PerDay: 1}, p.KeyID != "unmetered"
	})
	for i := range 5 {
		rec := f.do("unmetered")
		if rec.Code != http.StatusNoContent {
			t.Fatalf("request %d: %d", i, rec.Code)
		}
		for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", echo.HeaderRetryAfter} {
			if v := rec.Header().Get(h); v != "" {
				t.Errorf("%s = %q on an unmetered key", h, v)
			}
		}
	}
	if got := f.limiter.calls(); len(got) != 0 {
		t.Errorf("the limiter was asked %v for an unmetered key", got)
	}
	// A metered key on the same route still is limited.
	f.do("metered")
	decodeError(t, f.do("metered"), http.StatusTooManyRequests, gateway.CodeRateLimited)
}

func TestRateLimitFailsOpen(t *testing.T) {
	var logs bytes.Buffer
	f := newRateFixture(t, t0, failingLimiter{}, slog.New(slog.NewJSONHandler(&logs, nil)), fixedLimits(ratelimit.Limits{PerMinute: 1, PerDay: 1}))
	for i := range 3 {
		rec := f.do("key-a")
		if rec.Code != http.StatusNoContent {
			t.Fatalf("request %d: status %d, want the request let through: %s", i, rec.Code, rec.Body)
		}
		if v := rec.Header().Get("X-RateLimit-Limit"); v != "" {
			t.Errorf("X-RateLimit-Limit = %q without a decision", v)
		}
	}
	if f.calls != 3 {
		t.Errorf("handler ran %d times, want 3", f.calls)
	}
	lines := logLines(t, &logs)
	if len(lines) != 3 || lines[0]["level"] != "WARN" || !strings.Contains(lines[0]["error"].(string), "connection refused") {
		t.Errorf("log = %v, want a warning per request", lines)
	}
}

func TestRateLimitedRetryAfter(t *testing.T) {
	tests := []struct {
		wait time.Duration
		want int64
	}{
		{-time.Second, 1},
		{0, 1},
		{time.Nanosecond, 1},
		{999 * time.Millisecond, 1},
		{time.Second, 1},
		{time.Second + time.Nanosecond, 2},
		{59*time.Second + 500*time.Millisecond, 60},
		{60 * time.Second, 60},
		{12*time.Hour + time.Millisecond, 43201},
	}
	e := newEcho(t)
	for _, tc := range tests {
		t.Run(tc.wait.String(), func(t *testing.T) {
			rec := httptest.NewRecorder()
			c := e.NewContext(httptest.NewRequest(http.MethodGet, "/", nil), rec)
			err := middleware.RateLimited(c, ratelimit.Decision{Window: ratelimit.WindowMinute, Limit: 7, RetryAfter: tc.wait})
			ge, ok := err.(*gateway.Error)
			if !ok || ge.Code != gateway.CodeRateLimited {
				t.Fatalf("err = %v, want rate_limited", err)
			}
			if got := rec.Header().Get(echo.HeaderRetryAfter); got != strconv.FormatInt(tc.want, 10) {
				t.Errorf("Retry-After = %q, want %d", got, tc.want)
			}
			if ge.Details["retry_after"] != tc.want || ge.Details["limit"] != 7 || ge.Details["window"] != "minute" {
				t.Errorf("details = %v", ge.Details)
			}
		})
	}
}
