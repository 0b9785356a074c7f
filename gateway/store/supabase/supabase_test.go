package supabase

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/gateway/webhooks"
)

// The fake server below plays PostgREST as its documentation describes the
// wire format: /rest/v1/<table> and /rest/v1/rpc/<function>, the Prefer header
// (return=representation, count=exact), Content-Range "from-to/total" or
// "*/total", and JSON error bodies {code, details, hint, message} with the HTTP
// status PostgREST gives each code.

const (
	testKey   = "sb-service-role-5ecret-Zq81xLw"
	wsID      = "0b7e3c4a-5a1f-4c3e-9d2b-6f8e1a2b3c4d"
	hookID    = "5f0e8a9c-2d41-4b7a-9e63-1c2d3e4f5a6b"
	hookID2   = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
	keyID     = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
	keyID2    = "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f"
	rpcPath   = "/rest/v1/rpc/gateway_create_webhook"
	hooksPath = "/rest/v1/webhooks"
	keysPath  = "/rest/v1/api_keys"
	newest    = "created_at.desc.nullsfirst,id.desc.nullsfirst"
)

var testHash = strings.Repeat("ab", 32)

// roomy is the store timeout for tests that expect an answer: long enough for
// a loaded machine under -race. The hanging-server test uses a short one.
const roomy = 10 * time.Second

// PostgREST error bodies, as PostgREST renders them.
const (
	dupURLBody   = `{"code":"23505","details":"Key (workspace_id, url_key)=(0b7e3c4a-5a1f-4c3e-9d2b-6f8e1a2b3c4d, https://example.com/hook) already exists.","hint":null,"message":"duplicate key value violates unique constraint \"webhooks_workspace_url_key\""}`
	dupHashBody  = `{"code":"23505","details":"Key (key_hash)=(abab) already exists.","hint":null,"message":"duplicate key value violates unique constraint \"api_keys_key_hash_key\""}`
	limitBody    = `{"code":"LL001","details":null,"hint":null,"message":"webhook_limit_reached"}`
	singularBody = `{"code":"PGRST116","details":"The result contains 0 rows","hint":"","message":"JSON object requested, multiple (or no) rows returned"}`
	badUUIDBody  = `{"code":"22P02","details":null,"hint":null,"message":"invalid input syntax for type uuid: \"x\""}`
	rangeBody    = `{"code":"PGRST103","details":"An offset of 40 was requested, but there are only 22 rows.","hint":null,"message":"Requested range not satisfiable"}`
	checkBody    = `{"code":"23514","details":"Failing row contains (...).","hint":null,"message":"new row for relation \"api_keys\" violates check constraint \"api_keys_plan_check\""}`
	internalBody = `{"code":"XX000","details":null,"hint":null,"message":"internal error"}`
	htmlBody     = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body><center><h1>502 Bad Gateway</h1></center></body>\r\n</html>\r\n"
)

// answer is one scripted PostgREST response.
type answer struct {
	status int
	body   string
	header map[string]string
	hang   bool // never answer; wait for the client to give up
}

func okJSON(body string) answer { return answer{status: http.StatusOK, body: body} }

func fail(status int, body string) answer { return answer{status: status, body: body} }

func html502() answer {
	return answer{status: http.StatusBadGateway, body: htmlBody, header: map[string]string{"Content-Type": "text/html"}}
}

func withRange(a answer, contentRange string) answer {
	a.header = map[string]string{"Content-Range": contentRange}
	return a
}

// exchange is one request the fake server received.
type exchange struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
}

// fakePostgREST records requests and replies with the scripted answers in order.
type fakePostgREST struct {
	mu      sync.Mutex
	answers []answer
	got     []exchange
	release chan struct{}
}

func (f *fakePostgREST) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	i := len(f.got)
	f.got = append(f.got, exchange{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body})
	a := answer{status: http.StatusInternalServerError, body: `{"code":"XX000","details":null,"hint":null,"message":"fake: unexpected request"}`}
	if i < len(f.answers) {
		a = f.answers[i]
	}
	f.mu.Unlock()

	if a.hang {
		select {
		case <-r.Context().Done():
		case <-f.release:
		}
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, a.body)
}

func (f *fakePostgREST) requests() []exchange {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]exchange(nil), f.got...)
}

// newTestStore starts a fake PostgREST with the answers and a Store on it.
func newTestStore(t *testing.T, timeout time.Duration, answers ...answer) (*Store, *fakePostgREST) {
	t.Helper()
	f := &fakePostgREST{answers: answers, release: make(chan struct{})}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(f.release) }) // runs first: frees hanging handlers
	s, err := New(srv.URL, testKey, timeout)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s, f
}

// wantReq is the exact request expected.
type wantReq struct {
	method string
	path   string
	query  map[string]string // the complete set of query parameters
	prefer string            // "" means no Prefer header
	body   string            // JSON; "" means no body
}

// checkRequests asserts the received requests, in order, one for one.
func checkRequests(t *testing.T, got []exchange, want []wantReq) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d requests, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		checkRequest(t, i, got[i], want[i])
	}
}

func checkRequest(t *testing.T, i int, got exchange, want wantReq) {
	t.Helper()
	if got.Method != want.method || got.Path != want.path {
		t.Errorf("request %d: %s %s, want %s %s", i, got.Method, got.Path, want.method, want.path)
	}
	if len(got.Query) != len(want.query) {
		t.Errorf("request %d: query %v, want %v", i, got.Query, want.query)
	}
	for k, v := range want.query {
		if g := got.Query[k]; len(g) != 1 || g[0] != v {
			t.Errorf("request %d: query %s=%q, want %q", i, k, g, v)
		}
	}
	headers := map[string]string{
		"apikey":          testKey,
		"Authorization":   "Bearer " + testKey,
		"Accept":          "application/json",
		"Accept-Profile":  "public",
		"Content-Profile": "public",
	}
	for k, v := range headers {
		if g := got.Header.Values(k); len(g) != 1 || g[0] != v {
			t.Errorf("request %d: header %s = %q, want %q", i, k, g, v)
		}
	}
	if g := strings.Join(got.Header.Values("Prefer"), ","); g != want.prefer {
		t.Errorf("request %d: Prefer %q, want %q", i, g, want.prefer)
	}
	if want.body == "" {
		if len(got.Body) != 0 {
			t.Errorf("request %d: unexpected body %s", i, got.Body)
		}
		return
	}
	if ct := got.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("request %d: Content-Type %q", i, ct)
	}
	var g, w any
	if err := json.Unmarshal(got.Body, &g); err != nil {
		t.Fatalf("request %d: body %s is not JSON: %v", i, got.Body, err)
	}
	if err := json.Unmarshal([]byte(want.body), &w); err != nil {
		t.Fatalf("bad want body: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("request %d: body\n got %s\nwant %s", i, got.Body, want.body)
	}
}

// errWrapped marks cases that must fail with a plain wrapped error: non-nil,
// prefixed with the operation, and matching none of the sentinels.
var errWrapped = errors.New("a wrapped error")

var sentinels = []error{
	webhooks.ErrDuplicateURL, webhooks.ErrLimitReached, webhooks.ErrNotFound,
	apikeys.ErrNotFound, apikeys.ErrInactive, ErrDuplicateKey,
}

// checkErr asserts err against want (nil, errWrapped, or a sentinel), and that
// no error ever carries the service key.
func checkErr(t *testing.T, op string, err, want error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), testKey) {
		t.Errorf("error leaks the service key: %v", err)
	}
	switch {
	case want == nil:
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	case err == nil:
		t.Fatalf("no error, want %v", want)
	}
	if prefix := "supabase: " + op + ": "; !strings.HasPrefix(err.Error(), prefix) {
		t.Errorf("error %q lacks the prefix %q", err, prefix)
	}
	for _, s := range sentinels {
		if is := errors.Is(err, s); is != (s == want) {
			t.Errorf("errors.Is(%v, %v) = %v", err, s, is)
		}
	}
}

// Fixtures: rows as PostgREST renders them, and the values they stand for.
const hookRowJSON = `{"id":"5f0e8a9c-2d41-4b7a-9e63-1c2d3e4f5a6b","workspace_id":"0b7e3c4a-5a1f-4c3e-9d2b-6f8e1a2b3c4d",` +
	`"url":"https://Example.com:443/Hook","url_key":"https://example.com/Hook","events":["lead.created","lead.updated"],` +
	`"description":"CRM sync","active":true,"secret_ciphertext":"v1:nonce:ct",` +
	`"previous_secret_ciphertext":null,"previous_secret_expires_at":null,` +
	`"created_at":"2026-11-27T08:00:00.123456+00:00","updated_at":"2026-11-27T10:30:00.5+02:00",` +
	`"last_delivery_status":null,"last_delivery_at":null}`

const hookRow2JSON = `{"id":"1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d","workspace_id":"0b7e3c4a-5a1f-4c3e-9d2b-6f8e1a2b3c4d",` +
	`"url":"https://b.example.com/in","url_key":"https://b.example.com/in","events":["lead.deleted"],` +
	`"description":"","active":false,"secret_ciphertext":"v1:x:y",` +
	`"previous_secret_ciphertext":"v1:old:ct","previous_secret_expires_at":"2026-11-28T01:00:00.25+01:00",` +
	`"created_at":"2026-11-26T23:59:59+00:00","updated_at":"2026-11-27T01:00:00+00:00",` +
	`"last_delivery_status":"failed","last_delivery_at":"2026-11-27T09:15:00.000001-05:00"}`

func hookFixture() webhooks.Webhook {
	return webhooks.Webhook{
		ID:               hookID,
		WorkspaceID:      wsID,
		URL:              "https://Example.com:443/Hook",
		URLKey:           "https://example.com/Hook",
		Events:           []string{"lead.created", "lead.updated"},
		Description:      "CRM sync",
		Active:           true,
		SecretCiphertext: "v1:nonce:ct",
		CreatedAt:        time.Date(2026, 11, 27, 8, 0, 0, 123456000, time.UTC),
		UpdatedAt:        time.Date(2026, 11, 27, 8, 30, 0, 500000000, time.UTC),
	}
}

func hook2Fixture() webhooks.Webhook {
	status := "failed"
	at := time.Date(2026, 11, 27, 14, 15, 0, 1000, time.UTC)
	expires := time.Date(2026, 11, 28, 0, 0, 0, 250000000, time.UTC)
	return webhooks.Webhook{
		ID:                       hookID2,
		WorkspaceID:              wsID,
		URL:                      "https://b.example.com/in",
		URLKey:                   "https://b.example.com/in",
		Events:                   []string{"lead.deleted"},
		SecretCiphertext:         "v1:x:y",
		PreviousSecretCiphertext: "v1:old:ct",
		PreviousSecretExpiresAt:  &expires,
		CreatedAt:                time.Date(2026, 11, 26, 23, 59, 59, 0, time.UTC),
		UpdatedAt:                time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC),
		LastDeliveryStatus:       &status,
		LastDeliveryAt:           &at,
	}
}

const keyRowJSON = `{"id":"9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d","workspace_id":"0b7e3c4a-5a1f-4c3e-9d2b-6f8e1a2b3c4d",` +
	`"name":"CI deploy","description":"Deploys from the CI pipeline","key_prefix":"wbk_ab12cd","key_hash":"` + "abababababababababababababababababababababababababababababababab" + `",` +
	`"permissions":["webhooks:read","webhooks:write"],"plan":"pro","tier":"standard",` +
	`"expires_at":"2027-01-01T00:00:00+00:00","revoked_at":null,"created_at":"2026-11-27T08:00:00.123456+00:00"}`

const keyRow2JSON = `{"id":"2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f","workspace_id":"0b7e3c4a-5a1f-4c3e-9d2b-6f8e1a2b3c4d",` +
	`"name":"","description":"","key_prefix":"wbk_ff00ee","key_hash":"` + "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd" + `",` +
	`"permissions":["admin:api_keys"],"plan":"org","tier":"unmetered",` +
	`"expires_at":null,"revoked_at":"2026-11-27T09:00:00+01:00","created_at":"2026-11-26T07:00:00+00:00"}`

func keyFixture() apikeys.Key {
	exp := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	return apikeys.Key{
		ID:          keyID,
		WorkspaceID: wsID,
		Name:        "CI deploy",
		Description: "Deploys from the CI pipeline",
		Prefix:      "wbk_ab12cd",
		Hash:        testHash,
		Permissions: []gateway.Permission{gateway.PermWebhooksRead, gateway.PermWebhooksWrite},
		Plan:        "pro",
		Tier:        "standard",
		ExpiresAt:   &exp,
		CreatedAt:   time.Date(2026, 11, 27, 8, 0, 0, 123456000, time.UTC),
	}
}

func key2Fixture() apikeys.Key {
	rev := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	return apikeys.Key{
		ID:          keyID2,
		WorkspaceID: wsID,
		Prefix:      "wbk_ff00ee",
		Hash:        strings.Repeat("cd", 32),
		Permissions: []gateway.Permission{gateway.PermAdminAPIKeys},
		Plan:        "org",
		Tier:        "unmetered",
		RevokedAt:   &rev,
		CreatedAt:   time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC),
	}
}

func arr(rows ...string) string { return "[" + strings.Join(rows, ",") + "]" }

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		url     string
		key     string
		timeout time.Duration
		wantErr bool
	}{
		{"valid", "https://abcd.supabase.co", testKey, time.Second, false},
		{"trailing slash", "https://abcd.supabase.co/", testKey, time.Second, false},
		{"empty url", "", testKey, time.Second, true},
		{"no scheme", "abcd.supabase.co", testKey, time.Second, true},
		{"other scheme", "ftp://abcd.supabase.co", testKey, time.Second, true},
		{"no host", "https://", testKey, time.Second, true},
		{"unparsable", "https://abcd.supabase.co:port", testKey, time.Second, true},
		{"credentials in url", "https://u:" + testKey + "@abcd.supabase.co", testKey, time.Second, true},
		{"empty key", "https://abcd.supabase.co", "", time.Second, true},
		{"zero timeout", "https://abcd.supabase.co", testKey, 0, true},
		{"negative timeout", "https://abcd.supabase.co", testKey, -time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.url, tt.key, tt.timeout)
			if (err != nil) != tt.wantErr {
				t.Fatalf("New error = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				if s != nil {
					t.Error("a store with the error")
				}
				if strings.Contains(err.Error(), testKey) {
					t.Errorf("error leaks the key: %v", err)
				}
			}
		})
	}
}

func TestNewTrailingSlashKeepsPaths(t *testing.T) {
	f := &fakePostgREST{answers: []answer{okJSON("[]")}, release: make(chan struct{})}
	srv := httptest.NewServer(f)
	defer srv.Close()
	s, err := New(srv.URL+"/", testKey, roomy)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.requests()[0].Path; got != keysPath {
		t.Errorf("path %q, want %q", got, keysPath)
	}
}

func TestPing(t *testing.T) {
	req := wantReq{method: http.MethodGet, path: keysPath, query: map[string]string{"select": "id", "limit": "1"}}
	tests := []struct {
		name   string
		answer answer
		want   error
	}{
		{"ready", okJSON("[]"), nil},
		{"ready with a row", okJSON(`[{"id":"` + keyID + `"}]`), nil},
		{"gateway rejects the key", fail(http.StatusUnauthorized, `{"message":"Invalid API key"}`), errWrapped},
		{"postgrest down", fail(http.StatusServiceUnavailable, `{"code":"PGRST001","details":null,"hint":null,"message":"Database client error. Retrying the connection."}`), errWrapped},
		{"proxy html", html502(), errWrapped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := newTestStore(t, roomy, tt.answer)
			checkErr(t, "ping", s.Ping(context.Background()), tt.want)
			checkRequests(t, f.requests(), []wantReq{req})
		})
	}
}

func TestCreateWebhook(t *testing.T) {
	input := func() webhooks.Webhook {
		w := hookFixture()
		w.UpdatedAt = time.Time{}
		// Nanoseconds and a non-UTC zone: sent as UTC, truncated to microseconds.
		w.CreatedAt = time.Date(2026, 11, 27, 9, 0, 0, 123456789, time.FixedZone("CET", 3600))
		return w
	}
	rpc := wantReq{
		method: http.MethodPost,
		path:   rpcPath,
		query:  map[string]string{},
		prefer: "return=representation",
		body: `{"p_id":"` + hookID + `","p_workspace_id":"` + wsID + `",` +
			`"p_url":"https://Example.com:443/Hook","p_url_key":"https://example.com/Hook",` +
			`"p_events":["lead.created","lead.updated"],"p_description":"CRM sync","p_active":true,` +
			`"p_secret_ciphertext":"v1:nonce:ct","p_created_at":"2026-11-27T08:00:00.123456Z","p_limit":10}`,
	}
	tests := []struct {
		name    string
		mutate  func(w *webhooks.Webhook)
		answers []answer
		reqs    []wantReq
		want    error
	}{
		{name: "created", answers: []answer{okJSON(arr(hookRowJSON))}, reqs: []wantReq{rpc}},
		{name: "duplicate url", answers: []answer{fail(http.StatusConflict, dupURLBody)}, reqs: []wantReq{rpc}, want: webhooks.ErrDuplicateURL},
		{name: "limit reached", answers: []answer{fail(http.StatusBadRequest, limitBody)}, reqs: []wantReq{rpc}, want: webhooks.ErrLimitReached},
		{name: "invalid input is not not-found", answers: []answer{fail(http.StatusBadRequest, badUUIDBody)}, reqs: []wantReq{rpc}, want: errWrapped},
		{name: "server error", answers: []answer{fail(http.StatusInternalServerError, internalBody)}, reqs: []wantReq{rpc}, want: errWrapped},
		{name: "proxy html", answers: []answer{html502()}, reqs: []wantReq{rpc}, want: errWrapped},
		{name: "no row returned", answers: []answer{okJSON("[]")}, reqs: []wantReq{rpc}, want: errWrapped},
		{name: "not json", answers: []answer{okJSON("OK")}, reqs: []wantReq{rpc}, want: errWrapped},
		{name: "bad timestamp", answers: []answer{okJSON(arr(strings.Replace(hookRowJSON, "2026-11-27T08:00:00.123456+00:00", "yesterday", 1)))}, reqs: []wantReq{rpc}, want: errWrapped},
		{name: "malformed id", mutate: func(w *webhooks.Webhook) { w.ID = "wh_123" }, want: errWrapped},
		{name: "malformed workspace", mutate: func(w *webhooks.Webhook) { w.WorkspaceID = wsID + ")" }, want: errWrapped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := newTestStore(t, roomy, tt.answers...)
			w := ptr(mutated(input(), tt.mutate))
			err := s.CreateWebhook(context.Background(), w, 10)
			checkErr(t, "create webhook", err, tt.want)
			checkRequests(t, f.requests(), tt.reqs)
			if tt.want == nil {
				if want := hookFixture(); !reflect.DeepEqual(*w, want) {
					t.Errorf("stored webhook\n got %+v\nwant %+v", *w, want)
				}
			}
		})
	}
}

func TestCreateWebhookUpperCaseIDsAreSentCanonical(t *testing.T) {
	s, f := newTestStore(t, roomy, okJSON(arr(hookRowJSON)))
	w := hookFixture()
	w.ID = strings.ToUpper(hookID)
	w.WorkspaceID = strings.ToUpper(wsID)
	if err := s.CreateWebhook(context.Background(), &w, 5); err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(f.requests()[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if body["p_id"] != hookID || body["p_workspace_id"] != wsID || body["p_limit"] != 5.0 {
		t.Errorf("body %v", body)
	}
}

func TestGetWebhook(t *testing.T) {
	get := func(id string) wantReq {
		return wantReq{
			method: http.MethodGet,
			path:   hooksPath,
			query:  map[string]string{"select": "*", "id": "eq." + id, "workspace_id": "eq." + wsID},
		}
	}
	tests := []idCase[webhooks.Webhook]{
		{name: "found", ws: wsID, id: hookID, answers: []answer{okJSON(arr(hookRowJSON))}, reqs: []wantReq{get(hookID)}, wantRow: ptr(hookFixture())},
		{name: "found with last delivery", ws: wsID, id: hookID2, answers: []answer{okJSON(arr(hookRow2JSON))}, reqs: []wantReq{get(hookID2)}, wantRow: ptr(hook2Fixture())},
		{name: "upper-case id is queried canonical", ws: strings.ToUpper(wsID), id: strings.ToUpper(hookID), answers: []answer{okJSON(arr(hookRowJSON))}, reqs: []wantReq{get(hookID)}, wantRow: ptr(hookFixture())},
		{name: "absent or other workspace", ws: wsID, id: hookID, answers: []answer{okJSON("[]")}, reqs: []wantReq{get(hookID)}, want: webhooks.ErrNotFound},
		{name: "singular response error", ws: wsID, id: hookID, answers: []answer{fail(http.StatusNotAcceptable, singularBody)}, reqs: []wantReq{get(hookID)}, want: webhooks.ErrNotFound},
		{name: "invalid uuid from server", ws: wsID, id: hookID, answers: []answer{fail(http.StatusBadRequest, badUUIDBody)}, reqs: []wantReq{get(hookID)}, want: webhooks.ErrNotFound},
		{name: "malformed id", ws: wsID, id: "not-a-uuid", want: webhooks.ErrNotFound},
		{name: "filter syntax in id", ws: wsID, id: "5f0e8a9c-2d41-4b7a-9e63-1c2d3e4f5a6b,or", want: webhooks.ErrNotFound},
		{name: "malformed workspace", ws: "ws_1", id: hookID, want: webhooks.ErrNotFound},
		{name: "server error", ws: wsID, id: hookID, answers: []answer{fail(http.StatusInternalServerError, internalBody)}, reqs: []wantReq{get(hookID)}, want: errWrapped},
		{name: "proxy html", ws: wsID, id: hookID, answers: []answer{html502()}, reqs: []wantReq{get(hookID)}, want: errWrapped},
		{name: "not json", ws: wsID, id: hookID, answers: []answer{okJSON("{")}, reqs: []wantReq{get(hookID)}, want: errWrapped},
		{name: "two rows", ws: wsID, id: hookID, answers: []answer{okJSON(arr(hookRowJSON, hookRowJSON))}, reqs: []wantReq{get(hookID)}, want: errWrapped},
	}
	runIDCases(t, "get webhook", "webhook", tests, func(s *Store, ws, id string) (*webhooks.Webhook, error) {
		return s.GetWebhook(context.Background(), ws, id)
	})
}

func TestListWebhooks(t *testing.T) {
	page := func(offset, limit string) wantReq {
		return wantReq{
			method: http.MethodGet,
			path:   hooksPath,
			query: map[string]string{
				"select": "*", "workspace_id": "eq." + wsID, "order": newest,
				"offset": offset, "limit": limit,
			},
			prefer: "count=exact",
		}
	}
	count := wantReq{
		method: http.MethodHead,
		path:   hooksPath,
		query:  map[string]string{"select": "id", "workspace_id": "eq." + wsID},
		prefer: "count=exact",
	}
	tests := []struct {
		name          string
		ws            string
		offset, limit int
		answers       []answer
		reqs          []wantReq
		want          error
		wantHooks     []webhooks.Webhook
		wantTotal     int
	}{
		{
			name: "middle page", ws: wsID, offset: 20, limit: 10,
			answers:   []answer{withRange(answer{status: http.StatusPartialContent, body: arr(hookRowJSON, hookRow2JSON)}, "20-21/22")},
			reqs:      []wantReq{page("20", "10")},
			wantHooks: []webhooks.Webhook{hookFixture(), hook2Fixture()}, wantTotal: 22,
		},
		{
			name: "whole list", ws: wsID, offset: 0, limit: 50,
			answers:   []answer{withRange(okJSON(arr(hookRowJSON, hookRow2JSON)), "0-1/2")},
			reqs:      []wantReq{page("0", "50")},
			wantHooks: []webhooks.Webhook{hookFixture(), hook2Fixture()}, wantTotal: 2,
		},
		{
			name: "empty workspace", ws: wsID, offset: 0, limit: 20,
			answers:   []answer{withRange(okJSON("[]"), "*/0")},
			reqs:      []wantReq{page("0", "20")},
			wantHooks: []webhooks.Webhook{}, wantTotal: 0,
		},
		{
			name: "negative offset starts at zero", ws: wsID, offset: -5, limit: 20,
			answers:   []answer{withRange(okJSON("[]"), "*/0")},
			reqs:      []wantReq{page("0", "20")},
			wantHooks: []webhooks.Webhook{}, wantTotal: 0,
		},
		{
			name: "offset past the end", ws: wsID, offset: 40, limit: 20,
			answers: []answer{
				withRange(fail(http.StatusRequestedRangeNotSatisfiable, rangeBody), "*/22"),
				withRange(okJSON(""), "*/22"),
			},
			reqs:      []wantReq{page("40", "20"), count},
			wantHooks: []webhooks.Webhook{}, wantTotal: 22,
		},
		{
			name: "offset past the end, count fails", ws: wsID, offset: 40, limit: 20,
			answers: []answer{
				fail(http.StatusRequestedRangeNotSatisfiable, rangeBody),
				html502(),
			},
			reqs: []wantReq{page("40", "20"), count},
			want: errWrapped,
		},
		{
			name: "zero limit counts only", ws: wsID, offset: 0, limit: 0,
			answers:   []answer{withRange(okJSON(""), "*/7")},
			reqs:      []wantReq{count},
			wantHooks: []webhooks.Webhook{}, wantTotal: 7,
		},
		{
			name: "rows without a count", ws: wsID, offset: 0, limit: 20,
			answers: []answer{okJSON(arr(hookRowJSON))},
			reqs:    []wantReq{page("0", "20")},
			want:    errWrapped,
		},
		{
			name: "server error", ws: wsID, offset: 0, limit: 20,
			answers: []answer{fail(http.StatusInternalServerError, internalBody)},
			reqs:    []wantReq{page("0", "20")},
			want:    errWrapped,
		},
		{
			name: "invalid uuid is not not-found here", ws: wsID, offset: 0, limit: 20,
			answers: []answer{fail(http.StatusBadRequest, badUUIDBody)},
			reqs:    []wantReq{page("0", "20")},
			want:    errWrapped,
		},
		{
			name: "proxy html", ws: wsID, offset: 0, limit: 20,
			answers: []answer{html502()},
			reqs:    []wantReq{page("0", "20")},
			want:    errWrapped,
		},
		{
			name: "malformed workspace has nothing", ws: "not-a-uuid", offset: 0, limit: 20,
			wantHooks: []webhooks.Webhook{}, wantTotal: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := newTestStore(t, roomy, tt.answers...)
			got, total, err := s.ListWebhooks(context.Background(), tt.ws, tt.offset, tt.limit)
			checkErr(t, "list webhooks", err, tt.want)
			checkRequests(t, f.requests(), tt.reqs)
			if tt.want == nil {
				checkPage(t, "webhooks", got, total, tt.wantHooks, tt.wantTotal)
			}
		})
	}
}

func TestCreateKey(t *testing.T) {
	input := func() apikeys.Key {
		k := keyFixture()
		k.CreatedAt = time.Date(2026, 11, 27, 8, 0, 0, 123456999, time.UTC)
		return k
	}
	body := func(withCreated bool, parent string) string {
		b := `{"p_id":"` + keyID + `","p_workspace_id":"` + wsID + `","p_name":"CI deploy","p_description":"Deploys from the CI pipeline",` +
			`"p_key_prefix":"wbk_ab12cd","p_key_hash":"` + testHash + `",` +
			`"p_permissions":["webhooks:read","webhooks:write"],"p_plan":"pro","p_tier":"standard",` +
			`"p_expires_at":"2027-01-01T00:00:00Z","p_revoked_at":null`
		if withCreated {
			b += `,"p_created_at":"2026-11-27T08:00:00.123456Z"`
		} else {
			b += `,"p_created_at":null`
		}
		if parent != "" {
			b += `,"p_created_by":"` + parent + `"`
		} else {
			b += `,"p_created_by":null`
		}
		return b + "}"
	}
	call := func(withCreated bool, parent string) wantReq {
		return wantReq{method: http.MethodPost, path: "/rest/v1/rpc/gateway_create_api_key", query: map[string]string{}, prefer: "return=representation", body: body(withCreated, parent)}
	}
	insert := func(withCreated bool) wantReq { return call(withCreated, "") }
	childRow := strings.Replace(keyRowJSON, `"revoked_at":null`, `"revoked_at":null,"created_by":"`+keyID2+`","last_used_at":null`, 1)
	inactiveBody := `{"code":"LL002","details":null,"hint":null,"message":"api_key_parent_inactive"}`
	tests := []struct {
		name    string
		mutate  func(k *apikeys.Key)
		answers []answer
		reqs    []wantReq
		want    error
	}{
		{name: "created", answers: []answer{{status: http.StatusCreated, body: arr(keyRowJSON)}}, reqs: []wantReq{insert(true)}},
		{name: "database sets created_at", mutate: func(k *apikeys.Key) { k.CreatedAt = time.Time{} }, answers: []answer{{status: http.StatusCreated, body: arr(keyRowJSON)}}, reqs: []wantReq{insert(false)}},
		{name: "duplicate hash", answers: []answer{fail(http.StatusConflict, dupHashBody)}, reqs: []wantReq{insert(true)}, want: ErrDuplicateKey},
		{name: "check violation", answers: []answer{fail(http.StatusBadRequest, checkBody)}, reqs: []wantReq{insert(true)}, want: errWrapped},
		{name: "proxy html", answers: []answer{html502()}, reqs: []wantReq{insert(true)}, want: errWrapped},
		{name: "no row returned", answers: []answer{{status: http.StatusCreated, body: ""}}, reqs: []wantReq{insert(true)}, want: errWrapped},
		{name: "malformed id", mutate: func(k *apikeys.Key) { k.ID = "key_1" }, want: errWrapped},
		{name: "malformed workspace", mutate: func(k *apikeys.Key) { k.WorkspaceID = "" }, want: errWrapped},
		{name: "minted", mutate: func(k *apikeys.Key) { k.CreatedBy = strings.ToUpper(keyID2) }, answers: []answer{okJSON(arr(childRow))}, reqs: []wantReq{call(true, keyID2)}},
		{name: "parent not live", mutate: func(k *apikeys.Key) { k.CreatedBy = keyID2 }, answers: []answer{fail(http.StatusBadRequest, inactiveBody)}, reqs: []wantReq{call(true, keyID2)}, want: apikeys.ErrInactive},
		{name: "malformed parent", mutate: func(k *apikeys.Key) { k.CreatedBy = "key_2" }, want: errWrapped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := newTestStore(t, roomy, tt.answers...)
			k := ptr(mutated(input(), tt.mutate))
			minted := k.CreatedBy != ""
			err := s.CreateKey(context.Background(), k)
			checkErr(t, "create key", err, tt.want)
			checkRequests(t, f.requests(), tt.reqs)
			if tt.want == nil {
				want := keyFixture()
				if minted {
					want.CreatedBy = keyID2
				}
				if !reflect.DeepEqual(*k, want) {
					t.Errorf("stored key\n got %+v\nwant %+v", *k, want)
				}
			}
		})
	}
}

func TestKeyByHash(t *testing.T) {
	get := wantReq{method: http.MethodGet, path: keysPath, query: map[string]string{"select": "*", "key_hash": "eq." + testHash}}
	tests := []struct {
		name    string
		hash    string
		answers []answer
		reqs    []wantReq
		want    error
		wantKey *apikeys.Key
	}{
		{name: "found", hash: testHash, answers: []answer{okJSON(arr(keyRowJSON))}, reqs: []wantReq{get}, wantKey: ptr(keyFixture())},
		{name: "revoked is still found", hash: testHash, answers: []answer{okJSON(arr(keyRow2JSON))}, reqs: []wantReq{get}, wantKey: ptr(key2Fixture())},
		{name: "absent", hash: testHash, answers: []answer{okJSON("[]")}, reqs: []wantReq{get}, want: apikeys.ErrNotFound},
		{name: "singular response error", hash: testHash, answers: []answer{fail(http.StatusNotAcceptable, singularBody)}, reqs: []wantReq{get}, want: apikeys.ErrNotFound},
		{name: "upper-case hash", hash: strings.ToUpper(testHash), want: apikeys.ErrNotFound},
		{name: "short hash", hash: "abab", want: apikeys.ErrNotFound},
		{name: "filter syntax", hash: testHash[:60] + ",or=", want: apikeys.ErrNotFound},
		{name: "server error", hash: testHash, answers: []answer{fail(http.StatusInternalServerError, internalBody)}, reqs: []wantReq{get}, want: errWrapped},
		{name: "proxy html", hash: testHash, answers: []answer{html502()}, reqs: []wantReq{get}, want: errWrapped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := newTestStore(t, roomy, tt.answers...)
			got, err := s.KeyByHash(context.Background(), tt.hash)
			checkErr(t, "key by hash", err, tt.want)
			checkRequests(t, f.requests(), tt.reqs)
			if tt.want == nil && !reflect.DeepEqual(got, tt.wantKey) {
				t.Errorf("key\n got %+v\nwant %+v", got, tt.wantKey)
			}
		})
	}
}

func TestListKeys(t *testing.T) {
	page := func(offset string, active, count bool) wantReq {
		q := map[string]string{
			"select": "*", "workspace_id": "eq." + wsID, "order": newest,
			"offset": offset, "limit": "1000",
		}
		if active {
			q["revoked_at"] = "is.null"
		}
		r := wantReq{method: http.MethodGet, path: keysPath, query: q}
		if count {
			r.prefer = "count=exact"
		}
		return r
	}
	tests := []struct {
		name           string
		ws             string
		includeRevoked bool
		answers        []answer
		reqs           []wantReq
		want           error
		wantKeys       []apikeys.Key
	}{
		{
			name: "active only", ws: wsID,
			answers:  []answer{withRange(okJSON(arr(keyRowJSON)), "0-0/1")},
			reqs:     []wantReq{page("0", true, true)},
			wantKeys: []apikeys.Key{keyFixture()},
		},
		{
			name: "including revoked", ws: wsID, includeRevoked: true,
			answers:  []answer{withRange(okJSON(arr(keyRowJSON, keyRow2JSON)), "0-1/2")},
			reqs:     []wantReq{page("0", false, true)},
			wantKeys: []apikeys.Key{keyFixture(), key2Fixture()},
		},
		{
			name: "server caps rows per response", ws: wsID, includeRevoked: true,
			answers: []answer{
				withRange(okJSON(arr(keyRowJSON)), "0-0/2"),
				withRange(okJSON(arr(keyRow2JSON)), "1-1/*"),
			},
			reqs:     []wantReq{page("0", false, true), page("1", false, false)},
			wantKeys: []apikeys.Key{keyFixture(), key2Fixture()},
		},
		{
			name: "rows went away between pages", ws: wsID, includeRevoked: true,
			answers: []answer{
				withRange(okJSON(arr(keyRowJSON)), "0-0/2"),
				fail(http.StatusRequestedRangeNotSatisfiable, rangeBody),
			},
			reqs:     []wantReq{page("0", false, true), page("1", false, false)},
			wantKeys: []apikeys.Key{keyFixture()},
		},
		{
			name: "no keys", ws: wsID,
			answers:  []answer{withRange(okJSON("[]"), "*/0")},
			reqs:     []wantReq{page("0", true, true)},
			wantKeys: []apikeys.Key{},
		},
		{
			name: "rows without a count", ws: wsID,
			answers: []answer{okJSON(arr(keyRowJSON))},
			reqs:    []wantReq{page("0", true, true)},
			want:    errWrapped,
		},
		{
			name: "server error", ws: wsID,
			answers: []answer{fail(http.StatusInternalServerError, internalBody)},
			reqs:    []wantReq{page("0", true, true)},
			want:    errWrapped,
		},
		{
			name: "proxy html on the second page", ws: wsID,
			answers: []answer{withRange(okJSON(arr(keyRowJSON)), "0-0/2"), html502()},
			reqs:    []wantReq{page("0", true, true), page("1", true, false)},
			want:    errWrapped,
		},
		{name: "malformed workspace has none", ws: "workspace-1", wantKeys: []apikeys.Key{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := newTestStore(t, roomy, tt.answers...)
			got, err := s.ListKeys(context.Background(), tt.ws, tt.includeRevoked)
			checkErr(t, "list keys", err, tt.want)
			checkRequests(t, f.requests(), tt.reqs)
			if tt.want == nil && (got == nil || !reflect.DeepEqual(got, tt.wantKeys)) {
				t.Errorf("keys\n got %+v\nwant %+v", got, tt.wantKeys)
			}
		})
	}
}

func TestRevokeKey(t *testing.T) {
	at := time.Date(2026, 11, 27, 9, 0, 0, 123456789, time.FixedZone("CET", 3600))
	call := func(ws, by string) wantReq {
		null := func(v string) string {
			if v == "" {
				return "null"
			}
			return `"` + v + `"`
		}
		return wantReq{method: http.MethodPost, path: "/rest/v1/rpc/gateway_revoke_api_key", query: map[string]string{}, prefer: "return=representation",
			body: `{"p_workspace_id":` + null(ws) + `,"p_id":"` + keyID + `","p_by":` + null(by) + `,"p_at":"2026-11-27T08:00:00.123456Z"}`}
	}
	notFoundBody := `{"code":"LL003","details":null,"hint":null,"message":"api_key_not_found"}`
	inactiveBody := `{"code":"LL002","details":null,"hint":null,"message":"api_key_actor_inactive"}`
	tests := []struct {
		name    string
		ws, id  string
		by      string
		answers []answer
		reqs    []wantReq
		want    error
		wantIDs []string
	}{
		{name: "revoked with its tree", ws: wsID, id: keyID, answers: []answer{okJSON(`["` + keyID + `","` + keyID2 + `"]`)}, reqs: []wantReq{call(wsID, "")}, wantIDs: []string{keyID, keyID2}},
		{name: "operator revoke is unscoped", ws: "", id: strings.ToUpper(keyID), answers: []answer{okJSON(`["` + keyID + `"]`)}, reqs: []wantReq{call("", "")}, wantIDs: []string{keyID}},
		{name: "acting key sent", ws: wsID, id: keyID, by: strings.ToUpper(keyID2), answers: []answer{okJSON(`["` + keyID + `"]`)}, reqs: []wantReq{call(wsID, keyID2)}, wantIDs: []string{keyID}},
		{name: "already revoked", ws: wsID, id: keyID, answers: []answer{okJSON(`[]`)}, reqs: []wantReq{call(wsID, "")}, wantIDs: []string{}},
		{name: "absent or other workspace", ws: wsID, id: keyID, answers: []answer{fail(http.StatusBadRequest, notFoundBody)}, reqs: []wantReq{call(wsID, "")}, want: apikeys.ErrNotFound},
		{name: "acting key not live", ws: wsID, id: keyID, by: keyID2, answers: []answer{fail(http.StatusBadRequest, inactiveBody)}, reqs: []wantReq{call(wsID, keyID2)}, want: apikeys.ErrInactive},
		{name: "invalid uuid from server", ws: wsID, id: keyID, answers: []answer{fail(http.StatusBadRequest, badUUIDBody)}, reqs: []wantReq{call(wsID, "")}, want: apikeys.ErrNotFound},
		{name: "malformed id", ws: wsID, id: "key_1", want: apikeys.ErrNotFound},
		{name: "SQL in id", ws: "", id: "' or '1'='1", want: apikeys.ErrNotFound},
		{name: "malformed workspace", ws: "ws", id: keyID, want: apikeys.ErrNotFound},
		{name: "malformed acting key", ws: wsID, id: keyID, by: "key_2", want: apikeys.ErrInactive},
		{name: "function fails", ws: wsID, id: keyID, answers: []answer{html502()}, reqs: []wantReq{call(wsID, "")}, want: errWrapped},
		{name: "function answers garbage", ws: wsID, id: keyID, answers: []answer{okJSON("<ok/>")}, reqs: []wantReq{call(wsID, "")}, want: errWrapped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := newTestStore(t, roomy, tt.answers...)
			ids, err := s.RevokeKey(context.Background(), tt.ws, tt.id, tt.by, at)
			checkErr(t, "revoke key", err, tt.want)
			checkRequests(t, f.requests(), tt.reqs)
			if tt.want == nil && !reflect.DeepEqual(ids, tt.wantIDs) {
				t.Errorf("revoked %v, want %v", ids, tt.wantIDs)
			}
		})
	}
}

// operations calls every store method once with valid arguments.
func operations() map[string]func(ctx context.Context, s *Store) error {
	return map[string]func(ctx context.Context, s *Store) error{
		"ping": func(ctx context.Context, s *Store) error { return s.Ping(ctx) },
		"create webhook": func(ctx context.Context, s *Store) error {
			w := hookFixture()
			return s.CreateWebhook(ctx, &w, 10)
		},
		"get webhook": func(ctx context.Context, s *Store) error {
			_, err := s.GetWebhook(ctx, wsID, hookID)
			return err
		},
		"list webhooks": func(ctx context.Context, s *Store) error {
			_, _, err := s.ListWebhooks(ctx, wsID, 0, 20)
			return err
		},
		"create key": func(ctx context.Context, s *Store) error {
			k := keyFixture()
			return s.CreateKey(ctx, &k)
		},
		"key by hash": func(ctx context.Context, s *Store) error {
			_, err := s.KeyByHash(ctx, testHash)
			return err
		},
		"list keys": func(ctx context.Context, s *Store) error {
			_, err := s.ListKeys(ctx, wsID, true)
			return err
		},
		"revoke key": func(ctx context.Context, s *Store) error {
			_, err := s.RevokeKey(ctx, wsID, keyID, keyID2, time.Now())
			return err
		},
		"key by id": func(ctx context.Context, s *Store) error {
			_, err := s.KeyByID(ctx, wsID, keyID)
			return err
		},

		"update webhook": func(ctx context.Context, s *Store) error {
			_, err := s.UpdateWebhook(ctx, wsID, hookID, webhooks.Patch{Active: ptr(false), UpdatedAt: time.Now()})
			return err
		},
		"delete webhook": func(ctx context.Context, s *Store) error {
			return s.DeleteWebhook(ctx, wsID, hookID)
		},
		"rotate secret": func(ctx context.Context, s *Store) error {
			now := time.Now()
			_, err := s.RotateSecret(ctx, wsID, hookID, "v1:old:ct", "v1:new:ct", now.Add(24*time.Hour), now)
			return err
		},
	}
}

// opSet is one family of the store's operations with the error check its
// answers follow, and the one operation that reads no body (so a 200 that is
// not JSON is no error for it).
type opSet struct {
	name        string
	ops         map[string]func(ctx context.Context, s *Store) error
	check       func(t *testing.T, op string, err, want error)
	readsNoBody string
}

// opSets are every operation of the store: webhooks and keys, and delivery.
func opSets() []opSet {
	return []opSet{
		{"webhooks", operations(), checkErr, "ping"},
		{"delivery", deliveryOperations(), checkDeliveryErr, "delete attempts"},
	}
}

func TestHangingServerTimesOut(t *testing.T) {
	const timeout = 150 * time.Millisecond
	for _, set := range opSets() {
		for op, call := range set.ops {
			t.Run(set.name+"/"+op, func(t *testing.T) {
				t.Parallel()
				s, f := newTestStore(t, timeout, answer{hang: true})
				start := time.Now()
				err := call(context.Background(), s)
				elapsed := time.Since(start)
				set.check(t, op, err, errWrapped)
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("error %v is not a deadline", err)
				}
				if elapsed > timeout+5*time.Second {
					t.Errorf("returned after %v, timeout %v", elapsed, timeout)
				}
				if n := len(f.requests()); n != 1 {
					t.Errorf("%d requests, want 1", n)
				}
			})
		}
	}
}

func TestCanceledContext(t *testing.T) {
	for _, set := range opSets() {
		for op, call := range set.ops {
			t.Run(set.name+"/"+op, func(t *testing.T) {
				s, _ := newTestStore(t, roomy, okJSON("[]"))
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				err := call(ctx, s)
				set.check(t, op, err, errWrapped)
				if !errors.Is(err, context.Canceled) {
					t.Errorf("error %v is not a cancellation", err)
				}
			})
		}
	}
}

// TestErrorsNeverCarryTheKey makes the server echo the key in every kind of
// error answer; the store must scrub it, for every operation.
func TestErrorsNeverCarryTheKey(t *testing.T) {
	answers := map[string]answer{
		"json error echoing the header": fail(http.StatusUnauthorized, `{"code":"PGRST301","details":null,"hint":null,"message":"JWT rejected: Bearer `+testKey+`"}`),
		"sqlstate echoing the key":      fail(http.StatusConflict, `{"code":"23505","details":null,"hint":null,"message":"dup `+testKey+`"}`),
		"gateway json":                  fail(http.StatusUnauthorized, `{"message":"Invalid API key `+testKey+`"}`),
		"html echoing the key":          fail(http.StatusBadGateway, "<html>apikey: "+testKey+"</html>"),
		"success that is not json":      okJSON("apikey=" + testKey),
	}
	for _, set := range opSets() {
		for name, a := range answers {
			for op, call := range set.ops {
				t.Run(set.name+"/"+name+"/"+op, func(t *testing.T) {
					s, f := newTestStore(t, roomy, a, a)
					err := call(context.Background(), s)
					if op == set.readsNoBody && name == "success that is not json" {
						set.check(t, op, err, nil)
						return
					}
					if err == nil {
						t.Fatal("no error")
					}
					for e := err; e != nil; e = errors.Unwrap(e) {
						if strings.Contains(e.Error(), testKey) {
							t.Errorf("error (or a cause it wraps) leaks the key: %v", e)
						}
					}
					if got := f.requests()[0].Header.Get("apikey"); got != testKey {
						t.Errorf("the request did not carry the key")
					}
				})
			}
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	answers := make([]answer, 40)
	for i := range answers {
		answers[i] = okJSON(arr(hookRowJSON))
	}
	s, f := newTestStore(t, roomy, answers...)
	var wg sync.WaitGroup
	errs := make(chan error, len(answers))
	for range answers {
		wg.Go(func() {
			if _, err := s.GetWebhook(context.Background(), wsID, hookID); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(f.requests()); n != len(answers) {
		t.Errorf("%d requests, want %d", n, len(answers))
	}
}

func TestMapError(t *testing.T) {
	s := &Store{secret: testKey}
	all := errMap{duplicate: webhooks.ErrDuplicateURL, limit: webhooks.ErrLimitReached, notFound: webhooks.ErrNotFound}
	deadline := &url.Error{Op: "Post", URL: "http://db/rest/v1/rpc/f", Err: context.DeadlineExceeded}
	tests := []struct {
		name string
		err  error
		m    errMap
		want error
	}{
		{"nil", nil, all, nil},
		{"unique violation", errors.New(`(23505) duplicate key value violates unique constraint "webhooks_workspace_url_key"`), all, webhooks.ErrDuplicateURL},
		{"unique violation for keys", errors.New(`(23505) duplicate key value`), errMap{duplicate: ErrDuplicateKey}, ErrDuplicateKey},
		{"unique violation where none is expected", errors.New(`(23505) duplicate key value`), errMap{}, errWrapped},
		{"limit", errors.New(`(LL001) webhook_limit_reached`), all, webhooks.ErrLimitReached},
		{"invalid uuid", errors.New(`(22P02) invalid input syntax for type uuid: "x"`), all, webhooks.ErrNotFound},
		{"singular", errors.New(`(PGRST116) JSON object requested, multiple (or no) rows returned`), all, webhooks.ErrNotFound},
		{"range", errors.New(`(PGRST103) Requested range not satisfiable`), all, errWrapped},
		{"other sqlstate", errors.New(`(23514) new row violates check constraint`), all, errWrapped},
		{"html body", errors.New(`error parsing error response: invalid character '<' looking for beginning of value`), all, errWrapped},
		{"gateway json without code", errors.New(`() Invalid API key`), all, errWrapped},
		{"code not at the start", errors.New(`proxy said (23505) something`), all, errWrapped},
		{"transport", &url.Error{Op: "Get", URL: "http://db/rest/v1/x", Err: errors.New("connection refused")}, all, errWrapped},
		{"deadline", deadline, all, errWrapped},
		{"key in message", errors.New(`(23505) ` + testKey), all, webhooks.ErrDuplicateURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.mapError("op", tt.err, tt.m)
			checkErr(t, "op", got, tt.want)
		})
	}
	if got := s.mapError("op", deadline, all); !errors.Is(got, context.DeadlineExceeded) {
		t.Errorf("a deadline must stay matchable: %v", got)
	}
	withQuery := &url.Error{Op: "Get", URL: "http://db/rest/v1/api_keys?key_hash=eq." + testHash, Err: context.DeadlineExceeded}
	if got := s.mapError("op", withQuery, all); got.Error() != "supabase: op: Get /rest/v1/api_keys: context deadline exceeded" {
		t.Errorf("a transport error must name the path without the query: %v", got)
	}
	if got := s.mapError("op", errors.New("(23505) dup"), all); !strings.Contains(got.Error(), "(23505) dup") {
		t.Errorf("the server's text must stay in the message for logs: %v", got)
	}
}

func TestPgTime(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{`"2026-11-27T08:00:00.123456+00:00"`, time.Date(2026, 11, 27, 8, 0, 0, 123456000, time.UTC), false},
		{`"2026-11-27T08:00:00+00:00"`, time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC), false},
		{`"2026-11-27T10:00:00.5+02:00"`, time.Date(2026, 11, 27, 8, 0, 0, 500000000, time.UTC), false},
		{`"2026-11-27T08:00:00Z"`, time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC), false},
		{`"2026-11-27T13:30:00.000001+05"`, time.Date(2026, 11, 27, 8, 30, 0, 1000, time.UTC), false},
		{`"2026-11-27T08:00:00+00:00:00"`, time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC), false},
		{`null`, time.Time{}, false},
		{`"2026-11-27 08:00:00"`, time.Time{}, true},
		{`"infinity"`, time.Time{}, true},
		{`12`, time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var got pgTime
			err := got.UnmarshalJSON([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && !reflect.DeepEqual(got.Time, tt.want) {
				t.Errorf("got %v (%v), want %v", got.Time, got.Location(), tt.want)
			}
		})
	}
}

func TestFormatTime(t *testing.T) {
	in := time.Date(2026, 11, 27, 9, 0, 0, 123456789, time.FixedZone("CET", 3600))
	if got, want := formatTime(in), "2026-11-27T08:00:00.123456Z"; got != want {
		t.Errorf("formatTime = %q, want %q", got, want)
	}
	if got := formatTimePtr(nil); got != nil {
		t.Errorf("formatTimePtr(nil) = %q", *got)
	}
}

func ptr[T any](v T) *T { return &v }

// mutated is v after a table case's change to it, if the case has one.
func mutated[T any](v T, mutate func(*T)) T {
	if mutate != nil {
		mutate(&v)
	}
	return v
}

// idCase is a wire test case of a call by workspace and id: the answers the
// fake PostgREST gives, the requests it must see, the error wanted and, for
// the calls that return one, the row.
type idCase[T any] struct {
	name    string
	ws, id  string
	answers []answer
	reqs    []wantReq
	want    error
	wantRow *T
}

// runIDCases runs each case as a subtest: a store on a fake PostgREST giving
// the case's answers, the call under test, then the error, the requests seen
// and the row returned (named what) checked against the case's. A call that
// returns no row returns nil for it.
func runIDCases[T any](t *testing.T, op, what string, tests []idCase[T], call func(s *Store, ws, id string) (*T, error)) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := newTestStore(t, roomy, tt.answers...)
			got, err := call(s, tt.ws, tt.id)
			checkErr(t, op, err, tt.want)
			checkRequests(t, f.requests(), tt.reqs)
			checkOne(t, what, got, tt.wantRow, tt.want)
		})
	}
}

// checkOne reports a result other than want when no error was expected, and
// any result that came with an expected error.
func checkOne[T any](t *testing.T, what string, got, want *T, wantErr error) {
	t.Helper()
	if wantErr == nil && !reflect.DeepEqual(got, want) {
		t.Errorf("%s\n got %+v\nwant %+v", what, got, want)
	} else if wantErr != nil && got != nil {
		t.Errorf("a %s with the error: %+v", what, got)
	}
}

// checkPage reports a page of rows, or a total, other than the wanted one; a
// nil page is never right, since an empty one is sent as [].
func checkPage[T any](t *testing.T, what string, got []T, total int, want []T, wantTotal int) {
	t.Helper()
	if total != wantTotal {
		t.Errorf("total %d, want %d", total, wantTotal)
	}
	if got == nil || !reflect.DeepEqual(got, want) {
		t.Errorf("%s\n got %+v\nwant %+v", what, got, want)
	}
}

// checkSentNow reports a request body whose time in field is not about now:
// a zero time passed to the store must be sent as the current one. before
// is a moment taken before the call.
func checkSentNow(t *testing.T, body []byte, field string, before time.Time) {
	t.Helper()
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		t.Fatal(err)
	}
	var sent time.Time
	if err := json.Unmarshal(fields[field], &sent); err != nil {
		t.Fatalf("%s: %v", field, err)
	}
	if sent.Before(before) || sent.After(time.Now().Add(time.Second)) {
		t.Errorf("%s %v, want about now", field, sent)
	}
}

// Example-style check that the fake's error bodies are what postgrest-go turns
// into "(CODE) message", which the mapping relies on.
func TestPostgrestErrorText(t *testing.T) {
	s, _ := newTestStore(t, roomy, fail(http.StatusConflict, dupURLBody))
	_, _, err := s.client.From(tableWebhooks).Select("*", "", false).ExecuteWithContext(context.Background())
	want := fmt.Sprintf("(23505) %s", `duplicate key value violates unique constraint "webhooks_workspace_url_key"`)
	if err == nil || err.Error() != want {
		t.Fatalf("postgrest-go error %v, want %q", err, want)
	}
}
