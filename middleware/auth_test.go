package middleware_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/internal/testclock"
	"github.com/leadlex/api-gateway/routes"

	"github.com/labstack/echo/v4"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/gateway/plan"
	"github.com/leadlex/api-gateway/gateway/ratelimit"
	"github.com/leadlex/api-gateway/gateway/store/memory"
	"github.com/leadlex/api-gateway/middleware"
)

// t0 is the tests' start time, a little before a UTC midnight.
var t0 = time.Date(2026, 4, 17, 12, 0, 0, 0, time.UTC)

const (
	authWorkspace = "5b6f3b0e-8c2a-4d7e-9f10-2a3b4c5d6e7f"
	authCacheTTL  = 30 * time.Second
)

// countingLimiter wraps a real limiter and records who it was asked about.
type countingLimiter struct {
	inner middleware.Limiter
	mu    sync.Mutex
	asked []string
}

func (l *countingLimiter) Allow(ctx context.Context, subject string, lim ratelimit.Limits, now time.Time) (ratelimit.Decision, error) {
	l.mu.Lock()
	l.asked = append(l.asked, subject)
	l.mu.Unlock()
	return l.inner.Allow(ctx, subject, lim, now)
}

// calls returns and resets the subjects asked about.
func (l *countingLimiter) calls() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.asked
	l.asked = nil
	return out
}

// failingLimiter is a limiter whose backend is down.
type failingLimiter struct{}

func (failingLimiter) Allow(context.Context, string, ratelimit.Limits, time.Time) (ratelimit.Decision, error) {
	return ratelimit.Decision{}, errors.New("redis: connection refused")
}

// failingKeyStore is a key store whose reads fail.
type failingKeyStore struct{ apikeys.Store }

func (failingKeyStore) KeyByHash(context.Context, string) (*apikeys.Key, error) {
	return nil, errors.New("pgx: connection refused to db.internal:5432")
}

type authFixture struct {
	e       *echo.Echo
	clock   *testclock.Clock
	limiter *countingLimiter
	keys    *apikeys.Service
	store   *memory.Store
	valid   string
	validK  *apikeys.Key
	revoked string
	expired string
	calls   int // handler runs
}

// newAuthFixture builds Auth on a real key service over the memory store and
// a real in-memory limiter; perMinute is the per-IP limit.
func newAuthFixture(t *testing.T, perMinute int, limiter middleware.Limiter) *authFixture {
	t.Helper()
	f := &authFixture{clock: testclock.New(t0), store: memory.New()}
	if limiter == nil {
		limiter = ratelimit.NewMemory()
	}
	f.limiter = &countingLimiter{inner: limiter}
	f.keys = apikeys.NewService(f.store, f.clock, []string{"starter", "pro", "org"}, authCacheTTL)
	ctx := context.Background()

	var err error
	f.validK, f.valid, err = f.keys.Create(ctx, apikeys.CreateParams{
		WorkspaceID: authWorkspace, Name: "valid",
		Permissions: []gateway.Permission{gateway.PermWebhooksWrite, gateway.PermEventsRead}, Plan: "pro", Tier: plan.TierHigh,
	})
	if err != nil {
		t.Fatal(err)
	}
	var revokedK *apikeys.Key
	revokedK, f.revoked, err = f.keys.Create(ctx, apikeys.CreateParams{WorkspaceID: authWorkspace, Permissions: []gateway.Permission{gateway.PermWebhooksRead}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.keys.Revoke(ctx, authWorkspace, revokedK.ID); err != nil {
		t.Fatal(err)
	}
	// An expired key cannot be created through the service; put one in the
	// store directly.
	f.expired, err = apikeys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	past := t0.Add(-time.Hour)
	if err := f.store.CreateKey(ctx, &apikeys.Key{
		ID: "0e1d2c3b-4a59-4687-9a8b-7c6d5e4f3a21", WorkspaceID: authWorkspace, Hash: apikeys.Hash(f.expired),
		Permissions: []gateway.Permission{gateway.PermWebhooksRead}, Plan: "starter", Tier: plan.TierStandard,
		ExpiresAt: &past, CreatedAt: t0.Add(-48 * time.Hour),
	}); err != nil {
		t.Fatal(err)
	}

	auth := &middleware.Auth{Keys: f.keys, IPLimiter: f.limiter, IPLimits: ratelimit.Limits{PerMinute: perMinute},
		Clock: f.clock, Logger: discardLogger()}
	f.e = newEcho(t)
	f.e.GET("/v1/webhooks", func(c echo.Context) error {
		f.calls++
		p := routes.PrincipalFrom(c)
		if p == nil {
			return errors.New("no principal")
		}
		return c.JSON(http.StatusOK, p)
	}, auth.Middleware())
	return f
}

func (f *authFixture) do(t *testing.T, authorization, ip string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/v1/webhooks", nil)
	if authorization != "" {
		req.Header.Set(echo.HeaderAuthorization, authorization)
	}
	if ip != "" {
		req.RemoteAddr = ip + ":40000"
	}
	return serve(f.e, req)
}

func TestAuthRejects(t *testing.T) {
	f := newAuthFixture(t, 1000, nil)
	unknown, err := apikeys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		header string
		reason string
	}{
		{"missing", "", "missing"},
		{"wrong scheme", "Basic dXNlcjpwYXNz", "malformed"},
		{"wrong scheme with a real key", "Token " + f.valid, "malformed"},
		{"key without scheme", f.valid, "malformed"},
		{"scheme without token", "Bearer", "malformed"},
		{"scheme and blank", "Bearer    ", "malformed"},
		{"too short", "Bearer wbk_abc", "malformed"},
		{"too long", "Bearer " + f.valid + "a", "malformed"},
		{"upper case", "Bearer " + strings.ToUpper(f.valid), "malformed"},
		{"other prefix", "Bearer sk_" + f.valid[3:], "malformed"},
		{"punctuation", "Bearer " + f.valid[:len(f.valid)-1] + "!", "malformed"},
		{"two tokens", "Bearer " + f.valid + " " + f.valid, "malformed"},
		{"unknown", "Bearer " + unknown, "unknown"},
		{"revoked", "Bearer " + f.revoked, "revoked"},
		{"expired", "Bearer " + f.expired, "expired"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.calls = 0
			rec := f.do(t, tc.header, "")
			env := decodeError(t, rec, http.StatusUnauthorized, gateway.CodeInvalidKey)
			if got := env.Error.Details["reason"]; got != tc.reason {
				t.Errorf("details.reason = %v, want %q (message %q)", got, tc.reason, env.Error.Message)
			}
			if h := rec.Header().Get(echo.HeaderWWWAuthenticate); !strings.HasPrefix(h, "Bearer") {
				t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", h)
			}
			if f.calls != 0 {
				t.Error("the handler ran")
			}
			for _, key := range []string{f.valid, f.revoked, f.expired, unknown, "dXNlcjpwYXNz"} {
				if strings.Contains(rec.Body.String(), key[4:]) {
					t.Errorf("the response echoes the key: %s", rec.Body)
				}
			}
		})
	}
}

func TestAuthAccepts(t *testing.T) {
	f := newAuthFixture(t, 1000, nil)
	for _, h := range []string{"Bearer " + f.valid, "bearer " + f.valid, "BEARER " + f.valid, "Bearer   " + f.valid + "  "} {
		t.Run(h[:8], func(t *testing.T) {
			rec := f.do(t, h, "")
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			var p gateway.Principal
			decodeJSON(t, rec.Body.Bytes(), &p)
			if p.KeyID != f.validK.ID || p.WorkspaceID != authWorkspace || p.Plan != "pro" || p.Tier != plan.TierHigh ||
				!slices.Equal(p.Permissions, []gateway.Permission{gateway.PermEventsRead, gateway.PermWebhooksWrite}) {
				t.Errorf("principal = %+v, key %+v", p, f.validK)
			}
		})
	}
}

func TestAuthIPLimiterConsultation(t *testing.T) {
	f := newAuthFixture(t, 1000, nil)
	unknown, _ := apikeys.Generate()
	steps := []struct {
		name    string
		header  string
		advance time.Duration
		status  int
		asked   []string
	}{
		{"no key is limited", "", 0, http.StatusUnauthorized, []string{"ip:192.0.2.1"}},
		{"malformed key is limited", "Bearer nope", 0, http.StatusUnauthorized, []string{"ip:192.0.2.1"}},
		{"unknown key is limited", "Bearer " + unknown, 0, http.StatusUnauthorized, []string{"ip:192.0.2.1"}},
		{"unknown key is limited again (not cached)", "Bearer " + unknown, 0, http.StatusUnauthorized, []string{"ip:192.0.2.1"}},
		// A valid key never spends the IP's budget: not on first use, not
		// when its cache entry expires (a busy key must not be limited by
		// its own refreshes).
		{"first use of a valid key is not limited", "Bearer " + f.valid, 0, http.StatusOK, nil},
		{"cached valid key is not", "Bearer " + f.valid, 0, http.StatusOK, nil},
		{"nor once the cache expired", "Bearer " + f.valid, authCacheTTL, http.StatusOK, nil},
	}
	for _, s := range steps {
		f.clock.Advance(s.advance)
		rec := f.do(t, s.header, "")
		if rec.Code != s.status {
			t.Fatalf("%s: status %d, want %d: %s", s.name, rec.Code, s.status, rec.Body)
		}
		if got := f.limiter.calls(); !slices.Equal(got, s.asked) {
			t.Errorf("%s: limiter asked about %v, want %v", s.name, got, s.asked)
		}
	}
}

func TestAuthIPLimit(t *testing.T) {
	const perMinute = 3
	f := newAuthFixture(t, perMinute, nil)
	// Warm the cache for the valid key from another address.
	if rec := f.do(t, "Bearer "+f.valid, "198.51.100.7"); rec.Code != http.StatusOK {
		t.Fatalf("warm-up: %d", rec.Code)
	}
	_, other, err := f.keys.Create(context.Background(), apikeys.CreateParams{WorkspaceID: authWorkspace, Permissions: []gateway.Permission{gateway.PermEventsRead}})
	if err != nil {
		t.Fatal(err)
	}
	unknown, _ := apikeys.Generate()
	for range perMinute {
		f.clock.Advance(time.Second)
		decodeError(t, f.do(t, "Bearer "+unknown, "203.0.113.9"), http.StatusUnauthorized, gateway.CodeInvalidKey)
	}
	// t0+3s: the oldest hit (t0+1s) leaves the window at t0+61s.
	tests := []struct {
		name       string
		advance    time.Duration
		header     string
		ip         string
		status     int
		retryAfter string
	}{
		{name: "over the limit", header: "Bearer " + unknown, ip: "203.0.113.9", status: http.StatusTooManyRequests, retryAfter: "58"},
		{name: "without a key too", header: "", ip: "203.0.113.9", status: http.StatusTooManyRequests, retryAfter: "58"},
		{name: "an uncached valid key is verified", advance: 500 * time.Millisecond, header: "Bearer " + other, ip: "203.0.113.9", status: http.StatusOK},
		{name: "a cached valid key is not limited", header: "Bearer " + f.valid, ip: "203.0.113.9", status: http.StatusOK},
		{name: "another address is not limited", header: "", ip: "203.0.113.10", status: http.StatusUnauthorized},
		{name: "sub-second wait rounds up to 1", advance: 57*time.Second + 100*time.Millisecond, header: "", ip: "203.0.113.9", status: http.StatusTooManyRequests, retryAfter: "1"},
		{name: "let in once the window moved", advance: 400 * time.Millisecond, header: "", ip: "203.0.113.9", status: http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.clock.Advance(tc.advance)
			rec := f.do(t, tc.header, tc.ip)
			if tc.status != http.StatusTooManyRequests {
				if rec.Code != tc.status {
					t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
				}
				return
			}
			env := decodeError(t, rec, http.StatusTooManyRequests, gateway.CodeRateLimited)
			if got := rec.Header().Get(echo.HeaderRetryAfter); got != tc.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tc.retryAfter)
			}
			d := env.Error.Details
			if d["window"] != "minute" || d["limit"] != float64(perMinute) || d["retry_after"] != mustFloat(t, tc.retryAfter) {
				t.Errorf("details = %v", d)
			}
		})
	}
}

func TestAuthLimiterDownFailsOpen(t *testing.T) {
	f := newAuthFixture(t, 1, failingLimiter{})
	for i := range 3 {
		decodeError(t, f.do(t, "", ""), http.StatusUnauthorized, gateway.CodeInvalidKey)
		if rec := f.do(t, "Bearer "+f.valid, ""); rec.Code != http.StatusOK {
			t.Fatalf("request %d with a valid key: %d %s", i, rec.Code, rec.Body)
		}
		f.clock.Advance(authCacheTTL)
	}
}

func TestAuthStoreDown(t *testing.T) {
	clock := testclock.New(t0)
	store := memory.New()
	working := apikeys.NewService(store, clock, []string{"starter"}, authCacheTTL)
	_, key, err := working.Create(context.Background(), apikeys.CreateParams{WorkspaceID: authWorkspace, Permissions: []gateway.Permission{gateway.PermWebhooksRead}})
	if err != nil {
		t.Fatal(err)
	}
	broken := apikeys.NewService(failingKeyStore{store}, clock, []string{"starter"}, authCacheTTL)
	auth := &middleware.Auth{Keys: broken, IPLimiter: ratelimit.NewMemory(), IPLimits: ratelimit.Limits{PerMinute: 100}, Clock: clock, Logger: discardLogger()}
	e := newEcho(t)
	e.GET("/x", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }, auth.Middleware())

	tests := []struct {
		name   string
		header string
		status int
		code   gateway.Code
	}{
		{"well-formed key needs the store", "Bearer " + key, http.StatusServiceUnavailable, gateway.CodeUnavailable},
		{"malformed key needs no store", "Bearer nope", http.StatusUnauthorized, gateway.CodeInvalidKey},
		{"missing key needs no store", "", http.StatusUnauthorized, gateway.CodeInvalidKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/x", nil)
			if tc.header != "" {
				req.Header.Set(echo.HeaderAuthorization, tc.header)
			}
			rec := serve(e, req)
			decodeError(t, rec, tc.status, tc.code)
			if strings.Contains(rec.Body.String(), "db.internal") || strings.Contains(rec.Body.String(), "pgx") {
				t.Errorf("the response exposes the store error: %s", rec.Body)
			}
		})
	}
}

// lookupCounter counts the key store's hash lookups.
type lookupCounter struct {
	*memory.Store
	n atomic.Int64
}

func (s *lookupCounter) KeyByHash(ctx context.Context, hash string) (*apikeys.Key, error) {
	s.n.Add(1)
	return s.Store.KeyByHash(ctx, hash)
}

// TestAuthBlockedIPLookupsAreBounded checks what a blocked address's
// guesses cost: at most DefaultBlockedLookups store reads a minute for
// well-formed keys, none for garbage, and no limiter call at all.
func TestAuthBlockedIPLookupsAreBounded(t *testing.T) {
	store := &lookupCounter{Store: memory.New()}
	clock := testclock.New(t0)
	keys := apikeys.NewService(store, clock, []string{"starter"}, authCacheTTL)
	limiter := &countingLimiter{inner: ratelimit.NewMemory()}
	a := &middleware.Auth{Keys: keys, IPLimiter: limiter, IPLimits: ratelimit.Limits{PerMinute: 2}, Clock: clock, Logger: discardLogger()}
	e := newEcho(t)
	e.GET("/", func(c echo.Context) error { return c.NoContent(http.StatusOK) }, a.Middleware())
	send := func(authorization string) int {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.RemoteAddr = "203.0.113.50:1234"
		req.Header.Set("Authorization", authorization)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec.Code
	}
	guess := func() int {
		unknown, _ := apikeys.Generate()
		return send("Bearer " + unknown)
	}
	for range 2 {
		if code := guess(); code != http.StatusUnauthorized {
			t.Fatalf("within budget: %d", code)
		}
	}
	if code := guess(); code != http.StatusTooManyRequests {
		t.Fatalf("over budget: %d", code)
	}
	lookups := store.n.Load()
	limiter.calls()
	// Garbage first: it must not spend the lookups either.
	for _, garbage := range []string{"", "Bearer nope", "Basic dXNlcjpwYXNz"} {
		if code := send(garbage); code != http.StatusTooManyRequests {
			t.Fatalf("blocked IP, %q: %d", garbage, code)
		}
	}
	for range 3 * middleware.DefaultBlockedLookups {
		if code := guess(); code != http.StatusTooManyRequests {
			t.Fatalf("blocked IP: %d", code)
		}
	}
	if n := store.n.Load() - lookups; n != middleware.DefaultBlockedLookups {
		t.Errorf("a blocked IP's guesses cost %d store reads, want %d", n, middleware.DefaultBlockedLookups)
	}
	if n := len(limiter.calls()); n != 0 {
		t.Errorf("a blocked IP's guesses cost %d limiter calls", n)
	}
	// Once the window frees up, the IP is heard again.
	clock.Advance(time.Minute)
	if code := guess(); code != http.StatusUnauthorized {
		t.Fatalf("after the window: %d", code)
	}
}

// TestAuthValidKeyBehindABlockedAddress checks that neighbours' guesses do
// not lock a valid key out: a key this instance verified before gets in
// even with a stale cache entry and the address's lookups spent, and a key
// new to the instance gets in while lookups remain.
func TestAuthValidKeyBehindABlockedAddress(t *testing.T) {
	f := newAuthFixture(t, 2, nil)
	const shared = "203.0.113.77"
	if rec := f.do(t, "Bearer "+f.valid, "198.51.100.7"); rec.Code != http.StatusOK {
		t.Fatalf("warm-up: %d", rec.Code)
	}
	_, fresh, err := f.keys.Create(context.Background(), apikeys.CreateParams{WorkspaceID: authWorkspace, Permissions: []gateway.Permission{gateway.PermEventsRead}})
	if err != nil {
		t.Fatal(err)
	}
	_, late, err := f.keys.Create(context.Background(), apikeys.CreateParams{WorkspaceID: authWorkspace, Permissions: []gateway.Permission{gateway.PermEventsRead}})
	if err != nil {
		t.Fatal(err)
	}
	unknown, _ := apikeys.Generate()
	for range 3 {
		f.do(t, "Bearer "+unknown, shared)
	}
	decodeError(t, f.do(t, "Bearer "+unknown, shared), http.StatusTooManyRequests, gateway.CodeRateLimited)
	f.clock.Advance(authCacheTTL + time.Second) // every cache entry is stale now
	if rec := f.do(t, "Bearer "+fresh, shared); rec.Code != http.StatusOK {
		t.Fatalf("a key new to the instance, lookups left: %d %s", rec.Code, rec.Body)
	}
	for range middleware.DefaultBlockedLookups {
		f.do(t, "Bearer "+unknown, shared)
	}
	if rec := f.do(t, "Bearer "+f.valid, shared); rec.Code != http.StatusOK {
		t.Fatalf("a known key, cache stale, lookups spent: %d %s", rec.Code, rec.Body)
	}
	decodeError(t, f.do(t, "Bearer "+late, shared), http.StatusTooManyRequests, gateway.CodeRateLimited)
	decodeError(t, f.do(t, "Bearer "+f.revoked, shared), http.StatusTooManyRequests, gateway.CodeRateLimited)
}
