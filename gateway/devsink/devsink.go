// Package devsink is the development delivery sink: a small HTTPS receiver
// on a loopback address that `make run` starts inside `gateway serve`, so
// that a newcomer can follow a delivery from `POST /v1/events` to its
// receipt without anything leaving the machine.
//
// The sink accepts every POST, verifies both signature schemes with the
// package receivers use (routes/webhooks/signature), and keeps the last
// deliveries with their verdicts for `GET /deliveries` (JSON). It answers
// 200 when both signatures verify and 401 otherwise, as a real receiver
// should, so a bad signature also shows in the webhook's delivery log.
//
// A real receiver is configured with the secret the create response showed.
// The sink instead asks its Secrets function, which the gateway wires to
// its own store: the secrets of the webhooks registered at the URL the
// sink was called on, in the workspace the delivery names. Its certificate
// is self-signed, made at start, and trusted only by the gateway process
// that started it (and by curl given CertFile).
package devsink

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/leadlex/api-gateway/gateway/signature"
)

// DefaultKeep is how many deliveries the sink keeps when Options.Keep is 0:
// enough to follow a few retries and a test delivery.
const DefaultKeep = 50

// maxBody bounds what the sink reads of one delivery; the gateway's events
// are far smaller.
const maxBody = 1 << 20

// tolerance is the signature timestamp window, the one the README advises
// receivers to use.
const tolerance = 5 * time.Minute

// Verdicts of one signature scheme.
const (
	// VerdictValid means a signature matched one of the webhook's secrets.
	VerdictValid = "valid"
	// VerdictMissing means the scheme's headers were absent.
	VerdictMissing = "missing_headers"
	// VerdictStale means the timestamp was outside five minutes of now.
	VerdictStale = "stale_timestamp"
	// VerdictNoMatch means no signature matched any secret.
	VerdictNoMatch = "no_match"
	// VerdictNoSecret means no webhook of the workspace is registered at
	// the URL the sink was called on, so there is nothing to verify with.
	VerdictNoSecret = "no_secret"
)

// Secrets returns the signing secrets of the webhooks of workspaceID
// registered at url: the sink's URL with the path and query it was called on.
type Secrets func(ctx context.Context, workspaceID, url string) ([]string, error)

// Options configures Start.
type Options struct {
	// Addr is the loopback host:port to listen on; port 0 picks a free one.
	Addr string
	// Keep is how many deliveries GET /deliveries shows; 0 means DefaultKeep.
	Keep int
	// Secrets looks up the secrets to verify with; nil verifies nothing
	// (every verdict is no_secret).
	Secrets Secrets
	// Now is the clock for timestamps; nil means time.Now.
	Now func() time.Time
}

// Verdicts are the outcome of checking one delivery's signatures.
type Verdicts struct {
	LeadLex          string `json:"leadlex"`
	StandardWebhooks string `json:"standard_webhooks"`
}

// Delivery is one request the sink received, as GET /deliveries shows it.
type Delivery struct {
	ReceivedAt time.Time       `json:"received_at"`
	Path       string          `json:"path"`
	DeliveryID string          `json:"delivery_id"`
	EventID    string          `json:"event_id"`
	EventType  string          `json:"event_type"`
	Signatures Verdicts        `json:"signatures"`
	Verified   bool            `json:"verified"`
	Status     int             `json:"status"`
	Body       json.RawMessage `json:"body"`
}

// Sink is a running development sink.
type Sink struct {
	opts    Options
	ln      net.Listener
	srv     *http.Server
	certPEM []byte
	certDir string
	addr    netip.AddrPort

	mu   sync.Mutex
	kept []Delivery // oldest first
}

// Start makes a self-signed certificate for the address, listens and serves
// until Close.
func Start(opts Options) (*Sink, error) {
	ap, err := netip.ParseAddrPort(opts.Addr)
	if err != nil || !ap.Addr().IsLoopback() {
		return nil, errors.New("devsink: the address must be a loopback address and port")
	}
	if opts.Keep <= 0 {
		opts.Keep = DefaultKeep
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cert, certPEM, err := selfSigned(ap.Addr())
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, err
	}
	s := &Sink{opts: opts, certPEM: certPEM, addr: netip.MustParseAddrPort(ln.Addr().String())}
	s.certDir, err = os.MkdirTemp("", "leadlex-dev-sink-")
	if err == nil {
		err = os.WriteFile(s.CertFile(), certPEM, 0o644)
	}
	if err != nil {
		ln.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /deliveries", s.list)
	mux.HandleFunc("POST /", s.receive)
	s.srv = &http.Server{
		Handler:           mux,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}},
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	s.ln = tls.NewListener(ln, s.srv.TLSConfig)
	go func() { _ = s.srv.Serve(s.ln) }()
	return s, nil
}

// selfSigned makes a key and a one-day certificate for ip and localhost.
func selfSigned(ip netip.Addr) (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "LeadLex development sink"},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{ip.AsSlice()},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// AddrPort is the address the sink listens on: the one delivery target the
// gateway allows besides public addresses in development.
func (s *Sink) AddrPort() netip.AddrPort { return s.addr }

// URL is the sink's base URL, e.g. https://127.0.0.1:8443.
func (s *Sink) URL() string { return "https://" + s.addr.String() }

// CertPEM is the sink's certificate, for the gateway's delivery trust pool.
func (s *Sink) CertPEM() []byte { return s.certPEM }

// CertFile is where the certificate is written, for curl's --cacert.
func (s *Sink) CertFile() string { return filepath.Join(s.certDir, "sink.pem") }

// Close stops the sink and removes its certificate file.
func (s *Sink) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	_ = os.RemoveAll(s.certDir)
	return err
}

// Deliveries returns what GET /deliveries shows: newest first.
func (s *Sink) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Delivery, len(s.kept))
	for i, d := range s.kept {
		out[len(s.kept)-1-i] = d
	}
	return out
}

func (s *Sink) list(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"data": s.Deliveries()})
}

func (s *Sink) receive(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"received": false})
		return
	}
	var ev struct {
		ID          string `json:"id"`
		Type        string `json:"type"`
		WorkspaceID string `json:"workspace_id"`
	}
	_ = json.Unmarshal(body, &ev)
	var secrets []string
	if s.opts.Secrets != nil && ev.WorkspaceID != "" {
		// A failed lookup leaves no secret to verify with: no_secret.
		secrets, _ = s.opts.Secrets(r.Context(), ev.WorkspaceID, s.URL()+r.URL.RequestURI())
	}
	now := s.opts.Now()
	v := Verdicts{
		LeadLex:          verdict(secrets, func(sec string) error { return signature.VerifyLeadLex(r.Header, body, sec, tolerance, now) }),
		StandardWebhooks: verdict(secrets, func(sec string) error { return signature.VerifyStandard(r.Header, body, sec, tolerance, now) }),
	}
	d := Delivery{
		ReceivedAt: now.UTC(), Path: r.URL.RequestURI(), DeliveryID: r.Header.Get(signature.HeaderDeliveryID),
		EventID: ev.ID, EventType: ev.Type, Signatures: v,
		Verified: v.LeadLex == VerdictValid && v.StandardWebhooks == VerdictValid, Status: http.StatusOK,
	}
	if !d.Verified {
		d.Status = http.StatusUnauthorized
	}
	if json.Valid(body) {
		d.Body = body
	} else {
		d.Body, _ = json.Marshal(string(body))
	}
	s.mu.Lock()
	s.kept = append(s.kept, d)
	if len(s.kept) > s.opts.Keep {
		s.kept = append([]Delivery(nil), s.kept[len(s.kept)-s.opts.Keep:]...)
	}
	s.mu.Unlock()
	writeJSON(w, d.Status, map[string]any{"received": true, "verified": d.Verified, "signatures": v})
}

// verdict checks one scheme with each secret and names the outcome: valid
// if any secret verifies, else the most telling failure.
func verdict(secrets []string, check func(secret string) error) string {
	if len(secrets) == 0 {
		// Without a secret, still say when the headers are not there.
		if errors.Is(check(""), signature.ErrMissingHeaders) {
			return VerdictMissing
		}
		return VerdictNoSecret
	}
	out := VerdictNoMatch
	for _, sec := range secrets {
		switch err := check(sec); {
		case err == nil:
			return VerdictValid
		case errors.Is(err, signature.ErrMissingHeaders):
			out = VerdictMissing
		case errors.Is(err, signature.ErrTimestamp):
			out = VerdictStale
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
