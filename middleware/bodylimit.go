package middleware

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/leadlex/api-gateway/routes"
)

// BodyLimit refuses a declared Content-Length over limit at once and caps
// what can be read of any body, so that a chunked upload cannot exceed it
// either (reads fail with *http.MaxBytesError, which DecodeJSON maps to 413).
// It also notes whether the body was read to its end, for
// AbandonUnreadBody.
func BodyLimit(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.ContentLength > limit {
				return routes.TooLarge(limit)
			}
			if req.ContentLength != 0 {
				b := &trackedBody{ReadCloser: http.MaxBytesReader(c.Response(), req.Body, limit)}
				req.Body = b
				c.Set(trackedBodyKey, b)
			}
			return next(c)
		}
	}
}

const trackedBodyKey = "middleware.body"

// trackedBody remembers whether its reader reached the end.
type trackedBody struct {
	io.ReadCloser
	eof bool
}

func (b *trackedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) {
		b.eof = true
	}
	return n, err
}

// AbandonUnreadBody is for an answer given without reading the request's
// body (401, 413, 404, a refused content type): it marks the response
// Connection: close and ends the connection's reads now. Otherwise
// net/http reads up to 256 KiB of what is left before it writes the
// response, so a client trickling its body in would get its 401 only after
// the body or the read timeout (30 s), and could hold connections that
// long at no cost. Call it before the response is written; a request whose
// body was read to its end is left alone, and the connection kept.
func AbandonUnreadBody(c echo.Context) {
	b, ok := c.Get(trackedBodyKey).(*trackedBody)
	if c.Request().ContentLength == 0 || (ok && b.eof) || c.Response().Committed {
		return
	}
	c.Response().Header().Set(echo.HeaderConnection, "close")
	// Not supported only under a test recorder; Connection: close then
	// still tells the server to skip the read.
	_ = http.NewResponseController(c.Response()).SetReadDeadline(time.Now())
}
