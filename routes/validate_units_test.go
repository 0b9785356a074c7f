package routes_test

import (
	"testing"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/routes"
)

// TestValidateMessagesCountTheRightUnit: a bound on a number says "at most
// 604800", on a string "characters", on a list "items" (before, every bound
// said "characters").
func TestValidateMessagesCountTheRightUnit(t *testing.T) {
	type v struct {
		Seconds *int     `json:"seconds" validate:"omitempty,min=0,max=604800"`
		Count   int      `json:"count" validate:"min=1"`
		Name    string   `json:"name" validate:"max=3"`
		Tags    []string `json:"tags" validate:"max=1"`
	}
	big, negative := 604801, -1
	for _, tc := range []struct {
		name string
		val  v
		want string
	}{
		{"number max", v{Seconds: &big, Count: 1}, `Field "seconds" must be at most 604800.`},
		{"number min", v{Seconds: &negative, Count: 1}, `Field "seconds" must be at least 0.`},
		{"plain number min", v{}, `Field "count" must be at least 1.`},
		{"string max", v{Count: 1, Name: "abcd"}, `Field "name" must be at most 3 characters.`},
		{"list max", v{Count: 1, Tags: []string{"a", "b"}}, `Field "tags" must be at most 1 items.`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ge := wantError(t, routes.Validate(&tc.val), gateway.CodeValidation)
			if ge.Message != tc.want {
				t.Errorf("message %q, want %q", ge.Message, tc.want)
			}
		})
	}
}
