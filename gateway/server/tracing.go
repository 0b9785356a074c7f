package server

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/leadlex/api-gateway/config"
	"github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/gateway/tracing"
)

// tracerFor returns the gateway's tracer when tracing is on (the one of
// opts.TracerProvider, else of the global provider gateway/tracing
// installed), and nil when it is off: every piece of tracing wiring tests
// for nil, so that with tracing off no span is ever started.
func tracerFor(cfg *config.Config, opts Options) trace.Tracer {
	if !cfg.Tracing.Enabled && opts.TracerProvider == nil {
		return nil
	}
	tp := opts.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	return tracing.Tracer(tp)
}

// storeTracer is the store wrapper's tracer: store calls are spans only
// inside a request's or an attempt's trace (see tracing.ChildOnly); nil
// (an untyped nil, which the wrapper tests for) when tracing is off.
func storeTracer(t trace.Tracer) trace.Tracer {
	if t == nil {
		return nil
	}
	return tracing.ChildOnly(t)
}

// traceDeliveries wires the link from a publish to its deliveries: the
// service stores each new event's traceparent, the engine reads them for
// every claimed batch and starts each attempt's span linked to it. The
// backend store is asked for the optional TraceStore (the observed wrapper
// hides it); without one the attempts are traced but not linked.
func traceDeliveries(tracer trace.Tracer, stores *Stores, svc *delivery.Service, e *delivery.Engine) {
	if tracer == nil {
		return
	}
	e.Tracer = tracer
	ts, ok := stores.Backend.(delivery.TraceStore)
	if !ok {
		return
	}
	svc.Traces = ts
	e.Store = delivery.LinkTraces(e.Store, ts, e.Logger)
}
