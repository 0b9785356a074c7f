package ratelimit

import (
	"context"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Backends, as the ratelimit.backend span attribute names them.
const (
	BackendRedis = "redis"
	BackendLocal = "local"
)

// Span attribute keys of "ratelimit.decide".
const (
	// AttrBackend is the limiter that decided: redis, or local when the
	// decision came from the in-process fallback.
	AttrBackend = attribute.Key("ratelimit.backend")
	// AttrAllowed is the decision.
	AttrAllowed = attribute.Key("ratelimit.allowed")
	// AttrScope is the kind of subject ("key", "ip"), never the subject
	// itself (a key id is fine in logs, a client address is not needed).
	AttrScope = attribute.Key("ratelimit.scope")
)

// Traced returns l with every decision in a span "ratelimit.decide" of
// tracer, which records the backend that decided and the decision. For a
// *Fallback it tags the fallback's Primary (redis) and Secondary (local)
// in place, so the span says which one answered even when Redis failed
// during the call: call it before l is used. Tracing off, nothing wraps
// the limiter and a decision costs nothing more.
func Traced(l Limiter, tracer trace.Tracer) Limiter {
	switch x := l.(type) {
	case *Fallback:
		x.Primary = tagged(x.Primary, BackendRedis)
		x.Secondary = tagged(x.Secondary, BackendLocal)
	case *Redis:
		l = tagged(x, BackendRedis)
	case *Memory:
		l = tagged(x, BackendLocal)
	}
	return traced{inner: l, tracer: tracer}
}

type traced struct {
	inner  Limiter
	tracer trace.Tracer
}

// Allow implements Limiter.
func (t traced) Allow(ctx context.Context, subject string, l Limits, now time.Time) (Decision, error) {
	scope, _, _ := strings.Cut(subject, ":")
	ctx, span := t.tracer.Start(ctx, "ratelimit.decide", trace.WithAttributes(AttrScope.String(scope)))
	defer span.End()
	d, err := t.inner.Allow(ctx, subject, l, now)
	if err != nil {
		span.SetStatus(codes.Error, "no limiter answered")
		return d, err
	}
	span.SetAttributes(AttrAllowed.Bool(d.Allowed))
	return d, nil
}

// tagged wraps a backend so that its answers name it on the current span;
// a Prober stays a Prober, so Fallback's background checks still run.
func tagged(l Limiter, backend string) Limiter {
	t := tag{inner: l, backend: AttrBackend.String(backend)}
	if p, ok := l.(Prober); ok {
		return taggedProber{tag: t, prober: p}
	}
	return t
}

type tag struct {
	inner   Limiter
	backend attribute.KeyValue
}

// Allow implements Limiter. Only an answer names the backend: a failed
// Primary is followed by the Secondary, whose tag is then the one left.
func (t tag) Allow(ctx context.Context, subject string, l Limits, now time.Time) (Decision, error) {
	d, err := t.inner.Allow(ctx, subject, l, now)
	if err == nil {
		trace.SpanFromContext(ctx).SetAttributes(t.backend)
	}
	return d, err
}

type taggedProber struct {
	tag
	prober Prober
}

// Probe implements Prober.
func (t taggedProber) Probe(ctx context.Context) error { return t.prober.Probe(ctx) }
