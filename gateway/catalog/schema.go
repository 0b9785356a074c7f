package catalog

// This file builds the data schemas from small helpers, so that a resource's
// fields are written once and shared by all of its events (contact.created,
// contact.updated and the items of contact.bulk_created describe the same
// contact).

// node is one JSON Schema object while it is being built.
type node = map[string]any

// prop is one named property of an object schema.
type prop struct {
	name   string
	schema node
}

// props is an ordered list of properties; the order is that of "required".
type props []prop

// draft2020 is the meta-schema every data schema declares.
const draft2020 = "https://json-schema.org/draft/2020-12/schema"

// uuidPattern is the canonical lowercase UUID form of api-contract §1. The
// schemas state it as a pattern as well as format "uuid", because the
// format alone also admits upper case.
const uuidPattern = `^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`

// timestampPattern is RFC 3339 in UTC with second precision (api-contract
// §1); format "date-time" alone would also admit offsets and fractions.
const timestampPattern = `^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$`

func p(name string, schema node) prop { return prop{name, schema} }

func text(desc string) node {
	return node{"type": "string", "description": desc}
}

func uuid(desc string) node {
	return node{"type": "string", "format": "uuid", "pattern": uuidPattern, "description": desc}
}

func timestamp(desc string) node {
	return node{"type": "string", "format": "date-time", "pattern": timestampPattern, "description": desc}
}

func integer(desc string, minimum int) node {
	return node{"type": "integer", "minimum": minimum, "description": desc}
}

func number(desc string, minimum int) node {
	return node{"type": "number", "minimum": minimum, "description": desc}
}

func enum(desc string, values ...string) node {
	return node{"type": "string", "enum": values, "description": desc}
}

func constant(desc, value string) node {
	return node{"type": "string", "const": value, "description": desc}
}

// with returns a copy of n with extra keywords set.
func with(n node, kv ...any) node {
	out := make(node, len(n)+len(kv)/2)
	for k, v := range n {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// nullable returns a copy of n that also admits null. Keywords such as
// format, pattern and minimum apply only to their own type, so they keep
// constraining the non-null values.
func nullable(n node) node {
	out := with(n)
	switch t := n["type"].(type) {
	case string:
		out["type"] = []string{t, "null"}
	}
	if e, ok := n["enum"].([]string); ok {
		vals := make([]any, 0, len(e)+1)
		for _, v := range e {
			vals = append(vals, v)
		}
		out["enum"] = append(vals, nil)
	}
	return out
}

func arrayOf(desc string, items node, minItems int) node {
	return node{"type": "array", "items": items, "minItems": minItems, "uniqueItems": true, "description": desc}
}

// object describes a JSON object whose listed properties are all required
// (null stands for "no value"). It does not set additionalProperties, so
// fields can be added later: see the package documentation.
func object(desc string, ps props) node {
	properties := make(node, len(ps))
	required := make([]string, 0, len(ps))
	for _, pr := range ps {
		if _, dup := properties[pr.name]; dup {
			panic("catalog: duplicate property " + pr.name)
		}
		properties[pr.name] = pr.schema
		required = append(required, pr.name)
	}
	n := node{"type": "object", "properties": properties, "required": required}
	if desc != "" {
		n["description"] = desc
	}
	return n
}

// partial describes an object that holds some of ps's properties, none of
// them required; previous_values uses it.
func partial(desc string, ps props) node {
	n := object(desc, ps)
	delete(n, "required")
	return n
}

// plus returns ps followed by more, replacing a property of ps whose name
// occurs in more (so an event can narrow a field, e.g. status to "active").
func (ps props) plus(more ...prop) props {
	out := make(props, 0, len(ps)+len(more))
	replaced := map[string]bool{}
	for _, pr := range ps {
		for _, m := range more {
			if m.name == pr.name {
				pr = m
				replaced[m.name] = true
			}
		}
		out = append(out, pr)
	}
	for _, m := range more {
		if !replaced[m.name] {
			out = append(out, m)
		}
	}
	return out
}

// only returns the properties of ps with the given names, in ps's order.
func (ps props) only(names ...string) props {
	var out props
	for _, pr := range ps {
		for _, n := range names {
			if pr.name == n {
				out = append(out, pr)
			}
		}
	}
	return out
}

// mutable returns the names of the fields a client can change: everything
// but the ID and the timestamps the system maintains.
func (ps props) mutable() []string {
	var out []string
	for _, pr := range ps {
		switch pr.name {
		case "id", "created_at", "updated_at":
			continue
		}
		out = append(out, pr.name)
	}
	return out
}

// dataSchema turns an object description into a self-contained schema
// document for an event's data.
func dataSchema(eventType string, n node) JSON {
	return mustJSON(with(n, "$schema", draft2020, "title", eventType+" data"))
}

// record is the data of an event that carries one whole record.
func record(eventType, desc string, ps props) JSON {
	return dataSchema(eventType, object(desc, ps))
}

// updated is the data of a *.updated event: the record after the change,
// which fields changed and what they held before.
func updated(eventType, resource string, ps props) JSON {
	return dataSchema(eventType, object("The "+resource+" as it is after the change.", ps.plus(
		changedFields("The fields of the "+resource+" that the change set.", ps),
		p("previous_values", partial("The values the changed fields held before the change, keyed by field name.", ps.only(ps.mutable()...))),
	)))
}

// changedFields lists which of ps's client-settable fields a change set.
func changedFields(desc string, ps props) prop {
	return p("changed_fields", arrayOf(desc, enum("A field name.", ps.mutable()...), 1))
}

// deleted is the data of every *.deleted event.
func deleted(eventType, resource string) JSON {
	return dataSchema(eventType, object("The "+resource+" that was deleted; it can no longer be fetched.", props{
		p("id", uuid("The ID of the deleted "+resource+".")),
		p("deleted_at", timestamp("When the "+resource+" was deleted.")),
	}))
}

// bulk is the data of a bulk event: the records in "items" and their number
// in "count" (api-contract §6).
func bulk(eventType, resource string, item props, extra ...prop) JSON {
	ps := props{
		p("count", integer("The number of "+resource+"s in items.", 1)),
		p("items", arrayOf("The "+resource+"s of the bulk request, in request order.", object("", item), 1)),
	}
	return dataSchema(eventType, object("The "+resource+"s affected by one bulk request.", ps.plus(extra...)))
}

// membership is the data of an event that adds contacts to, or removes them
// from, a list or a campaign: verb is the past participle ("added"), prep
// the preposition that joins it to the container ("to").
func membership(eventType, container, verb, prep string) JSON {
	return dataSchema(eventType, object("Contacts "+verb+" "+prep+" one "+container+".", props{
		p(container+"_id", uuid("The "+container+"'s ID.")),
		p("contact_ids", arrayOf("The IDs of the contacts "+verb+".", uuid("A contact ID."), 1)),
		p("count", integer("The number of IDs in contact_ids.", 1)),
		p(verb+"_at", timestamp("When the contacts were "+verb+".")),
	}))
}

// The resources' fields. Each list is written once and used by every event
// of its resource.
var (
	contactFields = props{
		p("id", uuid("The contact's ID.")),
		p("email", nullable(with(text("The contact's primary email address."), "format", "email"))),
		p("first_name", nullable(text("The contact's first name."))),
		p("last_name", nullable(text("The contact's last name."))),
		p("phone", nullable(with(text("The contact's phone number in E.164 form."), "pattern", `^\+[1-9][0-9]{1,14}$`))),
		p("job_title", nullable(text("The contact's job title."))),
		p("company_id", nullable(uuid("The company the contact works for."))),
		p("owner_id", nullable(uuid("The workspace member who owns the contact."))),
		p("lifecycle_stage", enum("Where the contact is in the sales funnel.", "subscriber", "lead", "qualified", "opportunity", "customer", "churned")),
		p("source", enum("How the contact entered LeadLex.", "manual", "import", "api", "form", "integration")),
		p("tags", arrayOf("Free-form labels on the contact.", text("A tag."), 0)),
		p("created_at", timestamp("When the contact was created.")),
		p("updated_at", timestamp("When the contact was last changed.")),
	}

	companyFields = props{
		p("id", uuid("The company's ID.")),
		p("name", with(text("The company's name."), "minLength", 1)),
		p("domain", nullable(with(text("The company's primary web domain, without scheme."), "format", "hostname"))),
		p("industry", nullable(text("The company's industry."))),
		p("employee_count", nullable(integer("The number of employees, where known.", 0))),
		p("country", nullable(with(text("The country of the company's head office, as an ISO 3166-1 alpha-2 code."), "pattern", "^[A-Z]{2}$"))),
		p("owner_id", nullable(uuid("The workspace member who owns the company."))),
		p("created_at", timestamp("When the company was created.")),
		p("updated_at", timestamp("When the company was last changed.")),
	}

	dealFields = props{
		p("id", uuid("The deal's ID.")),
		p("name", with(text("The deal's name."), "minLength", 1)),
		p("value", nullable(number("The deal's value in currency, in major units (12500.5 is 12,500.50).", 0))),
		p("currency", with(text("The ISO 4217 code of the deal's currency."), "pattern", "^[A-Z]{3}$")),
		p("pipeline_id", uuid("The pipeline the deal is in.")),
		p("stage", with(text("The key of the deal's stage in its pipeline."), "minLength", 1)),
		p("status", enum("Whether the deal is still open, won or lost.", "open", "won", "lost")),
		p("contact_id", nullable(uuid("The deal's primary contact."))),
		p("company_id", nullable(uuid("The company the deal is with."))),
		p("owner_id", nullable(uuid("The workspace member who owns the deal."))),
		p("expected_close_date", nullable(with(text("The date the deal is expected to close."), "format", "date"))),
		p("closed_at", nullable(timestamp("When the deal was won or lost; null while it is open."))),
		p("created_at", timestamp("When the deal was created.")),
		p("updated_at", timestamp("When the deal was last changed.")),
	}

	listFields = props{
		p("id", uuid("The list's ID.")),
		p("name", with(text("The list's name."), "minLength", 1)),
		p("description", nullable(text("The list's description."))),
		p("kind", enum("Static lists are edited by hand; dynamic lists follow a saved filter.", "static", "dynamic")),
		p("contact_count", integer("The number of contacts on the list.", 0)),
		p("owner_id", nullable(uuid("The workspace member who owns the list."))),
		p("created_at", timestamp("When the list was created.")),
	}

	campaignFields = props{
		p("id", uuid("The campaign's ID.")),
		p("name", with(text("The campaign's name."), "minLength", 1)),
		p("status", enum("The campaign's state.", "draft", "active", "paused", "completed")),
		p("channel", enum("The channel the campaign's steps use.", "email", "linkedin", "multichannel")),
		p("step_count", integer("The number of steps in the campaign's sequence.", 0)),
		p("owner_id", nullable(uuid("The workspace member who owns the campaign."))),
		p("created_at", timestamp("When the campaign was created.")),
		p("updated_at", timestamp("When the campaign was last changed.")),
	}

	stepFields = props{
		p("id", uuid("The step's ID.")),
		p("campaign_id", uuid("The campaign the step belongs to.")),
		p("position", integer("The step's 1-based position in the sequence.", 1)),
		p("type", enum("What the step does.", "email", "linkedin_message", "linkedin_connect", "call", "task")),
		p("delay_days", integer("Days to wait after the previous step before this one runs.", 0)),
		p("subject", nullable(text("The subject line of an email step; null for other types."))),
		p("created_at", timestamp("When the step was created.")),
	}

	activityFields = props{
		p("id", uuid("The activity's ID.")),
		p("type", enum("The kind of activity.", "call", "email", "meeting", "note")),
		p("subject", nullable(text("A short summary of the activity."))),
		p("contact_id", nullable(uuid("The contact the activity involved."))),
		p("company_id", nullable(uuid("The company the activity involved."))),
		p("deal_id", nullable(uuid("The deal the activity belongs to."))),
		p("owner_id", nullable(uuid("The workspace member who logged the activity."))),
		p("occurred_at", timestamp("When the activity took place.")),
		p("duration_seconds", nullable(integer("How long a call or meeting lasted.", 0))),
		p("created_at", timestamp("When the activity was logged.")),
	}

	taskFields = props{
		p("id", uuid("The task's ID.")),
		p("title", with(text("What is to be done."), "minLength", 1)),
		p("description", nullable(text("Details of the task."))),
		p("status", enum("Suggested tasks await approval; approved tasks are open until completed.", "suggested", "open", "completed", "dismissed")),
		p("priority", enum("The task's priority.", "low", "normal", "high")),
		p("due_at", nullable(timestamp("When the task is due."))),
		p("assignee_id", nullable(uuid("The workspace member the task is assigned to."))),
		p("contact_id", nullable(uuid("The contact the task is about."))),
		p("deal_id", nullable(uuid("The deal the task is about."))),
		p("created_at", timestamp("When the task was created.")),
		p("updated_at", timestamp("When the task was last changed.")),
	}
)
