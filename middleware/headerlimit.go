package middleware

import (
	"fmt"

	"github.com/labstack/echo/v4"
	"github.com/leadlex/api-gateway/gateway"
)

// HeaderLimit answers 431 request_headers_too_large, in the error envelope,
// for a request whose request line and headers exceed limit bytes. The
// server's own MaxHeaderBytes must be set above limit: net/http refuses
// larger requests itself, before any handler runs, with a plain-text 431
// that no middleware can dress, so this softer limit is what almost every
// client over the line meets.
func HeaderLimit(limit int) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			// As on the wire: "METHOD URI PROTO\r\n", "Host: h\r\n", and
			// "Name: value\r\n" per value.
			n := len(req.Method) + len(req.RequestURI) + len(req.Proto) + 4 + len(req.Host) + 8
			for name, values := range req.Header {
				for _, v := range values {
					n += len(name) + len(v) + 4
				}
			}
			if n > limit {
				return gateway.E(gateway.CodeHeadersTooLarge, fmt.Sprintf("Request line and headers exceed %d bytes.", limit)).
					WithDetails(map[string]any{"limit_bytes": limit})
			}
			return next(c)
		}
	}
}
