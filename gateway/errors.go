// Package gateway is the shared vocabulary of the API gateway: the error type
// with its stable codes, the route and module declarations, permissions and the
// authenticated principal. It imports nothing of ours, so that the assembly, the
// middleware and every route module can depend on it without import cycles.
package gateway

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
)

// Code is a stable, snake_case error code from the API contract. Clients branch
// on it, so a code never changes meaning once published.
type Code string

// The error codes of the contract. Each one has exactly one HTTP status in
// statusByCode.
const (
	CodeInvalidJSON             Code = "invalid_json"
	CodeValidation              Code = "validation_error"
	CodeMissingRequiredField    Code = "missing_required_field"
	CodeInvalidURL              Code = "invalid_url"
	CodeInvalidEvents           Code = "invalid_events"
	CodeInvalidKey              Code = "invalid_key"
	CodeInsufficientPermissions Code = "insufficient_permissions"
	CodeNotFound                Code = "not_found"
	CodeWebhookNotFound         Code = "webhook_not_found"
	CodeDeliveryNotFound        Code = "delivery_not_found"
	CodeMethodNotAllowed        Code = "method_not_allowed"
	CodeDuplicateWebhook        Code = "duplicate_webhook"
	CodeWebhookLimitReached     Code = "webhook_limit_reached"
	CodeIdempotencyKeyReused    Code = "idempotency_key_reused"
	CodeIdempotencyKeyInUse     Code = "idempotency_key_in_use"
	CodeRotationInProgress      Code = "rotation_in_progress"
	CodePayloadTooLarge         Code = "payload_too_large"
	CodeUnsupportedMediaType    Code = "unsupported_media_type"
	CodeHeadersTooLarge         Code = "request_headers_too_large"
	CodeRateLimited             Code = "rate_limited"
	CodeInternal                Code = "internal_error"
	CodeUnavailable             Code = "service_unavailable"
)

// statusByCode is the one table that maps codes to HTTP status.
var statusByCode = map[Code]int{
	CodeInvalidJSON:             http.StatusBadRequest,
	CodeValidation:              http.StatusBadRequest,
	CodeMissingRequiredField:    http.StatusBadRequest,
	CodeInvalidURL:              http.StatusBadRequest,
	CodeInvalidEvents:           http.StatusBadRequest,
	CodeInvalidKey:              http.StatusUnauthorized,
	CodeInsufficientPermissions: http.StatusForbidden,
	CodeNotFound:                http.StatusNotFound,
	CodeWebhookNotFound:         http.StatusNotFound,
	CodeDeliveryNotFound:        http.StatusNotFound,
	CodeMethodNotAllowed:        http.StatusMethodNotAllowed,
	CodeDuplicateWebhook:        http.StatusConflict,
	CodeWebhookLimitReached:     http.StatusConflict,
	CodeIdempotencyKeyReused:    http.StatusConflict,
	CodeIdempotencyKeyInUse:     http.StatusConflict,
	CodeRotationInProgress:      http.StatusConflict,
	CodePayloadTooLarge:         http.StatusRequestEntityTooLarge,
	CodeUnsupportedMediaType:    http.StatusUnsupportedMediaType,
	CodeHeadersTooLarge:         http.StatusRequestHeaderFieldsTooLarge,
	CodeRateLimited:             http.StatusTooManyRequests,
	CodeInternal:                http.StatusInternalServerError,
	CodeUnavailable:             http.StatusServiceUnavailable,
}

// Status returns the HTTP status for a code; unknown codes are internal errors,
// so that a typo can never turn into a success status.
func (c Code) Status() int {
	if s, ok := statusByCode[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Codes lists every code the gateway can answer with, for documentation and for
// tests that check the status table is complete.
func Codes() []Code {
	out := make([]Code, 0, len(statusByCode))
	for c := range statusByCode {
		out = append(out, c)
	}
	return out
}

// Error is the one error type of the gateway. Message and Details are shown to
// the client; Err is the internal cause, which is logged but never rendered.
type Error struct {
	Code    Code
	Message string
	Details map[string]any
	Err     error
}

// Error implements the error interface; it includes the cause for logs.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap exposes the internal cause to errors.Is and errors.As.
func (e *Error) Unwrap() error { return e.Err }

// E builds an Error with a client-facing message.
func E(code Code, message string) *Error {
	return &Error{Code: code, Message: message}
}

// WithDetails returns e with the given details attached.
func (e *Error) WithDetails(details map[string]any) *Error {
	e.Details = details
	return e
}

// Internal wraps an unexpected failure. The cause is kept for the logs; the
// client sees only a generic message, so no internal detail leaks.
func Internal(err error) *Error {
	return &Error{Code: CodeInternal, Message: "An internal error occurred.", Err: err}
}

// Unavailable wraps a dependency outage: the client may retry.
func Unavailable(err error) *Error {
	return &Error{Code: CodeUnavailable, Message: "A dependency is temporarily unavailable; retry later.", Err: err}
}

// CodeOf returns the code of err, or CodeInternal when err is not an *Error.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// AsError converts any error to an *Error: echo's own routing errors become
// their contract codes, anything else foreign is internal.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return E(CodeNotFound, "No such endpoint.")
		case http.StatusMethodNotAllowed:
			return E(CodeMethodNotAllowed, "This endpoint does not support that method.")
		case http.StatusRequestEntityTooLarge:
			return E(CodePayloadTooLarge, "Request body too large.")
		case http.StatusUnsupportedMediaType:
			return E(CodeUnsupportedMediaType, "Request body must be JSON: send Content-Type: application/json.")
		}
	}
	return Internal(err)
}
