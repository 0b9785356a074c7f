package routes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/leadlex/api-gateway/gateway"
)

// checkStorable enforces the one rule every stored string follows, whatever
// the route and the store: a request body is UTF-8 (RFC 8259; Go would
// otherwise quietly turn bad bytes into U+FFFD while raw event data kept
// them), and no string in it, key or value, at any depth, holds U+0000,
// which PostgreSQL refuses in text and jsonb alike. A refusal names the
// field by its path (description, events[1], data.contact.name), so that a
// client can fix it, instead of the database turning it into a 5xx. Lone
// surrogates (\ud800) need no rule: Go decodes them to U+FFFD, which every
// store keeps. The body is already known to be valid JSON.
func checkStorable(raw []byte) *gateway.Error {
	if !utf8.Valid(raw) {
		return gateway.E(gateway.CodeInvalidJSON, "Request body is not valid UTF-8.")
	}
	// Only an escape can put U+0000 into a JSON string (a raw control
	// character is invalid JSON), so bodies without one skip the walk.
	if !bytes.Contains(raw, []byte(`\u0000`)) {
		return nil
	}
	path, ok := nulPath(raw)
	if !ok {
		return nil
	}
	return gateway.E(gateway.CodeValidation, fmt.Sprintf("Field %q contains a NUL character (U+0000), which cannot be stored.", path)).
		WithDetails(map[string]any{"field": path})
}

// nulPath walks the JSON document and returns the path of the first string
// (object key or value) that contains U+0000.
func nulPath(raw []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	// frame is one open container: for an object, the key being read or
	// just read; for an array, the next index.
	type frame struct {
		object  bool
		key     string
		wantKey bool
		index   int
	}
	var stack []frame
	render := func() string {
		var b strings.Builder
		for _, f := range stack {
			if f.object {
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(f.key)
			} else {
				b.WriteString("[" + strconv.Itoa(f.index) + "]")
			}
		}
		return b.String()
	}
	// value is called after a complete value inside the top frame.
	value := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].object {
				stack[n-1].wantKey = true
			} else {
				stack[n-1].index++
			}
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, frame{object: true, wantKey: true})
			case '[':
				stack = append(stack, frame{})
			default:
				stack = stack[:len(stack)-1]
				value()
			}
		case string:
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
				stack[n-1].key, stack[n-1].wantKey = v, false
				if strings.ContainsRune(v, 0) {
					// The key itself is the field; quote it so that the
					// NUL shows as \x00 in the message.
					q := strconv.Quote(v)
					stack[n-1].key = q[1 : len(q)-1]
					return render(), true
				}
				continue
			}
			if strings.ContainsRune(v, 0) {
				return render(), true
			}
			value()
		default:
			value()
		}
		if len(stack) == 0 && !dec.More() {
			return "", false
		}
	}
}
