// Package tracing sets up OpenTelemetry tracing for a gateway process: the
// SDK's tracer provider exporting over OTLP/HTTP in batches, the resource
// that names the process, the parent-based sampler the configuration asks
// for, and the W3C trace-context propagator. With tracing off it installs
// nothing, so no span is ever created and no exporter is ever built. The
// spans themselves are started where the work happens (the request
// middleware, the rate limiter, the store wrapper, the delivery engine).
package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"

	"github.com/leadlex/api-gateway/config"
	"github.com/leadlex/api-gateway/gateway"
)

// Scope is the instrumentation scope of every span the gateway starts.
const Scope = "github.com/leadlex/api-gateway"

// Process roles, recorded on the resource so that the serve and worker
// processes of one deployment can be told apart.
const (
	RoleServe  = "serve"
	RoleWorker = "worker"
)

// RoleKey is the resource attribute holding the process role.
const RoleKey = attribute.Key("leadlex.process.role")

// ShutdownTimeout bounds the flush at exit: spans still queued after it are
// lost rather than holding up a deploy.
const ShutdownTimeout = 5 * time.Second

// Shutdown flushes the spans still queued and stops the exporter, within
// ShutdownTimeout. It is safe to call when tracing is off.
type Shutdown func() error

// Setup installs the global tracer provider and propagator for a process
// of the given role when cfg.Enabled, and returns the Shutdown to call at
// exit. With tracing off it installs nothing and builds no exporter: the
// global provider stays OpenTelemetry's no-op one. Export errors are logged
// to logger (they never fail a request).
func Setup(ctx context.Context, cfg config.Tracing, role string, logger *slog.Logger) (Shutdown, error) {
	if !cfg.Enabled {
		return func() error { return nil }, nil
	}
	tp, err := NewProvider(ctx, cfg, role)
	if err != nil {
		return nil, err
	}
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		logger.Warn("tracing: export failed; spans may be lost", "error", err.Error())
	}))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	return func() error {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
		defer cancel()
		if err := tp.Shutdown(sctx); err != nil {
			return fmt.Errorf("tracing: flush at exit: %w", err)
		}
		return nil
	}, nil
}

// NewProvider builds the SDK tracer provider of Setup without installing
// it: the OTLP/HTTP exporter (which reads the endpoint, headers and TLS
// settings from the standard OTEL_EXPORTER_OTLP_* variables), bounded by
// cfg.ExportTimeout, behind a batch span processor (OTEL_BSP_* apply).
func NewProvider(ctx context.Context, cfg config.Tracing, role string) (*sdktrace.TracerProvider, error) {
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithTimeout(cfg.ExportTimeout))
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithFromEnv(), // OTEL_RESOURCE_ATTRIBUTES; ours below win
		resource.WithTelemetrySDK(),
		resource.WithAttributes(
			attribute.String("service.name", cfg.ServiceName),
			attribute.String("service.version", gateway.Version()),
			RoleKey.String(role),
		))
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	return sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(Sampler(cfg)),
	), nil
}

// Sampler returns the sampler cfg names. The parent-based ones (the
// default) follow a sampled parent's decision, so a trace that a trusted
// proxy started is kept or dropped whole.
func Sampler(cfg config.Tracing) sdktrace.Sampler {
	switch cfg.Sampler {
	case config.SamplerAlwaysOn:
		return sdktrace.AlwaysSample()
	case config.SamplerAlwaysOff:
		return sdktrace.NeverSample()
	case config.SamplerRatio:
		return sdktrace.TraceIDRatioBased(cfg.SamplerArg)
	case config.SamplerParentAlwaysOff:
		return sdktrace.ParentBased(sdktrace.NeverSample())
	case config.SamplerParentRatio:
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.SamplerArg))
	default:
		return sdktrace.ParentBased(sdktrace.AlwaysSample())
	}
}

// Tracer returns the gateway's tracer from tp.
func Tracer(tp trace.TracerProvider) trace.Tracer {
	return tp.Tracer(Scope, trace.WithInstrumentationVersion(gateway.Version()))
}

// ChildOnly wraps t so that it starts spans only inside an existing trace:
// where the context carries no span it returns the context unchanged and a
// non-recording span. The store wrapper uses it, so that the engine's
// background calls (claim polls, heartbeats, cleanups) do not each become
// a trace of their own, while every store call of a request or of a
// delivery attempt is still a child span.
func ChildOnly(t trace.Tracer) trace.Tracer { return childOnly{inner: t} }

type childOnly struct {
	embedded.Tracer
	inner trace.Tracer
}

// Start implements trace.Tracer.
func (c childOnly) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.SpanContext().IsValid() {
		return ctx, parent
	}
	return c.inner.Start(ctx, name, opts...)
}
