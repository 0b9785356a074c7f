package routes

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/go-playground/validator/v10"
	"github.com/labstack/echo/v4"
	"github.com/leadlex/api-gateway/gateway"
)

// validate is shared: validator caches struct metadata and is safe for
// concurrent use. Field names in its errors are the JSON names.
var validate = sync.OnceValue(func() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string { return jsonName(f) })
	return v
})

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "-" {
		return ""
	}
	if name == "" {
		return f.Name
	}
	return name
}

// DecodeJSON reads the request body into dst, a pointer to a struct with json
// (and optionally validate) tags, applying the contract's rules in order:
// content type (415 unsupported_media_type), size (413 payload_too_large,
// enforced by the server's body limit), syntax (400 invalid_json), a JSON
// object with no unknown fields (400 validation_error naming the field),
// required fields present and not null (400 missing_required_field listing
// them), each field of the right type (400 validation_error naming the field),
// then the struct's validate tags. Nothing is half-decoded into dst on error
// in a way that matters, because callers act only on success.
func DecodeJSON(c echo.Context, dst any, required ...string) error {
	if err := checkJSONContentType(c.Request()); err != nil {
		return err
	}
	raw, err := readBody(c.Request())
	if err != nil {
		return err
	}
	return DecodeJSONBytes(raw, dst, required...)
}

// DecodeOptionalJSON is DecodeJSON for a body that may be left out: an empty
// body, whether sent with Content-Length: 0, chunked with no data or with no
// framing at all, leaves dst as it is, exactly like an absent one, so that
// the documented defaults apply however a client sends "nothing". A body
// with any byte in it follows every rule of DecodeJSON.
func DecodeOptionalJSON(c echo.Context, dst any) error {
	raw, err := readBody(c.Request())
	if err != nil || len(raw) == 0 {
		return err
	}
	if err := checkJSONContentType(c.Request()); err != nil {
		return err
	}
	return DecodeJSONBytes(raw, dst)
}

// checkJSONContentType is the 415 rule: a body must be sent as application/json.
func checkJSONContentType(req *http.Request) error {
	mt, _, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if err != nil || mt != echo.MIMEApplicationJSON {
		return gateway.E(gateway.CodeUnsupportedMediaType, "Request body must be JSON: send Content-Type: application/json.")
	}
	return nil
}

// readBody reads the whole body, turning the server's body limit into 413.
func readBody(req *http.Request) ([]byte, error) {
	raw, err := io.ReadAll(req.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, TooLarge(tooLarge.Limit)
		}
		return nil, gateway.E(gateway.CodeInvalidJSON, "The request body could not be read.")
	}
	return raw, nil
}

// TooLarge is the error for a body over limit bytes.
func TooLarge(limit int64) *gateway.Error {
	return gateway.E(gateway.CodePayloadTooLarge, fmt.Sprintf("Request body exceeds %d bytes.", limit)).
		WithDetails(map[string]any{"limit_bytes": limit})
}

// DecodeJSONBytes is DecodeJSON after the body has been read; it is the part
// the fuzz test drives.
func DecodeJSONBytes(raw []byte, dst any, required ...string) error {
	if !json.Valid(raw) {
		return gateway.E(gateway.CodeInvalidJSON, "Request body is not valid JSON.")
	}
	if err := checkStorable(raw); err != nil {
		return err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return gateway.E(gateway.CodeValidation, "Request body must be a JSON object.")
	}
	rv := reflect.ValueOf(dst).Elem()
	rt := rv.Type()
	fields := make(map[string]int, rt.NumField())
	for i := range rt.NumField() {
		if n := jsonName(rt.Field(i)); n != "" && rt.Field(i).IsExported() {
			fields[n] = i
		}
	}
	names := make([]string, 0, len(obj))
	for k := range obj {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if _, ok := fields[k]; !ok {
			return gateway.E(gateway.CodeValidation, fmt.Sprintf("Unknown field %q.", k)).WithDetails(map[string]any{"field": k})
		}
	}
	var missing []string
	for _, r := range required {
		if v, ok := obj[r]; !ok || string(v) == "null" {
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 {
		return gateway.E(gateway.CodeMissingRequiredField, "Missing required field(s): "+strings.Join(missing, ", ")+".").
			WithDetails(map[string]any{"fields": missing})
	}
	for _, k := range names {
		f := rv.Field(fields[k])
		if err := json.Unmarshal(obj[k], f.Addr().Interface()); err != nil {
			return gateway.E(gateway.CodeValidation, fmt.Sprintf("Field %q must be %s.", k, describeType(f.Type()))).
				WithDetails(map[string]any{"field": k})
		}
	}
	return Validate(dst)
}

// Validate runs the validate tags of a struct and turns the first failure
// into a validation_error naming the field.
func Validate(v any) error {
	err := validate().Struct(v)
	if err == nil {
		return nil
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) || len(verrs) == 0 {
		return gateway.Internal(err)
	}
	fe := verrs[0]
	field := fe.Field()
	msg := fmt.Sprintf("Field %q is invalid (%s).", field, fe.Tag())
	switch fe.Tag() {
	case "max":
		msg = fmt.Sprintf("Field %q must be at most %s%s.", field, fe.Param(), unitOf(fe.Kind()))
	case "min":
		msg = fmt.Sprintf("Field %q must be at least %s%s.", field, fe.Param(), unitOf(fe.Kind()))
	case "required":
		msg = fmt.Sprintf("Field %q is required.", field)
	}
	return gateway.E(gateway.CodeValidation, msg).WithDetails(map[string]any{"field": field})
}

// unitOf is what a min/max bound counts for a field of kind k: characters
// of a string, items of a list, nothing for a number ("at most 604800").
func unitOf(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return " characters"
	case reflect.Slice, reflect.Array, reflect.Map:
		return " items"
	}
	return ""
}

func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(describeType(t.Elem()), "a "), "an ") + "s"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "of the documented type"
}
