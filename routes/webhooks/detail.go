package webhooks

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/gateway/webhooks"
	"github.com/leadlex/api-gateway/routes"
)

// DetailModule serves GET /v1/webhooks/{id}/logs/{delivery_id}: one
// delivery with the payload it sends and every attempt, what the portal's
// delivery screen shows. It is a module of its own, beside Module, so that
// it can be mounted without touching the delivery engine's wiring.
type DetailModule struct {
	Service *webhooks.Service
	Details *delivery.DetailService
}

var _ routes.Module = (*DetailModule)(nil)

// Name implements routes.Module.
func (m *DetailModule) Name() string { return "webhook_delivery_detail" }

// Routes implements routes.Module.
func (m *DetailModule) Routes() []routes.Route {
	return []routes.Route{
		{Method: http.MethodGet, Path: "/v1/webhooks/:id/logs/:delivery_id", Permission: gateway.PermWebhooksRead, Handler: m.get, Summary: "Show one delivery with its payload and attempts",
			Doc: routes.Doc{Data: detailData{}, Errors: []gateway.Code{gateway.CodeWebhookNotFound, gateway.CodeDeliveryNotFound},
				Description: "The delivery (status, attempts so far, next_attempt_at), the exact body every attempt sends (payload, a string holding the JSON {id, type, created_at, workspace_id, data} byte for byte, as the signatures cover it) and each attempt logged, first attempt first (status code, error class, duration, response body). Attempts past the 30-day retention are gone; the delivery stays."}},
	}
}

// DeliveryDetail is the data of GET .../logs/{delivery_id}.
type DeliveryDetail struct {
	ID            string  `json:"id"`
	WebhookID     string  `json:"webhook_id"`
	EventID       string  `json:"event_id"`
	Event         string  `json:"event"`
	Test          bool    `json:"test"`
	Status        string  `json:"status"`
	Attempts      int     `json:"attempts"`
	NextAttemptAt *string `json:"next_attempt_at"`
	CreatedAt     string  `json:"created_at"`
	UpdatedAt     string  `json:"updated_at"`
	// Payload is the request body as sent, byte for byte, as a string: the
	// signatures cover exactly these bytes, which re-encoding parsed JSON
	// would not keep (key order, number spelling, escapes).
	Payload string `json:"payload"`
	// Log holds the attempts, first attempt first, as log entries.
	Log []LogEntry `json:"log"`
}

type detailData struct {
	Delivery DeliveryDetail `json:"delivery"`
}

func (m *DetailModule) get(c echo.Context) error {
	ws := routes.PrincipalFrom(c).WorkspaceID
	id, err := webhookID(c)
	if err != nil {
		return err
	}
	did, ok := gateway.ParseID(c.Param("delivery_id"))
	if !ok {
		return gateway.E(gateway.CodeDeliveryNotFound, "No delivery with that id for this webhook.")
	}
	// Another workspace's webhook, or none, is webhook_not_found; the
	// delivery's own absence is delivery_not_found.
	if _, err := m.Service.Get(c.Request().Context(), ws, id); err != nil {
		return err
	}
	d, err := m.Details.Get(c.Request().Context(), ws, id, did)
	if err != nil {
		return err
	}
	log := make([]LogEntry, len(d.Attempts))
	for i := range d.Attempts {
		log[i] = LogEntryOf(&d.Attempts[i])
	}
	return routes.DataJSON(c, http.StatusOK, detailData{Delivery: DeliveryDetail{
		ID: d.Delivery.ID, WebhookID: d.Delivery.WebhookID, EventID: d.Delivery.EventID, Event: d.Delivery.EventType,
		Test: d.Delivery.Test, Status: d.Delivery.Status, Attempts: d.Delivery.Attempts,
		NextAttemptAt: routes.TimestampPtr(d.Delivery.NextAttemptAt),
		CreatedAt:     routes.Timestamp(d.Delivery.CreatedAt), UpdatedAt: routes.Timestamp(d.Delivery.UpdatedAt),
		Payload: string(delivery.Payload(d.Event)), Log: log,
	}})
}
