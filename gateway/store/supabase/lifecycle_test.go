package supabase

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/gateway/webhooks"
)

const rotatePath = "/rest/v1/rpc/gateway_rotate_webhook_secret_if_current"

// PostgREST's answer to a PATCH that breaks a check constraint.
const eventsCheckBody = `{"code":"23514","details":"Failing row contains (...).","hint":null,"message":"new row for relation \"webhooks\" violates check constraint \"webhooks_events_nonempty\""}`

// rotatedRowJSON is hookRowJSON after gateway_rotate_webhook_secret: the old
// secret in the previous slot, a new current one, updated_at moved.
var rotatedRowJSON = strings.NewReplacer(
	`"secret_ciphertext":"v1:nonce:ct"`, `"secret_ciphertext":"v1:new:ct"`,
	`"previous_secret_ciphertext":null,"previous_secret_expires_at":null`,
	`"previous_secret_ciphertext":"v1:nonce:ct","previous_secret_expires_at":"2026-11-28T09:00:00.123456+01:00"`,
	`"updated_at":"2026-11-27T10:30:00.5+02:00"`, `"updated_at":"2026-11-27T08:00:00.123456+00:00"`,
).Replace(hookRowJSON)

func rotatedFixture() webhooks.Webhook {
	w := hookFixture()
	expires := time.Date(2026, 11, 28, 8, 0, 0, 123456000, time.UTC)
	w.SecretCiphertext = "v1:new:ct"
	w.PreviousSecretCiphertext = "v1:nonce:ct"
	w.PreviousSecretExpiresAt = &expires
	w.UpdatedAt = time.Date(2026, 11, 27, 8, 0, 0, 123456000, time.UTC)
	return w
}

// at is a time with nanoseconds outside UTC: requests must carry it in UTC,
// truncated to microseconds.
var at = time.Date(2026, 11, 27, 9, 0, 0, 123456789, time.FixedZone("CET", 3600))

const atJSON = "2026-11-27T08:00:00.123456Z"

// byID is the filter every write by id sends.
func byID(id string) map[string]string {
	return map[string]string{"id": "eq." + id, "workspace_id": "eq." + wsID}
}

func TestRowMapsPreviousSecret(t *testing.T) {
	rows, err := decodeRows[webhookRow]([]byte(arr(hookRowJSON, hookRow2JSON)))
	if err != nil {
		t.Fatal(err)
	}
	if w := rows[0].webhook(); w.PreviousSecretCiphertext != "" || w.PreviousSecretExpiresAt != nil {
		t.Errorf("null previous secret read as %q, %v", w.PreviousSecretCiphertext, w.PreviousSecretExpiresAt)
	}
	if w, want := rows[1].webhook(), hook2Fixture(); w.PreviousSecretCiphertext != want.PreviousSecretCiphertext ||
		!reflect.DeepEqual(w.PreviousSecretExpiresAt, want.PreviousSecretExpiresAt) {
		t.Errorf("previous secret read as %q, %v; want %q, %v", w.PreviousSecretCiphertext, w.PreviousSecretExpiresAt,
			want.PreviousSecretCiphertext, want.PreviousSecretExpiresAt)
	}
}

func TestUpdateWebhook(t *testing.T) {
	patch := func(id, body string) wantReq {
		return wantReq{method: http.MethodPatch, path: hooksPath, query: byID(id), prefer: "return=representation", body: body}
	}
	activeOnly := patch(hookID, `{"active":false,"updated_at":"`+atJSON+`"}`)
	tests := []struct {
		name    string
		ws, id  string
		p       webhooks.Patch
		answers []answer
		reqs    []wantReq
		want    error
	}{
		{
			name: "all fields", ws: wsID, id: hookID,
			p: webhooks.Patch{
				URL: ptr("https://New.example/In"), URLKey: ptr("https://new.example/In"),
				Events: []string{"lead.deleted", "lead.created"}, Description: ptr("Billing"), Active: ptr(true), UpdatedAt: at,
			},
			answers: []answer{okJSON(arr(hookRowJSON))},
			reqs: []wantReq{patch(hookID, `{"url":"https://New.example/In","url_key":"https://new.example/In",`+
				`"events":["lead.deleted","lead.created"],"description":"Billing","active":true,"updated_at":"`+atJSON+`"}`)},
		},
		{
			name: "url alone", ws: wsID, id: hookID,
			p:       webhooks.Patch{URL: ptr("https://a.example"), URLKey: ptr("https://a.example"), UpdatedAt: at},
			answers: []answer{okJSON(arr(hookRowJSON))},
			reqs:    []wantReq{patch(hookID, `{"url":"https://a.example","url_key":"https://a.example","updated_at":"`+atJSON+`"}`)},
		},
		{
			name: "events alone", ws: wsID, id: hookID,
			p:       webhooks.Patch{Events: []string{"lead.created"}, UpdatedAt: at},
			answers: []answer{okJSON(arr(hookRowJSON))},
			reqs:    []wantReq{patch(hookID, `{"events":["lead.created"],"updated_at":"`+atJSON+`"}`)},
		},
		{
			name: "empty description is sent", ws: wsID, id: hookID,
			p:       webhooks.Patch{Description: ptr(""), UpdatedAt: at},
			answers: []answer{okJSON(arr(hookRowJSON))},
			reqs:    []wantReq{patch(hookID, `{"description":"","updated_at":"`+atJSON+`"}`)},
		},
		{
			name: "false is sent", ws: wsID, id: hookID,
			p:       webhooks.Patch{Active: ptr(false), UpdatedAt: at},
			answers: []answer{okJSON(arr(hookRowJSON))},
			reqs:    []wantReq{activeOnly},
		},
		{
			name: "nothing but the time", ws: wsID, id: hookID,
			p:       webhooks.Patch{UpdatedAt: at},
			answers: []answer{okJSON(arr(hookRowJSON))},
			reqs:    []wantReq{patch(hookID, `{"updated_at":"`+atJSON+`"}`)},
		},
		{
			// An empty list is a change, which the schema refuses; it must
			// not be dropped from the body as if it were nil.
			name: "empty events reach the database", ws: wsID, id: hookID,
			p:       webhooks.Patch{Events: []string{}, UpdatedAt: at},
			answers: []answer{fail(http.StatusBadRequest, eventsCheckBody)},
			reqs:    []wantReq{patch(hookID, `{"events":[],"updated_at":"`+atJSON+`"}`)},
			want:    errWrapped,
		},
		{
			name: "upper-case ids are sent canonical", ws: strings.ToUpper(wsID), id: strings.ToUpper(hookID),
			p:       webhooks.Patch{Active: ptr(false), UpdatedAt: at},
			answers: []answer{okJSON(arr(hookRowJSON))},
			reqs:    []wantReq{activeOnly},
		},
		{
			name: "url taken in the workspace", ws: wsID, id: hookID,
			p:       webhooks.Patch{URL: ptr("https://example.com/hook"), URLKey: ptr("https://example.com/hook"), UpdatedAt: at},
			answers: []answer{fail(http.StatusConflict, dupURLBody)},
			reqs:    []wantReq{patch(hookID, `{"url":"https://example.com/hook","url_key":"https://example.com/hook","updated_at":"`+atJSON+`"}`)},
			want:    webhooks.ErrDuplicateURL,
		},
		{name: "absent or other workspace", ws: wsID, id: hookID, p: webhooks.Patch{Active: ptr(false), UpdatedAt: at}, answers: []answer{okJSON("[]")}, reqs: []wantReq{activeOnly}, want: webhooks.ErrNotFound},
		{name: "invalid uuid from server", ws: wsID, id: hookID, p: webhooks.Patch{Active: ptr(false), UpdatedAt: at}, answers: []answer{fail(http.StatusBadRequest, badUUIDBody)}, reqs: []wantReq{activeOnly}, want: webhooks.ErrNotFound},
		{name: "malformed id", ws: wsID, id: "wh_1", p: webhooks.Patch{Active: ptr(false)}, want: webhooks.ErrNotFound},
		{name: "filter syntax in id", ws: wsID, id: hookID[:35] + ",", p: webhooks.Patch{Active: ptr(false)}, want: webhooks.ErrNotFound},
		{name: "malformed workspace", ws: "ws", id: hookID, p: webhooks.Patch{Active: ptr(false)}, want: webhooks.ErrNotFound},
		{name: "server error", ws: wsID, id: hookID, p: webhooks.Patch{Active: ptr(false), UpdatedAt: at}, answers: []answer{fail(http.StatusInternalServerError, internalBody)}, reqs: []wantReq{activeOnly}, want: errWrapped},
		{name: "proxy html", ws: wsID, id: hookID, p: webhooks.Patch{Active: ptr(false), UpdatedAt: at}, answers: []answer{html502()}, reqs: []wantReq{activeOnly}, want: errWrapped},
		{name: "not json", ws: wsID, id: hookID, p: webhooks.Patch{Active: ptr(false), UpdatedAt: at}, answers: []answer{okJSON("{")}, reqs: []wantReq{activeOnly}, want: errWrapped},
		{name: "two rows", ws: wsID, id: hookID, p: webhooks.Patch{Active: ptr(false), UpdatedAt: at}, answers: []answer{okJSON(arr(hookRowJSON, hookRowJSON))}, reqs: []wantReq{activeOnly}, want: errWrapped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := newTestStore(t, roomy, tt.answers...)
			got, err := s.UpdateWebhook(context.Background(), tt.ws, tt.id, tt.p)
			checkErr(t, "update webhook", err, tt.want)
			checkRequests(t, f.requests(), tt.reqs)
			checkOne(t, "webhook", got, ptr(hookFixture()), tt.want)
		})
	}
}

func TestUpdateWebhookZeroTimeIsNow(t *testing.T) {
	s, f := newTestStore(t, roomy, okJSON(arr(hookRowJSON)))
	before := time.Now().Add(-time.Second)
	if _, err := s.UpdateWebhook(context.Background(), wsID, hookID, webhooks.Patch{Active: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	checkSentNow(t, f.requests()[0].Body, "updated_at", before)
}

func TestDeleteWebhook(t *testing.T) {
	del := wantReq{method: http.MethodDelete, path: hooksPath, query: byID(hookID), prefer: "return=representation"}
	tests := []idCase[webhooks.Webhook]{
		{name: "deleted", ws: wsID, id: hookID, answers: []answer{okJSON(arr(hookRowJSON))}, reqs: []wantReq{del}},
		{name: "upper-case ids are sent canonical", ws: strings.ToUpper(wsID), id: strings.ToUpper(hookID), answers: []answer{okJSON(arr(hookRowJSON))}, reqs: []wantReq{del}},
		{name: "absent or other workspace", ws: wsID, id: hookID, answers: []answer{okJSON("[]")}, reqs: []wantReq{del}, want: webhooks.ErrNotFound},
		{name: "invalid uuid from server", ws: wsID, id: hookID, answers: []answer{fail(http.StatusBadRequest, badUUIDBody)}, reqs: []wantReq{del}, want: webhooks.ErrNotFound},
		{name: "malformed id", ws: wsID, id: "not-a-uuid", want: webhooks.ErrNotFound},
		{name: "malformed workspace", ws: wsID + "x", id: hookID, want: webhooks.ErrNotFound},
		{name: "server error", ws: wsID, id: hookID, answers: []answer{fail(http.StatusInternalServerError, internalBody)}, reqs: []wantReq{del}, want: errWrapped},
		{name: "proxy html", ws: wsID, id: hookID, answers: []answer{html502()}, reqs: []wantReq{del}, want: errWrapped},
		{name: "not json", ws: wsID, id: hookID, answers: []answer{okJSON("deleted")}, reqs: []wantReq{del}, want: errWrapped},
		{name: "two rows", ws: wsID, id: hookID, answers: []answer{okJSON(arr(hookRowJSON, hookRowJSON))}, reqs: []wantReq{del}, want: errWrapped},
	}
	runIDCases(t, "delete webhook", "webhook", tests, func(s *Store, ws, id string) (*webhooks.Webhook, error) {
		return nil, s.DeleteWebhook(context.Background(), ws, id)
	})
}

func TestRotateSecret(t *testing.T) {
	expires := at.Add(24 * time.Hour)
	rpc := wantReq{
		method: http.MethodPost,
		path:   rotatePath,
		query:  map[string]string{},
		prefer: "return=representation",
		body: `{"p_workspace_id":"` + wsID + `","p_id":"` + hookID + `","p_expected_ciphertext":"v1:old:ct","p_secret_ciphertext":"v1:new:ct",` +
			`"p_previous_expires_at":"2026-11-28T08:00:00.123456Z","p_now":"` + atJSON + `"}`,
	}
	tests := []idCase[webhooks.Webhook]{
		{name: "rotated", ws: wsID, id: hookID, answers: []answer{okJSON(arr(rotatedRowJSON))}, reqs: []wantReq{rpc}},
		{name: "upper-case ids are sent canonical", ws: strings.ToUpper(wsID), id: strings.ToUpper(hookID), answers: []answer{okJSON(arr(rotatedRowJSON))}, reqs: []wantReq{rpc}},
		{name: "absent or other workspace", ws: wsID, id: hookID, answers: []answer{okJSON("[]")}, reqs: []wantReq{rpc}, want: webhooks.ErrNotFound},
		{name: "rotated meanwhile", ws: wsID, id: hookID, answers: []answer{fail(http.StatusBadRequest, `{"code":"LL004","details":null,"hint":null,"message":"rotation_in_progress"}`)}, reqs: []wantReq{rpc}, want: webhooks.ErrRotationConflict},
		{name: "invalid uuid from server", ws: wsID, id: hookID, answers: []answer{fail(http.StatusBadRequest, badUUIDBody)}, reqs: []wantReq{rpc}, want: webhooks.ErrNotFound},
		{name: "unique violation is not a duplicate url here", ws: wsID, id: hookID, answers: []answer{fail(http.StatusConflict, dupURLBody)}, reqs: []wantReq{rpc}, want: errWrapped},
		{name: "malformed id", ws: wsID, id: "wh_1", want: webhooks.ErrNotFound},
		{name: "malformed workspace", ws: "", id: hookID, want: webhooks.ErrNotFound},
		{name: "function missing", ws: wsID, id: hookID, answers: []answer{fail(http.StatusNotFound, `{"code":"PGRST202","details":null,"hint":null,"message":"Could not find the function public.gateway_rotate_webhook_secret in the schema cache"}`)}, reqs: []wantReq{rpc}, want: errWrapped},
		{name: "server error", ws: wsID, id: hookID, answers: []answer{fail(http.StatusInternalServerError, internalBody)}, reqs: []wantReq{rpc}, want: errWrapped},
		{name: "proxy html", ws: wsID, id: hookID, answers: []answer{html502()}, reqs: []wantReq{rpc}, want: errWrapped},
		{name: "not json", ws: wsID, id: hookID, answers: []answer{okJSON("OK")}, reqs: []wantReq{rpc}, want: errWrapped},
		{name: "two rows", ws: wsID, id: hookID, answers: []answer{okJSON(arr(rotatedRowJSON, rotatedRowJSON))}, reqs: []wantReq{rpc}, want: errWrapped},
	}
	for i := range tests {
		// Every call that succeeds returns the rotated row.
		tests[i].wantRow = ptr(rotatedFixture())
	}
	runIDCases(t, "rotate secret", "webhook", tests, func(s *Store, ws, id string) (*webhooks.Webhook, error) {
		return s.RotateSecret(context.Background(), ws, id, "v1:old:ct", "v1:new:ct", expires, at)
	})
}

func TestRotateSecretZeroTimeIsNow(t *testing.T) {
	s, f := newTestStore(t, roomy, okJSON(arr(rotatedRowJSON)))
	before := time.Now().Add(-time.Second)
	if _, err := s.RotateSecret(context.Background(), wsID, hookID, "v1:old:ct", "v1:new:ct", at, time.Time{}); err != nil {
		t.Fatal(err)
	}
	checkSentNow(t, f.requests()[0].Body, "p_now", before)
}
