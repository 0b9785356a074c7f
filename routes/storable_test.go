package routes

import (
	"errors"
	"testing"

	"github.com/leadlex/api-gateway/gateway"
)

func TestCheckStorable(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		code       gateway.Code
		field      string
	}{
		{"plain", `{"description": "ab", "events": ["x"]}`, "", ""},
		{"escaped backslash before u0000 is not NUL", `{"description": "a\\u0000b"}`, "", ""},
		{"lone surrogate is stored as U+FFFD", `{"description": "\ud800"}`, "", ""},
		{"top-level field", `{"description": "a\u0000b"}`, gateway.CodeValidation, "description"},
		{"array item", `{"events": ["contact.created", "x\u0000"]}`, gateway.CodeValidation, "events[1]"},
		{"nested value", `{"type": "t", "data": {"a": [1, {"b": "\u0000"}]}}`, gateway.CodeValidation, "data.a[1].b"},
		{"after nested siblings", `{"data": {"x": {"y": 1}, "z": [true, null]}, "name": "n\u0000"}`, gateway.CodeValidation, "name"},
		{"key", `{"data": {"k\u0000": 1}}`, gateway.CodeValidation, `data.k\x00`},
		{"top-level array", `["a", "\u0000"]`, gateway.CodeValidation, "[1]"},
		{"invalid UTF-8", "{\"description\": \"\xff\"}", gateway.CodeInvalidJSON, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkStorable([]byte(tc.body))
			if tc.code == "" {
				if err != nil {
					t.Fatalf("checkStorable = %v, want nil", err)
				}
				return
			}
			var e *gateway.Error
			if !errors.As(err, &e) || e.Code != tc.code {
				t.Fatalf("checkStorable = %v, want %s", err, tc.code)
			}
			if tc.field != "" && e.Details["field"] != tc.field {
				t.Errorf("field = %v, want %q", e.Details["field"], tc.field)
			}
		})
	}
}

func TestDecodeJSONRefusesNUL(t *testing.T) {
	var dst struct {
		Name string `json:"name"`
	}
	err := DecodeJSONBytes([]byte(`{"name": "a\u0000b"}`), &dst, "name")
	var e *gateway.Error
	if !errors.As(err, &e) || e.Code != gateway.CodeValidation || e.Details["field"] != "name" {
		t.Fatalf("DecodeJSONBytes = %v, want validation_error naming name", err)
	}
}
