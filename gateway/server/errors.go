package server

import (
	"github.com/labstack/echo/v4"

	"github.com/leadlex/api-gateway/middleware"
	"github.com/leadlex/api-gateway/routes"
)

// handleError renders err in the contract's envelope (routes.ErrorJSON).
// Internal causes never reach the client; the access log records them.
func handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	middleware.AbandonUnreadBody(c)
	_ = routes.ErrorJSON(c, err, middleware.RequestIDOf(c))
}
