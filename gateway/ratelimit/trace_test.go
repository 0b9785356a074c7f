package ratelimit

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// failing is a limiter that never answers.
type failing struct{}

func (failing) Allow(context.Context, string, Limits, time.Time) (Decision, error) {
	return Decision{}, errDown
}

// TestTracedNamesTheBackend: the ratelimit.decide span says which limiter
// decided (redis, or local when the fallback took over in the same call),
// the decision, and the subject's kind only.
func TestTracedNamesTheBackend(t *testing.T) {
	lim := Limits{PerMinute: 1}
	tests := []struct {
		name        string
		limiter     func() Limiter
		calls       int
		wantBackend string
		wantAllowed bool
		wantError   bool
	}{
		{name: "redis answers", limiter: func() Limiter {
			return &Fallback{Primary: &flakyLimiter{}, Secondary: NewMemory(), Cooldown: time.Hour, Logger: discard()}
		}, calls: 1, wantBackend: BackendRedis, wantAllowed: true},
		{name: "redis fails: the local fallback decides", limiter: func() Limiter {
			p := &probingLimiter{}
			p.down.Store(true)
			return &Fallback{Primary: p, Secondary: NewMemory(), Cooldown: time.Hour, Logger: discard()}
		}, calls: 1, wantBackend: BackendLocal, wantAllowed: true},
		{name: "local only, over the limit", limiter: func() Limiter { return NewMemory() }, calls: 2, wantBackend: BackendLocal},
		{name: "nothing answers", limiter: func() Limiter { return failing{} }, calls: 1, wantError: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			exp := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
			defer func() { _ = tp.Shutdown(context.Background()) }()
			l := Traced(tc.limiter(), tp.Tracer("test"))
			for range tc.calls {
				_, _ = l.Allow(context.Background(), "ip:203.0.113.7", lim, time.Now())
			}
			spans := exp.GetSpans()
			if len(spans) != tc.calls {
				t.Fatalf("%d spans for %d decisions", len(spans), tc.calls)
			}
			s := spans[len(spans)-1]
			got := map[attribute.Key]attribute.Value{}
			for _, kv := range s.Attributes {
				got[kv.Key] = kv.Value
				if kv.Value.String() == "203.0.113.7" || kv.Value.String() == "ip:203.0.113.7" {
					t.Errorf("attribute %s holds the client address", kv.Key)
				}
			}
			if s.Name != "ratelimit.decide" || got[AttrScope].AsString() != "ip" {
				t.Errorf("span %q attributes %v", s.Name, s.Attributes)
			}
			if got[AttrBackend].AsString() != tc.wantBackend {
				t.Errorf("backend %q, want %q", got[AttrBackend].AsString(), tc.wantBackend)
			}
			if tc.wantError {
				if s.Status.Code != codes.Error {
					t.Errorf("status %v, want error", s.Status)
				}
				return
			}
			if got[AttrAllowed].AsBool() != tc.wantAllowed {
				t.Errorf("allowed %v, want %v", got[AttrAllowed].AsBool(), tc.wantAllowed)
			}
		})
	}
}

// TestTracedKeepsTheProber: tagging Fallback's Primary must not hide its
// Probe, or a Redis outage would cost a request per cooldown again.
func TestTracedKeepsTheProber(t *testing.T) {
	f := &Fallback{Primary: &probingLimiter{}, Secondary: NewMemory(), Cooldown: time.Hour, Logger: discard()}
	Traced(f, sdktrace.NewTracerProvider().Tracer("test"))
	if _, ok := f.Primary.(Prober); !ok {
		t.Error("the tagged Primary is no longer a Prober")
	}
	plain := &Fallback{Primary: &flakyLimiter{}, Secondary: NewMemory(), Cooldown: time.Hour, Logger: discard()}
	Traced(plain, sdktrace.NewTracerProvider().Tracer("test"))
	if _, ok := plain.Primary.(Prober); ok {
		t.Error("a Primary that was no Prober became one")
	}
}
