// Package routes is the HTTP layer's vocabulary, shared by the route modules
// below it, the middleware and the assembly: the route and module
// declarations (Route, Doc, Module, Public), the principal on the echo
// context, the JSON body rules, paging from the query string, the contract's
// envelopes (data, list, error) and the one table from error codes to HTTP
// status. Domain and store packages never import it.
package routes

import (
	"github.com/labstack/echo/v4"

	"github.com/leadlex/api-gateway/gateway"
)

// Public marks a route that needs no API key (health, documents). A route must
// say so explicitly; the zero Permission is rejected when mounting, so that a
// route cannot forget its permission.
const Public gateway.Permission = "public"

// Route is one endpoint a module declares. The gateway mounts it under the base
// path and applies auth, rate limits and the permission check from this
// declaration; the handler only sees authorised requests.
type Route struct {
	Method     string
	Path       string // relative to the base path, e.g. "/v1/webhooks"
	Permission gateway.Permission
	// AnyOf, when set, lets any one of these permissions through instead of
	// Permission alone (e.g. the catalog is readable with events:read or any
	// webhooks permission).
	AnyOf   []gateway.Permission
	Handler echo.HandlerFunc
	Summary string
	// Doc describes the route for the OpenAPI document. It sits next to the
	// handler and names the same Go types the handler decodes and encodes, so
	// the document is generated, not written, and cannot drift.
	Doc Doc
}

// Doc is a route's documentation.
type Doc struct {
	Description string
	// Body is a value of the request body's type (a struct), nil for none.
	Body any
	// Required lists the body's required fields.
	Required []string
	// BodyOptional marks a body that may be left out entirely.
	BodyOptional bool
	Query        []Param
	// Data is a value of the type of the success response's "data", nil for
	// a response without a body.
	Data any
	// Raw means the success body is Data itself, not {"data": Data}
	// (health checks, the OpenAPI document).
	Raw bool
	// Status is the success status; 0 means 200.
	Status int
	// Paginated adds the "meta" object and the page/per_page parameters.
	Paginated bool
	// DefaultPerPage is the page size the route uses when per_page is
	// absent, for the document; 0 means 50. It should be what the handler
	// passes to ParsePage.
	DefaultPerPage int
	// Errors are the route's own error codes; the gateway adds the ones its
	// middleware can answer with (auth, permissions, limits, body rules).
	Errors []gateway.Code
	// Example is an example request body in JSON.
	Example string
	// Tag groups the operation in the document.
	Tag string
}

// Param is a documented query parameter.
type Param struct {
	Name        string
	Description string
	Type        string // "string", "integer" or "boolean"
	Enum        []string
}

// Required returns the permissions of which the caller needs at least one.
func (r Route) Required() []gateway.Permission {
	if len(r.AnyOf) > 0 {
		return r.AnyOf
	}
	return []gateway.Permission{r.Permission}
}

// Module is a pluggable group of routes. A new module is one package that
// implements it and one line in the assembly's registry.
type Module interface {
	Name() string
	Routes() []Route
}
