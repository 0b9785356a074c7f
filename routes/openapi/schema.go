package openapi

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"time"
)

var (
	timeType  = reflect.TypeOf(time.Time{})
	marshaler = reflect.TypeOf((*json.Marshaler)(nil)).Elem()
)

// schemaOf derives a JSON Schema (2020-12, OpenAPI 3.1's dialect) from a Go
// type the way encoding/json sees it: json tags name fields, pointers and
// omitempty make a field nullable or optional, validate tags give bounds.
// Objects are closed (additionalProperties: false) so that a response that
// grows a field the document lacks fails the document's own tests.
func schemaOf(t reflect.Type) map[string]any {
	if t != timeType && t.Implements(marshaler) {
		// The type renders itself (e.g. embedded JSON documents): any value.
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		s := schemaOf(t.Elem())
		if typ, ok := s["type"].(string); ok {
			s["type"] = []any{typ, "null"}
		}
		return s
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		if t == timeType {
			return map[string]any{"type": "string", "format": "date-time"}
		}
		props := map[string]any{}
		var required []string
		addFields(t, props, &required)
		s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if len(required) > 0 {
			s["required"] = required
		}
		return s
	}
	return map[string]any{}
}

func addFields(t reflect.Type, props map[string]any, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			addFields(ft, props, required)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		s := schemaOf(f.Type)
		applyValidate(s, f.Tag.Get("validate"))
		props[name] = s
		if !strings.Contains(opts, "omitempty") {
			*required = append(*required, name)
		}
	}
}

// applyValidate turns validator tags into schema bounds.
func applyValidate(s map[string]any, tag string) {
	for _, rule := range strings.Split(tag, ",") {
		key, val, ok := strings.Cut(rule, "=")
		n, err := strconv.Atoi(val)
		if !ok || err != nil {
			continue
		}
		kind := s["type"]
		if ts, ok := kind.([]any); ok {
			kind = ts[0]
		}
		bound := map[string]map[any]string{
			"max": {"string": "maxLength", "array": "maxItems", "integer": "maximum"},
			"min": {"string": "minLength", "array": "minItems", "integer": "minimum"},
		}[key][kind]
		if bound != "" {
			s[bound] = n
		}
	}
}
