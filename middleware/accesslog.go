package middleware

import (
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/trace"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/routes"
)

// AccessLog writes one JSON line per request to out: time, level, msg
// ("request"), request_id, method, path, status, latency_ms, bytes_out,
// client_ip, and key_id and workspace_id when authenticated; error for
// internal failures (the cause) and error_code for others. It logs the path
// without the query string and never a header value, so the Authorization
// header and any secret stay out of the logs by construction. Lines below
// level are skipped (5xx are ERROR, the rest INFO).
//
// It encodes the line itself rather than through slog: on the hot path this
// is the largest cost after the Redis round trip, and the fields are fixed.
//
// With WithTraces (tracing on) the line also gets trace_id while the
// request's span is recording, and a failed request's span gets the error
// code (AttrErrorType); without it no span is looked up at all.
func AccessLog(out io.Writer, level slog.Leveler, opts ...AccessLogOption) echo.MiddlewareFunc {
	w := &lineWriter{out: out}
	var o accessLogOptions
	for _, opt := range opts {
		opt(&o)
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				// Render now, so that the status logged is the one sent.
				c.Error(err)
			}
			var span trace.Span
			if o.traces {
				span = trace.SpanFromContext(c.Request().Context())
				if err != nil && span.IsRecording() {
					span.SetAttributes(AttrErrorType.String(string(routes.ErrorOf(err).Code)))
				}
			}
			res := c.Response()
			lvl := slog.LevelInfo
			if res.Status >= 500 {
				lvl = slog.LevelError
			}
			if lvl < level.Level() {
				return nil
			}
			req := c.Request()
			b := bufPool.Get().(*[]byte)
			line := (*b)[:0]
			line = append(line, `{"time":"`...)
			line = time.Now().UTC().AppendFormat(line, time.RFC3339Nano)
			line = append(line, `","level":"`...)
			line = append(line, lvl.String()...)
			line = append(line, `","msg":"request"`...)
			line = field(line, "request_id", RequestIDOf(c))
			if span != nil && span.IsRecording() {
				line = field(line, "trace_id", span.SpanContext().TraceID().String())
			}
			line = field(line, "method", req.Method)
			line = field(line, "path", req.URL.Path)
			line = append(line, `,"status":`...)
			line = strconv.AppendInt(line, int64(res.Status), 10)
			line = append(line, `,"latency_ms":`...)
			line = strconv.AppendFloat(line, float64(time.Since(start).Microseconds())/1000, 'f', -1, 64)
			line = append(line, `,"bytes_out":`...)
			line = strconv.AppendInt(line, res.Size, 10)
			line = field(line, "client_ip", c.RealIP())
			if p := routes.PrincipalFrom(c); p != nil {
				line = field(line, "key_id", p.KeyID)
				line = field(line, "workspace_id", p.WorkspaceID)
			}
			if err != nil {
				if e := routes.ErrorOf(err); e.Code == gateway.CodeInternal || e.Code == gateway.CodeUnavailable {
					line = field(line, "error", err.Error())
				} else {
					line = field(line, "error_code", string(e.Code))
				}
			}
			line = append(line, "}\n"...)
			w.write(line)
			*b = line
			bufPool.Put(b)
			return nil
		}
	}
}

// AccessLogOption adjusts AccessLog.
type AccessLogOption func(*accessLogOptions)

type accessLogOptions struct{ traces bool }

// WithTraces links the log to the traces: mount it with Tracing.
func WithTraces() AccessLogOption { return func(o *accessLogOptions) { o.traces = true } }

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// lineWriter serialises whole lines, so that concurrent requests never
// interleave within one.
type lineWriter struct {
	mu  sync.Mutex
	out io.Writer
}

func (w *lineWriter) write(line []byte) {
	w.mu.Lock()
	_, _ = w.out.Write(line)
	w.mu.Unlock()
}

// field appends ,"name":"value" with value escaped as a JSON string.
func field(b []byte, name, value string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, `":`...)
	return appendJSONString(b, value)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
