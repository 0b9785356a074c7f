package sqldoc

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/gateway/delivery"
)

var (
	errTestStale    = errors.New("stale")
	errTestNotFound = errors.New("not found")
)

func stale() error    { return errTestStale }
func notFound() error { return errTestNotFound }

// outcomeFor is an outcome with valid ids unless the delivery id is given.
func outcomeFor(deliveryID string) delivery.Outcome {
	return delivery.Outcome{Attempt: delivery.Attempt{
		WorkspaceID: "0c0c0c0c-0000-4000-8000-000000000001", WebhookID: "0c0c0c0c-0000-4000-8000-000000000002",
		DeliveryID: deliveryID, Attempt: 1, Status: delivery.StatusSuccess,
	}}
}

func TestBatchMapsAnswersBack(t *testing.T) {
	const good = "0C0C0C0C-0000-4000-8000-000000000003"
	outcomes := []delivery.Outcome{outcomeFor(good), outcomeFor("dlv_1"), outcomeFor(good), outcomeFor(good)}
	now := time.Date(2026, 12, 1, 12, 0, 0, 123456789, time.FixedZone("X", 3600))
	b, err := NewBatch(outcomes, []delivery.EndpointState{
		{WebhookID: "not-a-uuid", WorkspaceID: "0c0c0c0c-0000-4000-8000-000000000001"},
		{WebhookID: "0c0c0c0c-0000-4000-8000-000000000002", WorkspaceID: "0c0c0c0c-0000-4000-8000-000000000001", Limit: 3},
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	var sent []map[string]any
	if err := json.Unmarshal(b.Outcomes, &sent); err != nil {
		t.Fatal(err)
	}
	if len(sent) != 3 || sent[0]["delivery_id"] != strings.ToLower(good) || sent[0]["delivered_at"] != "2026-12-01T11:00:00.123456Z" {
		t.Errorf("sent %v: want the 3 outcomes with UUIDs, canonical, a zero DeliveredAt as now in UTC microseconds", sent)
	}
	var eps []map[string]any
	if err := json.Unmarshal(b.Endpoints, &eps); err != nil || len(eps) != 1 || eps[0]["limit"] != float64(3) {
		t.Errorf("endpoints %s, %v: want only the one with UUIDs", b.Endpoints, err)
	}

	tests := []struct {
		name    string
		answer  string
		want    []error
		wantErr bool
	}{
		{"in order", `["recorded", "stale", "not_found"]`, []error{nil, errTestNotFound, errTestStale, errTestNotFound}, false},
		{"too few answers", `["recorded"]`, nil, true},
		{"unknown answer", `["recorded", "maybe", "stale"]`, nil, true},
		{"not an array", `"recorded"`, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := b.Results([]byte(tc.answer), len(outcomes), stale, notFound)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Results: %v, want an error: %v", err, tc.wantErr)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("Results = %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("result %d = %v, want %v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestBatchRefusesWhatCannotBeSent(t *testing.T) {
	const good = "0c0c0c0c-0000-4000-8000-000000000003"
	badID := outcomeFor(good)
	badID.Attempt.ID = "att_1"
	badBody := outcomeFor(good)
	badBody.Attempt.ResponseBody = "\xff"
	for name, o := range map[string]delivery.Outcome{"attempt id": badID, "body": badBody} {
		if _, err := NewBatch([]delivery.Outcome{outcomeFor(good), o}, nil, time.Now()); err == nil {
			t.Errorf("%s: a batch was built", name)
		}
	}
}

func TestDecodeClaimsAndBacklog(t *testing.T) {
	claims, err := DecodeClaims([]byte(`[{"delivery": {"id": "d1", "attempts": 1, "created_at": "2026-04-17T12:00:00+00:00", "updated_at": "2026-04-17T12:00:00+00:00"},
		"event": {"id": "e1", "type": "t", "data": "{}", "created_at": "2026-04-17T12:00:00+00:00"},
		"target": {"url": "u", "active": true, "secret_ciphertext": "s"},
		"endpoint": {"webhook_id": "w", "workspace_id": "ws", "limit": 4, "paused_until": "2026-04-17T13:00:00+00:00", "failures": 2, "circuit": "open"}},
		{"delivery": {"id": "d2", "created_at": "2026-04-17T12:00:00+00:00", "updated_at": "2026-04-17T12:00:00+00:00"},
		"event": {"id": "e2", "type": "t", "data": "{}", "created_at": "2026-04-17T12:00:00+00:00"},
		"target": {"url": "u", "active": true, "secret_ciphertext": "s"}, "endpoint": null}]`))
	if err != nil {
		t.Fatal(err)
	}
	if len(claims) != 2 || claims[0].Endpoint.Limit != 4 || claims[0].Endpoint.Circuit != delivery.CircuitOpen ||
		claims[0].Endpoint.PausedUntil == nil || claims[1].Endpoint != (delivery.EndpointState{}) {
		t.Errorf("claims %+v", claims)
	}
	if _, err := DecodeClaims([]byte(`[{"delivery": {"id": "d"}}]`)); err == nil {
		t.Error("a claim without event and target accepted")
	}
	b, err := DecodeBacklog([]byte(`{"due": 3, "oldest_due": "2026-04-17T12:00:00+00:00", "in_flight": 2, "paused_endpoints": 1, "open_circuits": 1, "auto_disabled": 4}`))
	if err != nil || b.Due != 3 || b.OldestDue == nil || b.InFlight != 2 || b.PausedEndpoints != 1 || b.OpenCircuits != 1 || b.AutoDisabled != 4 {
		t.Errorf("backlog %+v, %v", b, err)
	}
	if _, err := DecodeBacklog([]byte(`{}`)); err == nil {
		t.Error("a backlog without due accepted")
	}
}
