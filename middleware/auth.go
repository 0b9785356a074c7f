package middleware

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/gateway/ratelimit"
)

// Authenticator verifies API keys. apikeys.Service implements it.
type Authenticator interface {
	Authenticate(ctx context.Context, plaintext string) (*gateway.Principal, error)
	// Cached reports whether verifying this key would need no store read.
	Cached(plaintext string) bool
}

// Limiter makes rate-limit decisions. ratelimit's limiters implement it.
type Limiter interface {
	Allow(ctx context.Context, subject string, l ratelimit.Limits, now time.Time) (ratelimit.Decision, error)
}

// Auth authenticates the API key of a request. Unauthenticated traffic (no
// key, a bad key, or a key this instance has not verified recently) is first
// limited per client IP, so that guessing keys is slow and cannot flood the
// store; a warm, valid key costs no Redis call here.
type Auth struct {
	Keys      Authenticator
	IPLimiter Limiter
	IPLimits  ratelimit.Limits
	Clock     gateway.Clock
	Logger    *slog.Logger
}

// Middleware returns the echo middleware.
func (a *Auth) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			token, present := bearer(c.Request().Header.Get(echo.HeaderAuthorization))
			if !present || !a.Keys.Cached(token) {
				if err := a.limitIP(c); err != nil {
					return err
				}
			}
			if !present {
				return invalidKey(c, apikeys.ErrMissing)
			}
			if token == "" {
				return invalidKey(c, apikeys.ErrMalformed)
			}
			p, err := a.Keys.Authenticate(c.Request().Context(), token)
			if err != nil {
				var ae *apikeys.AuthError
				if errors.As(err, &ae) {
					return invalidKey(c, ae)
				}
				return gateway.Unavailable(err)
			}
			gateway.SetPrincipal(c, p)
			return next(c)
		}
	}
}

func (a *Auth) limitIP(c echo.Context) error {
	now := a.Clock.Now()
	d, err := a.IPLimiter.Allow(c.Request().Context(), "ip:"+c.RealIP(), a.IPLimits, now)
	if err != nil {
		a.Logger.Warn("per-IP limit unavailable; allowing", "error", err.Error())
		return nil
	}
	if !d.Allowed {
		return RateLimited(c, d)
	}
	return nil
}

// bearer extracts the token of "Bearer <token>" (scheme case-insensitive).
// present is true for any non-empty header; the token is empty when the
// header is not a Bearer credential.
func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", h != ""
	}
	return strings.TrimSpace(token), true
}

func invalidKey(c echo.Context, reason *apikeys.AuthError) error {
	// RFC 6750 §3.1: no error attribute when the request had no credentials.
	challenge := `Bearer realm="leadlex", error="invalid_token"`
	if reason == apikeys.ErrMissing {
		challenge = `Bearer realm="leadlex"`
	}
	c.Response().Header().Set(echo.HeaderWWWAuthenticate, challenge)
	msg := map[*apikeys.AuthError]string{
		apikeys.ErrMissing:   "Missing API key: send Authorization: Bearer wbk_...",
		apikeys.ErrMalformed: "Malformed API key: expected Authorization: Bearer wbk_ followed by 52 lowercase letters and digits.",
		apikeys.ErrUnknown:   "Unknown API key.",
		apikeys.ErrRevoked:   "This API key has been revoked.",
		apikeys.ErrExpired:   "This API key has expired.",
	}[reason]
	if msg == "" {
		msg = "Invalid API key."
	}
	return gateway.E(gateway.CodeInvalidKey, msg).WithDetails(map[string]any{"reason": reason.Reason})
}
