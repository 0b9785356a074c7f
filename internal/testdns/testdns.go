// Package testdns is a tiny DNS server for tests: it answers A queries from
// a map the test can change while it runs (to show a name moving to another
// address), NXDOMAIN for names it does not know, and no records for other
// query types. The machines that run the tests resolve no outside names, so
// a test that needs a name resolved brings this.
package testdns

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// Server is a running fake DNS server on 127.0.0.1 (UDP).
type Server struct {
	conn    net.PacketConn
	mu      sync.Mutex
	records map[string]netip.Addr
}

// Start runs a server until the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("testdns: %v", err)
	}
	s := &Server{conn: conn, records: map[string]netip.Addr{}}
	go s.serve()
	tb.Cleanup(func() { _ = conn.Close() })
	return s
}

// Addr is the server's host:port, for a resolver's Dial or DNS_SERVER.
func (s *Server) Addr() string { return s.conn.LocalAddr().String() }

// Set makes name resolve to addr (IPv4); an invalid addr removes the name.
func (s *Server) Set(name string, addr netip.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(strings.TrimSuffix(name, "."))
	if !addr.IsValid() {
		delete(s.records, key)
		return
	}
	s.records[key] = addr
}

func (s *Server) lookup(name string) (netip.Addr, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.records[strings.ToLower(strings.TrimSuffix(name, "."))]
	return a, ok
}

func (s *Server) serve() {
	buf := make([]byte, 1500)
	for {
		n, peer, err := s.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		if out, ok := s.answer(buf[:n]); ok {
			_, _ = s.conn.WriteTo(out, peer)
		}
	}
}

func (s *Server) answer(query []byte) ([]byte, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, false
	}
	q, err := p.Question()
	if err != nil {
		return nil, false
	}
	resp := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired, RecursionAvailable: true}
	addr, known := s.lookup(q.Name.String())
	if !known {
		resp.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, resp)
	b.EnableCompression()
	_ = b.StartQuestions()
	_ = b.Question(q)
	_ = b.StartAnswers()
	if known && q.Type == dnsmessage.TypeA && addr.Is4() {
		_ = b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 0}, dnsmessage.AResource{A: addr.As4()})
	}
	out, err := b.Finish()
	return out, err == nil
}

// Resolver returns a Go resolver that asks only this server.
func (s *Server) Resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", s.Addr())
	}}
}
