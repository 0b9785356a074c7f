// Package urlcheck validates webhook URLs (api-contract §4) and holds the
// gateway's single address policy, IsPublic, which keeps webhook deliveries
// off internal networks (SSRF protection).
//
// Check is run when a webhook is created or its URL changed. It is not
// sufficient on its own: DNS answers can change after registration, so the
// delivery dialer must apply IsPublic again to the address it connects to.
//
// The package imports nothing from the rest of the module.
package urlcheck

import (
	"context"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/idna"
)

// MaxLength is the longest webhook URL accepted, in bytes.
const MaxLength = 2048

// DefaultLookupTimeout bounds a host name lookup when Checker.LookupTimeout
// is not set.
const DefaultLookupTimeout = 2 * time.Second

// Reasons reported in Error.Reason. They are stable machine words meant for
// logs, metrics and tests; API clients get Error.Message.
const (
	// ReasonTooLong is reported when the URL is longer than MaxLength.
	ReasonTooLong = "too_long"
	// ReasonMalformed is reported when the URL, its port or its host name
	// cannot be parsed.
	ReasonMalformed = "malformed"
	// ReasonScheme is reported when the scheme is not https.
	ReasonScheme = "scheme"
	// ReasonNoHost is reported when the URL has no host.
	ReasonNoHost = "no_host"
	// ReasonUserinfo is reported when the URL carries a user name, with or
	// without a password.
	ReasonUserinfo = "userinfo"
	// ReasonZone is reported when an IPv6 literal carries a zone such as
	// %eth0, which would tie the address to one of our own interfaces.
	ReasonZone = "ip_zone"
	// ReasonNonCanonicalIP is reported when the host would be read as an IPv4
	// address but is not written as a canonical dotted quad.
	ReasonNonCanonicalIP = "non_canonical_ip"
	// ReasonFragment is reported when the URL carries a #fragment, which
	// is never sent to the receiver, so a stored URL with one would not be
	// the URL that is called.
	ReasonFragment = "fragment"
	// ReasonNonPublic is reported when the host is, or resolves to, an
	// address IsPublic rejects, or is localhost.
	ReasonNonPublic = "non_public_address"
	// ReasonUnresolvable is reported when the host name does not resolve to
	// any address within the lookup timeout.
	ReasonUnresolvable = "unresolvable"
)

// messages maps each reason to its client-facing message. Messages never
// echo the URL, the resolved addresses or resolver error text, so that the
// API cannot be used to probe internal DNS.
var messages = map[string]string{
	ReasonTooLong:        "The URL must be at most 2048 characters long.",
	ReasonMalformed:      "The URL is not a valid absolute URL.",
	ReasonScheme:         "The URL must start with https://.",
	ReasonNoHost:         "The URL must include a host.",
	ReasonUserinfo:       "The URL must not contain a user name or password.",
	ReasonZone:           "An IPv6 address in the URL must not include a zone.",
	ReasonNonCanonicalIP: "An IPv4 address in the URL must be written as four decimal numbers separated by dots, such as 93.184.215.14, not in another form or inside an IPv6 address.",
	ReasonFragment:       "The URL must not contain a #fragment; it is never sent to the receiver.",
	ReasonNonPublic:      "The URL's host is or resolves to a non-public address.",
	ReasonUnresolvable:   "The URL's host name could not be resolved.",
}

// Error is the rejection Check returns, always as *Error. Message is safe to
// show to API clients; Reason is one of the Reason constants.
type Error struct {
	// Reason is a short, stable machine word, such as "non_public_address".
	Reason string
	// Message is a sentence for API clients, free of internal detail.
	Message string
}

// Error returns the reason and the message, for logs.
func (e *Error) Error() string {
	return "urlcheck: " + e.Reason + ": " + e.Message
}

// reject builds the *Error for reason.
func reject(reason string) error {
	return &Error{Reason: reason, Message: messages[reason]}
}

// Resolver resolves host names; *net.Resolver satisfies it. Tests inject
// their own, since there is no outside DNS where they run.
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// Checker validates webhook URLs. The zero value is ready to use and
// resolves with net.DefaultResolver. A Checker must not be modified while
// in use; it is then safe for concurrent use.
type Checker struct {
	// Resolver resolves host names; nil means net.DefaultResolver.
	Resolver Resolver
	// LookupTimeout bounds every lookup; zero or negative means
	// DefaultLookupTimeout. The bound holds even for a Resolver that
	// ignores its context.
	LookupTimeout time.Duration
	// Allowed is a test-only escape hatch: addresses inside these prefixes
	// are accepted even when IsPublic rejects them, so that tests can point
	// webhooks at a local server. It is empty in production. It does not
	// lift the rule against the name localhost.
	Allowed []netip.Prefix
}

// hostProfile converts host names to their ASCII (punycode) form, applying
// the UTS #46 lookup mapping (case folding, full-width forms, ideographic
// full stops) so that what we check is what a client would look up.
// Hyphen placement is not checked because Go's HTTP client does not check
// it either (it skips IDNA for ASCII hosts) and names such as
// "r3---sn-abc.example.com" exist; DNS lengths are verified because longer
// names cannot be looked up anyway.
var hostProfile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.VerifyDNSLength(true),
	idna.CheckHyphens(false),
)

// Check validates raw as a webhook URL under api-contract §4 and returns
// the key used to detect duplicate webhooks, Normalize of the parsed URL.
//
// raw must be an absolute https URL of at most MaxLength bytes, with a host
// and without userinfo or a #fragment; any port from 1 to 65535 is allowed. An IP literal
// host is not resolved; it must be public and, for IPv4, written as a
// canonical dotted quad, because other spellings (2130706433, 0x7f.1,
// 0177.0.0.1, 127.1, a trailing dot) are read differently by different
// stacks; an IPv6 literal that merely embeds an IPv4 address
// (::ffff:a.b.c.d, 64:ff9b::/96) is refused for the same reason. The same applies to any host whose last label is a number, since
// WHATWG URL parsers treat such hosts as IPv4 too and no real top-level
// domain is numeric. "localhost" and names under it are rejected without
// a lookup. Any other name must resolve, within LookupTimeout, to at least
// one address, and every address must be public: one private answer is
// enough to reject, since a client may connect to any of them.
//
// Every rejection is an *Error. If ctx itself ends during the lookup, Check
// returns ctx.Err() instead, since that says nothing about the URL.
func (c *Checker) Check(ctx context.Context, raw string) (key string, err error) {
	if len(raw) > MaxLength {
		return "", reject(ReasonTooLong)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", reject(ReasonMalformed)
	}
	if u.Scheme == "" {
		return "", reject(ReasonMalformed)
	}
	if !strings.EqualFold(u.Scheme, "https") {
		return "", reject(ReasonScheme)
	}
	if u.Opaque != "" {
		// "https:host/path" has no authority at all.
		return "", reject(ReasonNoHost)
	}
	if u.User != nil {
		return "", reject(ReasonUserinfo)
	}
	if strings.Contains(raw, "#") {
		// '#' cannot appear unescaped anywhere but as the fragment's
		// start, so this catches an empty fragment ("/x#") as well.
		return "", reject(ReasonFragment)
	}
	if u.Host == "" {
		return "", reject(ReasonNoHost)
	}
	if _, ok := parsePort(u.Port()); !ok {
		return "", reject(ReasonMalformed)
	}

	host := u.Hostname()
	if strings.HasPrefix(u.Host, "[") {
		if strings.Contains(host, "%") {
			return "", reject(ReasonZone)
		}
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() {
			return "", reject(ReasonMalformed)
		}
		if !c.acceptable(a) {
			return "", reject(ReasonNonPublic)
		}
		if embedsIPv4(a) {
			// A public IPv4 address spelled as IPv6 (::ffff:93.184.215.14,
			// 64:ff9b::5db8:d70e) is another spelling of the same receiver;
			// like odd IPv4 spellings, it is refused, so that the IPv4
			// form is the one spelling, and duplicates stay detectable.
			return "", reject(ReasonNonCanonicalIP)
		}
		return Normalize(u), nil
	}

	name := strings.TrimSuffix(host, ".")
	if name == "" {
		return "", reject(ReasonNoHost)
	}
	if endsInNumber(name) {
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is4() || a.String() != host {
			return "", reject(ReasonNonCanonicalIP)
		}
		if !c.acceptable(a) {
			return "", reject(ReasonNonPublic)
		}
		return Normalize(u), nil
	}
	ascii, err := hostProfile.ToASCII(name)
	if err != nil || strings.HasPrefix(ascii, ".") || strings.HasSuffix(ascii, ".") || strings.Contains(ascii, "..") {
		// The profile tolerates a final empty label, which the mapping can
		// also produce from a trailing "。"; only one trailing dot, the
		// ASCII one trimmed above, is allowed.
		return "", reject(ReasonMalformed)
	}
	if endsInNumber(ascii) {
		// A name such as "１２７.０.０.１" (full-width digits) that the
		// lookup mapping turns into a number.
		return "", reject(ReasonNonCanonicalIP)
	}
	if ascii == "localhost" || strings.HasSuffix(ascii, ".localhost") {
		return "", reject(ReasonNonPublic)
	}

	addrs, err := c.lookup(ctx, ascii)
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", reject(ReasonUnresolvable)
	}
	if len(addrs) == 0 {
		return "", reject(ReasonUnresolvable)
	}
	for _, ia := range addrs {
		a, ok := netip.AddrFromSlice(ia.IP)
		if !ok {
			// A malformed answer: fail closed.
			return "", reject(ReasonNonPublic)
		}
		if ia.Zone != "" {
			a = a.WithZone(ia.Zone)
		}
		if !c.acceptable(a) {
			return "", reject(ReasonNonPublic)
		}
	}
	return Normalize(u), nil
}

// embedsIPv4 reports whether a is an IPv6 spelling of an IPv4 address
// that IsPublic judges by its IPv4 part: IPv4-mapped (::ffff:0:0/96) and
// NAT64 well-known (64:ff9b::/96). Other embedding forms (IPv4-compatible,
// 6to4, Teredo) never pass IsPublic, so they are rejected as non-public
// before this is asked.
func embedsIPv4(a netip.Addr) bool {
	return a.Is4In6() || nat64WellKnown.Contains(a)
}

// acceptable applies IsPublic, then the Allowed escape hatch.
func (c *Checker) acceptable(a netip.Addr) bool {
	if IsPublic(a) {
		return true
	}
	if !a.IsValid() {
		return false
	}
	for _, p := range c.Allowed {
		if p.Contains(a) || p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// lookup resolves host within the lookup timeout. The lookup runs in its own
// goroutine so that the bound holds even if the Resolver ignores ctx; such a
// goroutine finishes whenever the Resolver returns.
func (c *Checker) lookup(ctx context.Context, host string) ([]net.IPAddr, error) {
	var r Resolver = net.DefaultResolver
	if c.Resolver != nil {
		r = c.Resolver
	}
	timeout := c.LookupTimeout
	if timeout <= 0 {
		timeout = DefaultLookupTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	type result struct {
		addrs []net.IPAddr
		err   error
	}
	done := make(chan result, 1) // buffered: a late answer must not block
	go func() {
		addrs, err := r.LookupIPAddr(ctx, host)
		done <- result{addrs, err}
	}()
	select {
	case res := <-done:
		return res.addrs, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// parsePort parses a URL port. The empty port (no port, or "host:") is valid
// and returned as 0; otherwise the port must be decimal digits with a value
// from 1 to 65535 (leading zeros allowed, as RFC 3986 permits).
func parsePort(p string) (int, bool) {
	if p == "" {
		return 0, true
	}
	n := 0
	for i := 0; i < len(p); i++ {
		ch := p[i]
		if ch < '0' || ch > '9' {
			return 0, false
		}
		n = n*10 + int(ch-'0')
		if n > 65535 {
			return 0, false
		}
	}
	return n, n > 0
}

// endsInNumber reports whether the last label of host (a host without its
// trailing dot) is a number as inet_aton or the WHATWG URL host parser would
// read it: decimal or octal digits, or "0x" followed by hex digits. Any host
// for which this holds is either meant as an IPv4 address or, since no
// top-level domain is numeric, not a usable name.
func endsInNumber(host string) bool {
	last := host[strings.LastIndexByte(host, '.')+1:]
	if last == "" {
		return false
	}
	if len(last) >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X') {
		for i := 2; i < len(last); i++ {
			if !isHex(last[i]) {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(last); i++ {
		if last[i] < '0' || last[i] > '9' {
			return false
		}
	}
	return true
}

// isHex reports whether ch is an ASCII hex digit.
func isHex(ch byte) bool {
	return '0' <= ch && ch <= '9' || 'a' <= ch && ch <= 'f' || 'A' <= ch && ch <= 'F'
}
