// Package testreceiver is the local HTTPS webhook receiver that the
// end-to-end tests and the benchmark command deliver to. It serves TLS on a
// new 127.0.0.1 listener with httptest's certificate (valid for 127.0.0.1 and
// example.com), so that the gateway's sender, with the certificate as an
// extra CA, makes real verified HTTPS connections without leaving the
// machine. It counts the requests of each delivery ID, the connections the
// sender opened and the errors its HTTP server logged, keeps every request
// when asked to, and leaves the answer to the caller: a test scripts
// failures, the benchmark verifies signatures.
//
// It imports nothing of the gateway, so that a test helper never depends on
// the code it helps to test.
package testreceiver

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// DeliveryIDHeader is the header in which the gateway names a delivery; it
// is the same on every attempt of one delivery, so the receiver counts
// requests by it.
const DeliveryIDHeader = "X-LeadLex-Delivery-ID"

// DefaultMaxBody is how much of a request body the receiver reads when
// Options.MaxBody is zero: far more than the gateway ever sends.
const DefaultMaxBody = 1 << 20

// ErrBodyTooLarge is Request.Err for a body longer than Options.MaxBody.
var ErrBodyTooLarge = errors.New("testreceiver: request body over the limit")

// readHeaderTimeout bounds a client that opens a connection and sends no
// request, so that Close never waits on it.
const readHeaderTimeout = 5 * time.Second

// Request is one request as the receiver got it.
type Request struct {
	// Method and Path are the request's method and URL path.
	Method, Path string
	// Header is the request's header (a copy when the request is kept).
	Header http.Header
	// Body is the request body, at most Options.MaxBody bytes of it.
	Body []byte
	// Err is why the body could not be read in full: ErrBodyTooLarge, or
	// the connection's error. Nil for a body read to its end.
	Err error
	// At is when the request arrived: its header had been read, its body
	// not yet. Latencies measured to it leave out the body's transfer.
	At time.Time
	// N counts the requests that carried this request's delivery ID so
	// far, this one included: 1 for a first attempt.
	N int
}

// Options configure a Receiver. The zero value serves HTTP/1.1, keeps no
// requests and answers 200 to everything.
type Options struct {
	// HTTP2 offers HTTP/2 as well as HTTP/1.1 (by ALPN).
	HTTP2 bool
	// Record keeps every request, for Requests. Off, the receiver holds
	// only the count per delivery ID, so a long benchmark does not grow it.
	Record bool
	// MaxBody bounds what is read of one body; zero means DefaultMaxBody.
	MaxBody int64
	// Answer writes the reply to a request, after the receiver has read
	// its body and counted it. It runs on the request's goroutine, from
	// many at once. Nil answers 200 with {"ok": true}.
	Answer func(w http.ResponseWriter, r *http.Request, got *Request)
	// ErrorLog receives the lines the HTTP server logs (TLS handshake
	// errors and the like); nil sends them to stderr, as net/http does.
	// ServerErrors counts them either way.
	ErrorLog io.Writer
}

// Receiver is a running local HTTPS webhook receiver.
type Receiver struct {
	srv     *httptest.Server
	port    string
	opts    Options
	maxBody int64

	connections  atomic.Int64
	serverErrors atomic.Int64

	mu       sync.Mutex
	perID    map[string]int
	requests []Request
}

// Start serves a new receiver on a free port of 127.0.0.1 until Close.
func Start(o Options) (*Receiver, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("testreceiver: listen on 127.0.0.1: %w", err)
	}
	addr, ok := ln.Addr().(*net.TCPAddr)
	if !ok || !addr.IP.Equal(net.IPv4(127, 0, 0, 1)) {
		_ = ln.Close()
		return nil, fmt.Errorf("testreceiver: listener is on %s, not 127.0.0.1", ln.Addr())
	}
	rc := &Receiver{opts: o, maxBody: o.MaxBody, perID: map[string]int{}, port: strconv.Itoa(addr.Port)}
	if rc.maxBody <= 0 {
		rc.maxBody = DefaultMaxBody
	}
	errorLog := o.ErrorLog
	if errorLog == nil {
		errorLog = os.Stderr
	}
	rc.srv = httptest.NewUnstartedServer(http.HandlerFunc(rc.serve))
	_ = rc.srv.Listener.Close()
	rc.srv.Listener = ln
	rc.srv.EnableHTTP2 = o.HTTP2
	rc.srv.Config.ReadHeaderTimeout = readHeaderTimeout
	rc.srv.Config.ErrorLog = log.New(&lineCounter{w: errorLog, n: &rc.serverErrors}, "", 0)
	rc.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			rc.connections.Add(1)
		}
	}
	rc.srv.StartTLS()
	return rc, nil
}

// Close stops the receiver, waiting for requests still being answered.
func (rc *Receiver) Close() { rc.srv.Close() }

// URL is the https URL of path on the receiver's address (127.0.0.1), for
// webhooks that need no DNS.
func (rc *Receiver) URL(path string) string { return rc.URLAt("127.0.0.1", path) }

// URLAt is the https URL of path on the receiver's port at host: a name
// that a test's DNS resolves to 127.0.0.1 (the certificate is valid for
// example.com).
func (rc *Receiver) URLAt(host, path string) string {
	return "https://" + net.JoinHostPort(host, rc.port) + path
}

// Certificate is the receiver's TLS certificate, which a client must trust.
func (rc *Receiver) Certificate() *x509.Certificate { return rc.srv.Certificate() }

// WriteCA writes the receiver's certificate as PEM to a new file in dir
// (the system's temporary directory when dir is empty), for the gateway's
// DELIVERY_CA_FILE, and returns the file's path; the caller removes it.
func (rc *Receiver) WriteCA(dir string) (string, error) {
	f, err := os.CreateTemp(dir, "testreceiver-ca-*.pem")
	if err != nil {
		return "", fmt.Errorf("testreceiver: CA file: %w", err)
	}
	werr := pem.Encode(f, &pem.Block{Type: "CERTIFICATE", Bytes: rc.srv.Certificate().Raw})
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = os.Remove(f.Name())
		return "", fmt.Errorf("testreceiver: CA file: %w", werr)
	}
	return f.Name(), nil
}

// Requests returns a copy of the requests kept so far, in arrival order
// (none unless Options.Record).
func (rc *Receiver) Requests() []Request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Request(nil), rc.requests...)
}

// Distinct counts the delivery IDs seen (a request without one counts
// under the empty ID): the receiver's effects, once per delivery.
func (rc *Receiver) Distinct() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.perID)
}

// Connections counts the connections clients opened to the receiver: one
// per delivery would mean a TLS handshake per delivery.
func (rc *Receiver) Connections() int64 { return rc.connections.Load() }

// ServerErrors counts the lines the receiver's HTTP server logged.
func (rc *Receiver) ServerErrors() int64 { return rc.serverErrors.Load() }

// serve reads and counts a request, then lets Options.Answer reply.
func (rc *Receiver) serve(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	body, err := io.ReadAll(io.LimitReader(r.Body, rc.maxBody+1))
	if err == nil && int64(len(body)) > rc.maxBody {
		body, err = body[:rc.maxBody], ErrBodyTooLarge
	}
	got := &Request{Method: r.Method, Path: r.URL.Path, Header: r.Header, Body: body, Err: err, At: at}
	if rc.opts.Record {
		got.Header = r.Header.Clone()
	}
	id := r.Header.Get(DeliveryIDHeader)
	rc.mu.Lock()
	rc.perID[id]++
	got.N = rc.perID[id]
	if rc.opts.Record {
		rc.requests = append(rc.requests, *got)
	}
	rc.mu.Unlock()

	if rc.opts.Answer != nil {
		rc.opts.Answer(w, r, got)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"ok": true}`)
}

// lineCounter counts the lines a log.Logger writes (one per Write) and
// passes them on.
type lineCounter struct {
	w io.Writer
	n *atomic.Int64
}

// Write implements io.Writer.
func (c *lineCounter) Write(p []byte) (int, error) {
	// Written before counted: whoever sees the count sees the line.
	_, _ = c.w.Write(p)
	c.n.Add(1)
	return len(p), nil
}
