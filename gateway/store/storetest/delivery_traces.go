package storetest

// The delivery.TraceStore cases (issue 11): the traceparent of the request
// that published an event, kept per event (ids unique per workspace), the
// first one kept, and read back for a claim batch in one call. Every store
// must implement it.

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/leadlex/api-gateway/gateway/delivery"
)

var traceCases = []suiteCase[DeliveryStore]{
	{"TracesSavedAndRead", testTracesSavedAndRead},
	{"TracesPerWorkspace", testTracesPerWorkspace},
	{"TracesRefused", testTracesRefused},
}

// traceparents used by the cases: W3C values, sampled.
const (
	traceA = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	traceB = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
)

// traceStore returns s's TraceStore, failing the test if it has none.
func traceStore(t *testing.T, s DeliveryStore) delivery.TraceStore {
	t.Helper()
	ts, ok := s.(delivery.TraceStore)
	if !ok {
		t.Fatalf("%T does not implement delivery.TraceStore", s)
	}
	return ts
}

// mustTraces reads refs and fails the test on an error.
func mustTraces(t *testing.T, ts delivery.TraceStore, refs ...delivery.EventRef) map[delivery.EventRef]string {
	t.Helper()
	got, err := ts.Traces(ctx(t), refs)
	if err != nil {
		t.Fatalf("Traces: %v", err)
	}
	return got
}

func testTracesSavedAndRead(t *testing.T, s DeliveryStore) {
	ts := traceStore(t, s)
	workspace, hook := mustActiveHook(t, s)
	traced := newEvent(workspace, hook.Events[0], base)
	untraced := newEvent(workspace, hook.Events[0], base)
	mustPublish(t, s, traced)
	mustPublish(t, s, untraced)
	if err := ts.SaveTrace(ctx(t), workspace, traced.ID, traceA); err != nil {
		t.Fatalf("SaveTrace: %v", err)
	}
	// A second save (a racing duplicate publish) keeps the first.
	if err := ts.SaveTrace(ctx(t), workspace, traced.ID, traceB); err != nil {
		t.Fatalf("SaveTrace again: %v", err)
	}
	ref := delivery.EventRef{WorkspaceID: workspace, EventID: traced.ID}
	// Ids in upper case name the same event, and the answer is keyed by
	// the refs as given.
	upper := delivery.EventRef{WorkspaceID: strings.ToUpper(workspace), EventID: strings.ToUpper(traced.ID)}
	got := mustTraces(t, ts,
		ref, upper,
		delivery.EventRef{WorkspaceID: workspace, EventID: untraced.ID},
		delivery.EventRef{WorkspaceID: workspace, EventID: uuid.NewString()},
		delivery.EventRef{WorkspaceID: workspace, EventID: "not-a-uuid"},
	)
	want := map[delivery.EventRef]string{ref: traceA, upper: traceA}
	if len(got) != len(want) || got[ref] != traceA || got[upper] != traceA {
		t.Errorf("Traces = %v, want %v", got, want)
	}
	if got := mustTraces(t, ts); len(got) != 0 {
		t.Errorf("Traces of nothing = %v", got)
	}
}

func testTracesPerWorkspace(t *testing.T, s DeliveryStore) {
	ts := traceStore(t, s)
	wsA, hookA := mustActiveHook(t, s)
	wsB, hookB := mustActiveHook(t, s)
	evA := newEvent(wsA, hookA.Events[0], base)
	evB := newEvent(wsB, hookB.Events[0], base)
	evB.ID = evA.ID // the same id in two workspaces is two events
	mustPublish(t, s, evA)
	mustPublish(t, s, evB)
	for _, c := range []struct{ ws, tp string }{{wsA, traceA}, {wsB, traceB}} {
		if err := ts.SaveTrace(ctx(t), c.ws, evA.ID, c.tp); err != nil {
			t.Fatalf("SaveTrace(%s): %v", c.ws, err)
		}
	}
	refA := delivery.EventRef{WorkspaceID: wsA, EventID: evA.ID}
	refB := delivery.EventRef{WorkspaceID: wsB, EventID: evA.ID}
	refC := delivery.EventRef{WorkspaceID: uuid.NewString(), EventID: evA.ID}
	got := mustTraces(t, ts, refA, refB, refC)
	if len(got) != 2 || got[refA] != traceA || got[refB] != traceB {
		t.Errorf("Traces = %v, want %s for A and %s for B and none for another workspace", got, traceA, traceB)
	}
}

func testTracesRefused(t *testing.T, s DeliveryStore) {
	ts := traceStore(t, s)
	workspace, hook := mustActiveHook(t, s)
	ev := newEvent(workspace, hook.Events[0], base)
	mustPublish(t, s, ev)
	tests := []struct {
		name             string
		workspace, event string
		traceparent      string
		wantNotFound     bool
	}{
		{"unknown event", workspace, uuid.NewString(), traceA, true},
		{"event of another workspace", uuid.NewString(), ev.ID, traceA, true},
		{"malformed event id", workspace, "not-a-uuid", traceA, true},
		{"not a traceparent", workspace, ev.ID, "traceparent", false},
		{"upper-case hex", workspace, ev.ID, strings.ToUpper(traceA), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ts.SaveTrace(ctx(t), tc.workspace, tc.event, tc.traceparent)
			if err == nil {
				t.Fatal("SaveTrace succeeded")
			}
			if got := errors.Is(err, delivery.ErrNotFound); got != tc.wantNotFound {
				t.Errorf("SaveTrace error %v: ErrNotFound %v, want %v", err, got, tc.wantNotFound)
			}
		})
	}
	if got := mustTraces(t, ts, delivery.EventRef{WorkspaceID: workspace, EventID: ev.ID}); len(got) != 0 {
		t.Errorf("a refused save was stored: %v", got)
	}
}
