package routes_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/routes"
)

func TestCodesHaveErrorStatus(t *testing.T) {
	codes := gateway.Codes()
	if len(codes) == 0 {
		t.Fatal("Codes() is empty")
	}
	seen := map[gateway.Code]bool{}
	for _, c := range codes {
		t.Run(string(c), func(t *testing.T) {
			if seen[c] {
				t.Errorf("code %q listed twice", c)
			}
			seen[c] = true
			if s := routes.Status(c); s < 400 || s > 599 {
				t.Errorf("Status(%q) = %d, want 4xx or 5xx", c, s)
			}
			for _, r := range string(c) {
				if (r < 'a' || r > 'z') && r != '_' {
					t.Errorf("code %q is not snake_case", c)
					break
				}
			}
		})
	}
}

func TestCodeStatus(t *testing.T) {
	tests := []struct {
		code gateway.Code
		want int
	}{
		{gateway.CodeInvalidJSON, http.StatusBadRequest},
		{gateway.CodeValidation, http.StatusBadRequest},
		{gateway.CodeMissingRequiredField, http.StatusBadRequest},
		{gateway.CodeInvalidURL, http.StatusBadRequest},
		{gateway.CodeInvalidEvents, http.StatusBadRequest},
		{gateway.CodeInvalidKey, http.StatusUnauthorized},
		{gateway.CodeInsufficientPermissions, http.StatusForbidden},
		{gateway.CodeNotFound, http.StatusNotFound},
		{gateway.CodeWebhookNotFound, http.StatusNotFound},
		{gateway.CodeDeliveryNotFound, http.StatusNotFound},
		{gateway.CodeMethodNotAllowed, http.StatusMethodNotAllowed},
		{gateway.CodeDuplicateWebhook, http.StatusConflict},
		{gateway.CodeWebhookLimitReached, http.StatusConflict},
		{gateway.CodeIdempotencyKeyReused, http.StatusConflict},
		{gateway.CodeIdempotencyKeyInUse, http.StatusConflict},
		{gateway.CodeRotationInProgress, http.StatusConflict},
		{gateway.CodePayloadTooLarge, http.StatusRequestEntityTooLarge},
		{gateway.CodeUnsupportedMediaType, http.StatusUnsupportedMediaType},
		{gateway.CodeHeadersTooLarge, http.StatusRequestHeaderFieldsTooLarge},
		{gateway.CodeRateLimited, http.StatusTooManyRequests},
		{gateway.CodeInternal, http.StatusInternalServerError},
		{gateway.CodeUnavailable, http.StatusServiceUnavailable},
		{gateway.Code("no_such_code"), http.StatusInternalServerError},
		{gateway.Code(""), http.StatusInternalServerError},
	}
	for _, tc := range tests {
		t.Run(string(tc.code), func(t *testing.T) {
			if got := routes.Status(tc.code); got != tc.want {
				t.Errorf("Status() = %d, want %d", got, tc.want)
			}
		})
	}
	if got, want := len(gateway.Codes()), len(tests)-2; got != want {
		t.Errorf("Codes() has %d codes, this table %d: add the new code here", got, want)
	}
}

func TestErrorOf(t *testing.T) {
	own := gateway.E(gateway.CodeWebhookNotFound, "No webhook with that id.")
	tests := []struct {
		name string
		err  error
		want gateway.Code
	}{
		{"own error", own, gateway.CodeWebhookNotFound},
		{"wrapped own error", fmt.Errorf("handler: %w", own), gateway.CodeWebhookNotFound},
		{"echo 404", echo.NewHTTPError(http.StatusNotFound), gateway.CodeNotFound},
		{"echo ErrNotFound", echo.ErrNotFound, gateway.CodeNotFound},
		{"echo 405", echo.NewHTTPError(http.StatusMethodNotAllowed), gateway.CodeMethodNotAllowed},
		{"echo 413", echo.NewHTTPError(http.StatusRequestEntityTooLarge), gateway.CodePayloadTooLarge},
		{"echo 415", echo.NewHTTPError(http.StatusUnsupportedMediaType), gateway.CodeUnsupportedMediaType},
		{"echo 400 is not ours", echo.NewHTTPError(http.StatusBadRequest, "bind failed"), gateway.CodeInternal},
		{"foreign error", errors.New("boom"), gateway.CodeInternal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := routes.ErrorOf(tc.err)
			if got == nil {
				t.Fatal("ErrorOf returned nil")
			}
			if got.Code != tc.want {
				t.Errorf("code = %q, want %q", got.Code, tc.want)
			}
			if got.Message == "" {
				t.Error("empty message")
			}
			if routes.Status(got.Code) < 400 {
				t.Errorf("status %d is not an error status", routes.Status(got.Code))
			}
		})
	}
	if routes.ErrorOf(own) != own {
		t.Error("ErrorOf did not return the *Error itself")
	}
}
