package middleware

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/leadlex/api-gateway/gateway"
)

// QueryRules applies the one rule for query strings: a parameter that is
// not validly encoded (a bad %-escape, a semicolon separator) and a
// parameter given more than once are both 400 validation_error naming the
// parameter. Without it echo drops a pair it cannot decode, so `?page=%zz`
// silently meant page 1, while a repeated `page` was refused; no route
// takes a repeated parameter. It runs per route, after authentication, so
// that unknown paths stay 404 and unauthenticated requests 401.
func QueryRules() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if raw := c.Request().URL.RawQuery; raw != "" {
				if err := checkQuery(raw); err != nil {
					return err
				}
			}
			return next(c)
		}
	}
}

// maxNameShown bounds how much of a malformed name an error repeats.
const maxNameShown = 64

func checkQuery(raw string) error {
	var seen []string // few parameters: a slice beats a map
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(k)
		if err != nil || strings.Contains(k, ";") {
			return queryError(k, "is not validly encoded")
		}
		if _, err := url.QueryUnescape(v); err != nil || strings.Contains(v, ";") {
			return queryError(name, "is not validly encoded")
		}
		for _, s := range seen {
			if s == name {
				return queryError(name, "is given more than once")
			}
		}
		seen = append(seen, name)
	}
	return nil
}

func queryError(name, problem string) error {
	if len(name) > maxNameShown {
		name = name[:maxNameShown]
	}
	return gateway.E(gateway.CodeValidation, fmt.Sprintf("Query parameter %q %s.", name, problem)).
		WithDetails(map[string]any{"field": name})
}
