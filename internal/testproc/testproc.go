// Package testproc holds what tests that start servers of their own need
// around the process: a free loopback port for it, and a buffer its output
// can be written to while the test reads it.
package testproc

import (
	"bytes"
	"net"
	"sync"
	"testing"
)

// FreePort asks the kernel for a free loopback port. Another process could
// take it before the server binds it; the server's start then fails loudly.
func FreePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("testproc: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Output collects a child process's stdout and stderr; it is safe to read
// (String) while the process writes. The zero value is ready to use.
type Output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write implements io.Writer.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

// String returns what was written so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}
