package postgres

import (
	"testing"
	"time"

	"github.com/leadlex/api-gateway/gateway/delivery"
)

// TestTracesGoWithTheirEvent: an event_traces row is deleted with its event
// (on delete cascade), the table's only retention.
func TestTracesGoWithTheirEvent(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	_, d := deliveryFixture(t, s, time.Now())
	const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	if err := s.SaveTrace(ctx(t), d.WorkspaceID, d.EventID, tp); err != nil {
		t.Fatal(err)
	}
	ref := delivery.EventRef{WorkspaceID: d.WorkspaceID, EventID: d.EventID}
	got, err := s.Traces(ctx(t), []delivery.EventRef{ref})
	if err != nil || got[ref] != tp {
		t.Fatalf("Traces = %v, %v; want the saved traceparent", got, err)
	}
	if _, err := s.pool.Exec(ctx(t), `delete from events where workspace_id = $1 and id = $2`, d.WorkspaceID, d.EventID); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.pool.QueryRow(ctx(t), `select count(*) from event_traces where workspace_id = $1`, d.WorkspaceID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d event_traces rows outlived their event", n)
	}
}
