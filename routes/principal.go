package routes

import (
	"github.com/labstack/echo/v4"

	"github.com/leadlex/api-gateway/gateway"
)

const principalKey = "gateway.principal"

// SetPrincipal stores the authenticated principal on the request context.
func SetPrincipal(c echo.Context, p *gateway.Principal) { c.Set(principalKey, p) }

// PrincipalFrom returns the authenticated principal, or nil on public routes.
func PrincipalFrom(c echo.Context) *gateway.Principal {
	p, _ := c.Get(principalKey).(*gateway.Principal)
	return p
}
