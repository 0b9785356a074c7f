package middleware

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/gateway/ratelimit"
)

// Authenticator verifies API keys. apikeys.Service implements it.
type Authenticator interface {
	Authenticate(ctx context.Context, plaintext string) (*gateway.Principal, error)
	// Cached reports whether verifying this key would need no store read.
	Cached(plaintext string) bool
}

// Limiter makes rate-limit decisions. ratelimit's limiters implement it.
type Limiter interface {
	Allow(ctx context.Context, subject string, l ratelimit.Limits, now time.Time) (ratelimit.Decision, error)
}

// Auth authenticates the API key of a request. Unauthenticated traffic is
// limited per client IP so that guessing keys is slow: every failed attempt
// (no key, a bad key) spends one unit of the IP's budget in the shared
// limiter, and an IP over its budget gets 429 instead of 401. An IP found
// over budget is also remembered in-process until its window frees up, so
// that its further guesses are refused before any store read. A valid key
// never spends the IP budget, so clients behind one address are not limited
// by each other's successes.
type Auth struct {
	Keys      Authenticator
	IPLimiter Limiter
	IPLimits  ratelimit.Limits
	Clock     gateway.Clock
	Logger    *slog.Logger

	mu      sync.Mutex
	blocked map[string]blockedIP
	// nBlocked mirrors len(blocked), so that the common case (no IP over
	// its budget) costs neither the lock nor the client IP's extraction.
	nBlocked atomic.Int64
}

type blockedIP struct {
	until    time.Time
	decision ratelimit.Decision
}

// maxBlocked bounds the in-process block list; past it, expired entries go.
const maxBlocked = 10_000

// Middleware returns the echo middleware.
func (a *Auth) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			token, present := bearer(c.Request().Header.Get(echo.HeaderAuthorization))
			if a.nBlocked.Load() > 0 {
				if b, ok := a.isBlocked(c.RealIP()); ok && !a.Keys.Cached(token) {
					return RateLimited(c, b)
				}
			}
			if !present {
				return a.fail(c, apikeys.ErrMissing)
			}
			if token == "" {
				return a.fail(c, apikeys.ErrMalformed)
			}
			p, err := a.Keys.Authenticate(c.Request().Context(), token)
			if err != nil {
				var ae *apikeys.AuthError
				if errors.As(err, &ae) {
					return a.fail(c, ae)
				}
				return gateway.Unavailable(err)
			}
			gateway.SetPrincipal(c, p)
			return next(c)
		}
	}
}

// fail answers a failed authentication: 401, or 429 once the IP has used up
// its budget of failures.
func (a *Auth) fail(c echo.Context, reason *apikeys.AuthError) error {
	now, ip := a.Clock.Now(), c.RealIP()
	d, err := a.IPLimiter.Allow(c.Request().Context(), "ip:"+ip, a.IPLimits, now)
	if err != nil {
		a.Logger.Warn("per-IP limit unavailable; answering 401 without it", "error", err.Error())
		return invalidKey(c, reason)
	}
	if !d.Allowed {
		a.block(ip, now, d)
		return RateLimited(c, d)
	}
	return invalidKey(c, reason)
}

func (a *Auth) isBlocked(ip string) (ratelimit.Decision, bool) {
	now := a.Clock.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	b, ok := a.blocked[ip]
	if !ok {
		return ratelimit.Decision{}, false
	}
	if !now.Before(b.until) {
		delete(a.blocked, ip)
		a.nBlocked.Store(int64(len(a.blocked)))
		return ratelimit.Decision{}, false
	}
	d := b.decision
	d.RetryAfter = b.until.Sub(now)
	return d, true
}

func (a *Auth) block(ip string, now time.Time, d ratelimit.Decision) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.blocked == nil {
		a.blocked = map[string]blockedIP{}
	}
	if len(a.blocked) >= maxBlocked {
		for k, b := range a.blocked {
			if !now.Before(b.until) {
				delete(a.blocked, k)
			}
		}
		if len(a.blocked) >= maxBlocked {
			clear(a.blocked)
		}
	}
	a.blocked[ip] = blockedIP{until: now.Add(d.RetryAfter), decision: d}
	a.nBlocked.Store(int64(len(a.blocked)))
}

// bearer extracts the token of "Bearer <token>" (scheme case-insensitive).
// present is true for any non-empty header; the token is empty when the
// header is not a Bearer credential.
func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", h != ""
	}
	return strings.TrimSpace(token), true
}

func invalidKey(c echo.Context, reason *apikeys.AuthError) error {
	// RFC 6750 §3.1: no error attribute when the request had no credentials.
	challenge := `Bearer realm="leadlex", error="invalid_token"`
	if reason == apikeys.ErrMissing {
		challenge = `Bearer realm="leadlex"`
	}
	c.Response().Header().Set(echo.HeaderWWWAuthenticate, challenge)
	msg := map[*apikeys.AuthError]string{
		apikeys.ErrMissing:   "Missing API key: send Authorization: Bearer wbk_...",
		apikeys.ErrMalformed: "Malformed API key: expected Authorization: Bearer wbk_ followed by 52 lowercase letters and digits.",
		apikeys.ErrUnknown:   "Unknown API key.",
		apikeys.ErrRevoked:   "This API key has been revoked.",
		apikeys.ErrExpired:   "This API key has expired.",
	}[reason]
	if msg == "" {
		msg = "Invalid API key."
	}
	return gateway.E(gateway.CodeInvalidKey, msg).WithDetails(map[string]any{"reason": reason.Reason})
}
