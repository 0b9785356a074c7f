package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// JSON is an immutable JSON document, stored compact. It is a string rather
// than a map or a byte slice so that Event stays comparable and so that a
// copy of an Event handed out by All or Lookup cannot be used to change the
// catalog. It marshals as the document itself, not as a JSON string, so a
// struct field of type JSON renders as a nested object.
type JSON string

// MarshalJSON implements json.Marshaler by returning the document. The zero
// value renders as null.
func (j JSON) MarshalJSON() ([]byte, error) {
	if j == "" {
		return []byte("null"), nil
	}
	return []byte(j), nil
}

// Raw returns the document as a fresh json.RawMessage that the caller owns.
func (j JSON) Raw() json.RawMessage {
	if j == "" {
		return json.RawMessage("null")
	}
	return json.RawMessage(j)
}

// Decode unmarshals the document into v, for callers that want to inspect
// a schema or an example as Go values.
func (j JSON) Decode(v any) error {
	return json.Unmarshal(j.Raw(), v)
}

// mustJSON marshals a Go value into a compact JSON document. The catalog is
// built from literals when the package is initialised, so a failure is a
// programming error and panics at start-up rather than at request time.
func mustJSON(v any) JSON {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("catalog: marshal: %v", err))
	}
	return JSON(b)
}

// mustCompact checks that s is one JSON value and returns it compacted.
func mustCompact(s string) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(s)); err != nil {
		panic(fmt.Sprintf("catalog: invalid JSON literal: %v", err))
	}
	return buf.Bytes()
}
