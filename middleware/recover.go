package middleware

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/labstack/echo/v4"
	"github.com/leadlex/api-gateway/gateway"
)

// Recover turns a panic in a handler into a 500 internal_error and logs the
// stack, so one bad request cannot take the instance down.
func Recover(logger *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				r := recover()
				if r == nil {
					return
				}
				if r == http.ErrAbortHandler {
					panic(r)
				}
				logger.Error("panic", "request_id", RequestIDOf(c), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = gateway.Internal(fmt.Errorf("panic: %v", r))
			}()
			return next(c)
		}
	}
}
