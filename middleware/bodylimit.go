package middleware

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/leadlex/api-gateway/gateway"
)

// BodyLimit refuses a declared Content-Length over limit at once and caps
// what can be read of any body, so that a chunked upload cannot exceed it
// either (reads fail with *http.MaxBytesError, which DecodeJSON maps to 413).
func BodyLimit(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.ContentLength > limit {
				return gateway.TooLarge(limit)
			}
			req.Body = http.MaxBytesReader(c.Response(), req.Body, limit)
			return next(c)
		}
	}
}
