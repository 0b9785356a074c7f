package gateway_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/leadlex/api-gateway/gateway"
)

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

// TestAsError: an *Error, wrapped or not, is kept; anything else is
// internal (echo's routing errors are the HTTP layer's, routes.ErrorOf).
func TestAsError(t *testing.T) {
	own := gateway.E(gateway.CodeWebhookNotFound, "No webhook with that id.")
	if gateway.AsError(own) != own {
		t.Error("AsError did not return the *Error itself")
	}
	if got := gateway.AsError(fmt.Errorf("handler: %w", own)); got != own {
		t.Errorf("AsError of a wrapped *Error = %v, want it unwrapped", got)
	}
	if got := gateway.AsError(errors.New("boom")); got.Code != gateway.CodeInternal || got.Message == "" {
		t.Errorf("AsError of a foreign error = %+v, want internal_error with a message", got)
	}
}
