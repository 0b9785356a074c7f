package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// These patterns restate api-contract §1 independently of the package's own
// constants, so that a wrong constant is caught rather than trusted.
var (
	testUUID      = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	testTimestamp = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$`)
	testDate      = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// envelopeKeys are the members of a delivery body, in the documented order
// (api-contract §6).
var envelopeKeys = []string{"id", "type", "created_at", "workspace_id", "data"}

// dataURL is where a test compiler finds an event's data schema.
func dataURL(eventType string) string {
	return "https://schemas.leadlex.test/events/" + eventType + "/data.json"
}

// envelopeSchema is the delivery body of api-contract §6 for one event type,
// with data described by the schema at dataURL.
func envelopeSchema(eventType string) string {
	return fmt.Sprintf(`{
		"$schema": "https://json-schema.org/draft/2020-12/schema",
		"type": "object",
		"required": ["id", "type", "created_at", "workspace_id", "data"],
		"additionalProperties": false,
		"properties": {
			"id": {"type": "string", "format": "uuid", "pattern": %[1]q},
			"type": {"const": %[3]q},
			"created_at": {"type": "string", "format": "date-time", "pattern": %[2]q},
			"workspace_id": {"type": "string", "format": "uuid", "pattern": %[1]q},
			"data": {"$ref": %[4]q}
		}
	}`, testUUID.String(), testTimestamp.String(), eventType, dataURL(eventType))
}

// closeObjects returns a copy of a schema document in which every object
// schema that lists properties forbids any others. The published schemas
// are open on purpose (fields may be added); the closed copy checks that the
// examples use only documented fields.
func closeObjects(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v)+1)
		for k, x := range v {
			out[k] = closeObjects(x)
		}
		if _, ok := v["properties"]; ok {
			if _, set := v["additionalProperties"]; !set {
				out["additionalProperties"] = false
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = closeObjects(x)
		}
		return out
	}
	return v
}

func unmarshal(t *testing.T, doc string) any {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
	if err != nil {
		t.Fatalf("unmarshal %s: %v", doc, err)
	}
	return v
}

// compileEnvelope compiles the delivery-body schema of e; strict closes the
// data schema's objects (see closeObjects).
func compileEnvelope(t *testing.T, e Event, strict bool) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	data := unmarshal(t, string(e.DataSchema))
	if strict {
		data = closeObjects(data)
	}
	if err := c.AddResource(dataURL(e.Type), data); err != nil {
		t.Fatalf("add data schema: %v", err)
	}
	envURL := "https://schemas.leadlex.test/events/" + e.Type + "/envelope.json"
	if err := c.AddResource(envURL, unmarshal(t, envelopeSchema(e.Type))); err != nil {
		t.Fatalf("add envelope schema: %v", err)
	}
	sch, err := c.Compile(envURL)
	if err != nil {
		t.Fatalf("compile envelope of %s: %v", e.Type, err)
	}
	return sch
}

func TestDataSchemasCompile(t *testing.T) {
	if n := len(All()); n != 28 {
		t.Fatalf("catalog has %d events, want 28", n)
	}
	for _, e := range All() {
		t.Run(e.Type, func(t *testing.T) {
			// Compiling checks the schema against the draft 2020-12
			// meta-schema.
			c := jsonschema.NewCompiler()
			c.AssertFormat()
			if err := c.AddResource(dataURL(e.Type), unmarshal(t, string(e.DataSchema))); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Compile(dataURL(e.Type)); err != nil {
				t.Fatalf("data schema does not compile: %v", err)
			}
			var s map[string]any
			if err := e.DataSchema.Decode(&s); err != nil {
				t.Fatal(err)
			}
			if s["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
				t.Errorf("$schema = %v, want draft 2020-12", s["$schema"])
			}
			if s["type"] != "object" {
				t.Errorf("type = %v, want object", s["type"])
			}
			checkDescribed(t, "data", s)
		})
	}
}

// checkDescribed reports any property, at any depth, without a description:
// the schemas are documentation for API consumers.
func checkDescribed(t *testing.T, path string, s map[string]any) {
	t.Helper()
	props, _ := s["properties"].(map[string]any)
	for name, v := range props {
		ps, _ := v.(map[string]any)
		if d, _ := ps["description"].(string); d == "" {
			t.Errorf("%s.%s has no description", path, name)
		}
		checkDescribed(t, path+"."+name, ps)
	}
	if items, ok := s["items"].(map[string]any); ok {
		checkDescribed(t, path+"[]", items)
	}
}

func TestExamplesValidate(t *testing.T) {
	for _, e := range All() {
		t.Run(e.Type, func(t *testing.T) {
			inst := unmarshal(t, string(e.ExamplePayload))
			if err := compileEnvelope(t, e, false).Validate(inst); err != nil {
				t.Errorf("example does not match its schema:\n%v", err)
			}
			if err := compileEnvelope(t, e, true).Validate(inst); err != nil {
				t.Errorf("example uses fields its schema does not document:\n%v", err)
			}
		})
	}
}

// orderedKeys returns the member names of a JSON object in document order.
func orderedKeys(t *testing.T, doc []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(doc))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", doc)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

type examplePayload struct {
	ID          string         `json:"id"`
	Type        string         `json:"type"`
	CreatedAt   string         `json:"created_at"`
	WorkspaceID string         `json:"workspace_id"`
	Data        map[string]any `json:"data"`
}

func decodeExample(t *testing.T, e Event) examplePayload {
	t.Helper()
	var ex examplePayload
	dec := json.NewDecoder(strings.NewReader(string(e.ExamplePayload)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ex); err != nil {
		t.Fatalf("example payload: %v", err)
	}
	return ex
}

func parseTimestamp(t *testing.T, what, s string) time.Time {
	t.Helper()
	if !testTimestamp.MatchString(s) {
		t.Errorf("%s = %q, not RFC 3339 UTC with second precision", what, s)
		return time.Time{}
	}
	ts, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Errorf("%s = %q: %v", what, s, err)
	}
	return ts
}

func TestExampleEnvelopes(t *testing.T) {
	ids := map[string]string{}
	for _, e := range All() {
		t.Run(e.Type, func(t *testing.T) {
			if got := orderedKeys(t, []byte(e.ExamplePayload)); !slices.Equal(got, envelopeKeys) {
				t.Errorf("envelope members = %v, want %v in that order", got, envelopeKeys)
			}
			ex := decodeExample(t, e)
			if ex.Type != e.Type {
				t.Errorf("example type = %q, want %q", ex.Type, e.Type)
			}
			for what, id := range map[string]string{"id": ex.ID, "workspace_id": ex.WorkspaceID} {
				if !testUUID.MatchString(id) {
					t.Errorf("%s = %q, not a lowercase canonical UUID", what, id)
				}
			}
			if other, dup := ids[ex.ID]; dup {
				t.Errorf("event id %s is also the id of %s's example", ex.ID, other)
			}
			ids[ex.ID] = e.Type
			created := parseTimestamp(t, "created_at", ex.CreatedAt)
			introduced, err := time.Parse(time.DateOnly, e.IntroducedIn)
			if err == nil && created.Before(introduced) {
				t.Errorf("example created_at %s is before the event was introduced (%s)", ex.CreatedAt, e.IntroducedIn)
			}
			if ex.Data == nil {
				t.Fatal("example has no data object")
			}
			checkDataConventions(t, "data", ex.Data, created)
		})
	}
}

// checkDataConventions walks example data and checks what a schema cannot
// say well: names ending in _id hold UUIDs, names ending in _at hold
// timestamps no later than the event itself.
func checkDataConventions(t *testing.T, path string, v any, eventTime time.Time) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			p := path + "." + k
			switch {
			case k == "id" || strings.HasSuffix(k, "_id"):
				if s, ok := x.(string); ok && !testUUID.MatchString(s) {
					t.Errorf("%s = %q, not a lowercase canonical UUID", p, s)
				}
			case strings.HasSuffix(k, "_ids"):
				for i, id := range x.([]any) {
					if s, _ := id.(string); !testUUID.MatchString(s) {
						t.Errorf("%s[%d] = %v, not a lowercase canonical UUID", p, i, id)
					}
				}
			case strings.HasSuffix(k, "_at") && !strings.HasPrefix(path, "data.previous_values"):
				if s, ok := x.(string); ok && k != "due_at" {
					if ts := parseTimestamp(t, p, s); ts.After(eventTime) {
						t.Errorf("%s = %s is after the event's created_at", p, s)
					}
				}
			}
			checkDataConventions(t, p, x, eventTime)
		}
	case []any:
		for i, x := range v {
			checkDataConventions(t, fmt.Sprintf("%s[%d]", path, i), x, eventTime)
		}
	}
}

// TestExampleSemantics checks relations between fields that JSON Schema
// cannot express.
func TestExampleSemantics(t *testing.T) {
	bulk := 0
	for _, e := range All() {
		t.Run(e.Type, func(t *testing.T) {
			data := decodeExample(t, e).Data
			if strings.Contains(e.Type, ".bulk_") {
				bulk++
				items, _ := data["items"].([]any)
				if len(items) == 0 || data["count"] != float64(len(items)) {
					t.Errorf("count = %v, items has %d entries", data["count"], len(items))
				}
			}
			if ids, ok := data["contact_ids"].([]any); ok && data["count"] != float64(len(ids)) {
				t.Errorf("count = %v, contact_ids has %d entries", data["count"], len(ids))
			}
			if strings.HasSuffix(e.Type, ".deleted") {
				if got := slices.Sorted(maps.Keys(data)); !slices.Equal(got, []string{"deleted_at", "id"}) {
					t.Errorf("deleted event data has %v, want only id and deleted_at", got)
				}
			}
			if strings.HasSuffix(e.Type, ".updated") {
				changed, _ := data["changed_fields"].([]any)
				prev, _ := data["previous_values"].(map[string]any)
				var names []string
				for _, c := range changed {
					names = append(names, c.(string))
				}
				if got := slices.Sorted(maps.Keys(prev)); !slices.Equal(got, slices.Sorted(slices.Values(names))) {
					t.Errorf("previous_values has %v, changed_fields %v", got, names)
				}
				for _, n := range names {
					if fmt.Sprint(prev[n]) == fmt.Sprint(data[n]) {
						t.Errorf("field %s is listed as changed but kept its value %v", n, data[n])
					}
				}
			}
			if e.Type == "contact.merged" {
				merged, _ := data["merged_ids"].([]any)
				if len(merged) == 0 || slices.Contains(merged, data["id"]) {
					t.Errorf("merged_ids = %v must be non-empty and not contain the surviving id %v", merged, data["id"])
				}
			}
		})
	}
	if bulk != 3 {
		t.Errorf("found %d bulk events, want 3", bulk)
	}
}

func TestIntroducedInAndStability(t *testing.T) {
	merged, _ := Lookup("contact.merged")
	mergedDate, err := time.Parse(time.DateOnly, merged.IntroducedIn)
	if err != nil {
		t.Fatalf("contact.merged IntroducedIn: %v", err)
	}
	if merged.Stability != Beta {
		t.Errorf("contact.merged stability = %q, want beta", merged.Stability)
	}
	for _, e := range All() {
		if !testDate.MatchString(e.IntroducedIn) {
			t.Errorf("%s: IntroducedIn = %q, want YYYY-MM-DD", e.Type, e.IntroducedIn)
			continue
		}
		d, err := time.Parse(time.DateOnly, e.IntroducedIn)
		if err != nil {
			t.Errorf("%s: IntroducedIn: %v", e.Type, err)
		}
		if e.Type == merged.Type {
			continue
		}
		if !d.Before(mergedDate) {
			t.Errorf("%s introduced %s, not before contact.merged (%s)", e.Type, e.IntroducedIn, merged.IntroducedIn)
		}
		if e.Stability != Stable {
			t.Errorf("%s: stability = %q, want stable", e.Type, e.Stability)
		}
	}
}

// TestValidatorCatchesBrokenExamples proves that TestExamplesValidate has
// teeth: each mutation of a good example must be rejected.
func TestValidatorCatchesBrokenExamples(t *testing.T) {
	e, _ := Lookup("contact.created")
	mutations := []struct {
		name   string
		strict bool // only the closed schema catches it
		mutate func(env, data map[string]any)
	}{
		{"required data field missing", false, func(_, d map[string]any) { delete(d, "email") }},
		{"data field of the wrong type", false, func(_, d map[string]any) { d["tags"] = "vip" }},
		{"data id not a UUID", false, func(_, d map[string]any) { d["id"] = "contact_123" }},
		{"upper-case UUID", false, func(_, d map[string]any) { d["company_id"] = strings.ToUpper(d["company_id"].(string)) }},
		{"email not an email", false, func(_, d map[string]any) { d["email"] = "maria at northwind" }},
		{"value outside the enum", false, func(_, d map[string]any) { d["lifecycle_stage"] = "hot" }},
		{"timestamp with an offset", false, func(_, d map[string]any) { d["created_at"] = "2026-04-17T16:23:04+02:00" }},
		{"timestamp with fractions", false, func(e, _ map[string]any) { e["created_at"] = "2026-04-17T14:23:05.123Z" }},
		{"envelope type of another event", false, func(e, _ map[string]any) { e["type"] = "contact.updated" }},
		{"envelope workspace_id missing", false, func(e, _ map[string]any) { delete(e, "workspace_id") }},
		{"unknown envelope member", false, func(e, _ map[string]any) { e["event"] = "contact.created" }},
		{"data not an object", false, func(e, _ map[string]any) { e["data"] = []any{} }},
		{"undocumented data field", true, func(_, d map[string]any) { d["fax"] = "+14155550199" }},
	}
	for _, m := range mutations {
		t.Run(m.name, func(t *testing.T) {
			var env map[string]any
			if err := e.ExamplePayload.Decode(&env); err != nil {
				t.Fatal(err)
			}
			m.mutate(env, env["data"].(map[string]any))
			b, err := json.Marshal(env)
			if err != nil {
				t.Fatal(err)
			}
			inst := unmarshal(t, string(b))
			if err := compileEnvelope(t, e, m.strict).Validate(inst); err == nil {
				t.Errorf("broken example was accepted: %s", b)
			}
			if !m.strict {
				return
			}
			if err := compileEnvelope(t, e, false).Validate(inst); err != nil {
				t.Errorf("the open schema must accept an added field (receivers must ignore them): %v", err)
			}
		})
	}
}

func TestJSON(t *testing.T) {
	e, _ := Lookup("deal.created")
	b, err := json.Marshal(struct {
		S JSON `json:"s"`
		Z JSON `json:"z"`
	}{S: e.DataSchema})
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		S map[string]any `json:"s"`
		Z any            `json:"z"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("JSON did not marshal as a nested document: %v\n%s", err, b)
	}
	if out.S["type"] != "object" || out.Z != nil {
		t.Errorf("marshalled = %s", b)
	}
	raw := e.DataSchema.Raw()
	raw[0] = 'X'
	if again, _ := Lookup("deal.created"); again.DataSchema[0] != '{' {
		t.Error("modifying Raw's result changed the catalog")
	}
	if string(JSON("").Raw()) != "null" {
		t.Error("zero JSON is not null")
	}
}
