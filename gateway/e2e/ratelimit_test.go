package e2e

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestStarterKeyEleventhRequestInAMinute(t *testing.T) {
	e := newEnv(t)
	k := e.createKey(uuid.NewString(), "webhooks:write") // starter, standard: 10/min, 100/day
	g := e.start(nil)
	for i := 1; i <= 10; i++ {
		r := g.create(k, hookBody(fmt.Sprintf("https://93.184.215.14/rl/%d", i)))
		if r.Status != 201 {
			t.Fatalf("request %d: %d %s", i, r.Status, r.Raw)
		}
		if r.Header.Get("X-RateLimit-Limit") != "100" || r.Header.Get("X-RateLimit-Remaining") != strconv.Itoa(100-i) {
			t.Errorf("request %d: limit %s remaining %s", i, r.Header.Get("X-RateLimit-Limit"), r.Header.Get("X-RateLimit-Remaining"))
		}
	}
	r := g.create(k, hookBody("https://93.184.215.14/rl/11"))
	if r.Status != 429 || r.errCode() != "rate_limited" {
		t.Fatalf("11th: %d %s", r.Status, r.Raw)
	}
	ra, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || ra < 1 || ra > 60 {
		t.Errorf("Retry-After = %q", r.Header.Get("Retry-After"))
	}
	d := r.errDetails()
	if d["window"] != "minute" || d["limit"] != float64(10) || d["retry_after"] != float64(ra) {
		t.Errorf("details = %v", d)
	}
	if r.Header.Get("X-RateLimit-Remaining") != "90" {
		t.Errorf("a rejected request counted: remaining %s", r.Header.Get("X-RateLimit-Remaining"))
	}
	if n := e.count("webhooks", k.WorkspaceID); n != 10 {
		t.Errorf("%d rows, want 10", n)
	}
	// The limit lives in Redis: a second instance sees the same window.
	g2 := e.start(nil)
	if r := g2.create(k, hookBody("https://93.184.215.14/rl/12")); r.Status != 429 {
		t.Errorf("second instance: %d %s", r.Status, r.Raw)
	}
}

func TestDailyWindowAndTier(t *testing.T) {
	e := newEnv(t)
	g := e.start(map[string]string{"RATE_LIMIT_STARTER": "100/3"})
	k := e.createKey(uuid.NewString(), "webhooks:read")
	high := e.createKey(uuid.NewString(), "webhooks:read", "--tier", "high")
	unmetered := e.createKey(uuid.NewString(), "webhooks:read", "--tier", "unmetered")
	for i := range 3 {
		if r := g.do(req{method: "POST", path: "/v1/webhooks", key: k.Key, body: "{}"}); r.Status != 403 {
			t.Fatalf("request %d: %d %s", i, r.Status, r.Raw)
		}
	}
	r := g.do(req{method: "POST", path: "/v1/webhooks", key: k.Key, body: "{}"})
	if r.Status != 429 || r.errDetails()["window"] != "day" || r.errDetails()["limit"] != float64(3) {
		t.Fatalf("4th: %d %s", r.Status, r.Raw)
	}
	y, m, d := time.Now().UTC().Date()
	midnight := time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
	ra, _ := strconv.Atoi(r.Header.Get("Retry-After"))
	if want := int(time.Until(midnight).Seconds()); ra < want-5 || ra > want+5 {
		t.Errorf("Retry-After %d, want about %d (seconds to midnight UTC)", ra, want)
	}
	if r := g.do(req{method: "POST", path: "/v1/webhooks", key: high.Key, body: "{}"}); r.Header.Get("X-RateLimit-Limit") != "15" {
		t.Errorf("high tier limit = %s, want 15 (3 × 5)", r.Header.Get("X-RateLimit-Limit"))
	}
	for range 20 {
		r := g.do(req{method: "POST", path: "/v1/webhooks", key: unmetered.Key, body: "{}"})
		if r.Status != 403 || r.Header.Get("X-RateLimit-Limit") != "" {
			t.Fatalf("unmetered: %d %s %v", r.Status, r.Raw, r.Header)
		}
	}
}

func TestPerIPLimitOnUnauthenticatedTraffic(t *testing.T) {
	e := newEnv(t)
	unauth := func(g *gw, xff string) reply {
		hr, _ := http.NewRequest("POST", g.url+base+"/v1/webhooks", strings.NewReader("{}"))
		hr.Header.Set("Authorization", "Bearer wbk_guess")
		if xff != "" {
			hr.Header.Set("X-Forwarded-For", xff)
		}
		return g.send(hr)
	}
	t.Run("direct peer; spoofed X-Forwarded-For is ignored", func(t *testing.T) {
		g := e.start(map[string]string{"IP_RATE_LIMIT_PER_MINUTE": "5"})
		for i := range 5 {
			if r := unauth(g, fmt.Sprintf("203.0.113.%d", i)); r.Status != 401 {
				t.Fatalf("attempt %d: %d %s", i, r.Status, r.Raw)
			}
		}
		r := unauth(g, "203.0.113.99")
		if r.Status != 429 || r.errCode() != "rate_limited" || r.Header.Get("Retry-After") == "" {
			t.Fatalf("6th attempt: %d %s", r.Status, r.Raw)
		}
	})
	t.Run("behind a trusted proxy each client has its own budget", func(t *testing.T) {
		g := e.start(map[string]string{"IP_RATE_LIMIT_PER_MINUTE": "2", "TRUSTED_PROXIES": "127.0.0.1/32"})
		for i := range 2 {
			if r := unauth(g, "198.51.100.7"); r.Status != 401 {
				t.Fatalf("attempt %d: %d", i, r.Status)
			}
		}
		if r := unauth(g, "198.51.100.7"); r.Status != 429 {
			t.Fatalf("client over its budget: %d", r.Status)
		}
		if r := unauth(g, "198.51.100.8"); r.Status != 401 {
			t.Fatalf("another client was limited: %d", r.Status)
		}
	})
}

func TestRedisDownFailsOpenToLocalLimits(t *testing.T) {
	e := newEnv(t)
	k := e.createKey(uuid.NewString(), "webhooks:write")
	// Nothing listens on port 1: every Redis call fails at once.
	g := e.start(map[string]string{"REDIS_URL": "redis://127.0.0.1:1/0"})
	for i := 1; i <= 10; i++ {
		if r := g.create(k, hookBody(fmt.Sprintf("https://93.184.215.14/down/%d", i))); r.Status != 201 {
			t.Fatalf("request %d with Redis down: %d %s", i, r.Status, r.Raw)
		}
	}
	if r := g.create(k, hookBody("https://93.184.215.14/down/11")); r.Status != 429 {
		t.Fatalf("the local fallback did not limit: %d %s", r.Status, r.Raw)
	}
	r := g.do(req{method: "GET", path: "/readyz"})
	if r.Status != 200 || r.Body["checks"].(map[string]any)["redis"] != "down" {
		t.Errorf("readyz with Redis down: %d %s", r.Status, r.Raw)
	}
}
