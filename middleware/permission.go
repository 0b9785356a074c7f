package middleware

import (
	"github.com/labstack/echo/v4"
	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/routes"
)

// RequirePermission lets a request through when its principal holds any one
// of the permissions (X:write implies X:read); otherwise 403
// insufficient_permissions with details.required.
func RequirePermission(anyOf ...gateway.Permission) echo.MiddlewareFunc {
	required := any(string(anyOf[0]))
	if len(anyOf) > 1 {
		names := make([]string, len(anyOf))
		for i, p := range anyOf {
			names[i] = string(p)
		}
		required = names
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p := routes.PrincipalFrom(c)
			for _, perm := range anyOf {
				if p.Can(perm) {
					return next(c)
				}
			}
			markRejected(c, RejectPermission)
			return gateway.E(gateway.CodeInsufficientPermissions, "This API key lacks the permission this endpoint requires.").
				WithDetails(map[string]any{"required": required})
		}
	}
}
