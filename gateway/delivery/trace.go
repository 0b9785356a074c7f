package delivery

import (
	"context"
	"log/slog"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Tracing of deliveries (issue 11). The worker is another process than the
// API that published an event, so the publishing request's span context is
// stored beside the event (TraceStore) and every attempt of one of its
// deliveries starts a trace of its own with a link to it: an attempt can
// come hours later, and one event fans out to many webhooks, so making the
// attempts children of a request long finished would stretch that trace
// over days. A test send (Engine.Send, inside POST .../test) is simply a
// child of its request's span.

// EventRef names one event: publishers choose event ids, which are unique
// only within a workspace.
type EventRef struct {
	WorkspaceID string
	EventID     string
}

// TraceStore keeps the W3C traceparent of the request that published an
// event, for as long as the event is kept. A store implements it besides
// Store; Service and the engine use it only when tracing is on.
type TraceStore interface {
	// SaveTrace stores the traceparent of an event that exists; saving
	// one again for the same event keeps the first.
	SaveTrace(ctx context.Context, workspaceID, eventID, traceparent string) error
	// Traces returns the stored traceparents of the events that have one
	// (events without one, or unknown or malformed ids, are left out).
	Traces(ctx context.Context, events []EventRef) (map[EventRef]string, error)
}

// traceContext is the one codec of traceparents, the W3C header's format.
var traceContext propagation.TraceContext

// Traceparent encodes a valid span context as a traceparent value ("" for
// an invalid one).
func Traceparent(sc trace.SpanContext) string {
	if !sc.IsValid() {
		return ""
	}
	c := propagation.MapCarrier{}
	traceContext.Inject(trace.ContextWithSpanContext(context.Background(), sc), c)
	return c.Get("traceparent")
}

// ParseTraceparent decodes a traceparent value; false when it is not one.
func ParseTraceparent(s string) (trace.SpanContext, bool) {
	ctx := traceContext.Extract(context.Background(), propagation.MapCarrier{"traceparent": s})
	sc := trace.SpanContextFromContext(ctx)
	return sc, sc.IsValid()
}

// saveTrace stores the publishing span's context for a new event: only when
// tracing is on (Traces set) and the span is sampled, as an unsampled one
// would link to nothing. A failure only costs the link, so it is logged
// and never fails the publish.
func (s *Service) saveTrace(ctx context.Context, ev Event) {
	if s.Traces == nil {
		return
	}
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsSampled() {
		return
	}
	if err := s.Traces.SaveTrace(context.WithoutCancel(ctx), ev.WorkspaceID, ev.ID, Traceparent(sc)); err != nil && s.Logger != nil {
		s.Logger.LogAttrs(ctx, slog.LevelWarn, "tracing: could not store the publish's trace context; its deliveries will not link to it",
			slog.String("event_id", ev.ID), slog.String("error", err.Error()))
	}
}

// LinkTraces returns s whose ClaimDue also fetches, with one Traces call
// per claimed batch, the traceparents of the claimed events into each
// Claim.Trace, from which the engine links every attempt to the publish.
// A failed fetch only loses the links (logged, at most once per failure
// streak); the claims are returned all the same.
func LinkTraces(s Store, ts TraceStore, logger *slog.Logger) Store {
	return &traceLinks{Store: s, traces: ts, logger: logger}
}

type traceLinks struct {
	Store
	traces  TraceStore
	logger  *slog.Logger
	failing atomic.Bool // the last fetch failed (logged once per streak)
}

// ClaimDue implements Store.
func (t *traceLinks) ClaimDue(ctx context.Context, p ClaimParams) ([]Claim, error) {
	claims, err := t.Store.ClaimDue(ctx, p)
	if err != nil || len(claims) == 0 {
		return claims, err
	}
	refs := make([]EventRef, len(claims))
	for i, c := range claims {
		refs[i] = EventRef{WorkspaceID: c.Delivery.WorkspaceID, EventID: c.Delivery.EventID}
	}
	found, ferr := t.traces.Traces(ctx, refs)
	if ferr != nil {
		if !t.failing.Swap(true) && t.logger != nil {
			t.logger.LogAttrs(ctx, slog.LevelWarn, "tracing: could not read the events' trace contexts; attempts are not linked to their publish",
				slog.String("error", ferr.Error()))
		}
		return claims, nil
	}
	t.failing.Store(false)
	for i := range claims {
		claims[i].Trace = found[refs[i]]
	}
	return claims, nil
}

// Attribute keys of the "delivery.attempt" span: ids and outcomes only,
// never the webhook's URL (its query can hold a token), a secret or a body.
const (
	AttrDeliveryID = attribute.Key("delivery.id")
	AttrWebhookID  = attribute.Key("webhook.id")
	AttrEventID    = attribute.Key("event.id")
	AttrAttempt    = attribute.Key("delivery.attempt")
	// AttrOutcome is success, retry (failed, another attempt scheduled) or
	// failed (for good).
	AttrOutcome    = attribute.Key("delivery.outcome")
	AttrStatusCode = attribute.Key("http.response.status_code")
	AttrErrorType  = attribute.Key("error.type")
)

// noSpan is a span that records nothing; ending it does nothing.
var noSpan = trace.SpanFromContext(context.Background())

// startAttempt starts the span of one attempt of c, or returns a span that
// records nothing when the engine has no Tracer. A
// claim that carries its publish's traceparent starts a new trace linked to
// it; otherwise the span is a child of ctx's (a test send's request).
func (e *Engine) startAttempt(ctx context.Context, c *Claim) (context.Context, trace.Span) {
	if e.Tracer == nil {
		return ctx, noSpan
	}
	d := c.Delivery
	opts := []trace.SpanStartOption{
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(AttrDeliveryID.String(d.ID), AttrWebhookID.String(d.WebhookID),
			AttrEventID.String(d.EventID), AttrAttempt.Int(d.Attempts)),
	}
	if sc, ok := ParseTraceparent(c.Trace); ok {
		opts = append(opts, trace.WithNewRoot(), trace.WithLinks(trace.Link{SpanContext: sc}))
	}
	return e.Tracer.Start(ctx, "delivery.attempt", opts...)
}

// endAttempt records an attempt's outcome on its span (ended by the
// caller).
func (e *Engine) endAttempt(span trace.Span, o Outcome) {
	if e.Tracer == nil {
		return
	}
	a := o.Attempt
	attrs := make([]attribute.KeyValue, 0, 3)
	attrs = append(attrs, AttrOutcome.String(outcomeOf(o)))
	if a.ResponseStatusCode != nil {
		attrs = append(attrs, AttrStatusCode.Int(*a.ResponseStatusCode))
	}
	if a.Error != nil {
		attrs = append(attrs, AttrErrorType.String(*a.Error))
		span.SetStatus(codes.Error, *a.Error)
	}
	span.SetAttributes(attrs...)
}

// ValidTraceparent reports whether s has the shape the event_traces table
// accepts (its check constraint): version-traceid-spanid-flags in lower-case
// hex, 2-32-16-2 digits, as Traceparent writes them.
func ValidTraceparent(s string) bool {
	if len(s) != 55 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 2, 35, 52:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}
