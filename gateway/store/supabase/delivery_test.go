package supabase

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/gateway/delivery"
)

// Paths and ids of the delivery tests.
const (
	publishPath    = "/rest/v1/rpc/gateway_publish_event"
	claimPath      = "/rest/v1/rpc/gateway_claim_delivery"
	recordPath     = "/rest/v1/rpc/gateway_record_attempt"
	testPath       = "/rest/v1/rpc/gateway_create_test_delivery"
	retryPath      = "/rest/v1/rpc/gateway_retry_delivery"
	deliveriesPath = "/rest/v1/deliveries"
	attemptsPath   = "/rest/v1/delivery_attempts"
	deliveryID     = "7d1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a"
	deliveryID2    = "0f1e2d3c-4b5a-4697-8877-665544332211"
	eventID        = "3c4d5e6f-7a8b-4c9d-8e0f-a1b2c3d4e5f6"
	attemptID      = "6e5d4c3b-2a19-4807-b6a5-948372615041"
	attemptID2     = "a1a2a3a4-b1b2-4c1c-8d1d-e1e2e3e4e5e6"
)

// The event's data, with the spacing and key order a publisher chose: the
// store must send and return exactly these bytes.
const eventData = "{\"z\": 1,  \"a\":[\"é\"]}"

// eventDataJSON is eventData as a JSON string, as the functions render the
// text column.
var eventDataJSON = func() string {
	b, _ := json.Marshal(eventData)
	return string(b)
}()

// Rows as the functions render them (TimeZone UTC) and as PostgREST renders a
// table in another zone.
const deliveryRowJSON = `{"id":"` + deliveryID + `","workspace_id":"` + wsID + `","webhook_id":"` + hookID + `",` +
	`"event_id":"` + eventID + `","event_type":"lead.created","test":false,"status":"pending","attempts":0,` +
	`"next_attempt_at":"2026-11-27T08:00:00.123456+00:00","created_at":"2026-11-27T08:00:00.123456+00:00",` +
	`"updated_at":"2026-11-27T08:00:00.123456+00:00"}`

const deliveryRow2JSON = `{"id":"` + deliveryID2 + `","workspace_id":"` + wsID + `","webhook_id":"` + hookID2 + `",` +
	`"event_id":"` + eventID + `","event_type":"lead.created","test":true,"status":"failed","attempts":6,` +
	`"next_attempt_at":null,"created_at":"2026-11-27T08:00:00+00:00","updated_at":"2026-11-27T14:00:00.5+00:00"}`

func deliveryFixture() delivery.Delivery {
	at := time.Date(2026, 11, 27, 8, 0, 0, 123456000, time.UTC)
	return delivery.Delivery{
		ID: deliveryID, WorkspaceID: wsID, WebhookID: hookID, EventID: eventID, EventType: "lead.created",
		Status: delivery.StatusPending, NextAttemptAt: &at, CreatedAt: at, UpdatedAt: at,
	}
}

func delivery2Fixture() delivery.Delivery {
	return delivery.Delivery{
		ID: deliveryID2, WorkspaceID: wsID, WebhookID: hookID2, EventID: eventID, EventType: "lead.created",
		Test: true, Status: delivery.StatusFailed, Attempts: 6,
		CreatedAt: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC),
		UpdatedAt: time.Date(2026, 11, 27, 14, 0, 0, 500000000, time.UTC),
	}
}

const claimJSON = `{"delivery":` + `{"id":"` + deliveryID + `","workspace_id":"` + wsID + `","webhook_id":"` + hookID + `",` +
	`"event_id":"` + eventID + `","event_type":"lead.created","test":false,"status":"pending","attempts":2,` +
	`"next_attempt_at":"2026-11-27T08:00:05+00:00","created_at":"2026-11-27T08:00:00.123456+00:00",` +
	`"updated_at":"2026-11-27T08:00:06+00:00"},` +
	`"event":{"id":"` + eventID + `","workspace_id":"` + wsID + `","type":"lead.created","data":%DATA%,` +
	`"created_at":"2026-11-27T08:00:00.123456+00:00"},` +
	`"target":{"url":"https://example.com/hook","active":true,"secret_ciphertext":"v1:new:ct",` +
	`"previous_secret_ciphertext":"v1:old:ct","previous_secret_expires_at":"2026-11-28T08:00:00+00:00"}}`

func claimAnswerJSON() string { return strings.Replace(claimJSON, "%DATA%", eventDataJSON, 1) }

func claimFixture() *delivery.Claim {
	created := time.Date(2026, 11, 27, 8, 0, 0, 123456000, time.UTC)
	next := time.Date(2026, 11, 27, 8, 0, 5, 0, time.UTC)
	expires := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	return &delivery.Claim{
		Delivery: delivery.Delivery{
			ID: deliveryID, WorkspaceID: wsID, WebhookID: hookID, EventID: eventID, EventType: "lead.created",
			Status: delivery.StatusPending, Attempts: 2, NextAttemptAt: &next, CreatedAt: created,
			UpdatedAt: time.Date(2026, 11, 27, 8, 0, 6, 0, time.UTC),
		},
		Event: delivery.Event{
			ID: eventID, WorkspaceID: wsID, Type: "lead.created", Data: json.RawMessage(eventData), CreatedAt: created,
		},
		Target: delivery.Target{
			URL: "https://example.com/hook", Active: true, SecretCiphertext: "v1:new:ct",
			PreviousSecretCiphertext: "v1:old:ct", PreviousSecretExpiresAt: &expires,
		},
	}
}

const attemptRow2JSON = `{"id":"` + attemptID2 + `","delivery_id":"` + deliveryID + `","webhook_id":"` + hookID + `",` +
	`"workspace_id":"` + wsID + `","event_type":"lead.created","attempt":1,"status":"failed",` +
	`"response_status_code":null,"response_body":"","duration_ms":10000,"error":"timeout",` +
	`"delivered_at":"2026-11-27T07:59:59+00:00"}`

func attempt2Fixture() delivery.Attempt {
	return delivery.Attempt{
		ID: attemptID2, DeliveryID: deliveryID, WebhookID: hookID, WorkspaceID: wsID, EventType: "lead.created",
		Attempt: 1, Status: delivery.StatusFailed, DurationMS: 10000, Error: ptr(delivery.ErrClassTimeout),
		DeliveredAt: time.Date(2026, 11, 27, 7, 59, 59, 0, time.UTC),
	}
}

// checkDeliveryErr is checkErr that also knows the delivery sentinels.
func checkDeliveryErr(t *testing.T, op string, err, want error) {
	t.Helper()
	checkErr(t, op, err, want)
	for _, s := range []error{delivery.ErrNotFound, delivery.ErrNotClaimed} {
		if is := errors.Is(err, s); is != (s == want) {
			t.Errorf("errors.Is(%v, %v) = %v", err, s, is)
		}
	}
}

// rpcReq is the request every delivery function call sends.
func rpcReq(path, body string) wantReq {
	return wantReq{method: http.MethodPost, path: path, query: map[string]string{}, prefer: "return=representation", body: body}
}

func TestPublishEvent(t *testing.T) {
	ev := delivery.Event{ID: eventID, WorkspaceID: wsID, Type: "lead.created", Data: json.RawMessage(eventData), CreatedAt: at}
	req := rpcReq(publishPath, `{"p_id":"`+eventID+`","p_workspace_id":"`+wsID+`","p_type":"lead.created",`+
		`"p_data":`+eventDataJSON+`,"p_created_at":"`+atJSON+`"}`)
	tests := []struct {
		name        string
		mutate      func(ev *delivery.Event)
		answers     []answer
		reqs        []wantReq
		want        error
		wantCreated bool
		wantDs      []delivery.Delivery
	}{
		{
			name:    "created",
			answers: []answer{okJSON(`{"created":true,"deliveries":` + arr(deliveryRowJSON, deliveryRow2JSON) + `}`)},
			reqs:    []wantReq{req}, wantCreated: true,
			wantDs: []delivery.Delivery{deliveryFixture(), delivery2Fixture()},
		},
		{
			name:    "published before",
			answers: []answer{okJSON(`{"created":false,"deliveries":` + arr(deliveryRowJSON) + `}`)},
			reqs:    []wantReq{req}, wantDs: []delivery.Delivery{deliveryFixture()},
		},
		{
			name:    "no subscribers",
			answers: []answer{okJSON(`{"created":true,"deliveries":[]}`)},
			reqs:    []wantReq{req}, wantCreated: true, wantDs: []delivery.Delivery{},
		},
		{
			name: "upper-case ids are sent canonical",
			mutate: func(ev *delivery.Event) {
				ev.ID, ev.WorkspaceID = strings.ToUpper(ev.ID), strings.ToUpper(ev.WorkspaceID)
			},
			answers: []answer{okJSON(`{"created":true,"deliveries":[]}`)},
			reqs:    []wantReq{req}, wantCreated: true, wantDs: []delivery.Delivery{},
		},
		{name: "no created flag", answers: []answer{okJSON(`{"deliveries":[]}`)}, reqs: []wantReq{req}, want: errWrapped},
		{name: "null", answers: []answer{okJSON(`null`)}, reqs: []wantReq{req}, want: errWrapped},
		{name: "not json", answers: []answer{okJSON(`OK`)}, reqs: []wantReq{req}, want: errWrapped},
		{name: "bad timestamp", answers: []answer{okJSON(`{"created":true,"deliveries":` + arr(strings.Replace(deliveryRowJSON, "2026-11-27T08:00:00.123456+00:00", "soon", 1)) + `}`)}, reqs: []wantReq{req}, want: errWrapped},
		{name: "unique violation is not a sentinel", answers: []answer{fail(http.StatusConflict, dupURLBody)}, reqs: []wantReq{req}, want: errWrapped},
		{name: "invalid input is not not-found", answers: []answer{fail(http.StatusBadRequest, badUUIDBody)}, reqs: []wantReq{req}, want: errWrapped},
		{name: "server error", answers: []answer{fail(http.StatusInternalServerError, internalBody)}, reqs: []wantReq{req}, want: errWrapped},
		{name: "proxy html", answers: []answer{html502()}, reqs: []wantReq{req}, want: errWrapped},
		{name: "malformed event id", mutate: func(ev *delivery.Event) { ev.ID = "evt_1" }, want: errWrapped},
		{name: "malformed workspace", mutate: func(ev *delivery.Event) { ev.WorkspaceID = wsID + "," }, want: errWrapped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := newTestStore(t, roomy, tt.answers...)
			e := mutated(ev, tt.mutate)
			ds, created, err := s.PublishEvent(context.Background(), e)
			checkDeliveryErr(t, "publish event", err, tt.want)
			checkRequests(t, f.requests(), tt.reqs)
			if tt.want != nil {
				return
			}
			if created != tt.wantCreated {
				t.Errorf("created = %v, want %v", created, tt.wantCreated)
			}
			if !reflect.DeepEqual(ds, tt.wantDs) {
				t.Errorf("deliveries\n got %+v\nwant %+v", ds, tt.wantDs)
			}
		})
	}
}

// A zero creation time is the current time, as in the other stores.
func TestPublishEventZeroTimeIsNow(t *testing.T) {
	s, f := newTestStore(t, roomy, okJSON(`{"created":true,"deliveries":[]}`))
	before := time.Now().Add(-time.Second)
	if _, _, err := s.PublishEvent(context.Background(), delivery.Event{ID: eventID, WorkspaceID: wsID, Type: "t"}); err != nil {
		t.Fatal(err)
	}
	checkSentNow(t, f.requests()[0].Body, "p_created_at", before)
	var body struct {
		Data *string `json:"p_data"`
	}
	if err := json.Unmarshal(f.requests()[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Data == nil || *body.Data != "" {
		t.Errorf("nil data sent as %v, want the empty string (the column is NOT NULL)", body.Data)
	}
}

func TestClaimDelivery(t *testing.T) {
	req := rpcReq(claimPath, `{"p_id":"`+deliveryID+`","p_now":"`+atJSON+`","p_lease_ms":30000}`)
	tests := []struct {
		name    string
		id      string
		lease   time.Duration
		answers []answer
		reqs    []wantReq
		want    error
	}{
		{name: "claimed", id: deliveryID, answers: []answer{okJSON(claimAnswerJSON())}, reqs: []wantReq{req}},
		{name: "upper-case id is sent canonical", id: strings.ToUpper(deliveryID), answers: []answer{okJSON(claimAnswerJSON())}, reqs: []wantReq{req}},
		{name: "lease in whole milliseconds", id: deliveryID, lease: 1500 * time.Microsecond, answers: []answer{okJSON(claimAnswerJSON())},
			reqs: []wantReq{rpcReq(claimPath, `{"p_id":"`+deliveryID+`","p_now":"`+atJSON+`","p_lease_ms":1}`)}},
		{name: "not claimable", id: deliveryID, answers: []answer{okJSON("null")}, reqs: []wantReq{req}, want: delivery.ErrNotClaimed},
		{name: "invalid uuid from server", id: deliveryID, answers: []answer{fail(http.StatusBadRequest, badUUIDBody)}, reqs: []wantReq{req}, want: delivery.ErrNotClaimed},
		{name: "lease refused", id: deliveryID, answers: []answer{fail(http.StatusBadRequest, `{"code":"22023","details":null,"hint":null,"message":"the lease must be at least one millisecond"}`)}, reqs: []wantReq{req}, want: errWrapped},
		{name: "incomplete claim", id: deliveryID, answers: []answer{okJSON(`{"delivery":` + deliveryRowJSON + `}`)}, reqs: []wantReq{req}, want: errWrapped},
		{name: "not json", id: deliveryID, answers: []answer{okJSON("claimed")}, reqs: []wantReq{req}, want: errWrapped},
		{name: "bad timestamp", id: deliveryID, answers: []answer{okJSON(strings.Replace(claimAnswerJSON(), "2026-11-28T08:00:00+00:00", "tomorrow", 1))}, reqs: []wantReq{req}, want: errWrapped},
		{name: "function missing", id: deliveryID, answers: []answer{fail(http.StatusNotFound, `{"code":"PGRST202","details":null,"hint":null,"message":"Could not find the function"}`)}, reqs: []wantReq{req}, want: errWrapped},
		{name: "server error", id: deliveryID, answers: []answer{fail(http.StatusInternalServerError, internalBody)}, reqs: []wantReq{req}, want: errWrapped},
		{name: "proxy html", id: deliveryID, answers: []answer{html502()}, reqs: []wantReq{req}, want: errWrapped},
		{name: "malformed id", id: "dlv_1", want: delivery.ErrNotClaimed},
		{name: "filter syntax in id", id: deliveryID[:35] + ")", want: delivery.ErrNotClaimed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := newTestStore(t, roomy, tt.answers...)
			lease := tt.lease
			if lease == 0 {
				lease = 30 * time.Second
			}
			got, err := s.ClaimDelivery(context.Background(), tt.id, at, lease)
			checkDeliveryErr(t, "claim delivery", err, tt.want)
			checkRequests(t, f.requests(), tt.reqs)
			checkOne(t, "claim", got, claimFixture(), tt.want)
		})
	}
}

// A claim of a webhook that was never rotated carries no previous secret.
func TestClaimWithoutPreviousSecret(t *testing.T) {
	answer := strings.Replace(claimAnswerJSON(),
		`"previous_secret_ciphertext":"v1:old:ct","previous_secret_expires_at":"2026-11-28T08:00:00+00:00"`,
		`"previous_secret_ciphertext":null,"previous_secret_expires_at":null`, 1)
	s, _ := newTestStore(t, roomy, okJSON(answer))
	got, err := s.ClaimDelivery(context.Background(), deliveryID, at, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got.Target.PreviousSecretCiphertext != "" || got.Target.PreviousSecretExpiresAt != nil {
		t.Errorf("Target = %+v", got.Target)
	}
}

func TestRecordAttempt(t *testing.T) {
	next := at.Add(5 * time.Second)
	base := func() delivery.Outcome {
		return delivery.Outcome{
			Attempt: delivery.Attempt{
				ID: attemptID, DeliveryID: deliveryID, WebhookID: hookID, WorkspaceID: wsID, EventType: "lead.created",
				Attempt: 2, Status: delivery.StatusPending, ResponseStatusCode: ptr(503), ResponseBody: "busy",
				DurationMS: 1234, Error: ptr(delivery.ErrClassHTTP), DeliveredAt: at,
			},
			NextAttemptAt: &next,
			DisableAfter:  72 * time.Hour,
		}
	}
	fullBody := `{"p_id":"` + attemptID + `","p_workspace_id":"` + wsID + `","p_webhook_id":"` + hookID + `",` +
		`"p_delivery_id":"` + deliveryID + `","p_attempt":2,"p_status":"pending","p_response_status_code":503,` +
		`"p_response_body":"busy","p_duration_ms":1234,"p_error":"http_error","p_delivered_at":"` + atJSON + `",` +
		`"p_next_attempt_at":"2026-11-27T08:00:05.123456Z","p_disable_after_ms":259200000}`
	req := rpcReq(recordPath, fullBody)
	tests := []struct {
		name    string
		mutate  func(o *delivery.Outcome)
		answers []answer
		reqs    []wantReq
		want    error
	}{
		{name: "recorded", answers: []answer{okJSON(`"recorded"`)}, reqs: []wantReq{req}},
		{
			name: "success: nulls, a database-chosen id, no disable rule",
			mutate: func(o *delivery.Outcome) {
				o.Attempt.ID, o.Attempt.Status, o.Attempt.ResponseStatusCode, o.Attempt.Error = "", delivery.StatusSuccess, nil, nil
				o.NextAttemptAt, o.DisableAfter = nil, -time.Hour
			},
			answers: []answer{okJSON(`"recorded"`)},
			reqs: []wantReq{rpcReq(recordPath, `{"p_id":null,"p_workspace_id":"`+wsID+`","p_webhook_id":"`+hookID+`",`+
				`"p_delivery_id":"`+deliveryID+`","p_attempt":2,"p_status":"success","p_response_status_code":null,`+
				`"p_response_body":"busy","p_duration_ms":1234,"p_error":null,"p_delivered_at":"`+atJSON+`",`+
				`"p_next_attempt_at":null,"p_disable_after_ms":0}`)},
		},
		{
			name: "upper-case ids are sent canonical",
			mutate: func(o *delivery.Outcome) {
				a := &o.Attempt
				a.ID, a.DeliveryID, a.WebhookID, a.WorkspaceID = strings.ToUpper(a.ID), strings.ToUpper(a.DeliveryID), strings.ToUpper(a.WebhookID), strings.ToUpper(a.WorkspaceID)
			},
			answers: []answer{okJSON(`"recorded"`)}, reqs: []wantReq{req},
		},
		{name: "no such delivery", answers: []answer{okJSON(`"not_found"`)}, reqs: []wantReq{req}, want: delivery.ErrNotFound},
		{name: "superseded claim", answers: []answer{okJSON(`"stale"`)}, reqs: []wantReq{req}, want: delivery.ErrNotClaimed},
		{name: "unknown answer", answers: []answer{okJSON(`"maybe"`)}, reqs: []wantReq{req}, want: errWrapped},
		{name: "null", answers: []answer{okJSON(`null`)}, reqs: []wantReq{req}, want: errWrapped},
		{name: "not json", answers: []answer{okJSON(`recorded`)}, reqs: []wantReq{req}, want: errWrapped},
		{name: "invalid uuid from server", answers: []answer{fail(http.StatusBadRequest, badUUIDBody)}, reqs: []wantReq{req}, want: delivery.ErrNotFound},
		{name: "check violation", answers: []answer{fail(http.StatusBadRequest, `{"code":"23514","details":null,"hint":null,"message":"new row for relation \"delivery_attempts\" violates check constraint \"delivery_attempts_response_body_length\""}`)}, reqs: []wantReq{req}, want: errWrapped},
		{name: "inconsistent outcome", answers: []answer{fail(http.StatusBadRequest, `{"code":"22023","details":null,"hint":null,"message":"an attempt with a next attempt must be pending, and only one"}`)}, reqs: []wantReq{req}, want: errWrapped},
		{name: "server error", answers: []answer{fail(http.StatusInternalServerError, internalBody)}, reqs: []wantReq{req}, want: errWrapped},
		{name: "proxy html", answers: []answer{html502()}, reqs: []wantReq{req}, want: errWrapped},
		{name: "malformed delivery id", mutate: func(o *delivery.Outcome) { o.Attempt.DeliveryID = "dlv_1" }, want: delivery.ErrNotFound},
		{name: "malformed webhook id", mutate: func(o *delivery.Outcome) { o.Attempt.WebhookID = "" }, want: delivery.ErrNotFound},
		{name: "malformed workspace id", mutate: func(o *delivery.Outcome) { o.Attempt.WorkspaceID = "ws" }, want: delivery.ErrNotFound},
		{name: "malformed attempt id", mutate: func(o *delivery.Outcome) { o.Attempt.ID = "att_1" }, want: errWrapped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := newTestStore(t, roomy, tt.answers...)
			o := mutated(base(), tt.mutate)
			err := s.RecordAttempt(context.Background(), o)
			checkDeliveryErr(t, "record attempt", err, tt.want)
			checkRequests(t, f.requests(), tt.reqs)
		})
	}
}

func TestRecordAttemptZeroTimeIsNow(t *testing.T) {
	s, f := newTestStore(t, roomy, okJSON(`"recorded"`))
	before := time.Now().Add(-time.Second)
	err := s.RecordAttempt(context.Background(), delivery.Outcome{Attempt: delivery.Attempt{
		DeliveryID: deliveryID, WebhookID: hookID, WorkspaceID: wsID, Attempt: 1, Status: delivery.StatusSuccess,
	}})
	if err != nil {
		t.Fatal(err)
	}
	checkSentNow(t, f.requests()[0].Body, "p_delivered_at", before)
}

func TestDueDeliveries(t *testing.T) {
	due := func(limit string) wantReq {
		return wantReq{method: http.MethodGet, path: deliveriesPath, query: map[string]string{
			"select":          "id",
			"status":          "eq.pending",
			"next_attempt_at": "lte." + atJSON,
			"or":              `(lease_until.is.null,lease_until.lt."` + atJSON + `")`,
			"order":           "next_attempt_at.asc.nullslast,id.asc.nullslast",
			"limit":           limit,
		}}
	}
	tests := []struct {
		name    string
		limit   int
		answers []answer
		reqs    []wantReq
		want    error
		wantIDs []string
	}{
		{name: "due", limit: 100, answers: []answer{okJSON(`[{"id":"` + deliveryID + `"},{"id":"` + deliveryID2 + `"}]`)}, reqs: []wantReq{due("100")}, wantIDs: []string{deliveryID, deliveryID2}},
		{name: "none", limit: 5, answers: []answer{okJSON(`[]`)}, reqs: []wantReq{due("5")}, wantIDs: []string{}},
		{name: "zero limit asks nothing", limit: 0, wantIDs: []string{}},
		{name: "not json", limit: 5, answers: []answer{okJSON(`{`)}, reqs: []wantReq{due("5")}, want: errWrapped},
		{name: "server error", limit: 5, answers: []answer{fail(http.StatusInternalServerError, internalBody)}, reqs: []wantReq{due("5")}, want: errWrapped},
		{name: "proxy html", limit: 5, answers: []answer{html502()}, reqs: []wantReq{due("5")}, want: errWrapped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := newTestStore(t, roomy, tt.answers...)
			got, err := s.DueDeliveries(context.Background(), at, tt.limit)
			checkDeliveryErr(t, "due deliveries", err, tt.want)
			checkRequests(t, f.requests(), tt.reqs)
			if tt.want == nil && !reflect.DeepEqual(got, tt.wantIDs) {
				t.Errorf("ids %v, want %v", got, tt.wantIDs)
			}
		})
	}
}

func TestCreateTestDelivery(t *testing.T) {
	ev := delivery.Event{ID: eventID, WorkspaceID: wsID, Type: "lead.created", Data: json.RawMessage(eventData), CreatedAt: at}
	req := rpcReq(testPath, `{"p_event_id":"`+eventID+`","p_workspace_id":"`+wsID+`","p_type":"lead.created",`+
		`"p_data":`+eventDataJSON+`,"p_created_at":"`+atJSON+`","p_webhook_id":"`+hookID2+`"}`)
	tests := []struct {
		name    string
		mutate  func(ev *delivery.Event)
		hook    string
		answers []answer
		reqs    []wantReq
		want    error
	}{
		{name: "created", hook: hookID2, answers: []answer{okJSON(deliveryRow2JSON)}, reqs: []wantReq{req}},
		{name: "upper-case ids are sent canonical", hook: strings.ToUpper(hookID2), mutate: func(ev *delivery.Event) {
			ev.ID, ev.WorkspaceID = strings.ToUpper(ev.ID), strings.ToUpper(ev.WorkspaceID)
		}, answers: []answer{okJSON(deliveryRow2JSON)}, reqs: []wantReq{req}},
		{name: "no such webhook in the workspace", hook: hookID2, answers: []answer{okJSON(`null`)}, reqs: []wantReq{req}, want: delivery.ErrNotFound},
		{name: "event id taken", hook: hookID2, answers: []answer{fail(http.StatusConflict, `{"code":"23505","details":null,"hint":null,"message":"duplicate key value violates unique constraint \"events_pkey\""}`)}, reqs: []wantReq{req}, want: errWrapped},
		{name: "not a delivery", hook: hookID2, answers: []answer{okJSON(`{}`)}, reqs: []wantReq{req}, want: errWrapped},
		{name: "not json", hook: hookID2, answers: []answer{okJSON(`created`)}, reqs: []wantReq{req}, want: errWrapped},
		{name: "server error", hook: hookID2, answers: []answer{fail(http.StatusInternalServerError, internalBody)}, reqs: []wantReq{req}, want: errWrapped},
		{name: "proxy html", hook: hookID2, answers: []answer{html502()}, reqs: []wantReq{req}, want: errWrapped},
		{name: "malformed webhook id", hook: "wh_1", want: delivery.ErrNotFound},
		{name: "malformed workspace id", hook: hookID2, mutate: func(ev *delivery.Event) { ev.WorkspaceID = "" }, want: delivery.ErrNotFound},
		{name: "malformed event id", hook: hookID2, mutate: func(ev *delivery.Event) { ev.ID = "evt_1" }, want: errWrapped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := newTestStore(t, roomy, tt.answers...)
			e := mutated(ev, tt.mutate)
			got, err := s.CreateTestDelivery(context.Background(), e, tt.hook)
			checkDeliveryErr(t, "create test delivery", err, tt.want)
			checkRequests(t, f.requests(), tt.reqs)
			checkOne(t, "delivery", got, ptr(delivery2Fixture()), tt.want)
		})
	}
}

func TestRetryDelivery(t *testing.T) {
	req := rpcReq(retryPath, `{"p_workspace_id":"`+wsID+`","p_webhook_id":"`+hookID+`","p_id":"`+deliveryID+`","p_now":"`+atJSON+`"}`)
	tests := []struct {
		name         string
		ws, hook, id string
		answers      []answer
		reqs         []wantReq
		want         error
	}{
		{name: "retried", ws: wsID, hook: hookID, id: deliveryID, answers: []answer{okJSON(deliveryRowJSON)}, reqs: []wantReq{req}},
		{name: "upper-case ids are sent canonical", ws: strings.ToUpper(wsID), hook: strings.ToUpper(hookID), id: strings.ToUpper(deliveryID), answers: []answer{okJSON(deliveryRowJSON)}, reqs: []wantReq{req}},
		{name: "no such delivery", ws: wsID, hook: hookID, id: deliveryID, answers: []answer{okJSON(`null`)}, reqs: []wantReq{req}, want: delivery.ErrNotFound},
		{name: "invalid uuid from server", ws: wsID, hook: hookID, id: deliveryID, answers: []answer{fail(http.StatusBadRequest, badUUIDBody)}, reqs: []wantReq{req}, want: delivery.ErrNotFound},
		{name: "not json", ws: wsID, hook: hookID, id: deliveryID, answers: []answer{okJSON(`{`)}, reqs: []wantReq{req}, want: errWrapped},
		{name: "server error", ws: wsID, hook: hookID, id: deliveryID, answers: []answer{fail(http.StatusInternalServerError, internalBody)}, reqs: []wantReq{req}, want: errWrapped},
		{name: "proxy html", ws: wsID, hook: hookID, id: deliveryID, answers: []answer{html502()}, reqs: []wantReq{req}, want: errWrapped},
		{name: "malformed delivery id", ws: wsID, hook: hookID, id: "dlv_1", want: delivery.ErrNotFound},
		{name: "malformed webhook id", ws: wsID, hook: "wh", id: deliveryID, want: delivery.ErrNotFound},
		{name: "malformed workspace id", ws: "", hook: hookID, id: deliveryID, want: delivery.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := newTestStore(t, roomy, tt.answers...)
			got, err := s.RetryDelivery(context.Background(), tt.ws, tt.hook, tt.id, at)
			checkDeliveryErr(t, "retry delivery", err, tt.want)
			checkRequests(t, f.requests(), tt.reqs)
			checkOne(t, "delivery", got, ptr(deliveryFixture()), tt.want)
		})
	}
}

func TestListAttempts(t *testing.T) {
	const logPath = "/rest/v1/rpc/gateway_list_delivery_log"
	rpc := func(status string, offset, limit int) wantReq {
		return wantReq{method: http.MethodPost, path: logPath, query: map[string]string{}, prefer: "return=representation",
			body: fmt.Sprintf(`{"p_workspace_id":"%s","p_webhook_id":"%s","p_status":"%s","p_offset":%d,"p_limit":%d}`, wsID, hookID, status, offset, limit)}
	}
	const waitingJSON = `{"id":null,"delivery_id":"` + deliveryID2 + `","webhook_id":"` + hookID + `","workspace_id":"` + wsID + `",` +
		`"event_type":"lead.created","attempt":3,"status":"pending","response_status_code":null,"response_body":null,` +
		`"duration_ms":null,"error":null,"delivered_at":null,"next_attempt_at":"2026-11-27T10:05:00+00:00"}`
	waiting := delivery.Attempt{DeliveryID: deliveryID2, WebhookID: hookID, WorkspaceID: wsID, EventType: "lead.created",
		Attempt: 3, Status: delivery.StatusPending, NextAttemptAt: ptr(time.Date(2026, 11, 27, 10, 5, 0, 0, time.UTC))}
	failed := attempt2Fixture()
	tests := []struct {
		name          string
		ws, hook      string
		status        string
		offset, limit int
		answers       []answer
		reqs          []wantReq
		want          error
		wantAttempts  []delivery.Attempt
		wantTotal     int
	}{
		{
			name: "a page with a waiting delivery on top", ws: wsID, hook: hookID, limit: 50,
			answers:      []answer{okJSON(`{"total": 7, "entries": [` + waitingJSON + `,` + attemptRow2JSON + `]}`)},
			reqs:         []wantReq{rpc("", 0, 50)},
			wantAttempts: []delivery.Attempt{waiting, failed}, wantTotal: 7,
		},
		{
			name: "a filtered page", ws: wsID, hook: hookID, status: delivery.StatusFailed, offset: 50, limit: 10,
			answers:      []answer{okJSON(`{"total": 51, "entries": [` + attemptRow2JSON + `]}`)},
			reqs:         []wantReq{rpc("failed", 50, 10)},
			wantAttempts: []delivery.Attempt{failed}, wantTotal: 51,
		},
		{
			name: "upper-case ids are sent canonical, negative bounds as zero", ws: strings.ToUpper(wsID), hook: strings.ToUpper(hookID), offset: -5, limit: -1,
			answers:      []answer{okJSON(`{"total": 2, "entries": []}`)},
			reqs:         []wantReq{rpc("", 0, 0)},
			wantAttempts: []delivery.Attempt{}, wantTotal: 2,
		},
		{name: "no such webhook in the workspace", ws: wsID, hook: hookID, limit: 50, answers: []answer{okJSON("null")}, reqs: []wantReq{rpc("", 0, 50)}, want: delivery.ErrNotFound},
		{name: "no total", ws: wsID, hook: hookID, limit: 50, answers: []answer{okJSON(`{"entries": []}`)}, reqs: []wantReq{rpc("", 0, 50)}, want: errWrapped},
		{name: "bad timestamp", ws: wsID, hook: hookID, limit: 50, answers: []answer{okJSON(`{"total": 1, "entries": [{"delivered_at": "yesterday"}]}`)}, reqs: []wantReq{rpc("", 0, 50)}, want: errWrapped},
		{name: "server error", ws: wsID, hook: hookID, limit: 50, answers: []answer{fail(http.StatusInternalServerError, internalBody)}, reqs: []wantReq{rpc("", 0, 50)}, want: errWrapped},
		{name: "proxy html", ws: wsID, hook: hookID, limit: 50, answers: []answer{html502()}, reqs: []wantReq{rpc("", 0, 50)}, want: errWrapped},
		{name: "malformed webhook id", ws: wsID, hook: "wh_1", limit: 50, want: delivery.ErrNotFound},
		{name: "malformed workspace id", ws: "ws", hook: hookID, limit: 50, want: delivery.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := newTestStore(t, roomy, tt.answers...)
			got, total, err := s.ListAttempts(context.Background(), tt.ws, tt.hook, tt.status, tt.offset, tt.limit)
			checkDeliveryErr(t, "list attempts", err, tt.want)
			checkRequests(t, f.requests(), tt.reqs)
			if tt.want == nil {
				checkPage(t, "attempts", got, total, tt.wantAttempts, tt.wantTotal)
			}
		})
	}
}

func TestDeleteAttemptsBefore(t *testing.T) {
	req := wantReq{method: http.MethodDelete, path: attemptsPath, query: map[string]string{"delivered_at": "lt." + atJSON}, prefer: "return=minimal,count=exact"}
	tests := []struct {
		name    string
		answers []answer
		want    error
		wantN   int
	}{
		{name: "deleted", answers: []answer{withRange(answer{status: http.StatusNoContent}, "*/7")}, wantN: 7},
		{name: "none", answers: []answer{withRange(answer{status: http.StatusNoContent}, "*/0")}, wantN: 0},
		{name: "server error", answers: []answer{fail(http.StatusInternalServerError, internalBody)}, want: errWrapped},
		{name: "proxy html", answers: []answer{html502()}, want: errWrapped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := newTestStore(t, roomy, tt.answers...)
			n, err := s.DeleteAttemptsBefore(context.Background(), at)
			checkDeliveryErr(t, "delete attempts", err, tt.want)
			checkRequests(t, f.requests(), []wantReq{req})
			if tt.want == nil && n != tt.wantN {
				t.Errorf("deleted %d, want %d", n, tt.wantN)
			}
		})
	}
}

// deliveryOperations calls every delivery method once with valid arguments.
func deliveryOperations() map[string]func(ctx context.Context, s *Store) error {
	now := time.Now()
	return map[string]func(ctx context.Context, s *Store) error{
		"publish event": func(ctx context.Context, s *Store) error {
			_, _, err := s.PublishEvent(ctx, delivery.Event{ID: eventID, WorkspaceID: wsID, Type: "lead.created", Data: json.RawMessage(`{}`), CreatedAt: now})
			return err
		},
		"claim delivery": func(ctx context.Context, s *Store) error {
			_, err := s.ClaimDelivery(ctx, deliveryID, now, time.Minute)
			return err
		},
		"record attempt": func(ctx context.Context, s *Store) error {
			return s.RecordAttempt(ctx, delivery.Outcome{Attempt: delivery.Attempt{
				DeliveryID: deliveryID, WebhookID: hookID, WorkspaceID: wsID, Attempt: 1, Status: delivery.StatusSuccess, DeliveredAt: now,
			}})
		},
		"due deliveries": func(ctx context.Context, s *Store) error {
			_, err := s.DueDeliveries(ctx, now, 10)
			return err
		},
		"create test delivery": func(ctx context.Context, s *Store) error {
			_, err := s.CreateTestDelivery(ctx, delivery.Event{ID: eventID, WorkspaceID: wsID, Type: "lead.created", CreatedAt: now}, hookID)
			return err
		},
		"retry delivery": func(ctx context.Context, s *Store) error {
			_, err := s.RetryDelivery(ctx, wsID, hookID, deliveryID, now)
			return err
		},
		"list attempts": func(ctx context.Context, s *Store) error {
			_, _, err := s.ListAttempts(ctx, wsID, hookID, "", 0, 10)
			return err
		},
		"delete attempts": func(ctx context.Context, s *Store) error {
			_, err := s.DeleteAttemptsBefore(ctx, now)
			return err
		},
	}
}
