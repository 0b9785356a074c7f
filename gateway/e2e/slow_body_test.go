package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// slowClient is a raw TCP client that sends a request's headers at once and
// then its body one byte every tick, until the server hangs up.
type slowClient struct {
	conn net.Conn
	done chan struct{}
}

func trickle(t *testing.T, g *gw, head string, tick time.Duration, firstBytes string) *slowClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(g.url, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := io.WriteString(conn, head+firstBytes); err != nil {
		t.Fatal(err)
	}
	s := &slowClient{conn: conn, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			select {
			case <-time.After(tick):
			case <-t.Context().Done():
				return
			}
			if _, err := conn.Write([]byte("x")); err != nil {
				return
			}
		}
	}()
	return s
}

// answer reads the response, which must come within d.
func (s *slowClient) answer(t *testing.T, d time.Duration) (*http.Response, map[string]any, *bufio.Reader) {
	t.Helper()
	_ = s.conn.SetReadDeadline(time.Now().Add(d))
	br := bufio.NewReader(s.conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer within %s while the body trickles: %v", d, err)
	}
	defer resp.Body.Close()
	var body map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("answer is not JSON: %q", raw)
	}
	return resp, body, br
}

// hungUp checks that the server closes the connection within d rather than
// holding it for the rest of the body.
func (s *slowClient) hungUp(t *testing.T, br *bufio.Reader, d time.Duration) {
	t.Helper()
	_ = s.conn.SetReadDeadline(time.Now().Add(d))
	_, err := br.ReadByte()
	if err == nil {
		t.Fatal("the server sent more after its answer")
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the server still holds the connection %s after answering", d)
	}
}

func errorCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// TestSlowBodiesAreAnsweredAtOnce checks that a request whose body trickles
// in gets its auth or size error as soon as its headers arrived, and that
// the server then hangs up instead of waiting for the rest of the body (up
// to the 30 s read timeout): a client cannot hold connections open by
// sending bodies slowly.
func TestSlowBodiesAreAnsweredAtOnce(t *testing.T) {
	_, k, g := startWithKey(t, "webhooks:write", "--plan", "org")
	path := base + "/v1/webhooks"
	tests := []struct {
		name   string
		head   string
		status int
		code   string
	}{
		{"no key, Content-Length", fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n", path),
			401, "invalid_key"},
		{"bad key, Content-Length", fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wbk_nope\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n", path),
			401, "invalid_key"},
		{"no key, chunked", fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", path),
			401, "invalid_key"},
		{"valid key, Content-Length over the limit", fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n", path, k.Key),
			413, "payload_too_large"},
		{"no key, Content-Length over the limit", fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200000\r\n\r\n", path),
			413, "payload_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first := `{"url": "`
			if strings.Contains(tt.head, "chunked") {
				first = "400\r\n" + first // a 1 KiB chunk, never finished
			}
			s := trickle(t, g, tt.head, 100*time.Millisecond, first)
			start := time.Now()
			resp, body, br := s.answer(t, 3*time.Second)
			if resp.StatusCode != tt.status || errorCode(body) != tt.code {
				t.Fatalf("%d %v, want %d %s", resp.StatusCode, body, tt.status, tt.code)
			}
			if !resp.Close {
				t.Errorf("answer does not say Connection: close: %v", resp.Header)
			}
			s.hungUp(t, br, 3*time.Second)
			t.Logf("answered and closed in %s", time.Since(start))
		})
	}

	t.Run("complete requests still work", func(t *testing.T) {
		r := g.create(k, hookBody("https://93.184.215.14/slow-ok"))
		if r.Status != 201 {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
	})
}
