// Package sender makes the HTTP request of one webhook delivery attempt and
// classifies its outcome (api-contract §4 and §6).
//
// The client is built to keep deliveries off internal networks and bounded in
// time and memory: every connection is checked against urlcheck.IsPublic at
// connect time (so a DNS answer that changed after registration cannot reach
// an internal address), no proxy is used, redirects are not followed, TLS is
// verified with TLS 1.2 at least, the whole attempt has one deadline, and at
// most MaxBody bytes of the answer are read.
//
// It reports its outcome as a delivery.Result, with delivery's error classes:
// the delivery domain declares what it needs, and this package implements it.
package sender

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/gateway/urlcheck"
)

// DefaultTimeout bounds a whole attempt when Options.Timeout is not set: the
// contract counts a 2xx within 10 seconds as success.
const DefaultTimeout = 10 * time.Second

// MaxBody is how many bytes of a receiver's answer are read and kept.
const MaxBody = 2048

// maxHeaderBytes bounds the size of a receiver's response headers.
const maxHeaderBytes = 64 << 10

// GuardMessage is logged (as an error) when Options.Exclusive refuses an
// outside destination. The end-to-end tests fail on any log line with it.
const GuardMessage = "delivery guard: refused a destination outside the allowed test addresses"

// errBlocked is returned by the dialer's Control for an address the policy
// refuses; Send reports it as blocked_address.
var errBlocked = errors.New("sender: address is not public")

// Options configures a Sender. The zero value is the production setting.
type Options struct {
	// Timeout bounds a whole attempt: connecting, TLS, sending, and reading
	// the status, headers and the first MaxBody bytes. Zero means
	// DefaultTimeout.
	Timeout time.Duration
	// AllowCIDRs lists addresses that may be connected to even though
	// urlcheck.IsPublic refuses them. For tests only (local receivers).
	AllowCIDRs []netip.Prefix
	// RootCAs verifies receivers' certificates. For tests only; nil means
	// the system roots.
	RootCAs *x509.CertPool
	// Resolver looks up receivers' host names; nil means net.DefaultResolver.
	Resolver *net.Resolver
	// AllowAddrs lists exact destinations (address and port) that may be
	// connected to although not public. Development only: the local sink
	// of `make run`, and nothing else on that machine.
	AllowAddrs []netip.AddrPort
	// Exclusive makes AllowCIDRs and AllowAddrs the only destinations:
	// public addresses are refused too. Tests set it (DELIVERY_ALLOW_ONLY)
	// so that nothing they run can send a byte past the local receivers
	// they started.
	Exclusive bool
	// OnGuardViolation is called with the address whenever Exclusive
	// refuses a destination the public-address policy alone would have
	// let through: a test that tried to reach the outside world. Tests use
	// it to fail loudly; it must be safe for concurrent use.
	OnGuardViolation func(address string)
	// MaxIdleConnsPerHost is how many idle connections to one receiver are
	// kept for reuse; zero means DefaultMaxIdleConnsPerHost. The engine sets
	// its concurrency, so that a busy endpoint's attempts reuse connections
	// instead of opening (and TLS-handshaking) new ones.
	MaxIdleConnsPerHost int
}

// DefaultMaxIdleConnsPerHost is the idle connections kept per receiver when
// Options.MaxIdleConnsPerHost is zero.
const DefaultMaxIdleConnsPerHost = 16

// Sender sends delivery attempts. It is safe for concurrent use and keeps
// idle connections for reuse, so one Sender should serve the whole process.
type Sender struct {
	client      *http.Client
	timeout     time.Duration
	allow       []netip.Prefix
	allowAddrs  []netip.AddrPort
	exclusive   bool
	onViolation func(string)
	now         func() time.Time
}

// New returns a Sender configured by opts.
func New(opts Options) *Sender {
	s := &Sender{timeout: opts.Timeout, allow: opts.AllowCIDRs, allowAddrs: opts.AllowAddrs,
		exclusive: opts.Exclusive, onViolation: opts.OnGuardViolation, now: time.Now}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	dialer := &net.Dialer{
		Timeout:  s.timeout,
		Resolver: opts.Resolver,
		Control:  s.control,
	}
	perHost := opts.MaxIdleConnsPerHost
	if perHost <= 0 {
		perHost = DefaultMaxIdleConnsPerHost
	}
	transport := &http.Transport{
		Proxy:       nil,
		DialContext: dialer.DialContext,
		TLSClientConfig: &tls.Config{
			MinVersion: tls.VersionTLS12,
			RootCAs:    opts.RootCAs,
		},
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    s.timeout,
		ResponseHeaderTimeout:  s.timeout,
		MaxResponseHeaderBytes: maxHeaderBytes,
		MaxIdleConns:           max(100, 4*perHost),
		MaxIdleConnsPerHost:    perHost,
		// A kept-alive connection goes to the address that passed the
		// check when it was opened, so reusing it reaches nothing new; the
		// short idle timeout bounds how long a receiver's DNS move goes
		// unnoticed.
		IdleConnTimeout: 30 * time.Second,
	}
	s.client = &http.Client{
		Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return s
}

// control runs for every connection the dialer makes, after name resolution
// and before connect(2), and refuses any address the policy does not allow.
func (s *Sender) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: unparsable address", errBlocked)
	}
	if s.allowed(ap) {
		return nil
	}
	public := urlcheck.IsPublic(ap.Addr())
	if !s.exclusive && public {
		return nil
	}
	if public && s.onViolation != nil {
		s.onViolation(address)
	}
	return errBlocked
}

// allowed reports whether ap is one of the destinations the options allow
// beyond the public-address policy.
func (s *Sender) allowed(ap netip.AddrPort) bool {
	u := ap.Addr().Unmap()
	if u.Zone() != "" {
		return false
	}
	for _, p := range s.allow {
		if p.Contains(u) {
			return true
		}
	}
	for _, a := range s.allowAddrs {
		if a.Addr().Unmap() == u && a.Port() == ap.Port() {
			return true
		}
	}
	return false
}

// Send POSTs body to rawURL with header and reports the outcome. It never
// returns an error: every failure is a delivery.Result with an ErrClass. A URL that is
// not an absolute https URL is refused as blocked_address, since the contract
// only ever registers https receivers.
func (s *Sender) Send(ctx context.Context, rawURL string, header http.Header, body []byte) delivery.Result {
	start := time.Now()
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return delivery.Result{ErrClass: delivery.ErrClassBlocked}
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return delivery.Result{ErrClass: delivery.ErrClassBlocked, Duration: time.Since(start)}
	}
	req.Header = header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return delivery.Result{ErrClass: classify(err), Duration: time.Since(start)}
	}
	defer resp.Body.Close()
	// A failed or slow read of the answer's body does not change the
	// outcome: the status line decides it, and whatever was read is kept.
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, MaxBody))
	code := resp.StatusCode
	r := delivery.Result{StatusCode: &code, Body: cleanBody(raw), Duration: time.Since(start)}
	switch {
	case code < 100 || code > 599:
		// Go accepts any three digits; HTTP defines (and the log stores)
		// 100 to 599, so anything else is a malformed answer.
		r.StatusCode = nil
		r.ErrClass = delivery.ErrClassHTTP
	case code >= 200 && code <= 299:
	case code >= 300 && code <= 399:
		r.ErrClass = delivery.ErrClassRedirect
	default:
		r.ErrClass = delivery.ErrClassHTTP
	}
	r.Gone = code == http.StatusGone
	if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
		r.RetryAfter = ParseRetryAfter(resp.Header.Get("Retry-After"), s.now())
	}
	return r
}

// classify maps a client error to an error class. The order matters: a
// refused address and a failed lookup are named as such even though they
// surface as dial errors, TLS failures as TLS even when a deadline followed.
// Failures that fit no class are reported as connection_refused when no
// connection was made (e.g. no route to host) and http_error when the
// exchange broke afterwards (e.g. a reset or a malformed answer).
func classify(err error) string {
	var (
		dnsErr  *net.DNSError
		opErr   *net.OpError
		certErr *tls.CertificateVerificationError
		alert   tls.AlertError
		recErr  tls.RecordHeaderError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
	)
	switch {
	case errors.Is(err, errBlocked):
		return delivery.ErrClassBlocked
	case errors.As(err, &dnsErr):
		return delivery.ErrClassDNS
	case errors.Is(err, syscall.ECONNREFUSED):
		return delivery.ErrClassConnectionRefused
	case errors.As(err, &certErr), errors.As(err, &alert), errors.As(err, &recErr),
		errors.As(err, &unknown), errors.As(err, &host), errors.As(err, &invalid):
		return delivery.ErrClassTLS
	case isTimeout(err):
		return delivery.ErrClassTimeout
	case strings.Contains(err.Error(), "tls: "), strings.Contains(err.Error(), "x509: "):
		// Some handshake failures (e.g. no common version or cipher suite)
		// are plain errors whose text is the only mark of their origin.
		return delivery.ErrClassTLS
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return delivery.ErrClassConnectionRefused
	default:
		return delivery.ErrClassHTTP
	}
}

// isTimeout reports whether err is a deadline, a timeout or a cancellation
// (which cuts an attempt short the same way).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		(errors.As(err, &ne) && ne.Timeout())
}

// ParseRetryAfter reads a Retry-After value: delay seconds or an HTTP date,
// relative to now. It returns zero for an absent, malformed or past value.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		// Bound before multiplying so that a huge value cannot overflow;
		// callers cap the wait far below this anyway.
		const maxSeconds = int64(365 * 24 * 60 * 60)
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, maxSeconds)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// cleanBody returns raw as valid UTF-8 of at most MaxBody bytes with no NUL
// characters (PostgreSQL text cannot hold them): a rune cut by the
// truncation is dropped, other invalid bytes and NULs become U+FFFD.
func cleanBody(raw []byte) string {
	// Drop a multi-byte rune cut short at the end of the read.
	if len(raw) == MaxBody {
		for i := 1; i < utf8.UTFMax && i <= len(raw); i++ {
			c := raw[len(raw)-i]
			if !utf8.RuneStart(c) {
				continue
			}
			if !utf8.FullRune(raw[len(raw)-i:]) {
				raw = raw[:len(raw)-i]
			}
			break
		}
	}
	s := strings.ToValidUTF8(string(raw), "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	// Replacements can lengthen the text; cut it back on a rune boundary.
	if len(s) > MaxBody {
		cut := MaxBody
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}
