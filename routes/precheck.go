package routes

import (
	"net/http"
	"reflect"
)

// CheckBody applies to a body already read the rules the route's handler
// applies when it decodes it (DecodeJSON: content type, JSON syntax, known
// fields, required fields, types, validate tags), judged from the route's
// own declaration of its body type. The idempotency middleware runs it
// before it looks a request up, so that a retry is refused exactly as a
// fresh request would be (a text/plain retry gets 415, not the kept 201
// with its secret) and a request that fails these checks keeps nothing.
// A route without a declared body accepts anything here, as its handler
// does; an optional body may be empty.
func (r Route) CheckBody(req *http.Request, raw []byte) error {
	if r.Doc.Body == nil || (r.Doc.BodyOptional && len(raw) == 0) {
		return nil
	}
	if err := checkJSONContentType(req); err != nil {
		return err
	}
	dst := reflect.New(reflect.TypeOf(r.Doc.Body))
	return DecodeJSONBytes(raw, dst.Interface(), r.Doc.Required...)
}
