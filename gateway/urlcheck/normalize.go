package urlcheck

import (
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// Normalize returns the key under which a webhook URL is compared with the
// workspace's other webhooks, so that spellings of the same endpoint are
// caught as duplicates (api-contract §4).
//
// The scheme is lowercased. The host is lowercased, converted from IDN to
// punycode with the same UTS #46 lookup mapping Check uses, and stripped of
// trailing dots; an IPv6 literal is rewritten in its RFC 5952 form
// ("[2606:2800:220:1::1]"), since its hex digits and zero runs can be spelled
// many ways. The default port (:443 for https, :80 for http) and an empty
// port are dropped; other ports are kept, without leading zeros. An empty
// path becomes "/", which is what an HTTP client requests for it. The rest
// of the path and the query are kept exactly as written, because paths are
// case-sensitive and query order can matter to the receiver. The fragment
// is dropped since it is never sent, and so is any userinfo, so that a key
// never holds credentials.
//
// Normalize never fails: a host that is not a valid name only has its ASCII
// letters lowercased. (Full Unicode lowercasing could turn an invalid name
// into a valid one, and Normalize would then not be idempotent.)
// For absolute URLs it is idempotent: Normalize of the parsed key is the key
// again. (Relative references are not webhook URLs; some, like "//@//", have
// no unambiguous form once their userinfo is dropped.)
func Normalize(u *url.URL) string {
	scheme := lowerASCII(u.Scheme)
	out := url.URL{
		Scheme:     scheme,
		Opaque:     u.Opaque,
		Host:       normalizeHostPort(scheme, u),
		Path:       u.Path,
		RawPath:    u.RawPath,
		RawQuery:   u.RawQuery,
		ForceQuery: u.ForceQuery,
	}
	if out.Opaque == "" && out.Path == "" {
		out.Path, out.RawPath = "/", ""
	}
	return out.String()
}

// normalizeHostPort returns the normalised host and port of u.
func normalizeHostPort(scheme string, u *url.URL) string {
	if !strings.HasPrefix(u.Host, "[") && strings.Count(u.Host, ":") > 1 {
		// Not host:port (e.g. "::"); Hostname and Port would split it in
		// a way that does not survive a round trip, so keep it whole.
		return lowerASCII(u.Host)
	}
	if hp := normalizeHost(u) + normalizePort(scheme, u.Port()); hp != "" || u.Host == "" {
		return hp
	}
	// A host of only a colon or an empty port: dropping it would change how
	// the rest of the URL parses, so keep it.
	return lowerASCII(u.Host)
}

// normalizeHost returns the normalised host of u, without port.
func normalizeHost(u *url.URL) string {
	host := u.Hostname()
	if strings.HasPrefix(u.Host, "[") {
		if a, err := netip.ParseAddr(host); err == nil {
			return "[" + a.String() + "]"
		}
		return "[" + lowerASCII(host) + "]"
	}
	if trimmed := strings.TrimRight(host, "."); trimmed != "" {
		host = trimmed
	}
	if ascii, err := hostProfile.ToASCII(host); err == nil {
		// The mapping can turn a trailing "。" into a dot.
		if trimmed := strings.TrimRight(ascii, "."); trimmed != "" {
			return trimmed
		}
	}
	return lowerASCII(host)
}

// normalizePort returns ":port" for a port worth keeping, or "" for none or
// the scheme's default.
func normalizePort(scheme, port string) string {
	if port == "" {
		return ""
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		// Not a port Check accepts; keep it verbatim so the key stays
		// distinct.
		return ":" + port
	}
	if (scheme == "https" && n == 443) || (scheme == "http" && n == 80) {
		return ""
	}
	return ":" + strconv.FormatUint(n, 10)
}

// lowerASCII lowercases the ASCII letters of s and leaves every other byte
// alone.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
