package server

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"

	"github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/gateway/store/memory"
	"github.com/leadlex/api-gateway/gateway/webhooks"
)

// namingTracer records the names of the spans it is asked to start.
type namingTracer struct {
	embedded.Tracer
	names []string
}

func (n *namingTracer) Start(ctx context.Context, name string, _ ...trace.SpanStartOption) (context.Context, trace.Span) {
	n.names = append(n.names, name)
	return ctx, trace.SpanFromContext(ctx)
}

// Every method of Store goes through the observer: a method added to the
// interface but not to observedStore would be promoted from the embedded
// store unobserved, and this test names it.
func TestObservedStoreObservesEveryMethod(t *testing.T) {
	tracer := &namingTracer{}
	var ended []string
	o := &storeObserver{tracer: tracer, ended: func(op string, _ time.Duration, _ bool) { ended = append(ended, op) }}
	s := reflect.ValueOf(observedStore{Store: memory.New(), o: o})
	iface := reflect.TypeFor[Store]()
	for i := range iface.NumMethod() {
		m := iface.Method(i)
		t.Run(m.Name, func(t *testing.T) {
			before := len(tracer.names)
			method := s.MethodByName(m.Name)
			args := make([]reflect.Value, m.Type.NumIn())
			for j := range args {
				args[j] = reflect.Zero(m.Type.In(j))
			}
			args[0] = reflect.ValueOf(context.Background())
			func() {
				// Zero arguments may make the memory store panic (a nil
				// webhook); the span has started by then.
				defer func() { _ = recover() }()
				method.Call(args)
			}()
			if len(tracer.names) != before+1 {
				t.Fatalf("%s is not observed: observedStore must define it", m.Name)
			}
		})
	}
	if len(ended) == 0 {
		t.Fatal("no call ended through the observer")
	}
}

// Answers are not failures; anything else is.
func TestStoreFailure(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{webhooks.ErrNotFound, false},
		{fmt.Errorf("postgres: get webhook: %w", webhooks.ErrNotFound), false},
		{delivery.ErrNotClaimed, false},
		{errors.New("connection refused"), true},
		{context.DeadlineExceeded, true},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.err), func(t *testing.T) {
			if got := storeFailure(tc.err); got != tc.want {
				t.Errorf("storeFailure(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
