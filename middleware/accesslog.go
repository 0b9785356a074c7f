package middleware

import (
	"log/slog"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/leadlex/api-gateway/gateway"
)

// AccessLog writes one structured line per request. It logs the path without
// the query string and never a header value: the Authorization header and
// any secret stay out of the logs by construction.
func AccessLog(logger *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				// Render now, so that the status logged is the one sent.
				c.Error(err)
			}
			req, res := c.Request(), c.Response()
			attrs := []slog.Attr{
				slog.String("request_id", RequestIDOf(c)),
				slog.String("method", req.Method),
				slog.String("path", req.URL.Path),
				slog.Int("status", res.Status),
				slog.Float64("latency_ms", float64(time.Since(start).Microseconds())/1000),
				slog.Int64("bytes_out", res.Size),
				slog.String("client_ip", c.RealIP()),
			}
			if p := gateway.PrincipalFrom(c); p != nil {
				attrs = append(attrs, slog.String("key_id", p.KeyID), slog.String("workspace_id", p.WorkspaceID))
			}
			if err != nil {
				if e := gateway.AsError(err); e.Code == gateway.CodeInternal || e.Code == gateway.CodeUnavailable {
					attrs = append(attrs, slog.String("error", err.Error()))
				} else {
					attrs = append(attrs, slog.String("error_code", string(e.Code)))
				}
			}
			level := slog.LevelInfo
			if res.Status >= 500 {
				level = slog.LevelError
			}
			logger.LogAttrs(req.Context(), level, "request", attrs...)
			return nil
		}
	}
}
