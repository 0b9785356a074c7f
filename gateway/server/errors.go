package server

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/middleware"
)

// errorBody is the contract's error envelope.
type errorBody struct {
	Error errorFields `json:"error"`
}

type errorFields struct {
	Code      gateway.Code   `json:"code"`
	Message   string         `json:"message"`
	Details   map[string]any `json:"details,omitempty"`
	RequestID string         `json:"request_id"`
}

// handleError renders err in the contract's envelope. Internal causes never
// reach the client; the access log records them.
func handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	middleware.AbandonUnreadBody(c)
	ge := gateway.AsError(err)
	status := ge.Code.Status()
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.JSON(status, errorBody{Error: errorFields{
		Code:      ge.Code,
		Message:   ge.Message,
		Details:   ge.Details,
		RequestID: middleware.RequestIDOf(c),
	}})
}
