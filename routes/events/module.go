// Package events is the route module for events: GET /v1/events/catalog
// lists the webhook event types of api-contract §5 with the schema and an
// example of each one's delivery (everything from gateway/catalog, the one
// list webhook subscriptions are validated against), and POST /v1/events
// publishes an event to the workspace's subscribed webhooks.
package events

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/catalog"
	"github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/routes"
)

// CatalogPath is the path of the catalog endpoint, relative to the base path.
const CatalogPath = "/v1/events/catalog"

// Publisher stores an event with its deliveries; *delivery.Service
// implements it.
type Publisher interface {
	Publish(ctx context.Context, workspaceID, id, typ string, data json.RawMessage) (*delivery.Published, error)
}

// Module is the events route module. The catalog is compiled into the
// binary; publishing goes through Publisher.
type Module struct {
	Publisher Publisher
}

var _ routes.Module = (*Module)(nil)

// Name implements routes.Module.
func (*Module) Name() string { return "events" }

// Routes implements routes.Module. The catalog is readable with events:read
// or with any webhooks permission (webhooks:write implies webhooks:read), so
// that a key that manages webhooks can discover what to subscribe to.
func (m *Module) Routes() []routes.Route {
	return []routes.Route{{
		Method:  http.MethodGet,
		Path:    CatalogPath,
		AnyOf:   []gateway.Permission{gateway.PermEventsRead, gateway.PermWebhooksRead},
		Handler: listCatalog,
		Summary: "List the webhook event types",
		Doc: routes.Doc{Data: Listing{}, Tag: "events",
			Description: "The 28 event types with a JSON Schema of each one's data and an example delivery payload.",
			Query:       []routes.Param{{Name: "category", Type: "string", Enum: catalog.Categories(), Description: "Only this category's events."}}},
	}, {
		Method: http.MethodPost, Path: "/v1/events", Permission: gateway.PermEventsPublish, Handler: m.publish,
		Summary: "Publish an event",
		Doc: routes.Doc{Body: publishRequest{}, Required: []string{"type", "data"}, Data: publishedData{}, Status: http.StatusAccepted, Tag: "events",
			Description: "For LeadLex's own services and Supabase database webhooks: stores the event for the key's workspace and one delivery per active webhook subscribed to its type, before answering 202. An id makes publishing idempotent: the same id again writes and sends nothing.",
			Errors:      []gateway.Code{gateway.CodeInvalidEvents, gateway.CodeMissingRequiredField},
			Example:     `{"type": "contact.created", "data": {"id": "0b3c2f6e-4c1d-4e55-9a51-3c2f1d6e7a10", "email": "ada@example.com"}}`},
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
	return routes.DataJSON(c, http.StatusOK, listing)
}

// publishRequest is the body of POST /v1/events.
type publishRequest struct {
	ID   *string         `json:"id" validate:"omitempty,uuid4"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// PublishedEvent is the answer to a publish.
type PublishedEvent struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	CreatedAt  string `json:"created_at"`
	Deliveries int    `json:"deliveries"`
	// Duplicate is true when the id had been published before.
	Duplicate bool `json:"duplicate"`
}

type publishedData struct {
	Event PublishedEvent `json:"event"`
}

func (m *Module) publish(c echo.Context) error {
	var req publishRequest
	if err := routes.DecodeJSON(c, &req, "type", "data"); err != nil {
		return err
	}
	if len(req.Data) == 0 || req.Data[0] != '{' {
		return gateway.E(gateway.CodeValidation, "Field \"data\" must be a JSON object.").WithDetails(map[string]any{"field": "data"})
	}
	id := ""
	if req.ID != nil {
		id = strings.ToLower(*req.ID)
	}
	p, err := m.Publisher.Publish(c.Request().Context(), routes.PrincipalFrom(c).WorkspaceID, id, req.Type, req.Data)
	if err != nil {
		return err
	}
	return routes.DataJSON(c, http.StatusAccepted, publishedData{Event: PublishedEvent{
		ID: p.Event.ID, Type: p.Event.Type, CreatedAt: routes.Timestamp(p.Event.CreatedAt),
		Deliveries: p.Deliveries, Duplicate: !p.Created,
	}})
}
