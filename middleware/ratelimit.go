package middleware

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/ratelimit"
	"github.com/leadlex/api-gateway/routes"
)

// RateLimit applies the authenticated key's limits: one limiter call per
// request, X-RateLimit-* headers (the daily window) on every response, and
// 429 rate_limited with Retry-After when either window is full.
type RateLimit struct {
	Limiter Limiter
	// LimitsFor returns the principal's limits, and false for keys that are
	// not metered at all (no limiter call, no headers).
	LimitsFor func(p *gateway.Principal) (ratelimit.Limits, bool)
	Clock     gateway.Clock
	Logger    *slog.Logger
}

// Middleware returns the echo middleware. It must run after Auth.
func (r *RateLimit) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p := routes.PrincipalFrom(c)
			limits, metered := r.LimitsFor(p)
			if !metered {
				return next(c)
			}
			d, err := r.Limiter.Allow(c.Request().Context(), "key:"+p.KeyID, limits, r.Clock.Now())
			if err != nil {
				// Fail open: a limiter outage must not become an API outage.
				r.Logger.Warn("rate limit unavailable; allowing", "error", err.Error())
				return next(c)
			}
			// Canonical keys assigned directly: Header.Set would
			// canonicalise them again on every request.
			h := c.Response().Header()
			h[headerLimit] = []string{strconv.Itoa(d.DayLimit)}
			h[headerRemaining] = []string{strconv.Itoa(d.DayRemaining)}
			h[headerReset] = []string{strconv.FormatInt(d.DayReset.Unix(), 10)}
			if !d.Allowed {
				markRejected(c, rejectKeyPrefix+d.Window)
				return RateLimited(c, d)
			}
			return next(c)
		}
	}
}

// The rate-limit headers, in canonical form.
var (
	headerLimit     = http.CanonicalHeaderKey("X-RateLimit-Limit")
	headerRemaining = http.CanonicalHeaderKey("X-RateLimit-Remaining")
	headerReset     = http.CanonicalHeaderKey("X-RateLimit-Reset")
)

// RateLimited renders a rejection: Retry-After in whole seconds, rounded up
// so that a client that waits exactly that long is let in.
func RateLimited(c echo.Context, d ratelimit.Decision) error {
	secs := int64((d.RetryAfter + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	c.Response().Header().Set(echo.HeaderRetryAfter, strconv.FormatInt(secs, 10))
	return gateway.E(gateway.CodeRateLimited, "Rate limit exceeded for the "+d.Window+" window; retry after "+strconv.FormatInt(secs, 10)+" seconds.").
		WithDetails(map[string]any{"window": d.Window, "limit": d.Limit, "retry_after": secs})
}
