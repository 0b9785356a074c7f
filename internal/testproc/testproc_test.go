package testproc

import (
	"net"
	"strconv"
	"sync"
	"testing"
)

func TestFreePortCanBeBound(t *testing.T) {
	port := FreePort(t)
	ln, err := net.Listen("tcp4", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("the free port %d cannot be bound: %v", port, err)
	}
	_ = ln.Close()
}

func TestOutputTakesConcurrentWrites(t *testing.T) {
	var o Output
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { _, _ = o.Write([]byte("ab")) })
	}
	wg.Wait()
	if got := o.String(); len(got) != 20 {
		t.Fatalf("String() = %q, want 20 bytes", got)
	}
}
