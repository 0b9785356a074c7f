package gateway_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/leadlex/api-gateway/gateway"
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
			if s := c.Status(); s < 400 || s > 599 {
				t.Errorf("%q.Status() = %d, want 4xx or 5xx", c, s)
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
			if got := tc.code.Status(); got != tc.want {
				t.Errorf("Status() = %d, want %d", got, tc.want)
			}
		})
	}
	if got, want := len(gateway.Codes()), len(tests)-2; got != want {
		t.Errorf("Codes() has %d codes, this table %d: add the new code here", got, want)
	}
}

func TestAsError(t *testing.T) {
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
			got := gateway.AsError(tc.err)
			if got == nil {
				t.Fatal("AsError returned nil")
			}
			if got.Code != tc.want {
				t.Errorf("code = %q, want %q", got.Code, tc.want)
			}
			if got.Message == "" {
				t.Error("empty message")
			}
			if got.Code.Status() < 400 {
				t.Errorf("status %d is not an error status", got.Code.Status())
			}
		})
	}
	if gateway.AsError(own) != own {
		t.Error("AsError did not return the *Error itself")
	}
}

func TestCodeOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want gateway.Code
	}{
		{"own", gateway.E(gateway.CodeRateLimited, "slow down"), gateway.CodeRateLimited},
		{"wrapped", fmt.Errorf("x: %w", gateway.E(gateway.CodeInvalidKey, "no")), gateway.CodeInvalidKey},
		{"foreign", errors.New("boom"), gateway.CodeInternal},
		{"nil", nil, gateway.CodeInternal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := gateway.CodeOf(tc.err); got != tc.want {
				t.Errorf("CodeOf = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestInternalHidesCause(t *testing.T) {
	cause := errors.New("pq: password authentication failed for user \"gateway\" at 10.0.0.5")
	tests := []struct {
		name string
		err  *gateway.Error
		code gateway.Code
	}{
		{"internal", gateway.Internal(cause), gateway.CodeInternal},
		{"unavailable", gateway.Unavailable(cause), gateway.CodeUnavailable},
		{"foreign via AsError", gateway.AsError(cause), gateway.CodeInternal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err.Code != tc.code {
				t.Errorf("code = %q, want %q", tc.err.Code, tc.code)
			}
			for _, leak := range []string{"password", "10.0.0.5", "gateway\"", "pq:"} {
				if strings.Contains(tc.err.Message, leak) {
					t.Errorf("Message %q exposes the cause (%q)", tc.err.Message, leak)
				}
			}
			if tc.err.Details != nil {
				t.Errorf("Details = %v, want none", tc.err.Details)
			}
			if !errors.Is(tc.err, cause) {
				t.Error("the cause is not reachable with errors.Is")
			}
			if !strings.Contains(tc.err.Error(), cause.Error()) {
				t.Errorf("Error() = %q does not include the cause for the logs", tc.err.Error())
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	e := gateway.E(gateway.CodeInvalidURL, "Bad URL.").WithDetails(map[string]any{"field": "url"})
	if got, want := e.Error(), "invalid_url: Bad URL."; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if e.Unwrap() != nil {
		t.Error("Unwrap of an error without cause is not nil")
	}
	if e.Details["field"] != "url" {
		t.Errorf("Details = %v", e.Details)
	}
}
