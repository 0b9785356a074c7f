package devsink_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	neturl "net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/gateway/devsink"
	"github.com/leadlex/api-gateway/gateway/signature"
	"github.com/leadlex/api-gateway/internal/testclock"
)

const (
	workspace = "00000000-0000-4000-8000-000000000001"
	current   = "whsec_00112233445566778899aabbccddeeff0011223344556677"
	previous  = "whsec_ffeeddccbbaa99887766554433221100ffeeddccbbaa9988"
)

// start runs a sink on a free loopback port whose secrets are, per request
// URI, those in secrets (for the test workspace only).
func start(t *testing.T, keep int, now func() time.Time, secrets map[string][]string) (*devsink.Sink, *http.Client) {
	t.Helper()
	s, err := devsink.Start(devsink.Options{Addr: "127.0.0.1:0", Keep: keep, Now: now,
		Secrets: func(_ context.Context, ws, url string) ([]string, error) {
			u, err := neturl.Parse(url)
			if ws != workspace || err != nil || u.Scheme != "https" || u.Hostname() != "127.0.0.1" {
				return nil, err
			}
			return secrets[u.RequestURI()], nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CertPEM()) {
		t.Fatal("the sink's certificate is not PEM")
	}
	return s, &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func event(id string) []byte {
	return []byte(`{"id":"` + id + `","type":"contact.created","created_at":"2026-12-01T09:00:00Z","workspace_id":"` + workspace + `","data":{"id":"c-1"}}`)
}

func post(t *testing.T, c *http.Client, url string, h http.Header, body []byte) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func TestVerdicts(t *testing.T) {
	clock := testclock.New(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	s, c := start(t, 0, clock.Now, map[string][]string{
		"/hooks/crm":     {current},
		"/hooks/rotated": {current, previous},
	})
	now := clock.Now()
	tests := []struct {
		name         string
		path         string
		header       http.Header
		status       int
		leadlex, std string
		wantVerified bool
	}{
		{"both valid", "/hooks/crm", signature.Headers("d-1", now, event("e-1"), current), 200, devsink.VerdictValid, devsink.VerdictValid, true},
		{"signed with the previous secret during a rotation", "/hooks/rotated", signature.Headers("d-2", now, event("e-2"), previous), 200, devsink.VerdictValid, devsink.VerdictValid, true},
		{"wrong secret", "/hooks/crm", signature.Headers("d-3", now, event("e-3"), previous), 401, devsink.VerdictNoMatch, devsink.VerdictNoMatch, false},
		{"stale timestamp", "/hooks/crm", signature.Headers("d-4", now.Add(-6*time.Minute), event("e-4"), current), 401, devsink.VerdictStale, devsink.VerdictStale, false},
		{"no headers", "/hooks/crm", http.Header{}, 401, devsink.VerdictMissing, devsink.VerdictMissing, false},
		{"no webhook at this URL", "/hooks/unknown", signature.Headers("d-6", now, event("e-6"), current), 401, devsink.VerdictNoSecret, devsink.VerdictNoSecret, false},
		{"query is part of the URL", "/hooks/crm?x=1", signature.Headers("d-7", now, event("e-7"), current), 401, devsink.VerdictNoSecret, devsink.VerdictNoSecret, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := tt.header.Get(signature.HeaderDeliveryID)
			body := event("e-" + strings.TrimPrefix(id, "d-"))
			status, answer := post(t, c, s.URL()+tt.path, tt.header, body)
			if status != tt.status || answer["verified"] != tt.wantVerified {
				t.Errorf("answer %d %v, want %d verified=%v", status, answer, tt.status, tt.wantVerified)
			}
			got := s.Deliveries()[0]
			if got.Signatures.LeadLex != tt.leadlex || got.Signatures.StandardWebhooks != tt.std || got.Verified != tt.wantVerified {
				t.Errorf("verdicts %+v verified=%v, want leadlex=%s standard=%s", got.Signatures, got.Verified, tt.leadlex, tt.std)
			}
			if got.Path != tt.path || got.DeliveryID != id || got.EventType != "contact.created" || got.Status != tt.status || !bytes.Equal(got.Body, body) {
				t.Errorf("kept %+v", got)
			}
		})
	}
}

// A tampered body fails both schemes even with the right secret.
func TestTamperedBodyFails(t *testing.T) {
	s, c := start(t, 0, time.Now, map[string][]string{"/hooks/crm": {current}})
	h := signature.Headers("d-1", time.Now(), event("e-1"), current)
	if status, _ := post(t, c, s.URL()+"/hooks/crm", h, event("e-2")); status != 401 {
		t.Errorf("status %d, want 401", status)
	}
	if v := s.Deliveries()[0].Signatures; v.LeadLex != devsink.VerdictNoMatch || v.StandardWebhooks != devsink.VerdictNoMatch {
		t.Errorf("verdicts %+v, want no_match twice", v)
	}
}

func TestKeepsTheLastDeliveriesNewestFirstForGET(t *testing.T) {
	s, c := start(t, 3, time.Now, nil)
	for _, id := range []string{"1", "2", "3", "4", "5"} {
		post(t, c, s.URL()+"/hooks/x", http.Header{signature.HeaderDeliveryID: {id}}, []byte("not json "+id))
	}
	resp, err := c.Get(s.URL() + "/deliveries")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Data []devsink.Delivery `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /deliveries: %d %v %v", resp.StatusCode, resp.Header, err)
	}
	var ids []string
	for _, d := range got.Data {
		ids = append(ids, d.DeliveryID)
	}
	if strings.Join(ids, ",") != "5,4,3" {
		t.Errorf("kept %v, want 5,4,3", ids)
	}
	// A body that is not JSON is kept as a JSON string.
	if string(got.Data[0].Body) != `"not json 5"` {
		t.Errorf("body %s", got.Data[0].Body)
	}
}

func TestRefusesOversizedBodiesAndOtherMethods(t *testing.T) {
	s, c := start(t, 0, time.Now, nil)
	if status, _ := post(t, c, s.URL()+"/hooks/x", nil, bytes.Repeat([]byte("a"), 1<<20+1)); status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized: %d, want 413", status)
	}
	req, _ := http.NewRequest("DELETE", s.URL()+"/deliveries", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("DELETE /deliveries: %d, want 405", resp.StatusCode)
	}
	if len(s.Deliveries()) != 0 {
		t.Errorf("kept %d deliveries, want none", len(s.Deliveries()))
	}
}

func TestListensOnlyOnLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "10.0.0.1:8443", "localhost:8443", "[::]:0"} {
		if s, err := devsink.Start(devsink.Options{Addr: addr}); err == nil {
			_ = s.Close()
			t.Errorf("Start(%q) succeeded, want a refusal", addr)
		}
	}
}

func TestCloseRemovesTheCertificateFile(t *testing.T) {
	s, err := devsink.Start(devsink.Options{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(s.CertFile()); err != nil || !bytes.Equal(b, s.CertPEM()) {
		t.Fatalf("certificate file: %v", err)
	}
	_ = s.Close()
	if _, err := os.ReadFile(s.CertFile()); err == nil {
		t.Error("the certificate file is still there after Close")
	}
}
