package urlcheck

import (
	"net/netip"

	"code.dny.dev/ssrf"
)

// guardian is the base address policy from code.dny.dev/ssrf. Ports and
// network types are not its business here: any port is allowed by the
// contract, and callers only ever hand IsPublic an address.
var guardian = ssrf.New(ssrf.WithAnyPort(), ssrf.WithAnyNetwork())

// nat64WellKnown is the NAT64 well-known prefix (RFC 6052), whose last 32
// bits are the IPv4 address the translator forwards to.
var nat64WellKnown = netip.MustParsePrefix("64:ff9b::/96")

// contractDenied lists every range api-contract §4 names, plus the other
// special-purpose ranges ssrf v0.3.0 denies. ssrf already rejects all of
// them; we check them ourselves as well so that a library upgrade that
// narrows its lists cannot silently loosen what the contract promises.
var contractDenied = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",          // "this network", includes the unspecified 0.0.0.0
		"10.0.0.0/8",         // RFC 1918
		"100.64.0.0/10",      // carrier-grade NAT (RFC 6598)
		"127.0.0.0/8",        // loopback
		"169.254.0.0/16",     // link-local, includes cloud metadata 169.254.169.254
		"172.16.0.0/12",      // RFC 1918
		"192.0.0.0/24",       // IETF protocol assignments
		"192.0.2.0/24",       // documentation TEST-NET-1
		"192.168.0.0/16",     // RFC 1918
		"198.18.0.0/15",      // benchmarking
		"198.51.100.0/24",    // documentation TEST-NET-2
		"203.0.113.0/24",     // documentation TEST-NET-3
		"224.0.0.0/4",        // multicast
		"240.0.0.0/4",        // reserved, includes broadcast 255.255.255.255
		"::/96",              // unspecified, loopback ::1 and deprecated IPv4-compatible ::a.b.c.d
		"64:ff9b:1::/48",     // local-use NAT64 (RFC 8215)
		"2001::/32",          // Teredo
		"2001:db8::/32",      // documentation
		"2002::/16",          // 6to4
		"fc00::/7",           // unique-local
		"fe80::/10",          // link-local
		"fec0::/10",          // deprecated site-local
		"ff00::/8",           // multicast
		"2001:10::/28",       // deprecated ORCHID
		"100::/64",           // discard-only
		"3fff::/20",          // documentation (RFC 9637)
		"5f00::/16",          // SRv6 SIDs (RFC 9602)
		"2620:4f:8000::/48",  // AS112 direct delegation
		"192.88.99.0/24",     // deprecated 6to4 relay anycast
		"192.31.196.0/24",    // AS112-v4
		"192.52.193.0/24",    // AMT
		"192.175.48.0/24",    // AS112 direct delegation
		"255.255.255.255/32", // limited broadcast, named separately for clarity
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// IsPublic reports whether a is an address the gateway may deliver webhooks
// to. It is the single address policy of the gateway: Check applies it to IP
// literals and to every address a host name resolves to, and the delivery
// dialer must apply it again to the address it actually connects to, because
// DNS can change after registration.
//
// The base policy is code.dny.dev/ssrf (IANA special-purpose IPv4 ranges
// denied; IPv6 outside global unicast 2000::/3 denied, as are the special
// ranges inside it). On top of it, IsPublic covers these gaps:
//
//   - The zero netip.Addr is not public; ssrf treats it as an IPv4 address
//     that matches no denied range and lets it through.
//   - An address with a zone (fe80::1%eth0, but also 2606::1%eth0) is not
//     public; ssrf ignores zones, yet a zone ties an address to a local
//     interface, which is never where a public receiver lives.
//   - Every range the contract names is checked here directly as well (see
//     contractDenied), so the policy does not depend on the library's lists.
//
// How addresses that embed an IPv4 address are treated:
//
//   - IPv4-mapped ::ffff:a.b.c.d is judged as the IPv4 address it embeds,
//     so ::ffff:10.0.0.1 is rejected and ::ffff:93.184.215.14 accepted. ssrf
//     rejects all of ::ffff:0:0/96, but the Go resolver hands back IPv4
//     answers in this 16-byte form and the kernel dials such an address as
//     plain IPv4, so the IPv4 verdict is the one that matters.
//   - NAT64 well-known 64:ff9b::/96 is judged as the IPv4 address in its last
//     32 bits, so that deployments on IPv6-only networks with DNS64 keep
//     working, while 64:ff9b::7f00:1 (127.0.0.1) is rejected. ssrf rejects
//     the whole prefix.
//   - Local-use NAT64 64:ff9b:1::/48 is always rejected: its address layout
//     and the network behind it are operator-defined, so the embedded IPv4
//     cannot be trusted to be the destination.
//   - IPv4-compatible ::a.b.c.d (deprecated by RFC 4291) is always rejected.
//   - 6to4 2002::/16 and Teredo 2001::/32 are always rejected, whatever the
//     IPv4 they embed: both are deprecated transition mechanisms routed
//     through third-party relays, and Teredo stores its client address
//     obfuscated, so checking the embedded IPv4 would be unreliable. No
//     legitimate webhook receiver needs them.
//
// IsPublic does not know about Checker.Allowed, which is a test-only escape
// hatch applied by Check.
func IsPublic(a netip.Addr) bool {
	if !a.IsValid() || a.Zone() != "" {
		return false
	}
	if a.Is4In6() {
		a = a.Unmap()
	}
	if a.Is6() && nat64WellKnown.Contains(a) {
		b := a.As16()
		return IsPublic(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
	}
	for _, p := range contractDenied {
		if p.Contains(a) {
			return false
		}
	}
	return guardian.SafeAddr(a) == nil
}
