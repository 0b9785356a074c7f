package routes

import (
	"fmt"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/leadlex/api-gateway/gateway"
)

// ParsePage reads `page` (default 1) and `per_page` (default def, at most
// gateway.MaxPerPage) from the query string; anything else is a validation_error
// naming the parameter.
func ParsePage(c echo.Context, def int) (gateway.Page, error) {
	p := gateway.Page{Page: 1, PerPage: def}
	for _, q := range []struct {
		name string
		dst  *int
		max  int
	}{{"page", &p.Page, 1_000_000}, {"per_page", &p.PerPage, gateway.MaxPerPage}} {
		vals, present := c.QueryParams()[q.name]
		if !present {
			continue
		}
		n, err := strconv.Atoi(vals[0])
		if len(vals) != 1 || err != nil || n < 1 || n > q.max || vals[0][0] == '+' {
			return gateway.Page{}, gateway.E(gateway.CodeValidation, fmt.Sprintf("Query parameter %q must be an integer from 1 to %d.", q.name, q.max)).
				WithDetails(map[string]any{"field": q.name})
		}
		*q.dst = n
	}
	return p, nil
}
