// Package middleware holds the gateway's request pipeline pieces: request ID,
// access log, body limit, auth, rate limiting, permission checks and
// idempotency. Each is independent of any route module and tested alone; the
// assembly decides their order.
package middleware

import (
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
)

// RequestID keeps a valid incoming X-Request-ID (so that a request can be
// traced through the edge proxy) and otherwise generates a UUID. The ID is on
// every response, including errors.
func RequestID() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			id := c.Request().Header.Get(echo.HeaderXRequestID)
			if !validRequestID(id) {
				id = uuid.NewString()
			}
			c.Response().Header().Set(echo.HeaderXRequestID, id)
			return next(c)
		}
	}
}

// validRequestID accepts 1–128 characters that are safe to echo in headers,
// logs and JSON without escaping: letters, digits, '-', '_', '.', ':'.
func validRequestID(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// RequestIDOf returns the request's ID as set by RequestID.
func RequestIDOf(c echo.Context) string { return c.Response().Header().Get(echo.HeaderXRequestID) }
