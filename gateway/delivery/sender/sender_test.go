package sender_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/gateway/delivery/sender"
)

// loopback is what the tests allow, since their receivers run locally.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// receiver is a local HTTPS server that counts the connections it accepted
// and the requests that reached its handler.
type receiver struct {
	*httptest.Server
	conns    atomic.Int32
	requests atomic.Int32
}

// newReceiver starts an HTTPS receiver running h; tlsConf, when not nil,
// replaces the server's TLS settings (its certificate is kept).
func newReceiver(t *testing.T, h http.HandlerFunc, tlsConf *tls.Config) *receiver {
	t.Helper()
	r := &receiver{}
	r.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.requests.Add(1)
		h(w, req)
	}))
	r.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			r.conns.Add(1)
		}
	}
	r.Config.ErrorLog = log.New(io.Discard, "", 0) // failed handshakes are expected
	r.TLS = tlsConf
	r.StartTLS()
	t.Cleanup(r.Close)
	return r
}

// pool returns a certificate pool trusting r.
func (r *receiver) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(r.Certificate())
	return p
}

// port returns r's port.
func (r *receiver) port() string {
	_, port, _ := net.SplitHostPort(r.Listener.Addr().String())
	return port
}

// status answers with code, the given headers and body.
func status(code int, header map[string]string, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

// hang reads the request and then answers nothing until the client goes
// away. (The server notices a closed connection only once the body is read.)
func hang(_ http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	<-r.Context().Done()
}

// deadDNS returns a resolver whose every query goes to a UDP port nothing
// listens on, so that lookups fail at once.
func deadDNS(t *testing.T) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	_ = pc.Close()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
}

// closedPort returns a loopback address with no listener.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func intp(n int) *int { return &n }

func TestSendOutcomes(t *testing.T) {
	retryDate := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	tls11 := &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}

	tests := []struct {
		name     string
		handler  http.HandlerFunc
		tls      *tls.Config
		opts     func(r *receiver) sender.Options // nil: trust r, allow loopback
		url      func(r *receiver) string         // nil: r.URL + "/hook"
		class    string
		status   *int
		body     string
		gone     bool
		retry    [2]time.Duration // inclusive bounds of RetryAfter
		reached  bool             // the handler ran
		noDial   bool             // not even a TCP connection reached r
		maxDelay time.Duration
	}{
		{name: "200", handler: status(200, nil, "ok"), status: intp(200), body: "ok", reached: true},
		{name: "204", handler: status(204, nil, ""), status: intp(204), reached: true},
		{name: "500", handler: status(500, nil, "boom"), class: delivery.ErrClassHTTP, status: intp(500), body: "boom", reached: true},
		{name: "status outside HTTP's range", handler: status(999, nil, "odd"), class: delivery.ErrClassHTTP, body: "odd", reached: true},
		{name: "404", handler: status(404, nil, ""), class: delivery.ErrClassHTTP, status: intp(404), reached: true},
		{name: "redirect not followed", handler: status(302, map[string]string{"Location": "/elsewhere"}, ""),
			class: delivery.ErrClassRedirect, status: intp(302), reached: true},
		{name: "304 is a redirect class", handler: status(304, nil, ""), class: delivery.ErrClassRedirect, status: intp(304), reached: true},
		{name: "410 gone", handler: status(410, nil, "bye"), class: delivery.ErrClassHTTP, status: intp(410), body: "bye", gone: true, reached: true},
		{name: "429 retry-after seconds", handler: status(429, map[string]string{"Retry-After": "120"}, ""),
			class: delivery.ErrClassHTTP, status: intp(429), retry: [2]time.Duration{120 * time.Second, 120 * time.Second}, reached: true},
		{name: "503 retry-after date", handler: status(503, map[string]string{"Retry-After": retryDate}, ""),
			class: delivery.ErrClassHTTP, status: intp(503), retry: [2]time.Duration{58 * time.Minute, time.Hour}, reached: true},
		{name: "429 without retry-after", handler: status(429, nil, ""), class: delivery.ErrClassHTTP, status: intp(429), reached: true},
		{name: "500 retry-after ignored", handler: status(500, map[string]string{"Retry-After": "120"}, ""),
			class: delivery.ErrClassHTTP, status: intp(500), reached: true},
		{name: "timeout", handler: hang, class: delivery.ErrClassTimeout, reached: true, maxDelay: 3 * time.Second,
			opts: func(r *receiver) sender.Options {
				return sender.Options{Timeout: 200 * time.Millisecond, AllowCIDRs: loopback, RootCAs: r.pool()}
			}},
		{name: "connection refused", handler: status(200, nil, ""), class: delivery.ErrClassConnectionRefused, noDial: true,
			url: func(*receiver) string { return "https://" + closedPort(t) + "/hook" }},
		{name: "untrusted certificate", handler: status(200, nil, ""), class: delivery.ErrClassTLS,
			opts: func(*receiver) sender.Options { return sender.Options{AllowCIDRs: loopback} }},
		{name: "wrong host name", handler: status(200, nil, ""), class: delivery.ErrClassTLS,
			url: func(r *receiver) string { return "https://localhost:" + r.port() + "/hook" }}, // the certificate names example.com and IPs
		{name: "TLS 1.1 refused", handler: status(200, nil, ""), tls: tls11, class: delivery.ErrClassTLS},
		{name: "dns failure", handler: status(200, nil, ""), class: delivery.ErrClassDNS, noDial: true,
			opts: func(r *receiver) sender.Options {
				return sender.Options{AllowCIDRs: loopback, RootCAs: r.pool(), Resolver: deadDNS(t)}
			},
			url: func(r *receiver) string { return "https://receiver.example.test:" + r.port() + "/hook" }},
		{name: "loopback blocked", handler: status(200, nil, ""), class: delivery.ErrClassBlocked, noDial: true,
			opts: func(r *receiver) sender.Options { return sender.Options{RootCAs: r.pool()} }},
		{name: "name resolving to loopback blocked", handler: status(200, nil, ""), class: delivery.ErrClassBlocked, noDial: true,
			opts: func(r *receiver) sender.Options { return sender.Options{RootCAs: r.pool()} },
			url:  func(r *receiver) string { return "https://localhost:" + r.port() + "/hook" }},
		{name: "allowed range does not cover the address", handler: status(200, nil, ""), class: delivery.ErrClassBlocked, noDial: true,
			opts: func(r *receiver) sender.Options {
				return sender.Options{RootCAs: r.pool(), AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
			}},
		{name: "plain http refused", handler: status(200, nil, ""), class: delivery.ErrClassBlocked, noDial: true,
			url: func(r *receiver) string { return "http://127.0.0.1:" + r.port() + "/hook" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newReceiver(t, tc.handler, tc.tls)
			opts := sender.Options{AllowCIDRs: loopback, RootCAs: r.pool()}
			if tc.opts != nil {
				opts = tc.opts(r)
			}
			u := r.URL + "/hook"
			if tc.url != nil {
				u = tc.url(r)
			}
			start := time.Now()
			res := sender.New(opts).Send(context.Background(), u, http.Header{"X-Test": {"1"}}, []byte(`{"a":1}`))
			elapsed := time.Since(start)

			if res.ErrClass != tc.class {
				t.Errorf("ErrClass = %q, want %q", res.ErrClass, tc.class)
			}
			switch {
			case tc.status == nil && res.StatusCode != nil:
				t.Errorf("StatusCode = %d, want none", *res.StatusCode)
			case tc.status != nil && (res.StatusCode == nil || *res.StatusCode != *tc.status):
				t.Errorf("StatusCode = %v, want %d", res.StatusCode, *tc.status)
			}
			if res.Body != tc.body {
				t.Errorf("Body = %q, want %q", res.Body, tc.body)
			}
			if res.Gone != tc.gone {
				t.Errorf("Gone = %v, want %v", res.Gone, tc.gone)
			}
			if res.RetryAfter < tc.retry[0] || res.RetryAfter > tc.retry[1] {
				t.Errorf("RetryAfter = %s, want within %v", res.RetryAfter, tc.retry)
			}
			if got := r.requests.Load() > 0; got != tc.reached {
				t.Errorf("handler reached = %v, want %v", got, tc.reached)
			}
			if tc.noDial && r.conns.Load() != 0 {
				t.Errorf("%d connections reached the receiver, want none", r.conns.Load())
			}
			if res.Duration <= 0 && tc.class != delivery.ErrClassBlocked {
				t.Errorf("Duration = %s, want > 0", res.Duration)
			}
			if tc.maxDelay > 0 && elapsed > tc.maxDelay {
				t.Errorf("took %s, want at most %s", elapsed, tc.maxDelay)
			}
		})
	}
}

// TestSendRequest checks what a receiver gets: a POST with the given headers
// and body, and nothing else of ours.
func TestSendRequest(t *testing.T) {
	type seen struct {
		method, path, body, test, proxyAuth string
	}
	got := make(chan seen, 1)
	r := newReceiver(t, func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		got <- seen{req.Method, req.URL.RequestURI(), string(b), req.Header.Get("X-Test"), req.Header.Get("Proxy-Authorization")}
	}, nil)
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:1")
	h := http.Header{"X-Test": {"yes"}}
	res := sender.New(sender.Options{AllowCIDRs: loopback, RootCAs: r.pool()}).
		Send(context.Background(), r.URL+"/in?x=1", h, []byte(`{"id":"e1"}`))
	if res.ErrClass != "" {
		t.Fatalf("ErrClass = %q (the proxy from the environment must be ignored)", res.ErrClass)
	}
	want := seen{http.MethodPost, "/in?x=1", `{"id":"e1"}`, "yes", ""}
	if s := <-got; s != want {
		t.Errorf("receiver saw %+v, want %+v", s, want)
	}
	if len(h) != 1 || h.Get("X-Test") != "yes" {
		t.Errorf("caller's header was modified: %v", h)
	}
}

// TestSendTruncatesBody checks that at most 2 KB of an answer is kept, as
// valid UTF-8, whatever the receiver sends.
func TestSendTruncatesBody(t *testing.T) {
	tests := []struct {
		name string
		body string
		want func(t *testing.T, got string)
	}{
		{"ascii", strings.Repeat("x", 100_000), func(t *testing.T, got string) {
			t.Helper()
			if got != strings.Repeat("x", sender.MaxBody) {
				t.Errorf("got %d bytes, want the first %d", len(got), sender.MaxBody)
			}
		}},
		{"rune cut at the limit", "a" + strings.Repeat("é", 5000), func(t *testing.T, got string) {
			t.Helper()
			want := "a" + strings.Repeat("é", (sender.MaxBody-1)/2)
			if got != want {
				t.Errorf("got %d bytes, want %d (the cut rune dropped)", len(got), len(want))
			}
		}},
		{"invalid bytes and NULs", strings.Repeat("\xff\x00a", 3000), func(t *testing.T, got string) {
			t.Helper()
			if strings.ContainsRune(got, 0) || !strings.HasPrefix(got, "\uFFFD\uFFFDa\uFFFD") {
				t.Errorf("got %q..., want U+FFFD for invalid bytes and NULs", got[:min(len(got), 12)])
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newReceiver(t, status(200, nil, tc.body), nil)
			res := sender.New(sender.Options{AllowCIDRs: loopback, RootCAs: r.pool()}).
				Send(context.Background(), r.URL, nil, nil)
			if res.ErrClass != "" {
				t.Fatalf("ErrClass = %q", res.ErrClass)
			}
			if len(res.Body) > sender.MaxBody || !utf8.ValidString(res.Body) {
				t.Fatalf("body of %d bytes, valid UTF-8 %v", len(res.Body), utf8.ValidString(res.Body))
			}
			tc.want(t, res.Body)
		})
	}
}

// TestSendHonoursCallerContext checks that a cancelled caller ends the
// attempt early, reported as a timeout.
func TestSendHonoursCallerContext(t *testing.T) {
	r := newReceiver(t, hang, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	res := sender.New(sender.Options{AllowCIDRs: loopback, RootCAs: r.pool()}).Send(ctx, r.URL, nil, nil)
	if res.ErrClass != delivery.ErrClassTimeout {
		t.Errorf("ErrClass = %q, want %q", res.ErrClass, delivery.ErrClassTimeout)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %s after the caller's deadline", d)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 4, 17, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-5", 0},
		{"30", 30 * time.Second},
		{" 30 ", 30 * time.Second},
		{"3.5", 0},
		{"soon", 0},
		{"99999999999999999", 365 * 24 * time.Hour},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"Fri, 17 Apr 2026 13:00:00 GMT", time.Hour},
		{"Friday, 17-Apr-26 13:00:00 GMT", time.Hour},
		{strconv.Itoa(6 * 3600), 6 * time.Hour},
	}
	for _, tc := range tests {
		if got := sender.ParseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("ParseRetryAfter(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
