// Package events is the route module for the event catalog: GET
// /v1/events/catalog lists the webhook event types of api-contract §5 with
// the schema and an example of each one's delivery. Everything it shows
// comes from gateway/catalog, the one list webhook subscriptions are
// validated against.
package events

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/catalog"
)

// CatalogPath is the path of the catalog endpoint, relative to the base path.
const CatalogPath = "/v1/events/catalog"

// Module is the events route module. It has no state: the catalog is
// compiled into the binary.
type Module struct{}

var _ gateway.Module = Module{}

// Name implements gateway.Module.
func (Module) Name() string { return "events" }

// Routes implements gateway.Module. The catalog is readable with events:read
// or with any webhooks permission (webhooks:write implies webhooks:read), so
// that a key that manages webhooks can discover what to subscribe to.
func (Module) Routes() []gateway.Route {
	return []gateway.Route{{
		Method:  http.MethodGet,
		Path:    CatalogPath,
		AnyOf:   []gateway.Permission{gateway.PermEventsRead, gateway.PermWebhooksRead},
		Handler: listCatalog,
		Summary: "List the webhook event types",
		Doc: gateway.Doc{Data: Listing{}, Tag: "events",
			Description: "The 28 event types with a JSON Schema of each one's data and an example delivery payload.",
			Query:       []gateway.Param{{Name: "category", Type: "string", Enum: catalog.Categories(), Description: "Only this category's events."}}},
	}}
}

// EventView is one event type as the catalog endpoint shows it.
type EventView struct {
	Type           string            `json:"type"`
	Category       string            `json:"category"`
	Description    string            `json:"description"`
	DataSchema     catalog.JSON      `json:"data_schema"`
	ExamplePayload catalog.JSON      `json:"example_payload"`
	IntroducedIn   string            `json:"introduced_in"`
	Stability      catalog.Stability `json:"stability"`
}

// Listing is the "data" of the catalog endpoint's response.
type Listing struct {
	Events []EventView `json:"events"`
	Total  int         `json:"total"`
}

// View converts a catalog event into its API form.
func View(e catalog.Event) EventView {
	return EventView{
		Type:           e.Type,
		Category:       e.Category,
		Description:    e.Description,
		DataSchema:     e.DataSchema,
		ExamplePayload: e.ExamplePayload,
		IntroducedIn:   e.IntroducedIn,
		Stability:      e.Stability,
	}
}

// List returns what the catalog endpoint answers: every event type in
// catalog order when category is empty, else the events of that category.
// An unknown category is a validation_error whose details name the field
// and the allowed values. It is exported so that documentation and tools
// can render exactly what the API serves.
func List(category string) (Listing, error) {
	events := catalog.All()
	if category != "" {
		if !slices.Contains(catalog.Categories(), category) {
			return Listing{}, unknownCategory(category)
		}
		events = catalog.InCategory(category)
	}
	views := make([]EventView, len(events))
	for i, e := range events {
		views[i] = View(e)
	}
	return Listing{Events: views, Total: len(views)}, nil
}

func unknownCategory(got string) *gateway.Error {
	allowed := catalog.Categories()
	return gateway.E(gateway.CodeValidation,
		"Unknown category "+quote(got)+"; use one of: "+strings.Join(allowed, ", ")+".").
		WithDetails(map[string]any{"field": "category", "allowed": allowed})
}

// quote renders a client-supplied value for a message, shortened so that an
// oversized query string does not bloat the error body.
func quote(s string) string {
	const limit = 64
	if r := []rune(s); len(r) > limit {
		s = string(r[:limit]) + "…"
	}
	return strconv.Quote(s)
}

// listCatalog serves GET /v1/events/catalog. The category query parameter,
// when present, must be given once and name a known category; an empty
// value is an error rather than "no filter", so that a client bug that
// drops the value does not silently return every event.
func listCatalog(c echo.Context) error {
	var category string
	if vals, ok := c.QueryParams()["category"]; ok {
		if len(vals) != 1 {
			return gateway.E(gateway.CodeValidation, "Give the category parameter at most once.").
				WithDetails(map[string]any{"field": "category", "allowed": catalog.Categories()})
		}
		if vals[0] == "" {
			return unknownCategory("")
		}
		category = vals[0]
	}
	listing, err := List(category)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"data": listing})
}
