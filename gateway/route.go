package gateway

import (
	"strings"

	"github.com/labstack/echo/v4"
)

// Permission is a `resource:action` grant held by an API key.
type Permission string

// The permissions the contract defines.
const (
	PermWebhooksRead  Permission = "webhooks:read"
	PermWebhooksWrite Permission = "webhooks:write"
	PermEventsRead    Permission = "events:read"
	PermEventsPublish Permission = "events:publish"
	PermAdminAPIKeys  Permission = "admin:api_keys"
)

// AllPermissions lists every known permission, in a stable order.
func AllPermissions() []Permission {
	return []Permission{PermWebhooksRead, PermWebhooksWrite, PermEventsRead, PermEventsPublish, PermAdminAPIKeys}
}

// ValidPermission reports whether p is a permission the gateway knows.
func ValidPermission(p Permission) bool {
	for _, k := range AllPermissions() {
		if k == p {
			return true
		}
	}
	return false
}

// Satisfies reports whether a set of held permissions grants required. By the
// contract, `X:write` implies `X:read`.
func Satisfies(held []Permission, required Permission) bool {
	for _, h := range held {
		if h == required {
			return true
		}
		if res, ok := strings.CutSuffix(string(required), ":read"); ok && string(h) == res+":write" {
			return true
		}
	}
	return false
}

// Public marks a route that needs no API key (health, documents). A route must
// say so explicitly; the zero Permission is rejected when mounting, so that a
// route cannot forget its permission.
const Public Permission = "public"

// Route is one endpoint a module declares. The gateway mounts it under the base
// path and applies auth, rate limits and the permission check from this
// declaration; the handler only sees authorised requests.
type Route struct {
	Method     string
	Path       string // relative to the base path, e.g. "/v1/webhooks"
	Permission Permission
	// AnyOf, when set, lets any one of these permissions through instead of
	// Permission alone (e.g. the catalog is readable with events:read or any
	// webhooks permission).
	AnyOf   []Permission
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
	Errors []Code
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
func (r Route) Required() []Permission {
	if len(r.AnyOf) > 0 {
		return r.AnyOf
	}
	return []Permission{r.Permission}
}

// Module is a pluggable group of routes. A new module is one package that
// implements it and one line in the assembly's registry.
type Module interface {
	Name() string
	Routes() []Route
}
