package routes_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/labstack/echo/v4"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/routes"
)

// hookBody exercises every kind of field DecodeJSON has to handle: strings,
// slices, optional pointers, numbers, maps, a nested struct, a field hidden
// from JSON and validate tags.
type hookBody struct {
	URL         string            `json:"url" validate:"max=2048"`
	Events      []string          `json:"events"`
	Description *string           `json:"description" validate:"omitempty,max=200"`
	Active      *bool             `json:"active"`
	Retries     int               `json:"retries" validate:"gte=0,lte=10"`
	Meta        map[string]string `json:"meta"`
	Filter      *hookFilter       `json:"filter"`
	Hidden      string            `json:"-"`
	Untagged    string
}

type hookFilter struct {
	Status string `json:"status" validate:"omitempty,oneof=success failed pending"`
}

var hookRequired = []string{"url", "events"}

// wantError asserts err is a *gateway.Error with code and returns it.
func wantError(t *testing.T, err error, code gateway.Code) *gateway.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %s", code)
	}
	ge, ok := err.(*gateway.Error)
	if !ok {
		t.Fatalf("err = %T %v, want *gateway.Error", err, err)
	}
	if ge.Code != code {
		t.Fatalf("code = %s (%q), want %s", ge.Code, ge.Message, code)
	}
	return ge
}

func decodeRequest(t *testing.T, contentType string, body io.Reader) (hookBody, error) {
	t.Helper()
	e := echo.New()
	req := httptest.NewRequest(http.MethodPost, "/v1/webhooks", body)
	if contentType != "" {
		req.Header.Set(echo.HeaderContentType, contentType)
	}
	c := e.NewContext(req, httptest.NewRecorder())
	var dst hookBody
	err := routes.DecodeJSON(c, &dst, hookRequired...)
	return dst, err
}

const validHook = `{"url":"https://example.com/hook","events":["contact.created"]}`

func TestDecodeJSONContentType(t *testing.T) {
	tests := []struct {
		contentType string
		ok          bool
	}{
		{"", false},
		{"text/plain", false},
		{"application/x-www-form-urlencoded", false},
		{"multipart/form-data; boundary=x", false},
		{"application/json-patch+json", false},
		{"application/jsonx", false},
		{"application/json; charset", false},
		{"json", false},
		{"application/json", true},
		{"application/json; charset=utf-8", true},
		{"application/json;charset=UTF-8", true},
		{"Application/JSON", true},
	}
	for _, tc := range tests {
		t.Run(tc.contentType, func(t *testing.T) {
			got, err := decodeRequest(t, tc.contentType, strings.NewReader(validHook))
			if !tc.ok {
				ge := wantError(t, err, gateway.CodeUnsupportedMediaType)
				if routes.Status(ge.Code) != http.StatusUnsupportedMediaType {
					t.Errorf("status = %d, want 415", routes.Status(ge.Code))
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if got.URL != "https://example.com/hook" || !slices.Equal(got.Events, []string{"contact.created"}) {
				t.Errorf("decoded %+v", got)
			}
		})
	}
}

func TestDecodeJSONBodyErrors(t *testing.T) {
	t.Run("body over a MaxBytesReader limit is payload_too_large", func(t *testing.T) {
		e := echo.New()
		body := `{"url":"https://example.com/` + strings.Repeat("a", 100) + `","events":["contact.created"]}`
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
		rec := httptest.NewRecorder()
		req.Body = http.MaxBytesReader(rec, req.Body, 64)
		var dst hookBody
		ge := wantError(t, routes.DecodeJSON(e.NewContext(req, rec), &dst, hookRequired...), gateway.CodePayloadTooLarge)
		if ge.Details["limit_bytes"] != int64(64) {
			t.Errorf("details = %v, want limit_bytes 64", ge.Details)
		}
		if routes.Status(ge.Code) != http.StatusRequestEntityTooLarge {
			t.Errorf("status = %d", routes.Status(ge.Code))
		}
	})
	t.Run("unreadable body is invalid_json", func(t *testing.T) {
		_, err := decodeRequest(t, echo.MIMEApplicationJSON, iotest.ErrReader(errors.New("connection reset")))
		ge := wantError(t, err, gateway.CodeInvalidJSON)
		if strings.Contains(ge.Message, "connection reset") {
			t.Errorf("message leaks the read error: %q", ge.Message)
		}
	})
}

func TestDecodeJSONBytes(t *testing.T) {
	e200 := strings.Repeat("é", 200)
	tests := []struct {
		name   string
		body   string
		code   gateway.Code // "" for success
		field  string       // details.field, when set
		fields []string     // details.fields of missing_required_field
		check  func(t *testing.T, got hookBody)
	}{
		// Syntax.
		{name: "empty", body: "", code: gateway.CodeInvalidJSON},
		{name: "whitespace only", body: " \n\t", code: gateway.CodeInvalidJSON},
		{name: "truncated", body: `{"url":"x"`, code: gateway.CodeInvalidJSON},
		{name: "trailing garbage", body: validHook + ` x`, code: gateway.CodeInvalidJSON},
		{name: "two objects", body: validHook + validHook, code: gateway.CodeInvalidJSON},
		{name: "single quotes", body: `{'url':'x'}`, code: gateway.CodeInvalidJSON},
		{name: "trailing comma", body: `{"url":"x","events":[],}`, code: gateway.CodeInvalidJSON},
		{name: "comment", body: `{"url":"x" /* hi */}`, code: gateway.CodeInvalidJSON},
		{name: "NaN", body: `{"retries":NaN}`, code: gateway.CodeInvalidJSON},
		// Not an object.
		{name: "array", body: `[` + validHook + `]`, code: gateway.CodeValidation},
		{name: "string", body: `"https://example.com"`, code: gateway.CodeValidation},
		{name: "null", body: `null`, code: gateway.CodeValidation},
		{name: "number", body: `42`, code: gateway.CodeValidation},
		{name: "boolean", body: `true`, code: gateway.CodeValidation},
		// Unknown fields, before anything else about the fields.
		{name: "unknown field", body: `{"url":"https://a.example","events":["x"],"secret":"whsec_x"}`, code: gateway.CodeValidation, field: "secret"},
		{name: "unknown field reported before missing ones", body: `{"bogus":1}`, code: gateway.CodeValidation, field: "bogus"},
		{name: "first unknown field in name order", body: `{"zeta":1,"alpha":2,"url":"x","events":[]}`, code: gateway.CodeValidation, field: "alpha"},
		{name: "field names are case-sensitive", body: `{"URL":"https://a.example","events":["x"]}`, code: gateway.CodeValidation, field: "URL"},
		{name: "json:\"-\" field is unknown", body: `{"url":"x","events":[],"-":"y"}`, code: gateway.CodeValidation, field: "-"},
		{name: "Go name of a hidden field is unknown", body: `{"url":"x","events":[],"Hidden":"y"}`, code: gateway.CodeValidation, field: "Hidden"},
		{name: "untagged field goes by its Go name", body: `{"url":"x","events":[],"Untagged":"y"}`, check: func(t *testing.T, got hookBody) {
			if got.Untagged != "y" {
				t.Errorf("Untagged = %q", got.Untagged)
			}
		}},
		// Required fields.
		{name: "all missing", body: `{}`, code: gateway.CodeMissingRequiredField, fields: []string{"url", "events"}},
		{name: "all null", body: `{"events":null,"url":null}`, code: gateway.CodeMissingRequiredField, fields: []string{"url", "events"}},
		{name: "one absent", body: `{"url":"https://a.example"}`, code: gateway.CodeMissingRequiredField, fields: []string{"events"}},
		{name: "one null", body: `{"url":null,"events":["x"]}`, code: gateway.CodeMissingRequiredField, fields: []string{"url"}},
		{name: "null with spaces", body: `{ "url" : null , "events" : ["x"] }`, code: gateway.CodeMissingRequiredField, fields: []string{"url"}},
		{name: "missing beats wrong type", body: `{"url":1}`, code: gateway.CodeMissingRequiredField, fields: []string{"events"}},
		// Types.
		{name: "url not a string", body: `{"url":1,"events":["x"]}`, code: gateway.CodeValidation, field: "url"},
		{name: "events not an array", body: `{"url":"x","events":"contact.created"}`, code: gateway.CodeValidation, field: "events"},
		{name: "events of numbers", body: `{"url":"x","events":[1,2]}`, code: gateway.CodeValidation, field: "events"},
		{name: "active not a boolean", body: `{"url":"x","events":[],"active":"yes"}`, code: gateway.CodeValidation, field: "active"},
		{name: "retries not a number", body: `{"url":"x","events":[],"retries":"3"}`, code: gateway.CodeValidation, field: "retries"},
		{name: "retries not an integer", body: `{"url":"x","events":[],"retries":1.5}`, code: gateway.CodeValidation, field: "retries"},
		{name: "retries overflow", body: `{"url":"x","events":[],"retries":99999999999999999999}`, code: gateway.CodeValidation, field: "retries"},
		{name: "meta not an object", body: `{"url":"x","events":[],"meta":[]}`, code: gateway.CodeValidation, field: "meta"},
		{name: "description not a string", body: `{"url":"x","events":[],"description":{}}`, code: gateway.CodeValidation, field: "description"},
		{name: "filter not an object", body: `{"url":"x","events":[],"filter":"failed"}`, code: gateway.CodeValidation, field: "filter"},
		// validate tags.
		{name: "200 two-byte characters fit max=200", body: `{"url":"x","events":[],"description":"` + e200 + `"}`,
			check: func(t *testing.T, got hookBody) {
				if got.Description == nil || *got.Description != e200 {
					t.Errorf("description = %v", got.Description)
				}
			}},
		{name: "201 characters exceed max=200", body: `{"url":"x","events":[],"description":"` + e200 + `é"}`, code: gateway.CodeValidation, field: "description"},
		{name: "number over lte", body: `{"url":"x","events":[],"retries":11}`, code: gateway.CodeValidation, field: "retries"},
		{name: "negative number", body: `{"url":"x","events":[],"retries":-1}`, code: gateway.CodeValidation, field: "retries"},
		{name: "nested struct is validated", body: `{"url":"x","events":[],"filter":{"status":"exploded"}}`, code: gateway.CodeValidation, field: "status"},
		// Success.
		{name: "minimal", body: validHook, check: func(t *testing.T, got hookBody) {
			want := hookBody{URL: "https://example.com/hook", Events: []string{"contact.created"}}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v, want %+v", got, want)
			}
		}},
		{name: "everything", body: ` {"url":"https://a.example","events":["a","b"],"description":"d","active":false,"retries":3,"meta":{"k":"v"},"filter":{"status":"failed"}} `,
			check: func(t *testing.T, got hookBody) {
				d, f := "d", false
				want := hookBody{URL: "https://a.example", Events: []string{"a", "b"}, Description: &d, Active: &f, Retries: 3,
					Meta: map[string]string{"k": "v"}, Filter: &hookFilter{Status: "failed"}}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("got %+v, want %+v", got, want)
				}
			}},
		{name: "null optional fields", body: `{"url":"x","events":[],"description":null,"active":null,"meta":null,"filter":null}`,
			check: func(t *testing.T, got hookBody) {
				if got.Description != nil || got.Active != nil || got.Meta != nil || got.Filter != nil {
					t.Errorf("null optional fields were set: %+v", got)
				}
			}},
		{name: "empty events list is present", body: `{"url":"x","events":[]}`},
		{name: "integral float is a number", body: `{"url":"x","events":[],"retries":2}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got hookBody
			err := routes.DecodeJSONBytes([]byte(tc.body), &got, hookRequired...)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if tc.check != nil {
					tc.check(t, got)
				}
				return
			}
			ge := wantError(t, err, tc.code)
			if ge.Message == "" {
				t.Error("empty message")
			}
			if tc.field != "" {
				if ge.Details["field"] != tc.field {
					t.Errorf("details = %v, want field %q", ge.Details, tc.field)
				}
				if !strings.Contains(ge.Message, tc.field) {
					t.Errorf("message %q does not name the field %q", ge.Message, tc.field)
				}
			}
			if tc.fields != nil {
				got, _ := ge.Details["fields"].([]string)
				if !slices.Equal(got, tc.fields) {
					t.Errorf("details.fields = %v, want %v", ge.Details["fields"], tc.fields)
				}
				for _, f := range tc.fields {
					if !strings.Contains(ge.Message, f) {
						t.Errorf("message %q does not list %q", ge.Message, f)
					}
				}
			}
		})
	}
}

func TestDecodeJSONTypeMessages(t *testing.T) {
	tests := []struct {
		body string
		want string
	}{
		{`{"url":1,"events":[]}`, "a string"},
		{`{"url":"x","events":"a"}`, "an array of strings"},
		{`{"url":"x","events":[],"active":1}`, "a boolean"},
		{`{"url":"x","events":[],"retries":true}`, "a number"},
		{`{"url":"x","events":[],"meta":1}`, "an object"},
		{`{"url":"x","events":[],"filter":1}`, "an object"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			var dst hookBody
			ge := wantError(t, routes.DecodeJSONBytes([]byte(tc.body), &dst, hookRequired...), gateway.CodeValidation)
			if !strings.Contains(ge.Message, tc.want) {
				t.Errorf("message %q, want it to say %q", ge.Message, tc.want)
			}
		})
	}
}

func TestDecodeJSONOtherTypes(t *testing.T) {
	type odd struct {
		Ratio float32  `json:"ratio"`
		Ref   **string `json:"ref"`
		Flags []bool   `json:"flags"`
	}
	tests := []struct {
		body, field, want string
	}{
		{`{"ratio":"x"}`, "ratio", "of the documented type"},
		{`{"ref":1}`, "ref", "a string"},
		{`{"flags":[1]}`, "flags", "an array of booleans"},
	}
	for _, tc := range tests {
		t.Run(tc.field, func(t *testing.T) {
			var dst odd
			ge := wantError(t, routes.DecodeJSONBytes([]byte(tc.body), &dst), gateway.CodeValidation)
			if ge.Details["field"] != tc.field || !strings.Contains(ge.Message, tc.want) {
				t.Errorf("got %q %v, want field %q and %q", ge.Message, ge.Details, tc.field, tc.want)
			}
		})
	}
}

func TestValidateNotAStruct(t *testing.T) {
	// A programming error, not the client's: internal, never a 400.
	if code := gateway.CodeOf(routes.Validate(nil)); code != gateway.CodeInternal {
		t.Errorf("Validate(nil) code = %s, want internal_error", code)
	}
}

func TestValidateMessages(t *testing.T) {
	type v struct {
		Name string `json:"name" validate:"required"`
		Code string `json:"code" validate:"omitempty,min=3"`
		Kind string `json:"kind" validate:"omitempty,oneof=a b"`
	}
	tests := []struct {
		name  string
		val   v
		field string
		word  string
	}{
		{"required", v{}, "name", "required"},
		{"min", v{Name: "n", Code: "ab"}, "code", "at least 3"},
		{"other tag", v{Name: "n", Kind: "c"}, "kind", "oneof"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ge := wantError(t, routes.Validate(&tc.val), gateway.CodeValidation)
			if ge.Details["field"] != tc.field || !strings.Contains(ge.Message, tc.word) {
				t.Errorf("got %q %v, want field %q and %q in the message", ge.Message, ge.Details, tc.field, tc.word)
			}
		})
	}
	if err := routes.Validate(&v{Name: "ok"}); err != nil {
		t.Errorf("valid value: %v", err)
	}
}

// fuzzLimit is the body limit FuzzDecodeJSON applies, small enough that the
// fuzzer reaches it.
const fuzzLimit = 512

// FuzzDecodeJSON checks that no body and content type make DecodeJSON panic
// or answer with anything but a client error, that a decoded value survives
// a round trip, and that DecodeJSON and DecodeJSONBytes agree.
func FuzzDecodeJSON(f *testing.F) {
	e200 := strings.Repeat("é", 200)
	for _, s := range []string{
		"", " ", "{", "}", "[]", "null", `"x"`, "0", "true",
		"{}", `{"url":null}`, `{"url":null,"events":null}`, validHook, validHook + " ", validHook + "x", validHook + validHook,
		`{"url":"x","events":[],"secret":"s"}`, `{"URL":"x","events":[]}`, `{"-":1}`, `{"Hidden":"h","url":"x","events":[]}`,
		`{"url":1,"events":[]}`, `{"url":"x","events":[1]}`, `{"url":"x","events":[],"retries":1e2}`,
		`{"url":"x","events":[],"retries":-0}`, `{"url":"x","events":[],"retries":99999999999999999999}`,
		`{"url":"x","events":[],"description":"` + e200 + `"}`, `{"url":"x","events":[],"description":"` + e200 + `é"}`,
		`{"url":"x","events":[],"meta":{"a":"b"},"filter":{"status":"pending"}}`,
		`{"url":"x","events":[],"filter":{"status":"nope","extra":1}}`,
		`{"url":"\ud800","events":["\u0000"]}`, "{\"url\":\"\xff\xfe\",\"events\":[]}",
		`{"url":"a","url":"b","events":[]}`, `{"url":"x","events":[],"active":null,"description":null}`,
		`{"url":"` + strings.Repeat("a", fuzzLimit) + `","events":[]}`,
	} {
		for _, ct := range []string{"application/json", "application/json; charset=utf-8", "text/plain", ""} {
			f.Add(ct, []byte(s))
		}
	}
	e := echo.New()
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set(echo.HeaderContentType, contentType)
		rec := httptest.NewRecorder()
		req.Body = http.MaxBytesReader(rec, req.Body, fuzzLimit)
		var got hookBody
		err := routes.DecodeJSON(e.NewContext(req, rec), &got, hookRequired...)

		var direct hookBody
		directErr := routes.DecodeJSONBytes(body, &direct, hookRequired...)
		if err == nil {
			if directErr != nil {
				t.Fatalf("DecodeJSON accepted what DecodeJSONBytes refused: %v", directErr)
			}
			if !reflect.DeepEqual(got, direct) {
				t.Fatalf("DecodeJSON and DecodeJSONBytes decoded differently: %+v vs %+v", got, direct)
			}
			out, err := json.Marshal(&got)
			if err != nil {
				t.Fatalf("re-encoding %+v: %v", got, err)
			}
			var again hookBody
			if err := routes.DecodeJSONBytes(out, &again, hookRequired...); err != nil {
				t.Fatalf("re-encoded %s does not decode: %v", out, err)
			}
			if !reflect.DeepEqual(got, again) {
				t.Fatalf("round trip changed the value: %+v -> %s -> %+v", got, out, again)
			}
			return
		}
		checkClientError(t, err)
		if directErr != nil {
			checkClientError(t, directErr)
		}
		ge := err.(*gateway.Error)
		if ge.Code != gateway.CodeUnsupportedMediaType && ge.Code != gateway.CodePayloadTooLarge {
			// Same body, same decision.
			if directErr == nil || directErr.(*gateway.Error).Code != ge.Code {
				t.Fatalf("DecodeJSON said %v, DecodeJSONBytes %v", err, directErr)
			}
		}
		if ge.Code == gateway.CodePayloadTooLarge && len(body) <= fuzzLimit {
			t.Fatalf("payload_too_large for %d bytes (limit %d)", len(body), fuzzLimit)
		}
	})
}

func checkClientError(t *testing.T, err error) {
	t.Helper()
	ge, ok := err.(*gateway.Error)
	if !ok {
		t.Fatalf("error %T %v is not a *gateway.Error", err, err)
	}
	switch routes.Status(ge.Code) {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
	default:
		t.Fatalf("error %v has status %d, want 400, 413 or 415", ge, routes.Status(ge.Code))
	}
	if ge.Message == "" {
		t.Fatalf("error %v has no message", ge)
	}
}
