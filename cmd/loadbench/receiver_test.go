package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/gateway/signature"
)

// The secrets of the two webhooks in these tests (whsec_ and 48 hex digits,
// as the gateway issues them).
const (
	secret0 = "whsec_000102030405060708090a0b0c0d0e0f1011121314151617"
	secret1 = "whsec_a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7"
)

// benchClient trusts only rc's certificate, keeps one connection alive and
// dials only 127.0.0.1.
func benchClient(t *testing.T, rc *receiver) *http.Client {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(rc.core.Certificate())
	tr := newTransport(1)
	tr.TLSClientConfig = &tls.Config{RootCAs: roots}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// delivery builds a request as the gateway's sender would: payload signed
// with secret under delivery ID id.
func delivery(t *testing.T, method, url, id, payload, secret string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, strings.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = signature.Headers(id, time.Now(), []byte(payload), secret)
	return req
}

func TestReceiverJudgesDeliveries(t *testing.T) {
	var logged bytes.Buffer
	rc, err := startReceiver(false, &logged)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rc.close)
	rc.setSecrets([]string{secret0, secret1})
	c := benchClient(t, rc)

	event := func(id, typ string) string { return `{"id":"` + id + `","type":"` + typ + `","data":{}}` }
	noID := delivery(t, http.MethodPost, rc.hookURL(0), "d-x", event("e-x", deliveryEventType), secret0)
	noID.Header.Del(signature.HeaderDeliveryID)

	tests := []struct {
		name string
		req  *http.Request
		want int
	}{
		{"valid", delivery(t, http.MethodPost, rc.hookURL(0), "d-1", event("e-1", deliveryEventType), secret0), http.StatusOK},
		{"valid repeat", delivery(t, http.MethodPost, rc.hookURL(0), "d-1", event("e-1", deliveryEventType), secret0), http.StatusOK},
		{"valid, second webhook", delivery(t, http.MethodPost, rc.hookURL(1), "d-2", event("e-1", deliveryEventType), secret1), http.StatusOK},
		{"delivery ID reused for another event", delivery(t, http.MethodPost, rc.hookURL(0), "d-1", event("e-2", deliveryEventType), secret0), http.StatusBadRequest},
		{"signed with the other webhook's secret", delivery(t, http.MethodPost, rc.hookURL(0), "d-3", event("e-3", deliveryEventType), secret1), http.StatusUnauthorized},
		{"no such webhook", delivery(t, http.MethodPost, rc.hookURL(2), "d-4", event("e-4", deliveryEventType), secret0), http.StatusBadRequest},
		{"no delivery ID", noID, http.StatusBadRequest},
		{"not a POST", delivery(t, http.MethodPut, rc.hookURL(0), "d-5", event("e-5", deliveryEventType), secret0), http.StatusBadRequest},
		{"another event type", delivery(t, http.MethodPost, rc.hookURL(0), "d-6", event("e-6", "deal.updated"), secret0), http.StatusBadRequest},
		{"no event id", delivery(t, http.MethodPost, rc.hookURL(0), "d-7", `{"type":"`+deliveryEventType+`"}`, secret0), http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := c.Do(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}

	st := rc.stats()
	if rc.delivered() != 2 || len(st.first) != 2 {
		t.Errorf("delivered %d (first %v), want 2 (d-1 and d-2)", rc.delivered(), st.first)
	}
	if r := st.first["d-1"]; r.event != "e-1" || r.hook != 0 || r.at.IsZero() {
		t.Errorf("first arrival of d-1 = %+v, want event e-1 at webhook 0", r)
	}
	if r := st.first["d-2"]; r.event != "e-1" || r.hook != 1 {
		t.Errorf("first arrival of d-2 = %+v, want event e-1 at webhook 1", r)
	}
	want := receiverStats{hits: int64(len(tests)), repeats: 1, badSignatures: 1, malformed: 6, connections: 1}
	if st.hits != want.hits || st.repeats != want.repeats || st.badSignatures != want.badSignatures ||
		st.malformed != want.malformed || st.connections != want.connections || st.serverErrors != 0 {
		t.Errorf("stats: hits %d, repeats %d, bad signatures %d, malformed %d, connections %d, server errors %d; want %d, %d, %d, %d, %d, 0",
			st.hits, st.repeats, st.badSignatures, st.malformed, st.connections, st.serverErrors,
			want.hits, want.repeats, want.badSignatures, want.malformed, want.connections)
	}
	rc.close() // before reading logged, which the server writes to
	if len(st.samples) != maxSamples {
		t.Errorf("%d samples kept, want %d (more problems than that)", len(st.samples), maxSamples)
	}
	if logged.Len() != 0 {
		t.Errorf("the receiver's server logged %q", logged.String())
	}
}

func TestFirstLinesCopiesOnlyTheFirst(t *testing.T) {
	var out bytes.Buffer
	w := &firstLines{w: &out, prefix: "loadbench: receiver: ", max: 3}
	for i := range 5 {
		if n, err := w.Write([]byte("line " + strconv.Itoa(i) + "\n")); n != 7 || err != nil {
			t.Fatalf("Write = %d, %v; want 7, nil (a log.Logger must see every line taken)", n, err)
		}
	}
	want := "loadbench: receiver: line 0\nloadbench: receiver: line 1\nloadbench: receiver: line 2\n"
	if out.String() != want {
		t.Fatalf("copied %q, want %q", out.String(), want)
	}
}

func TestReceiverServerErrorsGoToStderr(t *testing.T) {
	var logged bytes.Buffer
	rc, err := startReceiver(false, &logged)
	if err != nil {
		t.Fatal(err)
	}
	// Plain bytes, not a TLS hello: the server logs a handshake error.
	conn, err := net.Dial("tcp4", strings.TrimPrefix(rc.core.URL(""), "https://"))
	if err != nil {
		rc.close()
		t.Fatal(err)
	}
	_, _ = conn.Write([]byte("hello\r\n\r\n"))
	_, _ = io.Copy(io.Discard, conn)
	_ = conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	for rc.stats().serverErrors == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	rc.close() // before reading logged, which the server writes to
	if n := rc.stats().serverErrors; n != 1 {
		t.Fatalf("serverErrors = %d, want 1", n)
	}
	if !strings.HasPrefix(logged.String(), "loadbench: receiver: ") || !strings.Contains(logged.String(), "TLS handshake error") {
		t.Fatalf("stderr got %q, want the prefixed handshake error", logged.String())
	}
}

func TestReceiverSpeaksHTTP2OnlyWhenAsked(t *testing.T) {
	for _, http2 := range []bool{false, true} {
		t.Run(map[bool]string{false: "HTTP/1.1", true: "HTTP/2"}[http2], func(t *testing.T) {
			rc, err := startReceiver(http2, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(rc.close)
			c := benchClient(t, rc)
			// The client offers both; the receiver's flag decides.
			c.Transport.(*http.Transport).ForceAttemptHTTP2 = true
			resp, err := c.Get(rc.hookURL(0))
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if got := resp.ProtoMajor == 2; got != http2 {
				t.Errorf("answered in %s with -receiver-http2=%v", resp.Proto, http2)
			}
		})
	}
}
