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
	"github.com/leadlex/api-gateway/routes"
)

// Authenticator verifies API keys. apikeys.Service implements it.
type Authenticator interface {
	Authenticate(ctx context.Context, plaintext string) (*gateway.Principal, error)
	// Cached reports whether verifying this key would need no store read.
	Cached(plaintext string) bool
	// Known reports whether this instance verified the key as live before
	// (its cache entry may be stale).
	Known(plaintext string) bool
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
// that its further guesses are refused cheaply.
//
// A valid key is not locked out by its neighbours behind a shared address
// (NAT): it never spends the IP budget, and while the address is blocked a
// key this instance verified before (cached or known) is still verified,
// which no guesser can arrange. A key new to this instance from a blocked
// address gets one of BlockedLookups store reads per address per minute;
// past those (or for a key that is not even well-formed) the answer is 429
// without any store read, so an address over budget never gets unlimited
// store lookups.
type Auth struct {
	Keys      Authenticator
	IPLimiter Limiter
	IPLimits  ratelimit.Limits
	Clock     gateway.Clock
	Logger    *slog.Logger
	// BlockedLookups is how many store reads for unknown keys a blocked
	// address gets per minute; 0 means DefaultBlockedLookups.
	BlockedLookups int

	mu      sync.Mutex
	blocked map[string]blockedIP
	lookups map[string]lookupBudget
	// nBlocked mirrors len(blocked), so that the common case (no IP over
	// its budget) costs neither the lock nor the client IP's extraction.
	nBlocked atomic.Int64
}

type blockedIP struct {
	until    time.Time
	decision ratelimit.Decision
}

// lookupBudget counts a blocked address's store reads in a fixed minute.
type lookupBudget struct {
	start time.Time
	n     int
}

// maxBlocked bounds the in-process block list (and the lookup budgets);
// past it, expired entries go.
const maxBlocked = 10_000

// DefaultBlockedLookups is BlockedLookups' default: enough for the few real
// clients that share an address with an abuser to get their keys verified,
// few enough that the abuser's guesses cost next to nothing.
const DefaultBlockedLookups = 10

// errMultipleAuthorization refuses a request with more than one
// Authorization header: a proxy may honour another one than we do.
var errMultipleAuthorization = &apikeys.AuthError{Reason: "multiple_authorization_headers"}

// Middleware returns the echo middleware.
func (a *Auth) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			values := c.Request().Header.Values(echo.HeaderAuthorization)
			if len(values) > 1 {
				return a.fail(c, errMultipleAuthorization)
			}
			var token string
			present := false
			if len(values) == 1 {
				token, present = bearer(values[0])
			}
			// blocked is set when ip is over its budget but this key may
			// still be verified (mayVerify); a failure is then 429 at once,
			// without another limiter call.
			var blocked *ratelimit.Decision
			if a.nBlocked.Load() > 0 {
				ip := c.RealIP()
				if b, ok := a.isBlocked(ip); ok {
					if !a.mayVerify(ip, token) {
						return ipLimited(c, b)
					}
					blocked = &b
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
				switch {
				case !errors.As(err, &ae):
					return gateway.Unavailable(err)
				case blocked != nil:
					return ipLimited(c, *blocked)
				}
				return a.fail(c, ae)
			}
			routes.SetPrincipal(c, p)
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
		return ipLimited(c, d)
	}
	return invalidKey(c, reason)
}

// mayVerify reports whether a key from a blocked ip may be verified: a key
// the cache vouches for, a key this instance verified before, or a
// well-formed key within ip's lookup budget, which only the last one
// spends.
func (a *Auth) mayVerify(ip, token string) bool {
	if a.Keys.Cached(token) || a.Keys.Known(token) {
		return true
	}
	return apikeys.WellFormed(token) && a.spendLookup(ip, a.Clock.Now())
}

// spendLookup takes one store read from ip's budget for this minute.
func (a *Auth) spendLookup(ip string, now time.Time) bool {
	limit := a.BlockedLookups
	if limit <= 0 {
		limit = DefaultBlockedLookups
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.lookups == nil {
		a.lookups = map[string]lookupBudget{}
	}
	b := a.lookups[ip]
	if now.Sub(b.start) >= time.Minute {
		b = lookupBudget{start: now}
	}
	if b.n >= limit {
		return false
	}
	b.n++
	if len(a.lookups) >= maxBlocked {
		for k, old := range a.lookups {
			if now.Sub(old.start) >= time.Minute {
				delete(a.lookups, k)
			}
		}
		if len(a.lookups) >= maxBlocked {
			clear(a.lookups)
		}
	}
	a.lookups[ip] = b
	return true
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
// header is not a Bearer credential. Only RFC 9110 whitespace counts: SP
// and HTAB around the value (OWS, §5.6.3) and between scheme and token
// (§11.4). Anything else, such as U+00A0 or U+3000, stays part of the
// scheme or the token, which then fails the key format: a lenient parser
// here could read another credential than a proxy in front of us did.
func bearer(h string) (string, bool) {
	v := strings.Trim(h, rfc9110Space)
	i := strings.IndexAny(v, rfc9110Space)
	if i < 0 || !strings.EqualFold(v[:i], "Bearer") {
		return "", h != ""
	}
	return strings.Trim(v[i:], rfc9110Space), true
}

// rfc9110Space is the whitespace HTTP knows: SP and HTAB.
const rfc9110Space = " \t"

// ipLimited refuses a request from an address over its budget of failed
// authentications.
func ipLimited(c echo.Context, d ratelimit.Decision) error {
	markRejected(c, RejectIP)
	return RateLimited(c, d)
}

func invalidKey(c echo.Context, reason *apikeys.AuthError) error {
	markRejected(c, RejectAuth)
	// RFC 6750 §3.1: no error attribute when the request had no credentials.
	challenge := `Bearer realm="leadlex", error="invalid_token"`
	if reason == apikeys.ErrMissing {
		challenge = `Bearer realm="leadlex"`
	}
	c.Response().Header().Set(echo.HeaderWWWAuthenticate, challenge)
	msg := map[*apikeys.AuthError]string{
		apikeys.ErrMissing:       "Missing API key: send Authorization: Bearer wbk_...",
		apikeys.ErrMalformed:     "Malformed API key: expected Authorization: Bearer wbk_ followed by 52 lowercase letters and digits.",
		apikeys.ErrUnknown:       "Unknown API key.",
		apikeys.ErrRevoked:       "This API key has been revoked.",
		apikeys.ErrExpired:       "This API key has expired.",
		errMultipleAuthorization: "Send exactly one Authorization header.",
	}[reason]
	if msg == "" {
		msg = "Invalid API key."
	}
	return gateway.E(gateway.CodeInvalidKey, msg).WithDetails(map[string]any{"reason": reason.Reason})
}
