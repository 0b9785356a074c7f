// Package openapi serves the OpenAPI 3.1 document of everything the gateway
// mounts. The document is generated from the modules' route declarations and
// the Go types their handlers use, so it cannot drift from the code.
package openapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/routes"
)

// Module serves the document. Call Build with every mounted module
// (itself included) before serving.
type Module struct {
	Title    string
	Version  string
	BasePath string
	doc      []byte
}

var _ routes.Module = (*Module)(nil)

// Path is where the document is served, relative to the base path.
const Path = "/v1/openapi.json"

// Name implements routes.Module.
func (m *Module) Name() string { return "openapi" }

// Routes implements routes.Module.
func (m *Module) Routes() []routes.Route {
	return []routes.Route{{
		Method: http.MethodGet, Path: Path, Permission: routes.Public, Handler: m.serve,
		Summary: "This OpenAPI document",
		Doc:     routes.Doc{Tag: "meta", Data: map[string]any{}, Raw: true, Description: "The OpenAPI 3.1 document of the API."},
	}}
}

func (m *Module) serve(c echo.Context) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, m.doc)
}

// Build generates the document from the modules' routes.
func (m *Module) Build(modules []routes.Module) error {
	doc := Generate(m.Title, m.Version, m.BasePath, modules)
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	m.doc = b
	return nil
}

// OperationPath converts an echo path ("/v1/webhooks/:id") to OpenAPI's
// ("/v1/webhooks/{id}").
func OperationPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, ":") {
			parts[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

// Generate returns the document as a JSON-ready map.
func Generate(title, version, basePath string, modules []routes.Module) map[string]any {
	paths := map[string]any{}
	for _, mod := range modules {
		for _, r := range mod.Routes() {
			p := OperationPath(r.Path)
			item, _ := paths[p].(map[string]any)
			if item == nil {
				item = map[string]any{}
				paths[p] = item
			}
			item[strings.ToLower(r.Method)] = operation(mod.Name(), r)
		}
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":   title,
			"version": version,
			"description": "The LeadLex public API. Authenticate with `Authorization: Bearer wbk_...`. " +
				"Errors always have the envelope `{\"error\": {\"code\", \"message\", \"details\", \"request_id\"}}`.",
		},
		"servers":           []any{map[string]any{"url": basePath}},
		"paths":             paths,
		"jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
		"components": map[string]any{
			"securitySchemes": map[string]any{"apiKey": map[string]any{"type": "http", "scheme": "bearer", "description": "An API key: wbk_ followed by 52 lowercase letters and digits."}},
			"schemas":         map[string]any{"Error": errorSchema()},
		},
	}
}

func errorSchema() map[string]any {
	return map[string]any{
		"type": "object", "required": []string{"error"}, "additionalProperties": false,
		"properties": map[string]any{"error": map[string]any{
			"type": "object", "required": []string{"code", "message", "request_id"}, "additionalProperties": false,
			"properties": map[string]any{
				"code":       map[string]any{"type": "string", "pattern": "^[a-z_]+$"},
				"message":    map[string]any{"type": "string"},
				"details":    map[string]any{"type": "object"},
				"request_id": map[string]any{"type": "string"},
			},
		}},
	}
}

// ErrorsFor lists the error codes a route can answer with: its own and
// those the gateway's middleware adds from its declaration.
func ErrorsFor(r routes.Route) []gateway.Code {
	codes := append([]gateway.Code{}, r.Doc.Errors...)
	if r.Permission != routes.Public {
		codes = append(codes, gateway.CodeInvalidKey, gateway.CodeInsufficientPermissions, gateway.CodeRateLimited, gateway.CodeUnavailable)
	}
	if r.Doc.Body != nil {
		codes = append(codes, gateway.CodeInvalidJSON, gateway.CodeValidation, gateway.CodeUnsupportedMediaType, gateway.CodePayloadTooLarge)
	}
	// Every route refuses a malformed or repeated query parameter, and
	// headers past the gateway's limit.
	codes = append(codes, gateway.CodeValidation, gateway.CodeHeadersTooLarge)
	if r.Method == http.MethodPost && r.Permission != routes.Public {
		codes = append(codes, gateway.CodeIdempotencyKeyReused, gateway.CodeIdempotencyKeyInUse)
	}
	codes = append(codes, gateway.CodeInternal)
	seen := map[gateway.Code]bool{}
	out := codes[:0]
	for _, c := range codes {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

func operation(module string, r routes.Route) map[string]any {
	tag := r.Doc.Tag
	if tag == "" {
		tag = module
	}
	op := map[string]any{
		"operationId": strings.ToLower(r.Method) + strings.ReplaceAll(strings.ReplaceAll(OperationPath(r.Path), "/", "_"), "{", "by_"),
		"summary":     r.Summary,
		"tags":        []string{tag},
	}
	op["operationId"] = strings.NewReplacer("}", "", "-", "_", ".", "_").Replace(op["operationId"].(string))
	if r.Doc.Description != "" {
		op["description"] = r.Doc.Description
	}
	if r.Permission == routes.Public {
		op["security"] = []any{}
	} else {
		perms := make([]string, 0, len(r.Required()))
		for _, p := range r.Required() {
			perms = append(perms, string(p))
		}
		op["security"] = []any{map[string]any{"apiKey": []any{}}}
		op["x-permissions"] = perms
	}
	var params []any
	for _, seg := range strings.Split(r.Path, "/") {
		if strings.HasPrefix(seg, ":") {
			params = append(params, map[string]any{"name": seg[1:], "in": "path", "required": true, "schema": map[string]any{"type": "string", "format": "uuid"}})
		}
	}
	query := r.Doc.Query
	if r.Doc.Paginated {
		perPage := r.Doc.DefaultPerPage
		if perPage == 0 {
			perPage = 50
		}
		query = append([]routes.Param{
			{Name: "page", Type: "integer", Description: "Page number, from 1."},
			{Name: "per_page", Type: "integer", Description: fmt.Sprintf("Items per page, 1 to 100 (default %d).", perPage)},
		}, query...)
	}
	for _, q := range query {
		s := map[string]any{"type": q.Type}
		if len(q.Enum) > 0 {
			s["enum"] = q.Enum
		}
		params = append(params, map[string]any{"name": q.Name, "in": "query", "required": false, "description": q.Description, "schema": s})
	}
	if r.Method == http.MethodPost && r.Permission != routes.Public {
		params = append(params, map[string]any{"name": "Idempotency-Key", "in": "header", "required": false,
			"description": "Makes the request safe to retry for 24 h: the first answer is replayed.", "schema": map[string]any{"type": "string", "maxLength": 255}})
	}
	if len(params) > 0 {
		op["parameters"] = params
	}
	if r.Doc.Body != nil {
		body := schemaOf(reflect.TypeOf(r.Doc.Body))
		if len(r.Doc.Required) > 0 {
			body["required"] = r.Doc.Required
		} else {
			delete(body, "required")
		}
		content := map[string]any{"schema": body}
		if r.Doc.Example != "" {
			content["example"] = json.RawMessage(r.Doc.Example)
		}
		op["requestBody"] = map[string]any{"required": !r.Doc.BodyOptional, "content": map[string]any{"application/json": content}}
	}
	status := r.Doc.Status
	if status == 0 {
		status = http.StatusOK
	}
	responses := map[string]any{}
	ok := map[string]any{"description": http.StatusText(status)}
	if r.Doc.Data != nil {
		var s map[string]any
		if r.Doc.Raw {
			s = schemaOf(reflect.TypeOf(r.Doc.Data))
		} else {
			props := map[string]any{"data": schemaOf(reflect.TypeOf(r.Doc.Data))}
			req := []string{"data"}
			if r.Doc.Paginated {
				props["meta"] = schemaOf(reflect.TypeOf(gateway.Meta{}))
				req = append(req, "meta")
			}
			s = map[string]any{"type": "object", "properties": props, "required": req, "additionalProperties": false}
		}
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": s}}
	}
	responses[itoa(status)] = ok
	byStatus := map[int][]string{}
	for _, c := range ErrorsFor(r) {
		byStatus[routes.Status(c)] = append(byStatus[routes.Status(c)], string(c))
	}
	statuses := make([]int, 0, len(byStatus))
	for s := range byStatus {
		statuses = append(statuses, s)
	}
	sort.Ints(statuses)
	for _, s := range statuses {
		responses[itoa(s)] = map[string]any{
			"description": "Error codes: " + strings.Join(byStatus[s], ", ") + ".",
			"content":     map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}},
		}
	}
	op["responses"] = responses
	return op
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
