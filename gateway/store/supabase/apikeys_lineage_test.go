package supabase

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/gateway/apikeys"
)

// Wire tests for the API-key lineage calls (issue 8): KeyByID, TouchKey and
// the created_by/last_used_at columns. CreateKey and RevokeKey, which go
// through gateway_create_api_key and gateway_revoke_api_key, are covered in
// supabase_test.go next to the other key calls.

func TestKeyByID(t *testing.T) {
	get := func(scoped bool) wantReq {
		q := map[string]string{"select": "*", "id": "eq." + keyID}
		if scoped {
			q["workspace_id"] = "eq." + wsID
		}
		return wantReq{method: http.MethodGet, path: keysPath, query: q}
	}
	used := strings.Replace(keyRowJSON, `"revoked_at":null`,
		`"revoked_at":null,"created_by":"`+keyID2+`","last_used_at":"2026-11-30T10:00:00+00:00"`, 1)
	lastUsed := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	usedKey := keyFixture()
	usedKey.CreatedBy = keyID2
	usedKey.LastUsedAt = &lastUsed
	tests := []idCase[apikeys.Key]{
		{name: "found", ws: wsID, id: keyID, answers: []answer{okJSON(arr(keyRowJSON))}, reqs: []wantReq{get(true)}, wantRow: ptr(keyFixture())},
		{name: "lineage and last use decoded", ws: wsID, id: strings.ToUpper(keyID), answers: []answer{okJSON(arr(used))}, reqs: []wantReq{get(true)}, wantRow: &usedKey},
		{name: "operator scope", ws: "", id: keyID, answers: []answer{okJSON(arr(keyRowJSON))}, reqs: []wantReq{get(false)}, wantRow: ptr(keyFixture())},
		{name: "absent or other workspace", ws: wsID, id: keyID, answers: []answer{okJSON("[]")}, reqs: []wantReq{get(true)}, want: apikeys.ErrNotFound},
		{name: "two rows", ws: wsID, id: keyID, answers: []answer{okJSON(arr(keyRowJSON, keyRowJSON))}, reqs: []wantReq{get(true)}, want: errWrapped},
		{name: "malformed id", ws: wsID, id: "key_1", want: apikeys.ErrNotFound},
		{name: "filter syntax in id", ws: wsID, id: keyID + ",id.neq.x", want: apikeys.ErrNotFound},
		{name: "malformed workspace", ws: "ws", id: keyID, want: apikeys.ErrNotFound},
		{name: "server error", ws: wsID, id: keyID, answers: []answer{fail(http.StatusServiceUnavailable, internalBody)}, reqs: []wantReq{get(true)}, want: errWrapped},
		{name: "garbage", ws: wsID, id: keyID, answers: []answer{okJSON("<ok/>")}, reqs: []wantReq{get(true)}, want: errWrapped},
	}
	runIDCases(t, "key by id", "key", tests, func(s *Store, ws, id string) (*apikeys.Key, error) {
		return s.KeyByID(context.Background(), ws, id)
	})
}

func TestTouchKey(t *testing.T) {
	at := time.Date(2026, 11, 30, 11, 0, 0, 987654321, time.FixedZone("CET", 3600))
	call := wantReq{method: http.MethodPost, path: "/rest/v1/rpc/gateway_touch_api_key", query: map[string]string{}, prefer: "return=representation",
		body: `{"p_id":"` + keyID + `","p_at":"2026-11-30T10:00:00.987654Z"}`}
	tests := []struct {
		name    string
		id      string
		answers []answer
		reqs    []wantReq
		want    error
	}{
		{name: "recorded", id: keyID, answers: []answer{{status: http.StatusNoContent}}, reqs: []wantReq{call}},
		{name: "upper-case id sent canonical", id: strings.ToUpper(keyID), answers: []answer{{status: http.StatusNoContent}}, reqs: []wantReq{call}},
		{name: "malformed id is no request", id: "' or 1=1"},
		{name: "server error", id: keyID, answers: []answer{html502()}, reqs: []wantReq{call}, want: errWrapped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := newTestStore(t, roomy, tt.answers...)
			err := s.TouchKey(context.Background(), tt.id, at)
			checkErr(t, "touch key", err, tt.want)
			checkRequests(t, f.requests(), tt.reqs)
		})
	}
}

func TestTouchKeyTimesOut(t *testing.T) {
	s, _ := newTestStore(t, 50*time.Millisecond, answer{hang: true})
	if err := s.TouchKey(context.Background(), keyID, time.Now()); err == nil {
		t.Fatal("TouchKey against a hanging PostgREST returned nil")
	}
}
