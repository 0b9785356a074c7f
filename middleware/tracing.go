package middleware

import (
	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Span attribute keys of the request span. The HTTP ones are
// OpenTelemetry's semantic conventions; request.id is our X-Request-ID, so
// that a log line and a trace can be found from one another.
const (
	AttrMethod     = attribute.Key("http.request.method")
	AttrRoute      = attribute.Key("http.route")
	AttrStatusCode = attribute.Key("http.response.status_code")
	AttrRequestID  = attribute.Key("request.id")
	// AttrErrorType is the envelope's error code (never its message, which
	// can quote the client's input). AccessLog sets it, where the error is
	// rendered.
	AttrErrorType = attribute.Key("error.type")
)

// Tracing starts the server span of every request: named "<METHOD> <route
// template>" (the route as registered, base path included, never the raw
// path, so that ids do not make every name unique; just the method for a
// path no route matches), with the method, route, request ID and response
// status as attributes, and status Error for a 5xx. It must run after
// RequestID and before AccessLog, which adds the trace id to the log line
// and the error code to the span.
//
// An incoming W3C traceparent is the span's parent only with trustParent
// (TRACE_TRUST_PARENT): behind a proxy that sets it. Otherwise the request
// starts a new trace, sampled by this process's sampler, with a link to the
// caller's context: a client cannot choose our trace ids or force sampling,
// and the caller's trace can still be found.
func Tracing(tracer trace.Tracer, trustParent bool) echo.MiddlewareFunc {
	prop := propagation.TraceContext{}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			ctx := req.Context()
			opts := make([]trace.SpanStartOption, 0, 4)
			opts = append(opts, trace.WithSpanKind(trace.SpanKindServer))
			if req.Header.Get("Traceparent") != "" {
				remote := trace.SpanContextFromContext(prop.Extract(ctx, propagation.HeaderCarrier(req.Header)))
				switch {
				case !remote.IsValid():
				case trustParent:
					ctx = trace.ContextWithRemoteSpanContext(ctx, remote)
				default:
					opts = append(opts, trace.WithNewRoot(), trace.WithLinks(trace.Link{SpanContext: remote}))
				}
			}
			route := c.Path()
			name := req.Method
			attrs := make([]attribute.KeyValue, 0, 3)
			attrs = append(attrs, AttrMethod.String(req.Method), AttrRequestID.String(RequestIDOf(c)))
			if route != "" {
				name += " " + route
				attrs = append(attrs, AttrRoute.String(route))
			}
			opts = append(opts, trace.WithAttributes(attrs...))
			ctx, span := tracer.Start(ctx, name, opts...)
			defer span.End()
			c.SetRequest(req.WithContext(ctx))
			err := next(c)
			if err != nil && !c.Response().Committed {
				// Render now (as AccessLog does), so that the status
				// recorded is the one sent.
				c.Error(err)
				err = nil
			}
			status := c.Response().Status
			span.SetAttributes(AttrStatusCode.Int(status))
			if status >= 500 {
				span.SetStatus(codes.Error, "")
			}
			return err
		}
	}
}
