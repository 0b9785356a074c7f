// Package gateway is the shared vocabulary of the API gateway: the error type
// with its stable codes, permissions and the rule that write implies read,
// the authenticated principal, the clock, pagination values and the one rule
// for what a valid id is. It imports only the standard library, so that every
// domain, store, middleware and route package can depend on it without
// inheriting HTTP, echo or validator (the HTTP side of the vocabulary is the
// routes package).
package gateway

import (
	"errors"
	"fmt"
)

// Code is a stable, snake_case error code from the API contract. Clients branch
// on it, so a code never changes meaning once published.
type Code string

// The error codes of the contract. Each one has exactly one HTTP status, in
// the HTTP layer's table (routes.Status).
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

// allCodes lists every code, in the order of the constants.
var allCodes = []Code{
	CodeInvalidJSON,
	CodeValidation,
	CodeMissingRequiredField,
	CodeInvalidURL,
	CodeInvalidEvents,
	CodeInvalidKey,
	CodeInsufficientPermissions,
	CodeNotFound,
	CodeWebhookNotFound,
	CodeDeliveryNotFound,
	CodeMethodNotAllowed,
	CodeDuplicateWebhook,
	CodeWebhookLimitReached,
	CodeIdempotencyKeyReused,
	CodeIdempotencyKeyInUse,
	CodeRotationInProgress,
	CodePayloadTooLarge,
	CodeUnsupportedMediaType,
	CodeHeadersTooLarge,
	CodeRateLimited,
	CodeInternal,
	CodeUnavailable,
}

// Codes lists every code the gateway can answer with, for documentation and
// for tests that check that the HTTP layer's status table is complete.
func Codes() []Code { return append([]Code(nil), allCodes...) }

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

// AsError converts any error to an *Error: an *Error (wrapped or not) is
// returned as it is, anything else is internal. The HTTP layer
// (routes.ErrorOf) first turns echo's own routing errors into their codes.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal(err)
}
