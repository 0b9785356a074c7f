package urlcheck

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeResolver answers from a map of host name to addresses. A name that is
// absent is NXDOMAIN; a name mapped to an empty list has no addresses. It
// records the names it was asked for.
type fakeResolver struct {
	mu      sync.Mutex
	answers map[string][]net.IPAddr
	asked   []string
}

func newFakeResolver(t *testing.T, answers map[string][]string) *fakeResolver {
	t.Helper()
	r := &fakeResolver{answers: map[string][]net.IPAddr{}}
	for name, addrs := range answers {
		list := []net.IPAddr{}
		for _, s := range addrs {
			ip, zone, _ := strings.Cut(s, "%")
			parsed := net.ParseIP(ip) // IPv4 comes back in 16-byte form, as from the real resolver
			if parsed == nil {
				t.Fatalf("bad address %q in fake resolver", s)
			}
			list = append(list, net.IPAddr{IP: parsed, Zone: zone})
		}
		r.answers[name] = list
	}
	return r
}

func (r *fakeResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.asked = append(r.asked, host)
	addrs, ok := r.answers[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, Server: "10.0.0.53:53", IsNotFound: true}
	}
	return addrs, nil
}

func (r *fakeResolver) lookups() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.asked...)
}

// testAnswers is the fake DNS used by most tests.
var testAnswers = map[string][]string{
	"public.example":        {"93.184.215.14"},
	"v6.example":            {"2606:2800:220:1::1"},
	"dual.example":          {"93.184.215.14", "2606:2800:220:1::1"},
	"xn--bcher-kva.example": {"93.184.215.14"},
	"r3---sn-abc.example":   {"93.184.215.14"},
	"private.example":       {"10.0.0.5"},
	"metadata.example":      {"169.254.169.254"},
	"loopback.example":      {"127.0.0.1"},
	"mixed.example":         {"93.184.215.14", "127.0.0.1"},
	"mixed6.example":        {"2606:2800:220:1::1", "fd00::1"},
	"ula.example":           {"fd12:3456::1"},
	"mapped.example":        {"::ffff:10.0.0.1"},
	"nat64.example":         {"64:ff9b::a00:1"},
	"nat64public.example":   {"64:ff9b::5db8:d70e"},
	"zoned.example":         {"2606:2800:220:1::1%eth0"},
	"empty.example":         {},
	"single":                {"93.184.215.14"},
}

// assertReason fails unless err is an *Error with the wanted reason, or nil
// when want is empty.
func assertReason(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("unexpected rejection: %v", err)
		}
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want *Error with reason %q", err, err, want)
	}
	if e.Reason != want {
		t.Fatalf("reason = %q (%v), want %q", e.Reason, err, want)
	}
	if e.Message == "" || e.Message != messages[e.Reason] {
		t.Fatalf("message = %q, want the fixed message for %q", e.Message, e.Reason)
	}
}

func TestCheck(t *testing.T) {
	long := "https://public.example/" + strings.Repeat("a", MaxLength-len("https://public.example/"))
	tests := []struct {
		name   string
		raw    string
		reason string // "" means accepted
		key    string // checked when accepted
	}{
		// Accepted.
		{"public v4 literal", "https://93.184.215.14/hook", "", "https://93.184.215.14/hook"},
		{"public v6 literal with port", "https://[2606:2800:220:1::1]:8443/x", "", "https://[2606:2800:220:1::1]:8443/x"},
		{"v6 literal normalised", "https://[2606:2800:0220:0001:0:0:0:0001]/x", "", "https://[2606:2800:220:1::1]/x"},
		{"v6 literal upper case", "https://[2606:2800:220:1::ABCD]/", "", "https://[2606:2800:220:1::abcd]/"},
		{"mapped public literal", "https://[::ffff:93.184.215.14]/", ReasonNonCanonicalIP, ""},
		{"mapped public literal in hex", "https://[::ffff:5db8:d70e]/", ReasonNonCanonicalIP, ""},
		{"nat64 public literal", "https://[64:ff9b::5db8:d70e]/", ReasonNonCanonicalIP, ""},
		{"nat64 public literal dotted", "https://[64:ff9b::93.184.215.14]:8443/", ReasonNonCanonicalIP, ""},
		{"fragment", "https://public.example/hook#frag", ReasonFragment, ""},
		{"empty fragment", "https://93.184.215.14/hook#", ReasonFragment, ""},
		{"fragment only", "https://public.example#", ReasonFragment, ""},
		{"escaped hash is a path character", "https://public.example/a%23b", "", "https://public.example/a%23b"},
		{"public name", "https://public.example/hook", "", "https://public.example/hook"},
		{"case and default port", "HTTPS://Public.EXAMPLE:443/Path?Q=1", "", "https://public.example/Path?Q=1"},
		{"port kept", "https://public.example:8443/", "", "https://public.example:8443/"},
		{"port leading zeros", "https://public.example:08443/", "", "https://public.example:8443/"},
		{"port 1", "https://public.example:1/", "", "https://public.example:1/"},
		{"port 65535", "https://public.example:65535/", "", "https://public.example:65535/"},
		{"empty port", "https://public.example:/", "", "https://public.example/"},
		{"trailing dot on name", "https://public.example./x", "", "https://public.example/x"},
		{"empty path", "https://public.example", "", "https://public.example/"},
		{"v6 name", "https://v6.example/", "", "https://v6.example/"},
		{"dual stack name", "https://dual.example/", "", "https://dual.example/"},
		{"idn name", "https://bücher.example/", "", "https://xn--bcher-kva.example/"},
		{"idn name upper case", "https://BÜCHER.example/", "", "https://xn--bcher-kva.example/"},
		{"punycode name", "https://xn--bcher-kva.example/", "", "https://xn--bcher-kva.example/"},
		{"double hyphens", "https://r3---sn-abc.example/", "", "https://r3---sn-abc.example/"},
		{"nat64 public answer", "https://nat64public.example/", "", "https://nat64public.example/"},
		{"single label", "https://single/", "", "https://single/"},
		{"exactly max length", long, "", long},
		{"path case kept", "https://public.example/A/b%2Fc?x=Y&a=b", "", "https://public.example/A/b%2Fc?x=Y&a=b"},

		// Scheme.
		{"http", "http://public.example/", ReasonScheme, ""},
		{"HTTP", "HTTP://public.example/", ReasonScheme, ""},
		{"ftp", "ftp://public.example/", ReasonScheme, ""},
		{"wss", "wss://public.example/", ReasonScheme, ""},
		{"javascript", "javascript:alert(1)", ReasonScheme, ""},
		{"file", "file:///etc/passwd", ReasonScheme, ""},

		// Malformed.
		{"empty", "", ReasonMalformed, ""},
		{"no scheme", "public.example/hook", ReasonMalformed, ""},
		{"scheme relative", "//public.example/hook", ReasonMalformed, ""},
		{"leading space", " https://public.example/", ReasonMalformed, ""},
		{"control character", "https://public.example/\x7f", ReasonMalformed, ""},
		{"bad escape", "https://public.example/%zz", ReasonMalformed, ""},
		{"unclosed bracket", "https://[2606:2800:220:1::1/", ReasonMalformed, ""},
		{"bracketed v4", "https://[93.184.215.14]/", ReasonMalformed, ""},
		{"bracketed junk", "https://[public.example]/", ReasonMalformed, ""},
		{"port zero", "https://public.example:0/", ReasonMalformed, ""},
		{"port too big", "https://public.example:65536/", ReasonMalformed, ""},
		{"port not numeric", "https://public.example:https/", ReasonMalformed, ""},
		{"underscore", "https://pub_lic.example/", ReasonMalformed, ""},
		{"empty label", "https://public..example/", ReasonMalformed, ""},
		{"two trailing dots", "https://public.example../", ReasonMalformed, ""},
		{"leading dot", "https://.public.example/", ReasonMalformed, ""},
		{"ideographic trailing dot", "https://public.example。/", ReasonMalformed, ""},
		{"label too long", "https://" + strings.Repeat("a", 64) + ".example/", ReasonMalformed, ""},
		{"quote in host", "https://pub\"lic.example/", ReasonMalformed, ""},
		{"percent in host", "https://%25/", ReasonMalformed, ""},
		{"bad punycode", "https://xn--zz.example/", ReasonMalformed, ""},

		// No host.
		{"triple slash", "https:///hook", ReasonNoHost, ""},
		{"only scheme", "https://", ReasonNoHost, ""},
		{"opaque", "https:public.example/hook", ReasonNoHost, ""},
		{"only port", "https://:443/", ReasonNoHost, ""},
		{"only dot", "https://./", ReasonNoHost, ""},

		// Userinfo.
		{"user and password", "https://user:pw@public.example/", ReasonUserinfo, ""},
		{"user", "https://user@public.example/", ReasonUserinfo, ""},
		{"empty user", "https://@public.example/", ReasonUserinfo, ""},
		{"password only", "https://:pw@public.example/", ReasonUserinfo, ""},
		{"userinfo hiding private host", "https://public.example@127.0.0.1/", ReasonUserinfo, ""},
		{"backslash confusion", "https://127.0.0.1\\@public.example/", ReasonMalformed, ""},
		{"tab in host", "https://public.exa\tmple/", ReasonMalformed, ""},
		{"newline", "https://public.example/\nHost: x", ReasonMalformed, ""},

		// Length.
		{"one past max length", long + "a", ReasonTooLong, ""},
		{"far too long", "https://" + strings.Repeat("a", 5000), ReasonTooLong, ""},

		// Non-public literals.
		{"loopback", "https://127.0.0.1/", ReasonNonPublic, ""},
		{"loopback other", "https://127.53.0.1:8443/", ReasonNonPublic, ""},
		{"rfc1918 10", "https://10.0.0.1/", ReasonNonPublic, ""},
		{"rfc1918 172", "https://172.16.5.4/", ReasonNonPublic, ""},
		{"rfc1918 192", "https://192.168.1.1/", ReasonNonPublic, ""},
		{"metadata", "https://169.254.169.254/latest/meta-data/", ReasonNonPublic, ""},
		{"cgnat", "https://100.64.0.1/", ReasonNonPublic, ""},
		{"unspecified", "https://0.0.0.0/", ReasonNonPublic, ""},
		{"this network", "https://0.1.2.3/", ReasonNonPublic, ""},
		{"broadcast", "https://255.255.255.255/", ReasonNonPublic, ""},
		{"reserved", "https://240.0.0.1/", ReasonNonPublic, ""},
		{"multicast", "https://224.0.0.1/", ReasonNonPublic, ""},
		{"doc 1", "https://192.0.2.1/", ReasonNonPublic, ""},
		{"doc 2", "https://198.51.100.1/", ReasonNonPublic, ""},
		{"doc 3", "https://203.0.113.1/", ReasonNonPublic, ""},
		{"benchmarking", "https://198.19.0.1/", ReasonNonPublic, ""},
		{"ietf", "https://192.0.0.8/", ReasonNonPublic, ""},
		{"v6 loopback", "https://[::1]/", ReasonNonPublic, ""},
		{"v6 unspecified", "https://[::]/", ReasonNonPublic, ""},
		{"v6 link local", "https://[fe80::1]/", ReasonNonPublic, ""},
		{"v6 unique local", "https://[fd00::1]/", ReasonNonPublic, ""},
		{"v6 multicast", "https://[ff02::1]/", ReasonNonPublic, ""},
		{"v6 documentation", "https://[2001:db8::1]/", ReasonNonPublic, ""},
		{"mapped loopback", "https://[::ffff:127.0.0.1]/", ReasonNonPublic, ""},
		{"mapped loopback hex", "https://[::ffff:7f00:1]/", ReasonNonPublic, ""},
		{"mapped metadata", "https://[::ffff:169.254.169.254]/", ReasonNonPublic, ""},
		{"compatible loopback", "https://[::127.0.0.1]/", ReasonNonPublic, ""},
		{"compatible public", "https://[::93.184.215.14]/", ReasonNonPublic, ""},
		{"nat64 loopback", "https://[64:ff9b::7f00:1]/", ReasonNonPublic, ""},
		{"nat64 metadata", "https://[64:ff9b::169.254.169.254]/", ReasonNonPublic, ""},
		{"local nat64", "https://[64:ff9b:1::5db8:d70e]/", ReasonNonPublic, ""},
		{"6to4 loopback", "https://[2002:7f00:1::1]/", ReasonNonPublic, ""},
		{"6to4 public", "https://[2002:5db8:d70e::1]/", ReasonNonPublic, ""},
		{"teredo", "https://[2001:0:5db8:d70e::1]/", ReasonNonPublic, ""},

		// Zones.
		{"link local zone", "https://[fe80::1%25eth0]/", ReasonZone, ""},
		{"global zone", "https://[2606:2800:220:1::1%25eth0]/", ReasonZone, ""},

		// Odd IPv4 spellings, public or not.
		{"decimal", "https://2130706433/", ReasonNonCanonicalIP, ""},
		{"hex dotted", "https://0x7f.1/", ReasonNonCanonicalIP, ""},
		{"hex dotted upper", "https://0X7F.1/", ReasonNonCanonicalIP, ""},
		{"octal", "https://0177.0.0.1/", ReasonNonCanonicalIP, ""},
		{"short", "https://127.1/", ReasonNonCanonicalIP, ""},
		{"hex", "https://0x7f000001/", ReasonNonCanonicalIP, ""},
		{"trailing dot", "https://127.0.0.1./", ReasonNonCanonicalIP, ""},
		{"public trailing dot", "https://93.184.215.14./", ReasonNonCanonicalIP, ""},
		{"public decimal", "https://1572394766/", ReasonNonCanonicalIP, ""},
		{"public hex", "https://0x5db8d70e/", ReasonNonCanonicalIP, ""},
		{"leading zero", "https://093.184.215.14/", ReasonNonCanonicalIP, ""},
		{"leading zero last", "https://93.184.215.014/", ReasonNonCanonicalIP, ""},
		{"five parts", "https://1.2.3.4.5/", ReasonNonCanonicalIP, ""},
		{"octet overflow", "https://93.184.215.256/", ReasonNonCanonicalIP, ""},
		{"bare 0x", "https://0x/", ReasonNonCanonicalIP, ""},
		{"numeric tld", "https://public.example.123/", ReasonNonCanonicalIP, ""},
		{"full-width digits", "https://１２７.０.０.１/", ReasonNonCanonicalIP, ""},
		{"ideographic full stops", "https://127。0。0。1/", ReasonNonCanonicalIP, ""},

		// Names.
		{"localhost", "https://localhost/", ReasonNonPublic, ""},
		{"localhost upper", "https://LOCALHOST:8443/", ReasonNonPublic, ""},
		{"localhost dot", "https://localhost./", ReasonNonPublic, ""},
		{"under localhost", "https://api.localhost/", ReasonNonPublic, ""},
		{"private answer", "https://private.example/", ReasonNonPublic, ""},
		{"metadata answer", "https://metadata.example/", ReasonNonPublic, ""},
		{"loopback answer", "https://loopback.example/", ReasonNonPublic, ""},
		{"mixed answer", "https://mixed.example/", ReasonNonPublic, ""},
		{"mixed v6 answer", "https://mixed6.example/", ReasonNonPublic, ""},
		{"ula answer", "https://ula.example/", ReasonNonPublic, ""},
		{"mapped private answer", "https://mapped.example/", ReasonNonPublic, ""},
		{"nat64 private answer", "https://nat64.example/", ReasonNonPublic, ""},
		{"zoned answer", "https://zoned.example/", ReasonNonPublic, ""},
		{"nxdomain", "https://nxdomain.example/", ReasonUnresolvable, ""},
		{"no addresses", "https://empty.example/", ReasonUnresolvable, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Checker{Resolver: newFakeResolver(t, testAnswers)}
			key, err := c.Check(context.Background(), tt.raw)
			assertReason(t, err, tt.reason)
			if tt.reason == "" && key != tt.key {
				t.Errorf("key = %q, want %q", key, tt.key)
			}
			if tt.reason != "" && key != "" {
				t.Errorf("key = %q on rejection, want empty", key)
			}
		})
	}
}

// TestCheckDoesNotResolveLiterals makes sure IP literals, odd IPv4 spellings
// and localhost never reach the resolver.
func TestCheckDoesNotResolveLiterals(t *testing.T) {
	for _, raw := range []string{
		"https://93.184.215.14/", "https://127.0.0.1/", "https://[2606:2800:220:1::1]/",
		"https://[::1]/", "https://2130706433/", "https://0x7f.1/", "https://127.1/",
		"https://localhost/", "https://a.b.localhost/", "https://１２７.０.０.１/",
	} {
		t.Run(raw, func(t *testing.T) {
			r := newFakeResolver(t, nil)
			c := &Checker{Resolver: r}
			_, _ = c.Check(context.Background(), raw)
			if got := r.lookups(); len(got) != 0 {
				t.Errorf("resolver was asked for %q", got)
			}
		})
	}
}

func TestCheckResolvesASCIIName(t *testing.T) {
	r := newFakeResolver(t, testAnswers)
	c := &Checker{Resolver: r}
	if _, err := c.Check(context.Background(), "https://Bücher.Example./"); err != nil {
		t.Fatal(err)
	}
	if got := r.lookups(); len(got) != 1 || got[0] != "xn--bcher-kva.example" {
		t.Fatalf("lookups = %q, want [xn--bcher-kva.example]", got)
	}
}

// hangingResolver blocks until its context ends, like a resolver whose
// server never answers.
type hangingResolver struct{}

func (hangingResolver) LookupIPAddr(ctx context.Context, _ string) ([]net.IPAddr, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// stubbornResolver ignores its context and blocks until release is closed.
type stubbornResolver struct{ release chan struct{} }

func (r stubbornResolver) LookupIPAddr(context.Context, string) ([]net.IPAddr, error) {
	<-r.release
	return []net.IPAddr{{IP: net.ParseIP("93.184.215.14")}}, nil
}

func TestCheckLookupTimeout(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	tests := []struct {
		name     string
		resolver Resolver
	}{
		{"honours context", hangingResolver{}},
		{"ignores context", stubbornResolver{release}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Checker{Resolver: tt.resolver, LookupTimeout: 50 * time.Millisecond}
			start := time.Now()
			_, err := c.Check(context.Background(), "https://slow.example/")
			elapsed := time.Since(start)
			assertReason(t, err, ReasonUnresolvable)
			if elapsed > time.Second {
				t.Errorf("Check took %v despite a 50ms lookup timeout", elapsed)
			}
		})
	}
}

// deadlineResolver records the deadline of the context it is given.
type deadlineResolver struct {
	deadline chan time.Time
}

func (r deadlineResolver) LookupIPAddr(ctx context.Context, _ string) ([]net.IPAddr, error) {
	d, _ := ctx.Deadline()
	r.deadline <- d
	return []net.IPAddr{{IP: net.ParseIP("93.184.215.14")}}, nil
}

func TestCheckDefaultLookupTimeout(t *testing.T) {
	for _, timeout := range []time.Duration{0, -time.Second} {
		r := deadlineResolver{make(chan time.Time, 1)}
		c := &Checker{Resolver: r, LookupTimeout: timeout}
		start := time.Now()
		if _, err := c.Check(context.Background(), "https://public.example/"); err != nil {
			t.Fatal(err)
		}
		d := <-r.deadline
		if d.IsZero() {
			t.Fatalf("LookupTimeout %v: lookup had no deadline", timeout)
		}
		if got := d.Sub(start); got < DefaultLookupTimeout-time.Second || got > DefaultLookupTimeout+time.Second {
			t.Errorf("LookupTimeout %v: deadline %v after start, want about %v", timeout, got, DefaultLookupTimeout)
		}
	}
}

func TestCheckCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := &Checker{Resolver: hangingResolver{}}
	_, err := c.Check(ctx, "https://slow.example/")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	var e *Error
	if errors.As(err, &e) {
		t.Fatalf("a cancelled request was reported as a URL rejection: %v", err)
	}
}

// TestCheckMessagesHideDetail makes sure nothing from the resolver or the
// URL leaks into client-facing messages.
func TestCheckMessagesHideDetail(t *testing.T) {
	c := &Checker{Resolver: newFakeResolver(t, testAnswers)}
	for _, raw := range []string{"https://nxdomain.example/", "https://private.example/", "https://10.0.0.1/"} {
		_, err := c.Check(context.Background(), raw)
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("%s: err = %v", raw, err)
		}
		for _, secret := range []string{"10.0.0", "no such host", "example", "53"} {
			if strings.Contains(e.Message, secret) {
				t.Errorf("%s: message %q leaks %q", raw, e.Message, secret)
			}
		}
		if !strings.Contains(e.Error(), e.Reason) {
			t.Errorf("Error() = %q lacks the reason", e.Error())
		}
	}
	for reason, msg := range messages {
		if msg == "" || !strings.HasSuffix(msg, ".") {
			t.Errorf("message for %q is not a sentence: %q", reason, msg)
		}
	}
}

func TestCheckZeroValue(t *testing.T) {
	var c Checker // nil Resolver: literals never touch net.DefaultResolver
	if _, err := c.Check(context.Background(), "https://93.184.215.14/"); err != nil {
		t.Fatal(err)
	}
	_, err := c.Check(context.Background(), "https://127.0.0.1/")
	assertReason(t, err, ReasonNonPublic)
}

func TestCheckAllowed(t *testing.T) {
	c := &Checker{
		Resolver: newFakeResolver(t, testAnswers),
		Allowed:  []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("fd00::/8")},
	}
	tests := []struct {
		raw    string
		reason string
	}{
		{"https://127.0.0.1:8443/hook", ""},
		{"https://[::ffff:127.0.0.1]/", ReasonNonCanonicalIP}, // allowed, but spelled as IPv6
		{"https://loopback.example/", ""},
		{"https://mixed.example/", ""},
		{"https://[fd00::1]/", ""},
		{"https://93.184.215.14/", ""},
		{"https://10.0.0.1/", ReasonNonPublic},
		{"https://private.example/", ReasonNonPublic},
		{"https://localhost/", ReasonNonPublic},
		{"https://127.1/", ReasonNonCanonicalIP},
		{"https://[fd00::1%25eth0]/", ReasonZone},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			_, err := c.Check(context.Background(), tt.raw)
			assertReason(t, err, tt.reason)
		})
	}
}

func TestIsPublic(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"93.184.215.14", true},
		{"8.8.8.8", true},
		{"1.1.1.1", true},
		{"2606:2800:220:1::1", true},
		{"2a00:1450:4001:80b::200e", true},
		{"::ffff:93.184.215.14", true},
		{"64:ff9b::5db8:d70e", true},

		{"0.0.0.0", false},
		{"0.255.255.255", false},
		{"10.1.2.3", false},
		{"100.64.0.1", false},
		{"100.127.255.255", false},
		{"127.0.0.1", false},
		{"127.255.255.254", false},
		{"169.254.169.254", false},
		{"172.16.0.1", false},
		{"172.31.255.255", false},
		{"192.0.0.1", false},
		{"192.0.2.1", false},
		{"192.168.0.1", false},
		{"198.18.0.1", false},
		{"198.19.255.255", false},
		{"198.51.100.7", false},
		{"203.0.113.9", false},
		{"224.0.0.251", false},
		{"239.255.255.250", false},
		{"240.0.0.1", false},
		{"255.255.255.255", false},

		{"::", false},
		{"::1", false},
		{"fe80::1", false},
		{"febf::1", false},
		{"fc00::1", false},
		{"fdff::1", false},
		{"ff02::1", false},
		{"2001:db8::1", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:10.0.0.1", false},
		{"::ffff:0.0.0.0", false},
		{"::127.0.0.1", false},
		{"::93.184.215.14", false},
		{"64:ff9b::7f00:1", false},
		{"64:ff9b::a00:1", false},
		{"64:ff9b::c0a8:1", false},
		{"64:ff9b::", false},
		{"64:ff9b:1::5db8:d70e", false},
		{"64:ff9b:1::7f00:1", false},
		{"2002:7f00:1::", false},
		{"2002:a00:1::", false},
		{"2002:5db8:d70e::1", false},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", false},
		{"2001::1", false},
		{"fe80::1%eth0", false},
		{"2606:2800:220:1::1%eth0", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := IsPublic(netip.MustParseAddr(tt.addr)); got != tt.want {
				t.Errorf("IsPublic(%s) = %v, want %v", tt.addr, got, tt.want)
			}
		})
	}
	t.Run("zero Addr", func(t *testing.T) {
		if IsPublic(netip.Addr{}) {
			t.Error("IsPublic(netip.Addr{}) = true")
		}
	})
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"HTTPS://Example.COM:443/Path", "https://example.com/Path"},
		{"https://example.com:8443/Path", "https://example.com:8443/Path"},
		{"https://example.com:08443/", "https://example.com:8443/"},
		{"https://example.com:/x", "https://example.com/x"},
		{"https://example.com", "https://example.com/"},
		{"https://example.com.", "https://example.com/"},
		{"https://example.com../a", "https://example.com/a"},
		{"https://example.com/a?b=C#Frag", "https://example.com/a?b=C"},
		{"https://example.com/a?", "https://example.com/a?"},
		{"https://example.com/A%2Fb/c%20d", "https://example.com/A%2Fb/c%20d"},
		{"https://user:pw@example.com/", "https://example.com/"},
		{"https://Bücher.example/", "https://xn--bcher-kva.example/"},
		{"https://XN--BCHER-KVA.example/", "https://xn--bcher-kva.example/"},
		{"https://ＥＸＡＭＰＬＥ.com/", "https://example.com/"},
		{"https://example.com。/", "https://example.com/"},
		{"https://[2606:2800:220:1:0:0:0:1]:443/", "https://[2606:2800:220:1::1]/"},
		{"https://[2606:2800:220:1::1]:8443/", "https://[2606:2800:220:1::1]:8443/"},
		{"https://[FE80::1%25eth0]/", "https://[fe80::1%25eth0]/"},
		{"https://93.184.215.14:443/x", "https://93.184.215.14/x"},
		{"https://0X7F.1/", "https://0x7f.1/"},
		{"http://Example.com:80/", "http://example.com/"},
		{"http://example.com:443/", "http://example.com:443/"},
		{"https://exa_mple.COM/", "https://exa_mple.com/"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			u, err := url.Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got := Normalize(u)
			if got != tt.want {
				t.Fatalf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
			assertIdempotent(t, got)
		})
	}
}

// assertIdempotent fails unless key parses and normalises to itself.
func assertIdempotent(t *testing.T, key string) {
	t.Helper()
	u, err := url.Parse(key)
	if err != nil {
		t.Fatalf("normalised key %q does not parse: %v", key, err)
	}
	if again := Normalize(u); again != key {
		t.Fatalf("Normalize is not idempotent: %q -> %q", key, again)
	}
}

func TestEndsInNumber(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"127.0.0.1", true},
		{"2130706433", true},
		{"0x7f.1", true},
		{"a.0x", true},
		{"a.0XAB", true},
		{"example.com", false},
		{"1.2.3.com", false},
		{"a.0xg", false},
		{"a.12a", false},
		{"x", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			if got := endsInNumber(tt.host); got != tt.want {
				t.Errorf("endsInNumber(%q) = %v, want %v", tt.host, got, tt.want)
			}
		})
	}
}
