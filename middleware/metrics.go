package middleware

import (
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/leadlex/api-gateway/gateway/metrics"
)

// Rejection reasons, the closed set of gateway_http_rejected_total's
// reason label.
const (
	RejectAuth       = "auth"
	RejectPermission = "permission"
	RejectIP         = "rate_limit_ip"
	// Key limits are "rate_limit_" and the window: rate_limit_minute,
	// rate_limit_day.
	rejectKeyPrefix = "rate_limit_"
)

// rejectedKey is where the auth, rate-limit and permission middleware note
// why they refused a request, for Metrics to count.
const rejectedKey = "gateway.rejected"

// markRejected notes why the request was refused before its handler.
func markRejected(c echo.Context, reason string) { c.Set(rejectedKey, reason) }

// unmatched is the route label of requests no route matched, so that
// scanners probing random paths make one series, not one per path.
const unmatched = "unmatched"

// Metrics records every request in m: a count by route template, method
// and status class, the latency, the requests in flight, and why a refused
// request was refused. It must run outside AccessLog (which renders errors),
// so that the status it records is the one sent. The route label is the
// route's template without basePath ("/v1/webhooks/:id"), never the raw
// path.
func Metrics(m *metrics.Metrics, basePath string) echo.MiddlewareFunc {
	inFlight := m.InFlight()
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			inFlight.Inc()
			defer inFlight.Dec()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			m.Route(routeLabel(c, basePath), c.Request().Method).Observe(c.Response().Status, time.Since(start))
			if reason, ok := c.Get(rejectedKey).(string); ok {
				m.Rejected(reason)
			}
			return nil
		}
	}
}

// routeLabel is the request's route template without the base path, or
// unmatched.
func routeLabel(c echo.Context, basePath string) string {
	p := c.Path()
	if p == "" || strings.HasSuffix(p, "/*") && c.Response().Status == 404 {
		return unmatched
	}
	if rest, ok := strings.CutPrefix(p, basePath); ok && rest != "" {
		return rest
	}
	return p
}
