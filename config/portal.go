package config

import (
	"net/url"
	"strings"
)

// publicBaseURL validates PUBLIC_BASE_URL, the origin that portal links
// (POST /v1/portal-sessions) start with. It must be a bare origin, scheme
// and host with an optional port and nothing else, because the link puts
// the base path and a key-carrying fragment after it; production needs
// https, since the page then holds a key. Empty stays empty: the link is
// then built from the request.
func publicBaseURL(p *parser, v string, production bool) string {
	if v == "" {
		return ""
	}
	v = strings.TrimSuffix(v, "/")
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(v, "?") || strings.HasSuffix(v, "#") {
		p.errf("PUBLIC_BASE_URL: must be an origin such as https://data.leadlex.com (scheme and host, no path, query or fragment)")
		return ""
	}
	if production && u.Scheme != "https" {
		p.errf("PUBLIC_BASE_URL: must use https in production")
		return ""
	}
	return u.Scheme + "://" + strings.ToLower(u.Host)
}
