package routes

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/leadlex/api-gateway/gateway"
)

// statusByCode is the one table that maps codes to HTTP status.
var statusByCode = map[gateway.Code]int{
	gateway.CodeInvalidJSON:             http.StatusBadRequest,
	gateway.CodeValidation:              http.StatusBadRequest,
	gateway.CodeMissingRequiredField:    http.StatusBadRequest,
	gateway.CodeInvalidURL:              http.StatusBadRequest,
	gateway.CodeInvalidEvents:           http.StatusBadRequest,
	gateway.CodeInvalidKey:              http.StatusUnauthorized,
	gateway.CodeInsufficientPermissions: http.StatusForbidden,
	gateway.CodeNotFound:                http.StatusNotFound,
	gateway.CodeWebhookNotFound:         http.StatusNotFound,
	gateway.CodeDeliveryNotFound:        http.StatusNotFound,
	gateway.CodeMethodNotAllowed:        http.StatusMethodNotAllowed,
	gateway.CodeDuplicateWebhook:        http.StatusConflict,
	gateway.CodeWebhookLimitReached:     http.StatusConflict,
	gateway.CodeIdempotencyKeyReused:    http.StatusConflict,
	gateway.CodeIdempotencyKeyInUse:     http.StatusConflict,
	gateway.CodeRotationInProgress:      http.StatusConflict,
	gateway.CodePayloadTooLarge:         http.StatusRequestEntityTooLarge,
	gateway.CodeUnsupportedMediaType:    http.StatusUnsupportedMediaType,
	gateway.CodeHeadersTooLarge:         http.StatusRequestHeaderFieldsTooLarge,
	gateway.CodeRateLimited:             http.StatusTooManyRequests,
	gateway.CodeInternal:                http.StatusInternalServerError,
	gateway.CodeUnavailable:             http.StatusServiceUnavailable,
}

// Status returns the HTTP status for a code; unknown codes are internal errors,
// so that a typo can never turn into a success status.
func Status(c gateway.Code) int {
	if s, ok := statusByCode[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// ErrorOf converts any error to a *gateway.Error for the answer: echo's own
// routing errors become their contract codes, anything else goes through
// gateway.AsError (an *Error as it is, anything foreign internal).
func ErrorOf(err error) *gateway.Error {
	var he *echo.HTTPError
	var own *gateway.Error
	if !errors.As(err, &own) && errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return gateway.E(gateway.CodeNotFound, "No such endpoint.")
		case http.StatusMethodNotAllowed:
			return gateway.E(gateway.CodeMethodNotAllowed, "This endpoint does not support that method.")
		case http.StatusRequestEntityTooLarge:
			return gateway.E(gateway.CodePayloadTooLarge, "Request body too large.")
		case http.StatusUnsupportedMediaType:
			return gateway.E(gateway.CodeUnsupportedMediaType, "Request body must be JSON: send Content-Type: application/json.")
		}
	}
	return gateway.AsError(err)
}
