// Package catalog is the single source of truth for the webhook event types
// the gateway knows about (api-contract §5).
//
// Webhook validation, the GET /v1/events/catalog endpoint and the event
// publisher all read this list, so that a type can never be accepted in one
// place and unknown in another. The package imports nothing from the rest of
// the module so that any layer may depend on it.
package catalog

// Event describes one webhook event type.
type Event struct {
	// Type is the wire name, "category.action", e.g. "contact.created".
	Type string
	// Category is the resource the event is about; it is always the part of
	// Type before the dot.
	Category string
	// Description is one sentence, suitable for API clients, saying when the
	// event is emitted.
	Description string
}

// events is the catalog in the contract's order. The order is part of the
// API (the catalog endpoint lists events in this order), so append new types
// at the end of their category rather than sorting.
var events = [...]Event{
	{"contact.created", "contact", "A contact was created."},
	{"contact.updated", "contact", "One or more fields of a contact were changed."},
	{"contact.deleted", "contact", "A contact was deleted."},
	{"contact.bulk_created", "contact", "A batch of contacts was created in a single bulk request."},
	{"contact.merged", "contact", "Two or more contacts were merged into one surviving contact."},

	{"company.created", "company", "A company was created."},
	{"company.updated", "company", "One or more fields of a company were changed."},
	{"company.deleted", "company", "A company was deleted."},

	{"deal.created", "deal", "A deal was created."},
	{"deal.updated", "deal", "One or more fields of a deal, such as its stage or value, were changed."},
	{"deal.deleted", "deal", "A deal was deleted."},
	{"deal.bulk_created", "deal", "A batch of deals was created in a single bulk request."},
	{"deal.bulk_updated", "deal", "A batch of deals was updated in a single bulk request."},

	{"list.created", "list", "A contact list was created."},
	{"list.deleted", "list", "A contact list was deleted."},
	{"list.contacts_added", "list", "One or more contacts were added to a list."},
	{"list.contacts_removed", "list", "One or more contacts were removed from a list."},

	{"campaign.created", "campaign", "A campaign was created."},
	{"campaign.started", "campaign", "A campaign was started and began sending its steps."},
	{"campaign.paused", "campaign", "A running campaign was paused."},
	{"campaign.deleted", "campaign", "A campaign was deleted."},
	{"campaign.step_created", "campaign", "A step was added to a campaign's sequence."},
	{"campaign.contacts_added", "campaign", "One or more contacts were enrolled in a campaign."},

	{"activity.created", "activity", "An activity, such as a call, email or meeting, was logged."},

	{"task.created", "task", "A task was created."},
	{"task.updated", "task", "One or more fields of a task were changed."},
	{"task.approved", "task", "A task was approved."},
	{"task.dismissed", "task", "A task was dismissed."},
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
