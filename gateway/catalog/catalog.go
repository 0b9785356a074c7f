// Package catalog is the single source of truth for the webhook event types
// the gateway knows about (api-contract §5).
//
// Webhook validation, the GET /v1/events/catalog endpoint and the event
// publisher all read this list, so that a type can never be accepted in one
// place and unknown in another. The package imports nothing from the rest of
// the module so that any layer may depend on it.
//
// Besides its name, category and description, every event documents its
// delivery: DataSchema is a JSON Schema (draft 2020-12) of the "data" object
// of the delivery body, and ExamplePayload is a complete delivery body as a
// receiver would get it (api-contract §6). The conventions are:
//
//   - IntroducedIn is the calendar date (YYYY-MM-DD, UTC) from which the
//     gateway has emitted the event type. Dates rather than "v1" because every
//     event lives under /v1; a date tells a consumer whether an integration
//     built on a given day could have seen the event.
//   - Stability is "stable" for every documented event and "beta" for
//     contact.merged, the one type the public docs only mention in passing
//     (see api-contract §5): its name is fixed and it can be subscribed to
//     like any other, but its data may still change shape. A stable event's
//     data only ever gains fields.
//   - Data schemas list every field as required and say null where a field
//     may be empty, so a receiver never has to tell "absent" from "null".
//     They do not forbid unknown properties: new fields may be added to a
//     stable event without notice, and receivers must ignore those they do
//     not know.
//   - Bulk events (contact.bulk_created, deal.bulk_created,
//     deal.bulk_updated) carry the affected records in "items" and their
//     number in "count"; the *.deleted events carry only "id" and
//     "deleted_at"; the *.updated events carry the record as it is after the
//     change, with "changed_fields" and the "previous_values" of those
//     fields.
//   - Timestamps are RFC 3339 in UTC with second precision, IDs are
//     lowercase UUIDs (api-contract §1).
package catalog

// Stability says how settled an event type's payload is.
type Stability string

// The stability levels an event can have.
const (
	// Stable events keep their data's shape; new fields may be added.
	Stable Stability = "stable"
	// Beta events have a fixed name, but their data may still change shape
	// in incompatible ways, announced in the changelog.
	Beta Stability = "beta"
)

// Event describes one webhook event type. Event is comparable, and a copy
// cannot alter the catalog: its documents are immutable JSON values.
type Event struct {
	// Type is the wire name, "category.action", e.g. "contact.created".
	Type string
	// Category is the resource the event is about; it is always the part of
	// Type before the dot.
	Category string
	// Description is one sentence, suitable for API clients, saying when the
	// event is emitted.
	Description string
	// DataSchema is a self-contained JSON Schema (draft 2020-12) of the
	// "data" member of the event's delivery body.
	DataSchema JSON
	// ExamplePayload is a complete, realistic delivery body: id, type,
	// created_at, workspace_id and data, in that order.
	ExamplePayload JSON
	// IntroducedIn is the date, YYYY-MM-DD in UTC, from which the event type
	// has been emitted.
	IntroducedIn string
	// Stability is Stable or Beta.
	Stability Stability
}

// categories lists the categories in the order in which they first appear
// in events.
var categories = []string{"contact", "company", "deal", "list", "campaign", "activity", "task"}

// byType indexes events by Type for Lookup and Validate.
var byType = func() map[string]Event {
	m := make(map[string]Event, len(events))
	for _, e := range events {
		m[e.Type] = e
	}
	return m
}()

// Count is the number of event types in the catalog; the contract promises
// 28, and the catalog endpoint reports it as "total".
const Count = len(events)

// All returns every event type in the contract's order. The order is stable
// between calls and releases, and the returned slice is a fresh copy, so
// callers may modify it without affecting the catalog.
func All() []Event {
	out := make([]Event, len(events))
	copy(out, events[:])
	return out
}

// Lookup returns the event with the given type name and whether it exists.
// Names are matched exactly: "Contact.Created" is not a known type, because
// subscriptions and payloads always use the lowercase wire name.
func Lookup(t string) (Event, bool) {
	e, ok := byType[t]
	return e, ok
}

// Categories returns the event categories in the order in which they first
// appear in All. The returned slice is a fresh copy.
func Categories() []string {
	out := make([]string, len(categories))
	copy(out, categories)
	return out
}

// InCategory returns the events of one category in catalog order, or an
// empty slice when the category is unknown; it backs the catalog endpoint's
// category filter.
func InCategory(category string) []Event {
	out := []Event{}
	for _, e := range events {
		if e.Category == category {
			out = append(out, e)
		}
	}
	return out
}

// Validate checks a webhook's subscription list. It returns the names that
// are not in the catalog, in input order and each reported once, and the
// names that occur more than once (known or not), in the order of their
// first repetition and each reported once. Both are nil when there is
// nothing to report. An empty list is not an error here: whether an empty
// subscription is allowed is the caller's rule.
func Validate(types []string) (unknown, duplicates []string) {
	seen := make(map[string]int, len(types))
	for _, t := range types {
		seen[t]++
		switch seen[t] {
		case 1:
			if _, ok := byType[t]; !ok {
				unknown = append(unknown, t)
			}
		case 2:
			duplicates = append(duplicates, t)
		}
	}
	return unknown, duplicates
}
