package config

import (
	"strings"
	"testing"
)

func TestPublicBaseURL(t *testing.T) {
	for _, tc := range []struct {
		name, value, env, want, err string
	}{
		{name: "unset", value: "", want: ""},
		{name: "origin", value: "https://Data.LeadLex.com", want: "https://data.leadlex.com"},
		{name: "trailing slash", value: "https://data.leadlex.com/", want: "https://data.leadlex.com"},
		{name: "port", value: "http://localhost:8080", want: "http://localhost:8080"},
		{name: "path", value: "https://data.leadlex.com/x", err: "PUBLIC_BASE_URL: must be an origin"},
		{name: "query", value: "https://data.leadlex.com?a=1", err: "PUBLIC_BASE_URL: must be an origin"},
		{name: "fragment", value: "https://data.leadlex.com#k", err: "PUBLIC_BASE_URL: must be an origin"},
		{name: "userinfo", value: "https://u:p@data.leadlex.com", err: "PUBLIC_BASE_URL: must be an origin"},
		{name: "scheme", value: "ftp://data.leadlex.com", err: "PUBLIC_BASE_URL: must be an origin"},
		{name: "no host", value: "https://", err: "PUBLIC_BASE_URL: must be an origin"},
		{name: "http in production", value: "http://data.leadlex.com", env: "production", err: "PUBLIC_BASE_URL: must use https in production"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := parser{getenv: func(string) string { return "" }}
			got := publicBaseURL(&p, tc.value, tc.env == "production")
			if tc.err == "" {
				if len(p.errs) != 0 || got != tc.want {
					t.Fatalf("publicBaseURL(%q) = %q, %v; want %q", tc.value, got, p.errs, tc.want)
				}
				return
			}
			if len(p.errs) != 1 || !strings.Contains(p.errs[0].Error(), tc.err) || got != "" {
				t.Fatalf("publicBaseURL(%q) = %q, %v; want the error %q", tc.value, got, p.errs, tc.err)
			}
		})
	}
}
