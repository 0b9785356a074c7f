package middleware

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/idempotency"
	"github.com/leadlex/api-gateway/routes"
)

// IdempotencyStore reserves and keeps idempotency records.
// gateway/idempotency implements it for Redis and in-process.
type IdempotencyStore interface {
	// Begin reserves key unless taken; it returns the existing value ("" when
	// the reservation is now ours).
	Begin(ctx context.Context, key string, lockTTL time.Duration) (string, error)
	Complete(ctx context.Context, key, record string, ttl time.Duration) error
	Release(ctx context.Context, key string) error
}

// Sealer encrypts stored records. A replayed create response holds the
// webhook's signing secret, which must not sit in Redis in plaintext.
type Sealer interface {
	Seal(plaintext, aad []byte) (string, error)
	Open(sealed string, aad []byte) ([]byte, error)
}

// Idempotency makes POSTs with an Idempotency-Key header safe to retry: the
// first response (status, body, Location) is kept for TTL and replayed for a
// retry with the same key from the same API key; the same key with another
// request gets 409 idempotency_key_reused, and a retry while the first is
// still running gets 409 idempotency_key_in_use. 5xx answers are not kept,
// so a retry after a server failure runs again.
type Idempotency struct {
	Store   IdempotencyStore
	Sealer  Sealer
	TTL     time.Duration
	LockTTL time.Duration // how long a crashed request can hold a key
	Logger  *slog.Logger
}

const headerIdempotencyKey = "Idempotency-Key"

type idemRecord struct {
	Fingerprint string `json:"f"`
	Status      int    `json:"s"`
	ContentType string `json:"t,omitempty"`
	Location    string `json:"l,omitempty"`
	Body        []byte `json:"b"`
}

// BodyCheck applies a route's request checks to its body, already read
// (routes.Route.CheckBody).
type BodyCheck func(req *http.Request, body []byte) error

// Middleware returns the echo middleware without a body check (routes that
// take no body). It must run after Auth (records are scoped by API key)
// and only on POST routes.
func (m *Idempotency) Middleware() echo.MiddlewareFunc { return m.For(nil) }

// For returns the middleware for one route. check, when set, runs before the
// record is looked up: a retry must pass the same request checks as a fresh
// request before anything is replayed (a kept 201 holds a secret), and a
// request refused by them keeps nothing, as with Stripe. Auth, limits and
// the permission check already ran, further out.
func (m *Idempotency) For(check BodyCheck) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			vals := c.Request().Header.Values(headerIdempotencyKey)
			if len(vals) == 0 {
				return next(c)
			}
			if len(vals) > 1 {
				// Which one a proxy or a retry would honour is anyone's guess.
				return gateway.E(gateway.CodeValidation, "Send exactly one Idempotency-Key header.").
					WithDetails(map[string]any{"field": headerIdempotencyKey})
			}
			ikey := vals[0]
			if !validIdempotencyKey(ikey) {
				return gateway.E(gateway.CodeValidation, "Idempotency-Key must be 1 to 255 printable ASCII characters.").
					WithDetails(map[string]any{"field": headerIdempotencyKey})
			}
			req := c.Request()
			body, err := io.ReadAll(req.Body)
			if err != nil {
				var tooLarge *http.MaxBytesError
				if errors.As(err, &tooLarge) {
					return routes.TooLarge(tooLarge.Limit)
				}
				return gateway.E(gateway.CodeInvalidJSON, "The request body could not be read.")
			}
			req.Body = io.NopCloser(bytes.NewReader(body))
			if check != nil {
				if err := check(req, body); err != nil {
					return err
				}
			}

			p := routes.PrincipalFrom(c)
			sum := sha256.Sum256([]byte(ikey))
			storeKey := "{" + p.KeyID + "}:" + hex.EncodeToString(sum[:])
			fp := fingerprint(req, body)
			ctx := req.Context()

			existing, err := m.Store.Begin(ctx, storeKey, m.LockTTL)
			if err != nil {
				// Without the store we cannot promise at-most-once; say so
				// rather than risk doing the work twice.
				c.Response().Header().Set(echo.HeaderRetryAfter, "1")
				return gateway.Unavailable(err)
			}
			switch {
			case existing == idempotency.Pending:
				return gateway.E(gateway.CodeIdempotencyKeyInUse, "A request with this Idempotency-Key is still being processed; retry shortly.")
			case existing != "":
				return m.replay(c, storeKey, existing, fp)
			}

			rec := &recorder{ResponseWriter: c.Response().Writer}
			c.Response().Writer = rec
			returned := false
			defer func() {
				// A panicking handler gets its 500 from Recover further out;
				// like any 5xx, it must not hold the key until LockTTL.
				if !returned {
					_ = m.Store.Release(context.WithoutCancel(ctx), storeKey)
				}
			}()
			handlerErr := next(c)
			returned = true
			if handlerErr != nil {
				// Render now, to keep what the client got; the error still
				// goes up, so that the access log records its cause.
				c.Error(handlerErr)
			}
			status := c.Response().Status
			if status >= 500 || rec.overflow {
				if err := m.Store.Release(context.WithoutCancel(ctx), storeKey); err != nil {
					m.Logger.Warn("idempotency: release failed", "error", err.Error())
				}
				return handlerErr
			}
			h := c.Response().Header()
			raw, _ := json.Marshal(idemRecord{Fingerprint: fp, Status: status, ContentType: h.Get(echo.HeaderContentType), Location: h.Get(echo.HeaderLocation), Body: rec.buf.Bytes()})
			sealed, err := m.Sealer.Seal(raw, []byte(storeKey))
			if err == nil {
				err = m.Store.Complete(context.WithoutCancel(ctx), storeKey, sealed, m.TTL)
			}
			if err != nil {
				m.Logger.Error("idempotency: could not keep the response", "error", err.Error())
				_ = m.Store.Release(context.WithoutCancel(ctx), storeKey)
			}
			return handlerErr
		}
	}
}

func (m *Idempotency) replay(c echo.Context, storeKey, sealed, fp string) error {
	raw, err := m.Sealer.Open(sealed, []byte(storeKey))
	var rec idemRecord
	if err == nil {
		err = json.Unmarshal(raw, &rec)
	}
	if err != nil {
		return gateway.Internal(err)
	}
	if rec.Fingerprint != fp {
		return gateway.E(gateway.CodeIdempotencyKeyReused, "This Idempotency-Key was already used with a different request.")
	}
	h := c.Response().Header()
	h.Set("Idempotent-Replayed", "true")
	if rec.Location != "" {
		h.Set(echo.HeaderLocation, rec.Location)
	}
	body := rec.Body
	if rec.Status >= 400 {
		body = withRequestID(body, RequestIDOf(c))
	}
	return c.Blob(rec.Status, rec.ContentType, body)
}

// withRequestID points a replayed error envelope at this request, since the
// contract has error.request_id repeat the response's X-Request-ID. Success
// bodies are replayed byte for byte.
func withRequestID(body []byte, id string) []byte {
	var env map[string]map[string]any
	if json.Unmarshal(body, &env) != nil || env["error"] == nil {
		return body
	}
	env["error"]["request_id"] = id
	out, err := json.Marshal(env)
	if err != nil {
		return body
	}
	return out
}

// fingerprint identifies "the same request": method, path and body.
func fingerprint(r *http.Request, body []byte) string {
	h := sha256.New()
	io.WriteString(h, r.Method+" "+r.URL.Path+"\n")
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

func validIdempotencyKey(s string) bool {
	if len(s) == 0 || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// maxRecorded bounds what one kept response may hold.
const maxRecorded = 1 << 20

// recorder copies what the handler writes, to keep it for replays.
type recorder struct {
	http.ResponseWriter
	buf      bytes.Buffer
	overflow bool
}

// Unwrap lets http.ResponseController reach the connection.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) Write(b []byte) (int, error) {
	if r.buf.Len()+len(b) > maxRecorded {
		r.overflow = true
	} else {
		r.buf.Write(b)
	}
	return r.ResponseWriter.Write(b)
}
