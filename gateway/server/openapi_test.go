package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/gateway/plan"
	"github.com/leadlex/api-gateway/routes"
	"github.com/leadlex/api-gateway/routes/openapi"
	"github.com/leadlex/api-gateway/routes/portal"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// document fetches the served OpenAPI document.
func document(t *testing.T, app *App) map[string]any {
	t.Helper()
	rec, doc := call(t, app, "GET", openapi.Path, "", "")
	if rec.Code != 200 || doc["openapi"] != "3.1.0" {
		t.Fatalf("GET %s: %d %.200s", openapi.Path, rec.Code, rec.Body)
	}
	return doc
}

func TestDocumentMatchesMountedRoutes(t *testing.T) {
	app, _ := newApp(t, Options{})
	doc := document(t, app)
	documented := map[string]bool{}
	for path, item := range doc["paths"].(map[string]any) {
		for method := range item.(map[string]any) {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	mounted := map[string]bool{}
	for _, r := range app.Echo.Routes() {
		if !strings.HasPrefix(r.Path, app.Config.BasePath+"/") || r.Method == "echo_route_any" {
			continue
		}
		// The portal's page and assets are HTML, CSS and JavaScript, not
		// API operations.
		if p := strings.TrimPrefix(r.Path, app.Config.BasePath); p == "/portal" || strings.HasPrefix(p, portal.PagePath) {
			continue
		}
		mounted[r.Method+" "+openapi.OperationPath(strings.TrimPrefix(r.Path, app.Config.BasePath))] = true
	}
	if len(mounted) < 8 {
		t.Fatalf("only %d mounted routes found: %v", len(mounted), mounted)
	}
	for op := range mounted {
		if !documented[op] {
			t.Errorf("mounted but not documented: %s", op)
		}
	}
	for op := range documented {
		if !mounted[op] {
			t.Errorf("documented but not mounted: %s", op)
		}
	}
}

// compile turns one schema of the document into a validator. The document's
// components are reachable through $ref.
func compile(t *testing.T, doc map[string]any, schema any) *jsonschema.Schema {
	t.Helper()
	root := map[string]any{"$schema": "https://json-schema.org/draft/2020-12/schema", "components": doc["components"]}
	for k, v := range schema.(map[string]any) {
		root[k] = v
	}
	// Round-trip through JSON so that the compiler sees plain JSON values.
	raw, _ := json.Marshal(root)
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("mem://schema.json", v); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("mem://schema.json")
	if err != nil {
		t.Fatalf("schema does not compile: %v\n%s", err, raw)
	}
	return s
}

func TestEveryDocumentedExampleGetsItsDocumentedAnswer(t *testing.T) {
	// The documented /test, /retry and /v1/events deliver for real: to a
	// receiver on loopback, the only place the guarded helper lets them go.
	receiverURL, env, _ := localReceiver(t)
	app, _ := newAppEnv(t, env, Options{})
	ctx := context.Background()
	ws := "7a0c1f7e-8c7b-4d43-9d55-3f4c3a0f9b11"
	_, key, err := app.Keys.Create(ctx, apikeys.CreateParams{WorkspaceID: ws, Permissions: gateway.AllPermissions(), Plan: "org", Tier: plan.TierUnmetered})
	if err != nil {
		t.Fatal(err)
	}
	doc := document(t, app)
	seq := 0
	// fixture makes a fresh resource for a path's {id}.
	fixture := func(path string) string {
		seq++
		switch {
		case strings.HasPrefix(path, "/v1/webhooks/"):
			rec, body := call(t, app, "POST", "/v1/webhooks", key, `{"url": "`+receiverURL+`/fixture/`+strings.Repeat("x", seq)+`", "events": ["contact.created"]}`)
			if rec.Code != 201 {
				t.Fatalf("fixture webhook: %d %s", rec.Code, rec.Body)
			}
			return body["data"].(map[string]any)["webhook"].(map[string]any)["id"].(string)
		case strings.HasPrefix(path, "/v1/portal-sessions/"):
			rec, body := call(t, app, "POST", "/v1/portal-sessions", key, "")
			if rec.Code != 201 {
				t.Fatalf("fixture portal session: %d %s", rec.Code, rec.Body)
			}
			return body["data"].(map[string]any)["portal_session"].(map[string]any)["id"].(string)
		case strings.HasPrefix(path, "/v1/api-keys/"):
			k, _, err := app.Keys.Create(ctx, apikeys.CreateParams{WorkspaceID: ws, Permissions: []gateway.Permission{gateway.PermEventsRead}})
			if err != nil {
				t.Fatal(err)
			}
			return k.ID
		}
		t.Fatalf("no fixture for %s", path)
		return ""
	}
	var ops []string
	paths := doc["paths"].(map[string]any)
	for path, item := range paths {
		for method := range item.(map[string]any) {
			ops = append(ops, method+" "+path)
		}
	}
	sort.Strings(ops)
	for _, op := range ops {
		method, path, _ := strings.Cut(op, " ")
		t.Run(op, func(t *testing.T) {
			spec := paths[path].(map[string]any)[method].(map[string]any)
			target := path
			if strings.Contains(path, "{id}") {
				id := fixture(path)
				target = strings.Replace(path, "{id}", id, 1)
				if strings.Contains(path, "{delivery_id}") {
					// A real delivery of that webhook, from a published event.
					ds, _, err := app.Stores.PublishEvent(ctx, delivery.Event{ID: uuid.NewString(), WorkspaceID: ws, Type: "contact.created",
						Data: []byte(`{"id":"c-1"}`), CreatedAt: time.Now().UTC()})
					if err != nil {
						t.Fatal(err)
					}
					for _, d := range ds {
						if d.WebhookID == id {
							target = strings.Replace(target, "{delivery_id}", d.ID, 1)
						}
					}
				}
			}
			body := ""
			if rb, ok := spec["requestBody"].(map[string]any); ok {
				content := rb["content"].(map[string]any)["application/json"].(map[string]any)
				ex, _ := json.Marshal(content["example"])
				if content["example"] == nil {
					ex = []byte("{}")
				}
				body = string(ex)
				// The example body must satisfy the documented request schema.
				var v any
				_ = json.Unmarshal(ex, &v)
				if err := compile(t, doc, content["schema"]).Validate(v); err != nil {
					t.Errorf("example request does not match its schema: %v", err)
				}
			}
			auth := key
			if spec["security"] != nil && len(spec["security"].([]any)) == 0 {
				auth = ""
			}
			rec, _ := call(t, app, strings.ToUpper(method), target, auth, body)
			var status string
			for s := range spec["responses"].(map[string]any) {
				if s < "300" {
					status = s
				}
			}
			if status != itoa(rec.Code) {
				t.Fatalf("status %d (%s), documented %s: %s", rec.Code, http.StatusText(rec.Code), status, rec.Body)
			}
			resp := spec["responses"].(map[string]any)[status].(map[string]any)
			content, ok := resp["content"].(map[string]any)
			if !ok {
				if rec.Body.Len() != 0 {
					t.Errorf("documented without a body, got %s", rec.Body)
				}
				return
			}
			var v any
			if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
				t.Fatalf("response is not JSON: %s", rec.Body)
			}
			schema := content["application/json"].(map[string]any)["schema"]
			if err := compile(t, doc, schema).Validate(v); err != nil {
				t.Errorf("response does not match the documented schema: %v\n%s", err, rec.Body)
			}
			// Every authenticated operation documents the auth failure, and
			// the real answer matches the error schema.
			if auth != "" {
				rec, _ := call(t, app, strings.ToUpper(method), target, "", body)
				errResp, ok := spec["responses"].(map[string]any)["401"].(map[string]any)
				if rec.Code != 401 || !ok {
					t.Fatalf("without a key: %d; 401 documented: %v", rec.Code, ok)
				}
				var ev any
				_ = json.Unmarshal(rec.Body.Bytes(), &ev)
				if err := compile(t, doc, errResp["content"].(map[string]any)["application/json"].(map[string]any)["schema"]).Validate(ev); err != nil {
					t.Errorf("401 body does not match the Error schema: %v", err)
				}
			}
		})
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestDocumentedErrorCodesExist(t *testing.T) {
	known := map[gateway.Code]bool{}
	for _, c := range gateway.Codes() {
		known[c] = true
	}
	app, _ := newApp(t, Options{})
	doc := document(t, app)
	for path, item := range doc["paths"].(map[string]any) {
		for method, op := range item.(map[string]any) {
			for status, resp := range op.(map[string]any)["responses"].(map[string]any) {
				desc := resp.(map[string]any)["description"].(string)
				if codes, ok := strings.CutPrefix(desc, "Error codes: "); ok {
					for _, c := range strings.Split(strings.TrimSuffix(codes, "."), ", ") {
						if !known[gateway.Code(c)] || itoa(routes.Status(gateway.Code(c))) != status {
							t.Errorf("%s %s: %s lists %q", method, path, status, c)
						}
					}
				}
			}
		}
	}
}
