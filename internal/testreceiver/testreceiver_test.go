package testreceiver_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/gateway/signature"
	"github.com/leadlex/api-gateway/internal/testreceiver"
)

// start runs a receiver until the test ends.
func start(t *testing.T, o testreceiver.Options) *testreceiver.Receiver {
	t.Helper()
	rc, err := testreceiver.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rc.Close)
	return rc
}

// client trusts only the receiver's certificate and dials only loopback.
func client(t *testing.T, rc *testreceiver.Receiver, http2, keepAlive bool) *http.Client {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(rc.Certificate())
	return clientTrusting(t, roots, http2, keepAlive)
}

// clientTrusting trusts only roots and dials only loopback.
func clientTrusting(t *testing.T, roots *x509.CertPool, http2, keepAlive bool) *http.Client {
	t.Helper()
	tr := &http.Transport{
		Proxy:             nil,
		TLSClientConfig:   &tls.Config{RootCAs: roots},
		ForceAttemptHTTP2: http2,
		DisableKeepAlives: !keepAlive,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, _ := net.SplitHostPort(addr)
			// example.com is the receiver's other certificate name; it is
			// never resolved, always dialled at 127.0.0.1.
			return (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, "tcp4", net.JoinHostPort("127.0.0.1", port))
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// post sends body to url with a delivery ID and returns the status, the
// body and the protocol of the answer.
func post(t *testing.T, c *http.Client, url, id, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if id != "" {
		req.Header.Set(testreceiver.DeliveryIDHeader, id)
	}
	req.Header.Set("X-Test", "yes")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Proto
}

func TestDeliveryIDHeaderIsTheGatewaysHeader(t *testing.T) {
	if testreceiver.DeliveryIDHeader != signature.HeaderDeliveryID {
		t.Fatalf("DeliveryIDHeader = %q, the gateway sends %q", testreceiver.DeliveryIDHeader, signature.HeaderDeliveryID)
	}
}

func TestRecordsAndCountsRequests(t *testing.T) {
	rc := start(t, testreceiver.Options{Record: true})
	c := client(t, rc, false, true)
	before := time.Now()

	sends := []struct{ path, id, body string }{
		{"/a", "d-1", `{"n":1}`},
		{"/a", "d-1", `{"n":1}`}, // a retry of the same delivery
		{"/b", "d-2", `{"n":2}`},
		{"/c", "", `{}`}, // no delivery ID: counted under ""
	}
	for _, s := range sends {
		status, body, _ := post(t, c, rc.URL(s.path), s.id, s.body)
		if status != http.StatusOK || body != `{"ok": true}` {
			t.Fatalf("default answer: %d %q, want 200 {\"ok\": true}", status, body)
		}
	}
	got := rc.Requests()
	if len(got) != len(sends) {
		t.Fatalf("%d requests kept, want %d", len(got), len(sends))
	}
	wantN := []int{1, 2, 1, 1}
	for i, s := range sends {
		r := got[i]
		t.Run(s.path+"#"+s.id, func(t *testing.T) {
			if r.Method != http.MethodPost || r.Path != s.path || string(r.Body) != s.body || r.Err != nil {
				t.Errorf("kept %s %s %q (%v), want POST %s %q", r.Method, r.Path, r.Body, r.Err, s.path, s.body)
			}
			if r.Header.Get("X-Test") != "yes" || r.Header.Get(testreceiver.DeliveryIDHeader) != s.id {
				t.Errorf("header %v", r.Header)
			}
			if r.N != wantN[i] {
				t.Errorf("N = %d, want %d", r.N, wantN[i])
			}
			if r.At.Before(before) || r.At.After(time.Now()) {
				t.Errorf("At %s is outside the test", r.At)
			}
		})
	}
	if d := rc.Distinct(); d != 3 {
		t.Errorf("Distinct = %d, want 3 (d-1, d-2 and the empty ID)", d)
	}
	// Requests returns a copy: changing it changes nothing kept.
	got[0].Path = "/changed"
	if rc.Requests()[0].Path != "/a" {
		t.Error("Requests shares its slice with the receiver")
	}
}

func TestWithoutRecordKeepsOnlyCounts(t *testing.T) {
	var mu sync.Mutex
	var ns []int
	rc := start(t, testreceiver.Options{Answer: func(w http.ResponseWriter, _ *http.Request, got *testreceiver.Request) {
		mu.Lock()
		ns = append(ns, got.N)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}})
	c := client(t, rc, false, true)
	for range 3 {
		if status, _, _ := post(t, c, rc.URL("/x"), "same", "{}"); status != http.StatusNoContent {
			t.Fatalf("status %d, want the Answer's 204", status)
		}
	}
	if n := len(rc.Requests()); n != 0 {
		t.Errorf("%d requests kept without Record", n)
	}
	if d := rc.Distinct(); d != 1 {
		t.Errorf("Distinct = %d, want 1", d)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ns) != 3 || ns[0] != 1 || ns[1] != 2 || ns[2] != 3 {
		t.Errorf("Answer saw N = %v, want [1 2 3]", ns)
	}
}

func TestAnswerDecidesTheReply(t *testing.T) {
	rc := start(t, testreceiver.Options{Answer: func(w http.ResponseWriter, r *http.Request, got *testreceiver.Request) {
		if got.N == 1 {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write(bytes.ToUpper(got.Body))
	}})
	c := client(t, rc, false, true)
	if status, _, _ := post(t, c, rc.URL("/"), "d", "abc"); status != http.StatusServiceUnavailable {
		t.Fatalf("first attempt: %d, want 503", status)
	}
	if status, body, _ := post(t, c, rc.URL("/"), "d", "abc"); status != http.StatusOK || body != "ABC" {
		t.Fatalf("second attempt: %d %q, want 200 ABC", status, body)
	}
}

func TestBodyOverTheLimit(t *testing.T) {
	rc := start(t, testreceiver.Options{Record: true, MaxBody: 8})
	c := client(t, rc, false, true)
	post(t, c, rc.URL("/"), "fits", "12345678")
	post(t, c, rc.URL("/"), "over", "123456789")
	got := rc.Requests()
	if len(got) != 2 {
		t.Fatalf("%d requests, want 2", len(got))
	}
	if got[0].Err != nil || string(got[0].Body) != "12345678" {
		t.Errorf("a body of exactly MaxBody: %q (%v)", got[0].Body, got[0].Err)
	}
	if !errors.Is(got[1].Err, testreceiver.ErrBodyTooLarge) || string(got[1].Body) != "12345678" {
		t.Errorf("a body over MaxBody: %q (%v), want its first 8 bytes and ErrBodyTooLarge", got[1].Body, got[1].Err)
	}
}

func TestProtocolAndConnections(t *testing.T) {
	tests := []struct {
		name             string
		http2, keepAlive bool
		wantProto        string
		wantConns        int64
	}{
		{"HTTP/1.1 keep-alive", false, true, "HTTP/1.1", 1},
		{"HTTP/1.1 a connection per request", false, false, "HTTP/1.1", 3},
		{"HTTP/2", true, true, "HTTP/2.0", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := start(t, testreceiver.Options{HTTP2: tt.http2})
			c := client(t, rc, tt.http2, tt.keepAlive)
			for range 3 {
				if _, _, proto := post(t, c, rc.URL("/"), "d", "{}"); proto != tt.wantProto {
					t.Fatalf("answered in %s, want %s", proto, tt.wantProto)
				}
			}
			if n := rc.Connections(); n != tt.wantConns {
				t.Errorf("Connections = %d, want %d", n, tt.wantConns)
			}
		})
	}
}

func TestServerErrorsAreCountedAndLogged(t *testing.T) {
	var mu sync.Mutex
	var log bytes.Buffer
	rc := start(t, testreceiver.Options{ErrorLog: writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return log.Write(p)
	})})
	// Not a TLS client hello: the server logs a handshake error.
	conn, err := net.Dial("tcp4", strings.TrimPrefix(rc.URL(""), "https://"))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	_, _ = io.Copy(io.Discard, conn)
	_ = conn.Close()

	deadline := time.Now().Add(5 * time.Second)
	for rc.ServerErrors() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := rc.ServerErrors(); n != 1 {
		t.Fatalf("ServerErrors = %d, want 1", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(log.String(), "TLS handshake error") {
		t.Errorf("ErrorLog got %q, want the handshake error", log.String())
	}
}

// writerFunc is an io.Writer made of a function.
type writerFunc func([]byte) (int, error)

// Write implements io.Writer.
func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestURLsAndCAFile(t *testing.T) {
	rc := start(t, testreceiver.Options{})
	u := rc.URL("/hook/1")
	if !strings.HasPrefix(u, "https://127.0.0.1:") || !strings.HasSuffix(u, "/hook/1") {
		t.Fatalf("URL = %q", u)
	}
	if at := rc.URLAt("example.com", "/p"); at != strings.Replace(rc.URL("/p"), "127.0.0.1", "example.com", 1) {
		t.Fatalf("URLAt = %q, URL = %q: they differ in more than the host", at, rc.URL("/p"))
	}

	dir := t.TempDir()
	path, err := rc.WriteCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(path) != dir {
		t.Errorf("CA file %s is not in %s", path, dir)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("CA file is not one PEM certificate: %q", data)
	}
	if !bytes.Equal(block.Bytes, rc.Certificate().Raw) {
		t.Fatal("CA file holds another certificate")
	}
	// A client that trusts only the file reaches the receiver by both
	// names: that is what DELIVERY_CA_FILE gives the gateway.
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(data) {
		t.Fatal("the CA file does not load as a certificate pool")
	}
	c := clientTrusting(t, roots, false, true)
	for _, url := range []string{rc.URL("/"), rc.URLAt("example.com", "/")} {
		if status, _, _ := post(t, c, url, "d", "{}"); status != http.StatusOK {
			t.Errorf("%s: status %d", url, status)
		}
	}
	if _, err := rc.WriteCA(filepath.Join(dir, "missing")); err == nil {
		t.Error("WriteCA into a missing directory succeeded")
	}
}
