package middleware_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/leadlex/api-gateway/internal/testredis"
	"github.com/leadlex/api-gateway/routes"

	"github.com/labstack/echo/v4"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/idempotency"
	"github.com/leadlex/api-gateway/gateway/secretbox"
	"github.com/leadlex/api-gateway/middleware"
)

const (
	idemTTL     = 24 * time.Hour
	idemLockTTL = time.Minute
)

// recordingStore wraps a real store and remembers what was asked of it, so
// that tests can inspect exactly what would sit in Redis.
type recordingStore struct {
	middleware.IdempotencyStore
	failBegin, failComplete error

	mu        sync.Mutex
	begins    int
	completed map[string]string
	released  []string
}

func (s *recordingStore) Begin(ctx context.Context, key string, lockTTL time.Duration) (string, error) {
	s.mu.Lock()
	s.begins++
	s.mu.Unlock()
	if s.failBegin != nil {
		return "", s.failBegin
	}
	return s.IdempotencyStore.Begin(ctx, key, lockTTL)
}

func (s *recordingStore) Complete(ctx context.Context, key, record string, ttl time.Duration) error {
	s.mu.Lock()
	if s.completed == nil {
		s.completed = map[string]string{}
	}
	s.completed[key] = record
	s.mu.Unlock()
	if s.failComplete != nil {
		return s.failComplete
	}
	return s.IdempotencyStore.Complete(ctx, key, record, ttl)
}

func (s *recordingStore) Release(ctx context.Context, key string) error {
	s.mu.Lock()
	s.released = append(s.released, key)
	s.mu.Unlock()
	return s.IdempotencyStore.Release(ctx, key)
}

func (s *recordingStore) snapshot() (begins int, completed map[string]string, released []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := make(map[string]string, len(s.completed))
	for k, v := range s.completed {
		c[k] = v
	}
	return s.begins, c, append([]string(nil), s.released...)
}

// failingSealer cannot encrypt.
type failingSealer struct{ middleware.Sealer }

func (failingSealer) Seal([]byte, []byte) (string, error) { return "", errors.New("sealer broken") }

// idemBackend is a real store under test and, for Redis, a way to read
// everything it holds.
type idemBackend struct {
	name string
	new  func(t *testing.T) (store middleware.IdempotencyStore, dump func() map[string]rawEntry)
}

// rawEntry is a value as it sits in Redis.
type rawEntry struct {
	value string
	ttl   time.Duration
}

func idemBackends() []idemBackend {
	return []idemBackend{
		{"memory", func(*testing.T) (middleware.IdempotencyStore, func() map[string]rawEntry) {
			return idempotency.NewMemory(), nil
		}},
		{"redis", func(t *testing.T) (middleware.IdempotencyStore, func() map[string]rawEntry) {
			client, prefix := testredis.New(t)
			dump := func() map[string]rawEntry {
				ctx := context.Background()
				out := map[string]rawEntry{}
				iter := client.Scan(ctx, 0, prefix+"*", 100).Iterator()
				for iter.Next(ctx) {
					k := iter.Val()
					v, err := client.Get(ctx, k).Result()
					if err != nil {
						t.Fatalf("redis GET %s: %v", k, err)
					}
					out[strings.TrimPrefix(k, prefix)] = rawEntry{v, client.PTTL(ctx, k).Val()}
				}
				if err := iter.Err(); err != nil {
					t.Fatal(err)
				}
				return out
			}
			return idempotency.NewRedis(client, prefix), dump
		}},
	}
}

type idemFixture struct {
	e     *echo.Echo
	store *recordingStore
	dump  func() map[string]rawEntry // nil for the memory store
	calls atomic.Int32
	// When gate is set, the handler signals entered and waits for gate.
	gate, entered chan struct{}
	// status, when set, is the status the next handler calls answer with.
	status atomic.Int32
	panics atomic.Bool
	big    atomic.Bool
	plain  atomic.Bool // answer 409 with a non-JSON body
}

func newIdemFixture(t *testing.T, b idemBackend, sealer middleware.Sealer) *idemFixture {
	t.Helper()
	inner, dump := b.new(t)
	f := &idemFixture{store: &recordingStore{IdempotencyStore: inner}, dump: dump}
	if sealer == nil {
		box, err := secretbox.New(bytes.Repeat([]byte{0x42}, 32))
		if err != nil {
			t.Fatal(err)
		}
		sealer = box
	}
	m := &middleware.Idempotency{Store: f.store, Sealer: sealer, TTL: idemTTL, LockTTL: idemLockTTL, Logger: discardLogger()}
	setPrincipal := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			routes.SetPrincipal(c, &gateway.Principal{KeyID: c.Request().Header.Get("X-Test-Key")})
			return next(c)
		}
	}
	f.e = newEcho(t)
	f.e.Use(middleware.RequestID(), middleware.Recover(discardLogger()), middleware.BodyLimit(4096))
	create := func(c echo.Context) error {
		n := f.calls.Add(1)
		body, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return err
		}
		if f.gate != nil {
			f.entered <- struct{}{}
			<-f.gate
		}
		if f.panics.Load() {
			panic("handler bug")
		}
		if s := f.status.Load(); s >= 500 {
			return gateway.Unavailable(errors.New("db down"))
		} else if s >= 400 {
			return gateway.E(gateway.CodeInvalidURL, "Bad URL.").WithDetails(map[string]any{"n": n})
		}
		if f.plain.Load() {
			return c.String(http.StatusConflict, "plain text conflict")
		}
		if f.big.Load() {
			return c.Blob(http.StatusOK, "application/octet-stream", bytes.Repeat([]byte("x"), 1<<20+1))
		}
		c.Response().Header().Set(echo.HeaderLocation, fmt.Sprintf("/v1/webhooks/%d", n))
		return c.JSON(http.StatusCreated, map[string]any{"data": map[string]any{
			"n": n, "secret": "whsec_" + randomHex(t), "request": string(body),
		}})
	}
	f.e.POST("/v1/webhooks", create, setPrincipal, m.Middleware())
	f.e.POST("/v1/other", create, setPrincipal, m.Middleware())
	return f
}

func randomHex(t *testing.T) string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Error(err)
	}
	return hex.EncodeToString(b)
}

func (f *idemFixture) post(path, apiKey, idemKey, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	req.Header.Set("X-Test-Key", apiKey)
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	return serve(f.e, req)
}

const idemBody = `{"url":"https://example.com/hook","events":["contact.created"]}`

// sameResponse checks that replay repeats first byte for byte.
func sameResponse(t *testing.T, first, replay *httptest.ResponseRecorder) {
	t.Helper()
	if replay.Code != first.Code {
		t.Errorf("replayed status %d, first %d", replay.Code, first.Code)
	}
	if !bytes.Equal(replay.Body.Bytes(), first.Body.Bytes()) {
		t.Errorf("replayed body differs:\nfirst  %s\nreplay %s", first.Body, replay.Body)
	}
	for _, h := range []string{echo.HeaderContentType, echo.HeaderLocation} {
		if replay.Header().Get(h) != first.Header().Get(h) {
			t.Errorf("replayed %s = %q, first %q", h, replay.Header().Get(h), first.Header().Get(h))
		}
	}
	if got := replay.Header().Get("Idempotent-Replayed"); got != "true" {
		t.Errorf("Idempotent-Replayed = %q, want true", got)
	}
}

func TestIdempotency(t *testing.T) {
	for _, b := range idemBackends() {
		t.Run(b.name, func(t *testing.T) {
			t.Run("without a key every request runs", func(t *testing.T) {
				f := newIdemFixture(t, b, nil)
				for range 3 {
					if rec := f.post("/v1/webhooks", "k1", "", idemBody); rec.Code != http.StatusCreated {
						t.Fatalf("status %d", rec.Code)
					}
				}
				if begins, _, _ := f.store.snapshot(); f.calls.Load() != 3 || begins != 0 {
					t.Errorf("%d handler runs, %d store calls; want 3 and 0", f.calls.Load(), begins)
				}
			})

			t.Run("first response is replayed byte for byte", func(t *testing.T) {
				f := newIdemFixture(t, b, nil)
				first := f.post("/v1/webhooks", "k1", "create-1", idemBody)
				if first.Code != http.StatusCreated || first.Header().Get(echo.HeaderLocation) != "/v1/webhooks/1" {
					t.Fatalf("first: %d %v %s", first.Code, first.Header(), first.Body)
				}
				if first.Header().Get("Idempotent-Replayed") != "" {
					t.Error("Idempotent-Replayed on the first response")
				}
				for range 2 {
					sameResponse(t, first, f.post("/v1/webhooks", "k1", "create-1", idemBody))
				}
				if n := f.calls.Load(); n != 1 {
					t.Errorf("handler ran %d times, want 1", n)
				}
				// The handler still gets the whole body, and a new key runs again.
				if !strings.Contains(first.Body.String(), `contact.created`) {
					t.Errorf("the handler did not see the body: %s", first.Body)
				}
				if rec := f.post("/v1/webhooks", "k1", "create-2", idemBody); rec.Code != http.StatusCreated || f.calls.Load() != 2 {
					t.Errorf("new key: %d, %d runs", rec.Code, f.calls.Load())
				}
			})

			t.Run("the stored record is sealed", func(t *testing.T) {
				f := newIdemFixture(t, b, nil)
				first := f.post("/v1/webhooks", "k1", "create-1", idemBody)
				_, completed, _ := f.store.snapshot()
				if len(completed) != 1 {
					t.Fatalf("%d records kept, want 1", len(completed))
				}
				var secret string
				if i := strings.Index(first.Body.String(), "whsec_"); i >= 0 {
					secret = first.Body.String()[i : i+len("whsec_")+48]
				} else {
					t.Fatalf("no secret in %s", first.Body)
				}
				for key, rec := range completed {
					if strings.Contains(key, "create-1") {
						t.Errorf("store key %q holds the raw Idempotency-Key", key)
					}
					if !strings.HasPrefix(key, "{k1}:") {
						t.Errorf("store key %q is not scoped by the API key", key)
					}
					stored := []string{rec}
					if f.dump != nil {
						all := f.dump()
						if len(all) != 1 || all[key].value != rec {
							t.Errorf("Redis holds %v, Complete was given %q under %q", all, rec, key)
						}
						if ttl := all[key].ttl; ttl <= idemTTL-time.Minute || ttl > idemTTL {
							t.Errorf("record TTL %s, want about %s", ttl, idemTTL)
						}
						stored = append(stored, all[key].value)
					}
					for _, s := range stored {
						for _, leak := range []string{secret, secret[6:], "whsec_", "contact.created", "example.com",
							base64.StdEncoding.EncodeToString(first.Body.Bytes()[:30]), `"data"`} {
							if strings.Contains(s, leak) {
								t.Errorf("stored record contains %q in plaintext: %s", leak, s)
							}
						}
					}
				}
			})

			t.Run("same key with another body or path is reused", func(t *testing.T) {
				f := newIdemFixture(t, b, nil)
				f.post("/v1/webhooks", "k1", "create-1", idemBody)
				tests := []struct{ name, path, body string }{
					{"other body", "/v1/webhooks", `{"url":"https://example.com/other","events":["contact.created"]}`},
					{"body with extra space", "/v1/webhooks", idemBody + " "},
					{"empty body", "/v1/webhooks", ""},
					{"other path", "/v1/other", idemBody},
				}
				for _, tc := range tests {
					t.Run(tc.name, func(t *testing.T) {
						rec := f.post(tc.path, "k1", "create-1", tc.body)
						decodeError(t, rec, http.StatusConflict, gateway.CodeIdempotencyKeyReused)
						if rec.Header().Get("Idempotent-Replayed") != "" {
							t.Error("a refusal is marked as a replay")
						}
					})
				}
				if n := f.calls.Load(); n != 1 {
					t.Errorf("handler ran %d times, want 1", n)
				}
				// The original is still replayed.
				if rec := f.post("/v1/webhooks", "k1", "create-1", idemBody); rec.Code != http.StatusCreated || rec.Header().Get("Idempotent-Replayed") != "true" {
					t.Errorf("original after a reuse: %d %v", rec.Code, rec.Header())
				}
			})

			t.Run("keys are scoped per API key", func(t *testing.T) {
				f := newIdemFixture(t, b, nil)
				a := f.post("/v1/webhooks", "key-a", "same", idemBody)
				bb := f.post("/v1/webhooks", "key-b", "same", idemBody)
				if a.Code != http.StatusCreated || bb.Code != http.StatusCreated || bb.Header().Get("Idempotent-Replayed") != "" {
					t.Fatalf("a %d, b %d %v", a.Code, bb.Code, bb.Header())
				}
				if f.calls.Load() != 2 || bytes.Equal(a.Body.Bytes(), bb.Body.Bytes()) {
					t.Errorf("%d runs; the second key got the first key's response: %s", f.calls.Load(), bb.Body)
				}
				sameResponse(t, a, f.post("/v1/webhooks", "key-a", "same", idemBody))
				sameResponse(t, bb, f.post("/v1/webhooks", "key-b", "same", idemBody))
			})

			t.Run("a duplicate while the first is in flight is in_use", func(t *testing.T) {
				f := newIdemFixture(t, b, nil)
				f.gate, f.entered = make(chan struct{}), make(chan struct{}, 1)
				done := make(chan *httptest.ResponseRecorder)
				go func() { done <- f.post("/v1/webhooks", "k1", "slow", idemBody) }()
				<-f.entered
				if f.dump != nil {
					all := f.dump()
					for k, v := range all {
						if v.value != idempotency.Pending || v.ttl <= 0 || v.ttl > idemLockTTL {
							t.Errorf("in flight: Redis holds %q = %q with TTL %s, want %q for at most %s", k, v.value, v.ttl, idempotency.Pending, idemLockTTL)
						}
					}
					if len(all) != 1 {
						t.Errorf("in flight: Redis holds %v, want one reservation", all)
					}
				}
				for _, body := range []string{idemBody, `{"other":1}`} {
					decodeError(t, f.post("/v1/webhooks", "k1", "slow", body), http.StatusConflict, gateway.CodeIdempotencyKeyInUse)
				}
				close(f.gate)
				first := <-done
				f.gate = nil
				if first.Code != http.StatusCreated {
					t.Fatalf("first: %d %s", first.Code, first.Body)
				}
				sameResponse(t, first, f.post("/v1/webhooks", "k1", "slow", idemBody))
				if n := f.calls.Load(); n != 1 {
					t.Errorf("handler ran %d times, want 1", n)
				}
			})

			t.Run("5xx is not kept", func(t *testing.T) {
				f := newIdemFixture(t, b, nil)
				f.status.Store(http.StatusServiceUnavailable)
				decodeError(t, f.post("/v1/webhooks", "k1", "retry-me", idemBody), http.StatusServiceUnavailable, gateway.CodeUnavailable)
				f.status.Store(0)
				second := f.post("/v1/webhooks", "k1", "retry-me", idemBody)
				if second.Code != http.StatusCreated || second.Header().Get("Idempotent-Replayed") != "" || f.calls.Load() != 2 {
					t.Fatalf("retry after 5xx: %d, %d runs, %v", second.Code, f.calls.Load(), second.Header())
				}
				sameResponse(t, second, f.post("/v1/webhooks", "k1", "retry-me", idemBody))
			})

			t.Run("a panicking handler does not hold the key", func(t *testing.T) {
				f := newIdemFixture(t, b, nil)
				f.panics.Store(true)
				decodeError(t, f.post("/v1/webhooks", "k1", "panic", idemBody), http.StatusInternalServerError, gateway.CodeInternal)
				f.panics.Store(false)
				rec := f.post("/v1/webhooks", "k1", "panic", idemBody)
				if rec.Code != http.StatusCreated || f.calls.Load() != 2 {
					t.Fatalf("retry after a panic: %d %s, %d runs", rec.Code, rec.Body, f.calls.Load())
				}
			})

			t.Run("4xx is kept and replayed with this request's ID", func(t *testing.T) {
				f := newIdemFixture(t, b, nil)
				f.status.Store(http.StatusBadRequest)
				first := f.post("/v1/webhooks", "k1", "bad", idemBody)
				want := decodeError(t, first, http.StatusBadRequest, gateway.CodeInvalidURL)
				f.status.Store(0)
				replay := f.post("/v1/webhooks", "k1", "bad", idemBody)
				got := decodeError(t, replay, http.StatusBadRequest, gateway.CodeInvalidURL)
				if replay.Header().Get("Idempotent-Replayed") != "true" || replay.Header().Get(echo.HeaderContentType) != first.Header().Get(echo.HeaderContentType) {
					t.Errorf("replay headers %v", replay.Header())
				}
				if id := replay.Header().Get(echo.HeaderXRequestID); id == "" || got.Error.RequestID != id || id == want.Error.RequestID {
					t.Errorf("replayed request_id %q, X-Request-ID %q, first %q", got.Error.RequestID, id, want.Error.RequestID)
				}
				got.Error.RequestID, want.Error.RequestID = "", ""
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("replayed error %+v, first %+v", got, want)
				}
				if n := f.calls.Load(); n != 1 {
					t.Errorf("handler ran %d times, want 1", n)
				}
			})

			t.Run("a non-JSON error body is replayed as it was", func(t *testing.T) {
				f := newIdemFixture(t, b, nil)
				f.plain.Store(true)
				first := f.post("/v1/webhooks", "k1", "plain", idemBody)
				if first.Code != http.StatusConflict {
					t.Fatalf("status %d", first.Code)
				}
				sameResponse(t, first, f.post("/v1/webhooks", "k1", "plain", idemBody))
			})

			t.Run("a response too large to keep is not kept", func(t *testing.T) {
				f := newIdemFixture(t, b, nil)
				f.big.Store(true)
				for range 2 {
					if rec := f.post("/v1/webhooks", "k1", "big", idemBody); rec.Code != http.StatusOK || rec.Body.Len() != 1<<20+1 {
						t.Fatalf("status %d, %d bytes", rec.Code, rec.Body.Len())
					}
				}
				if _, completed, released := f.store.snapshot(); f.calls.Load() != 2 || len(completed) != 0 || len(released) != 2 {
					t.Errorf("%d runs, %d kept, %d released; want 2, 0, 2", f.calls.Load(), len(completed), len(released))
				}
			})

			t.Run("a sealing failure keeps nothing", func(t *testing.T) {
				f := newIdemFixture(t, b, failingSealer{})
				for range 2 {
					if rec := f.post("/v1/webhooks", "k1", "k", idemBody); rec.Code != http.StatusCreated || rec.Header().Get("Idempotent-Replayed") != "" {
						t.Fatalf("status %d %v", rec.Code, rec.Header())
					}
				}
				if n := f.calls.Load(); n != 2 {
					t.Errorf("handler ran %d times, want 2 (the key was released)", n)
				}
			})

			t.Run("an unreadable record is an internal error", func(t *testing.T) {
				f := newIdemFixture(t, b, nil)
				f.post("/v1/webhooks", "k1", "k", idemBody)
				key := mustOneKey(t, f)
				if err := f.store.Complete(context.Background(), key, "not-a-sealed-record", time.Minute); err != nil {
					t.Fatal(err)
				}
				decodeError(t, f.post("/v1/webhooks", "k1", "k", idemBody), http.StatusInternalServerError, gateway.CodeInternal)
			})

			t.Run("body over the limit", func(t *testing.T) {
				f := newIdemFixture(t, b, nil)
				req := httptest.NewRequest(http.MethodPost, "/v1/webhooks", strings.NewReader(`{"x":"`+strings.Repeat("a", 5000)+`"}`))
				req.ContentLength = -1
				req.Header.Set("X-Test-Key", "k1")
				req.Header.Set("Idempotency-Key", "big-body")
				decodeError(t, serve(f.e, req), http.StatusRequestEntityTooLarge, gateway.CodePayloadTooLarge)
				if begins, _, _ := f.store.snapshot(); begins != 0 || f.calls.Load() != 0 {
					t.Errorf("%d store calls, %d runs for a refused body", begins, f.calls.Load())
				}
			})
		})
	}
}

// mustOneKey returns the one store key the fixture has used.
func mustOneKey(t *testing.T, f *idemFixture) string {
	t.Helper()
	_, completed, released := f.store.snapshot()
	keys := map[string]bool{}
	for k := range completed {
		keys[k] = true
	}
	for _, k := range released {
		keys[k] = true
	}
	if len(keys) != 1 {
		t.Fatalf("store keys %v, want one", keys)
	}
	for k := range keys {
		return k
	}
	return ""
}

func TestIdempotencyKeyValidation(t *testing.T) {
	f := newIdemFixture(t, idemBackends()[0], nil)
	tests := []struct {
		name string
		key  string
		ok   bool
	}{
		{"one character", "a", true},
		{"uuid", "0d3c8f5e-2b7a-4f0e-9a51-6c1d2e3f4a5b", true},
		{"printable punctuation", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", true},
		{"255 characters", strings.Repeat("k", 255), true},
		{"256 characters", strings.Repeat("k", 256), false},
		{"space", "a b", false},
		{"tab", "a\tb", false},
		{"newline", "a\nb", false},
		{"NUL", "a\x00b", false},
		{"DEL", "a\x7fb", false},
		{"escape", "\x1b[31m", false},
		{"non-ASCII", "clé", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := f.calls.Load()
			req := httptest.NewRequest(http.MethodPost, "/v1/webhooks", strings.NewReader(idemBody))
			req.Header.Set("X-Test-Key", "k1")
			req.Header["Idempotency-Key"] = []string{tc.key}
			rec := serve(f.e, req)
			if tc.ok {
				if rec.Code != http.StatusCreated {
					t.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
				return
			}
			env := decodeError(t, rec, http.StatusBadRequest, gateway.CodeValidation)
			if env.Error.Details["field"] != "Idempotency-Key" {
				t.Errorf("details = %v, want field Idempotency-Key", env.Error.Details)
			}
			if f.calls.Load() != before {
				t.Error("the handler ran")
			}
		})
	}
}

func TestIdempotencyCompleteFails(t *testing.T) {
	f := newIdemFixture(t, idemBackends()[0], nil)
	f.store.failComplete = errors.New("redis: i/o timeout")
	for range 2 {
		if rec := f.post("/v1/webhooks", "k1", "k", idemBody); rec.Code != http.StatusCreated || rec.Header().Get("Idempotent-Replayed") != "" {
			t.Fatalf("status %d %v", rec.Code, rec.Header())
		}
	}
	if _, _, released := f.store.snapshot(); f.calls.Load() != 2 || len(released) != 2 {
		t.Errorf("%d runs, %d releases; want the key released so that a retry runs", f.calls.Load(), len(released))
	}
}

func TestIdempotencyUnreadableBody(t *testing.T) {
	f := newIdemFixture(t, idemBackends()[0], nil)
	req := httptest.NewRequest(http.MethodPost, "/v1/webhooks", iotest.ErrReader(errors.New("connection reset")))
	req.Header.Set("X-Test-Key", "k1")
	req.Header.Set("Idempotency-Key", "k")
	decodeError(t, serve(f.e, req), http.StatusBadRequest, gateway.CodeInvalidJSON)
	if begins, _, _ := f.store.snapshot(); begins != 0 || f.calls.Load() != 0 {
		t.Errorf("%d store calls, %d runs", begins, f.calls.Load())
	}
}

func TestIdempotencyStoreDown(t *testing.T) {
	f := newIdemFixture(t, idemBackends()[0], nil)
	f.store.failBegin = errors.New("redis: i/o timeout talking to 10.1.2.3:6379")
	rec := f.post("/v1/webhooks", "k1", "k", idemBody)
	decodeError(t, rec, http.StatusServiceUnavailable, gateway.CodeUnavailable)
	if got := rec.Header().Get(echo.HeaderRetryAfter); got == "" || got == "0" {
		t.Errorf("Retry-After = %q, want a positive number of seconds", got)
	}
	if strings.Contains(rec.Body.String(), "10.1.2.3") {
		t.Errorf("the response exposes the store error: %s", rec.Body)
	}
	if n := f.calls.Load(); n != 0 {
		t.Errorf("handler ran %d times without the store", n)
	}
	// Without a key the store is not needed.
	if rec := f.post("/v1/webhooks", "k1", "", idemBody); rec.Code != http.StatusCreated {
		t.Errorf("no key, store down: %d", rec.Code)
	}
}
