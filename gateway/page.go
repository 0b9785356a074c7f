package gateway

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
)

// Page is page-number pagination as the contract describes it.
type Page struct {
	Page    int `json:"page"`
	PerPage int `json:"per_page"`
}

// Offset is the index of the page's first item.
func (p Page) Offset() int { return (p.Page - 1) * p.PerPage }

// Meta is the "meta" object of a paginated list.
type Meta struct {
	Page    int `json:"page"`
	PerPage int `json:"per_page"`
	Total   int `json:"total"`
}

// MaxPerPage is the largest page the API serves.
const MaxPerPage = 100

// ParsePage reads `page` (default 1) and `per_page` (default def, at most
// MaxPerPage) from the query string; anything else is a validation_error
// naming the parameter.
func ParsePage(c echo.Context, def int) (Page, error) {
	p := Page{Page: 1, PerPage: def}
	for _, q := range []struct {
		name string
		dst  *int
		max  int
	}{{"page", &p.Page, 1_000_000}, {"per_page", &p.PerPage, MaxPerPage}} {
		vals, present := c.QueryParams()[q.name]
		if !present {
			continue
		}
		n, err := strconv.Atoi(vals[0])
		if len(vals) != 1 || err != nil || n < 1 || n > q.max || vals[0][0] == '+' {
			return Page{}, E(CodeValidation, fmt.Sprintf("Query parameter %q must be an integer from 1 to %d.", q.name, q.max)).
				WithDetails(map[string]any{"field": q.name})
		}
		*q.dst = n
	}
	return p, nil
}

// ListJSON answers a paginated list in the one shape the contract fixes for
// every list (§4.1): the items under their plural name inside "data", and the
// page beside it, {"data": {name: items}, "meta": {...}}. Every list handler
// renders through it, so that no list can drift back to a bare array.
func ListJSON(c echo.Context, name string, items any, p Page, total int) error {
	return c.JSON(http.StatusOK, map[string]any{
		"data": map[string]any{name: items},
		"meta": Meta{Page: p.Page, PerPage: p.PerPage, Total: total},
	})
}
