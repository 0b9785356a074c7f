package testdns

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestServerAnswersAndChanges(t *testing.T) {
	s := Start(t)
	r := s.Resolver()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.Set("hooks.example.com", netip.MustParseAddr("93.184.215.14"))
	addrs, err := r.LookupIPAddr(ctx, "hooks.example.com")
	if err != nil || len(addrs) != 1 || addrs[0].IP.String() != "93.184.215.14" {
		t.Fatalf("lookup = %v, %v", addrs, err)
	}
	s.Set("hooks.example.com", netip.MustParseAddr("10.0.0.1"))
	addrs, err = r.LookupIPAddr(ctx, "HOOKS.example.com.")
	if err != nil || len(addrs) != 1 || addrs[0].IP.String() != "10.0.0.1" {
		t.Fatalf("after the change: %v, %v", addrs, err)
	}
	_, err = r.LookupIPAddr(ctx, "unknown.example.com")
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Fatalf("unknown name: %v", err)
	}
}
