package routes

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/leadlex/api-gateway/gateway"
)

// The contract's envelopes (§4.1) live here, side by side, and every handler
// and the error handler render through them: a success is {"data": …}, a
// list {"data": {name: […]}, "meta": {…}}, an error {"error": {…}}.

// dataBody is the success envelope.
type dataBody struct {
	Data any `json:"data"`
}

// DataJSON answers a success with status and v as its "data".
func DataJSON(c echo.Context, status int, v any) error {
	return c.JSON(status, dataBody{Data: v})
}

// ListJSON answers a paginated list in the one shape the contract fixes for
// every list (§4.1): the items under their plural name inside "data", and the
// page beside it, {"data": {name: items}, "meta": {...}}. Every list handler
// renders through it, so that no list can drift back to a bare array.
func ListJSON(c echo.Context, name string, items any, p gateway.Page, total int) error {
	return c.JSON(http.StatusOK, map[string]any{
		"data": map[string]any{name: items},
		"meta": gateway.Meta{Page: p.Page, PerPage: p.PerPage, Total: total},
	})
}

// ListOf answers a paginated list like ListJSON, each stored item rendered
// with view. An empty page is an empty array, never null.
func ListOf[T, V any](c echo.Context, name string, items []T, view func(*T) V, p gateway.Page, total int) error {
	views := make([]V, len(items))
	for i := range items {
		views[i] = view(&items[i])
	}
	return ListJSON(c, name, views, p, total)
}

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

// ErrorJSON renders err in the error envelope with the request's id, at the
// status its code maps to (a HEAD request gets the status alone). Internal
// causes never reach the client: only the code, message and details do.
func ErrorJSON(c echo.Context, err error, requestID string) error {
	ge := ErrorOf(err)
	status := Status(ge.Code)
	if c.Request().Method == http.MethodHead {
		return c.NoContent(status)
	}
	return c.JSON(status, errorBody{Error: errorFields{
		Code:      ge.Code,
		Message:   ge.Message,
		Details:   ge.Details,
		RequestID: requestID,
	}})
}
