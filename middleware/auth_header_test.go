package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"unicode"

	"github.com/labstack/echo/v4"

	"github.com/leadlex/api-gateway/gateway"
)

// unicodeSpaces lists every character Unicode calls white space except the
// two HTTP allows (SP, HTAB), plus U+FEFF and U+200B, which look like
// nothing. None may separate or surround a credential.
func unicodeSpaces() []rune {
	var out []rune
	for r := rune(0); r <= 0x3000; r++ {
		if unicode.IsSpace(r) && r != ' ' && r != '\t' {
			out = append(out, r)
		}
	}
	return append(out, 0xFEFF, 0x200B)
}

func TestAuthOnlyHTTPWhitespace(t *testing.T) {
	f := newAuthFixture(t, 1000, nil)
	spaces := unicodeSpaces()
	if len(spaces) < 20 {
		t.Fatalf("only %d spaces listed", len(spaces))
	}
	for _, r := range spaces {
		for _, form := range []string{"%cBearer %s", "Bearer%c%s", "Bearer %c%s", "Bearer %s%c"} {
			var h string
			if form == "Bearer %s%c" {
				h = fmt.Sprintf(form, f.valid, r)
			} else {
				h = fmt.Sprintf(form, r, f.valid)
			}
			t.Run(fmt.Sprintf("U+%04X %q", r, form), func(t *testing.T) {
				env := decodeError(t, f.do(t, h, ""), http.StatusUnauthorized, gateway.CodeInvalidKey)
				if env.Error.Details["reason"] != "malformed" {
					t.Errorf("reason = %v", env.Error.Details["reason"])
				}
			})
		}
	}
	for _, h := range []string{"Bearer\t" + f.valid, "\tBearer " + f.valid + "\t", " Bearer \t " + f.valid + " "} {
		t.Run(fmt.Sprintf("%q", h[:9]), func(t *testing.T) {
			if rec := f.do(t, h, ""); rec.Code != http.StatusOK {
				t.Fatalf("SP/HTAB refused: %d %s", rec.Code, rec.Body)
			}
		})
	}
}

func TestAuthOneAuthorizationHeader(t *testing.T) {
	f := newAuthFixture(t, 1000, nil)
	for name, values := range map[string][]string{
		"two valid":          {"Bearer " + f.valid, "Bearer " + f.valid},
		"valid then garbage": {"Bearer " + f.valid, "Basic dXNlcjpwYXNz"},
		"garbage then valid": {"Bearer nope", "Bearer " + f.valid},
		"valid then empty":   {"Bearer " + f.valid, ""},
	} {
		t.Run(name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/v1/webhooks", nil)
			for _, v := range values {
				req.Header.Add(echo.HeaderAuthorization, v)
			}
			env := decodeError(t, serve(f.e, req), http.StatusUnauthorized, gateway.CodeInvalidKey)
			if env.Error.Details["reason"] != "multiple_authorization_headers" {
				t.Errorf("reason = %v (%s)", env.Error.Details["reason"], env.Error.Message)
			}
			if f.calls != 0 {
				t.Error("the handler ran")
			}
		})
	}
}
