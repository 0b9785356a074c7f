package webhooks

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/catalog"
	"github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/routes"
)

// Deliveries is the delivery side the webhook routes need;
// *delivery.Service implements it.
type Deliveries interface {
	SendTest(ctx context.Context, workspaceID, webhookID, typ string, data json.RawMessage) (*delivery.Attempt, error)
	Retry(ctx context.Context, workspaceID, webhookID, deliveryID string) (*delivery.Delivery, error)
	Logs(ctx context.Context, workspaceID, webhookID, status string, p gateway.Page) ([]delivery.Attempt, int, error)
}

// LogEntry is one entry of GET .../logs (contract §4.1): an attempt, whose
// status is its own outcome (success or failed), or, on top, a delivery
// waiting for its next attempt: status pending, the coming attempt number,
// next_attempt_at, and null response fields.
type LogEntry struct {
	DeliveryID         string  `json:"delivery_id"`
	Event              string  `json:"event"`
	Status             string  `json:"status"`
	ResponseStatusCode *int    `json:"response_status_code"`
	ResponseBody       *string `json:"response_body"`
	DurationMS         *int    `json:"duration_ms"`
	Attempt            int     `json:"attempt"`
	Error              *string `json:"error"`
	DeliveredAt        *string `json:"delivered_at"`
	NextAttemptAt      *string `json:"next_attempt_at"`
}

// LogEntryOf renders an attempt, or a waiting delivery's entry (one
// without a delivery time).
func LogEntryOf(a *delivery.Attempt) LogEntry {
	e := LogEntry{DeliveryID: a.DeliveryID, Event: a.EventType, Status: a.Status, ResponseStatusCode: a.ResponseStatusCode,
		Attempt: a.Attempt, Error: a.Error, NextAttemptAt: routes.TimestampPtr(a.NextAttemptAt)}
	if !a.DeliveredAt.IsZero() {
		body, duration := a.ResponseBody, a.DurationMS
		e.ResponseBody, e.DurationMS, e.DeliveredAt = &body, &duration, routes.TimestampPtr(&a.DeliveredAt)
	}
	return e
}

// RetriedDelivery is the answer to a retry.
type RetriedDelivery struct {
	ID            string  `json:"id"`
	Status        string  `json:"status"`
	Attempts      int     `json:"attempts"`
	NextAttemptAt *string `json:"next_attempt_at"`
}

type (
	// logsData is GET .../logs's "data" (rendered by routes.ListOf).
	logsData struct {
		Logs []LogEntry `json:"logs"`
	}
	logEntryData struct {
		LogEntry LogEntry `json:"log_entry"`
	}
	retriedData struct {
		Delivery RetriedDelivery `json:"delivery"`
	}
)

func (m *Module) deliveryRoutes() []routes.Route {
	return []routes.Route{
		{Method: http.MethodGet, Path: "/v1/webhooks/:id/logs", Permission: gateway.PermWebhooksRead, Handler: m.logs, Summary: "List a webhook's delivery attempts",
			Doc: routes.Doc{Data: logsData{}, Paginated: true, Errors: []gateway.Code{gateway.CodeWebhookNotFound},
				Description: "One entry per attempt, newest first, kept 30 days; its status is that attempt's outcome, success or failed. A delivery waiting for its next attempt adds one entry on top with status pending, the coming attempt number, next_attempt_at and null response fields. ?status= filters on these values.",
				Query:       []routes.Param{{Name: "status", Type: "string", Enum: []string{delivery.StatusSuccess, delivery.StatusFailed, delivery.StatusPending}, Description: "Only entries with this status: success or failed attempts, or pending (waiting deliveries)."}}}},
		{Method: http.MethodPost, Path: "/v1/webhooks/:id/test", Permission: gateway.PermWebhooksWrite, Handler: m.test, Summary: "Send a test delivery now",
			Doc: routes.Doc{Data: logEntryData{}, Errors: []gateway.Code{gateway.CodeWebhookNotFound},
				Description: "Sends a signed delivery of the webhook's first subscribed event type, with the catalog's example data, and answers with its log entry. Test deliveries are not retried; the webhook may be paused."}},
		{Method: http.MethodPost, Path: "/v1/webhooks/:id/logs/:delivery_id/retry", Permission: gateway.PermWebhooksWrite, Handler: m.retry, Summary: "Re-deliver a delivery",
			Doc: routes.Doc{Data: retriedData{}, Status: http.StatusAccepted, Errors: []gateway.Code{gateway.CodeWebhookNotFound, gateway.CodeDeliveryNotFound},
				Description: "Schedules another attempt of the delivery now, with the same delivery ID and body, whatever its status."}},
	}
}

func (m *Module) logs(c echo.Context) error {
	id, err := webhookID(c)
	if err != nil {
		return err
	}
	page, err := routes.ParsePage(c, 50)
	if err != nil {
		return err
	}
	list, total, err := m.Deliveries.Logs(c.Request().Context(), routes.PrincipalFrom(c).WorkspaceID, id, c.QueryParam("status"), page)
	if err != nil {
		return err
	}
	return routes.ListOf(c, "logs", list, LogEntryOf, page, total)
}

func (m *Module) test(c echo.Context) error {
	ws := routes.PrincipalFrom(c).WorkspaceID
	w, err := m.Service.Get(c.Request().Context(), ws, c.Param("id"))
	if err != nil {
		return err
	}
	typ := w.Events[0]
	var example struct {
		Data json.RawMessage `json:"data"`
	}
	if ev, ok := catalog.Lookup(typ); ok {
		_ = ev.ExamplePayload.Decode(&example)
	}
	if len(example.Data) == 0 {
		example.Data = json.RawMessage(`{}`)
	}
	a, err := m.Deliveries.SendTest(c.Request().Context(), ws, w.ID, typ, example.Data)
	if err != nil {
		return err
	}
	return routes.DataJSON(c, http.StatusOK, logEntryData{LogEntry: LogEntryOf(a)})
}

func (m *Module) retry(c echo.Context) error {
	id, err := webhookID(c)
	if err != nil {
		return err
	}
	did, ok := gateway.ParseID(c.Param("delivery_id"))
	if !ok {
		return gateway.E(gateway.CodeDeliveryNotFound, "No delivery with that id for this webhook.")
	}
	d, err := m.Deliveries.Retry(c.Request().Context(), routes.PrincipalFrom(c).WorkspaceID, id, did)
	if err != nil {
		return err
	}
	return routes.DataJSON(c, http.StatusAccepted, retriedData{Delivery: RetriedDelivery{ID: d.ID, Status: d.Status, Attempts: d.Attempts, NextAttemptAt: routes.TimestampPtr(d.NextAttemptAt)}})
}
