package urlcheck

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

// mapResolver is a fast, stateless resolver for fuzzing.
type mapResolver map[string][]net.IPAddr

func (m mapResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	if addrs, ok := m[host]; ok {
		return addrs, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		"https://93.184.215.14/hook",
		"https://[2606:2800:220:1::1]:8443/x",
		"HTTPS://Public.EXAMPLE:443/Path?q=1#frag",
		"https://public.example./x",
		"https://bücher.example/",
		"https://BÜCHER.example:0443",
		"https://xn--bcher-kva.example/",
		"https://private.example/",
		"https://mixed.example/",
		"https://nat64.example/",
		"https://user:pw@public.example/",
		"https://@public.example/",
		"https://2130706433/",
		"https://0x7f.1/",
		"https://0177.0.0.1/",
		"https://127.1/",
		"https://0x7f000001/",
		"https://127.0.0.1./",
		"https://１２７.０.０.１/",
		"https://127。0。0。1/",
		"https://[::ffff:127.0.0.1]/",
		"https://[::ffff:93.184.215.14]/",
		"https://[64:ff9b::7f00:1]/",
		"https://[2002:7f00:1::1]/",
		"https://[2001:0:5db8:d70e::1]/",
		"https://[fe80::1%25eth0]/",
		"https://localhost/",
		"https://a.localhost./",
		"http://public.example/",
		"https:public.example",
		"https:///x",
		"https://public.example:65536/",
		"https://public.example/%zz",
		"https://public.example/a%2Fb?x=%20#y",
		"https://public.example。/",
		"https://%25/",
		"",
	} {
		f.Add(s)
	}
	answers := mapResolver{}
	for name, addrs := range testAnswers {
		list := []net.IPAddr{}
		for _, s := range addrs {
			ip, zone, _ := strings.Cut(s, "%")
			list = append(list, net.IPAddr{IP: net.ParseIP(ip), Zone: zone})
		}
		answers[name] = list
	}
	c := &Checker{Resolver: answers}

	f.Fuzz(func(t *testing.T, raw string) {
		key, err := c.Check(context.Background(), raw)

		// Idempotence is promised for absolute URLs; a relative reference
		// such as "//@//" has no unambiguous string form once its empty
		// userinfo is dropped, and is never a webhook URL anyway.
		if u, perr := url.Parse(raw); perr == nil && u.Scheme != "" {
			k := Normalize(u)
			u2, err2 := url.Parse(k)
			if err2 != nil {
				t.Fatalf("Normalize(%q) = %q, which does not parse: %v", raw, k, err2)
			}
			if k2 := Normalize(u2); k2 != k {
				t.Fatalf("Normalize not idempotent for %q: %q -> %q", raw, k, k2)
			}
		}

		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Check(%q) error %v (%T) is not *Error", raw, err, err)
			}
			if _, ok := messages[e.Reason]; !ok || e.Message != messages[e.Reason] {
				t.Fatalf("Check(%q): unknown reason or message %q / %q", raw, e.Reason, e.Message)
			}
			if key != "" {
				t.Fatalf("Check(%q) rejected but returned key %q", raw, key)
			}
			return
		}

		if len(raw) > MaxLength {
			t.Fatalf("accepted %d-byte URL", len(raw))
		}
		u, perr := url.Parse(raw)
		if perr != nil {
			t.Fatalf("accepted %q which url.Parse rejects: %v", raw, perr)
		}
		if !strings.EqualFold(u.Scheme, "https") {
			t.Fatalf("accepted %q with scheme %q", raw, u.Scheme)
		}
		if u.User != nil {
			t.Fatalf("accepted %q with userinfo", raw)
		}
		if u.Hostname() == "" {
			t.Fatalf("accepted %q without a host", raw)
		}
		if a, err := netip.ParseAddr(u.Hostname()); err == nil && !IsPublic(a) {
			t.Fatalf("accepted %q with non-public literal %s", raw, a)
		}
		if key != Normalize(u) {
			t.Fatalf("Check(%q) key %q != Normalize %q", raw, key, Normalize(u))
		}
		ku, kerr := url.Parse(key)
		if kerr != nil {
			t.Fatalf("key %q does not parse: %v", key, kerr)
		}
		if ku.Scheme != "https" || ku.User != nil || ku.Fragment != "" {
			t.Fatalf("key %q is not a bare https URL", key)
		}
		if a, err := netip.ParseAddr(ku.Hostname()); err == nil && !IsPublic(a) {
			t.Fatalf("key %q has non-public literal %s", key, a)
		}
		// The key itself must pass the same check: what we store as the
		// identity of a webhook is a valid webhook URL.
		if len(key) <= MaxLength {
			if k2, err := c.Check(context.Background(), key); err != nil || k2 != key {
				t.Fatalf("key %q of accepted %q does not check to itself: %q, %v", key, raw, k2, err)
			}
		}
	})
}
