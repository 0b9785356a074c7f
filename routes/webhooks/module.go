// Package webhooks is the webhooks route module: it declares the /v1/webhooks
// routes with their permissions, decodes and renders the contract's shapes,
// and leaves every rule to the gateway/webhooks domain service and, for
// logs, tests and retries, to the delivery service.
package webhooks

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/webhooks"
	"github.com/leadlex/api-gateway/routes"
)

// Module is the webhooks route module.
type Module struct {
	Service    *webhooks.Service
	Deliveries Deliveries
	BasePath   string // for Location headers
}

var _ routes.Module = (*Module)(nil)

// Name implements routes.Module.
func (m *Module) Name() string { return "webhooks" }

// Routes implements routes.Module: each route declares its permission and
// the gateway applies auth, limits and the check from it.
func (m *Module) Routes() []routes.Route {
	errs := []gateway.Code{gateway.CodeWebhookNotFound}
	return append([]routes.Route{
		{Method: http.MethodPost, Path: "/v1/webhooks", Permission: gateway.PermWebhooksWrite, Handler: m.create, Summary: "Create a webhook",
			Doc: routes.Doc{Body: createRequest{}, Required: []string{"url", "events"}, Data: createdData{}, Status: http.StatusCreated,
				Description: "Registers an HTTPS receiver. The response is the only place the signing secret appears.",
				Errors:      []gateway.Code{gateway.CodeInvalidURL, gateway.CodeInvalidEvents, gateway.CodeMissingRequiredField, gateway.CodeDuplicateWebhook, gateway.CodeWebhookLimitReached},
				Example:     `{"url": "https://93.184.215.14/leadlex/webhook", "events": ["contact.created", "deal.updated"], "description": "Production CRM sync", "active": true}`}},
		{Method: http.MethodGet, Path: "/v1/webhooks", Permission: gateway.PermWebhooksRead, Handler: m.list, Summary: "List webhooks",
			Doc: routes.Doc{Data: listData{}, Paginated: true, Description: "The workspace's webhooks, newest first. Never includes secrets."}},
		{Method: http.MethodGet, Path: "/v1/webhooks/:id", Permission: gateway.PermWebhooksRead, Handler: m.get, Summary: "Get a webhook",
			Doc: routes.Doc{Data: webhookData{}, Errors: errs}},
		{Method: http.MethodPatch, Path: "/v1/webhooks/:id", Permission: gateway.PermWebhooksWrite, Handler: m.update, Summary: "Update a webhook",
			Doc: routes.Doc{Body: updateRequest{}, Data: webhookData{},
				Description: "Changes any of url, events (replaces the list), description, active, with the same rules as create. The secret does not change.",
				Errors:      []gateway.Code{gateway.CodeWebhookNotFound, gateway.CodeInvalidURL, gateway.CodeInvalidEvents, gateway.CodeDuplicateWebhook},
				Example:     `{"events": ["contact.created", "contact.updated"], "active": false}`}},
		{Method: http.MethodDelete, Path: "/v1/webhooks/:id", Permission: gateway.PermWebhooksWrite, Handler: m.delete, Summary: "Delete a webhook",
			Doc: routes.Doc{Data: deletedData{}, Errors: errs}},
		{Method: http.MethodPost, Path: "/v1/webhooks/:id/rotate-secret", Permission: gateway.PermWebhooksWrite, Handler: m.rotate, Summary: "Rotate a webhook's signing secret",
			Doc: routes.Doc{Body: rotateRequest{}, BodyOptional: true, Data: rotatedData{}, Errors: []gateway.Code{gateway.CodeWebhookNotFound, gateway.CodeRotationInProgress},
				Description: "Issues a new secret, returned only here. The previous one stays valid for expire_previous_in_seconds (default 86400, 0 = now; an empty body keeps the default), and deliveries carry both signatures meanwhile. Overlapping rotations are refused, not serialised: of concurrent calls one succeeds and the others get 409 rotation_in_progress, so every secret a 200 returns verifies deliveries.",
				Example:     `{"expire_previous_in_seconds": 3600}`}},
	}, m.deliveryRoutes()...)
}

// Response data shapes, shared by the handlers and the OpenAPI document.
type (
	createdData struct {
		Webhook CreatedView `json:"webhook"`
	}
	webhookData struct {
		Webhook View `json:"webhook"`
	}
	// listData is GET /v1/webhooks's "data" (rendered by routes.ListOf).
	listData struct {
		Webhooks []View `json:"webhooks"`
	}
	deletedData struct {
		Deleted bool   `json:"deleted"`
		ID      string `json:"id"`
	}
	rotatedView struct {
		View
		Secret                  string  `json:"secret"`
		PreviousSecretExpiresAt *string `json:"previous_secret_expires_at"`
	}
	rotatedData struct {
		Webhook rotatedView `json:"webhook"`
	}
)

// createRequest is the body of POST /v1/webhooks. Pointers tell "absent" from
// zero values: active defaults to true.
type createRequest struct {
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Description *string  `json:"description" validate:"omitempty,max=200"`
	Active      *bool    `json:"active"`
}

// updateRequest is the body of PATCH /v1/webhooks/{id}: every field optional.
type updateRequest struct {
	URL         *string  `json:"url"`
	Events      []string `json:"events"`
	Description *string  `json:"description" validate:"omitempty,max=200"`
	Active      *bool    `json:"active"`
}

// rotateRequest is the optional body of POST .../rotate-secret.
type rotateRequest struct {
	ExpirePreviousInSeconds *int `json:"expire_previous_in_seconds" validate:"omitempty,min=0,max=604800"`
}

// CreatedView is the webhook as the create response shows it: exactly the
// seed page's fields, with the secret.
type CreatedView struct {
	ID          string   `json:"id"`
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Description string   `json:"description"`
	Active      bool     `json:"active"`
	Secret      string   `json:"secret"`
	CreatedAt   string   `json:"created_at"`
}

// View is a webhook as reads and updates show it; it never has a secret.
type View struct {
	ID                 string   `json:"id"`
	URL                string   `json:"url"`
	Events             []string `json:"events"`
	Description        string   `json:"description"`
	Active             bool     `json:"active"`
	CreatedAt          string   `json:"created_at"`
	UpdatedAt          string   `json:"updated_at"`
	LastDeliveryStatus *string  `json:"last_delivery_status"`
	LastDeliveryAt     *string  `json:"last_delivery_at"`
	// DisabledReason is set when delivery paused the webhook.
	DisabledReason *string `json:"disabled_reason"`
}

// ViewOf renders a stored webhook.
func ViewOf(w *webhooks.Webhook) View {
	return View{ID: w.ID, URL: w.URL, Events: w.Events, Description: w.Description, Active: w.Active,
		CreatedAt: routes.Timestamp(w.CreatedAt), UpdatedAt: routes.Timestamp(w.UpdatedAt),
		LastDeliveryStatus: w.LastDeliveryStatus, LastDeliveryAt: routes.TimestampPtr(w.LastDeliveryAt), DisabledReason: w.DisabledReason}
}

func (m *Module) create(c echo.Context) error {
	var req createRequest
	if err := routes.DecodeJSON(c, &req, "url", "events"); err != nil {
		return err
	}
	in := webhooks.CreateInput{URL: req.URL, Events: req.Events, Active: true}
	if req.Description != nil {
		in.Description = *req.Description
	}
	if req.Active != nil {
		in.Active = *req.Active
	}
	created, err := m.Service.Create(c.Request().Context(), routes.PrincipalFrom(c).WorkspaceID, in)
	if err != nil {
		return err
	}
	w := created.Webhook
	c.Response().Header().Set(echo.HeaderLocation, m.BasePath+"/v1/webhooks/"+w.ID)
	return routes.DataJSON(c, http.StatusCreated, createdData{Webhook: CreatedView{
		ID: w.ID, URL: w.URL, Events: w.Events, Description: w.Description, Active: w.Active,
		Secret: created.Secret, CreatedAt: routes.Timestamp(w.CreatedAt),
	}})
}

func (m *Module) list(c echo.Context) error {
	page, err := routes.ParsePage(c, 50)
	if err != nil {
		return err
	}
	list, total, err := m.Service.List(c.Request().Context(), routes.PrincipalFrom(c).WorkspaceID, page)
	if err != nil {
		return err
	}
	return routes.ListOf(c, "webhooks", list, ViewOf, page, total)
}

func (m *Module) get(c echo.Context) error {
	w, err := m.Service.Get(c.Request().Context(), routes.PrincipalFrom(c).WorkspaceID, c.Param("id"))
	if err != nil {
		return err
	}
	return routes.DataJSON(c, http.StatusOK, webhookData{Webhook: ViewOf(w)})
}

func (m *Module) update(c echo.Context) error {
	var req updateRequest
	if err := routes.DecodeJSON(c, &req); err != nil {
		return err
	}
	if req.URL == nil && req.Events == nil && req.Description == nil && req.Active == nil {
		return gateway.E(gateway.CodeValidation, "Send at least one of url, events, description, active.").
			WithDetails(map[string]any{"fields": []string{"url", "events", "description", "active"}})
	}
	w, err := m.Service.Update(c.Request().Context(), routes.PrincipalFrom(c).WorkspaceID, c.Param("id"),
		webhooks.UpdateInput(req))
	if err != nil {
		return err
	}
	return routes.DataJSON(c, http.StatusOK, webhookData{Webhook: ViewOf(w)})
}

// webhookID returns the canonical form of the :id path parameter, or
// webhook_not_found when it is not an id by gateway.ParseID, so that
// malformed ids never reach the store.
func webhookID(c echo.Context) (string, error) {
	id, ok := gateway.ParseID(c.Param("id"))
	if !ok {
		return "", webhooks.NotFound()
	}
	return id, nil
}

func (m *Module) delete(c echo.Context) error {
	id, err := webhookID(c)
	if err != nil {
		return err
	}
	if err := m.Service.Delete(c.Request().Context(), routes.PrincipalFrom(c).WorkspaceID, id); err != nil {
		return err
	}
	return routes.DataJSON(c, http.StatusOK, deletedData{Deleted: true, ID: id})
}

func (m *Module) rotate(c echo.Context) error {
	var req rotateRequest
	// The body is optional: no body, or an empty one however it is
	// framed, keeps the default.
	if err := routes.DecodeOptionalJSON(c, &req); err != nil {
		return err
	}
	overlap := 24 * time.Hour
	if req.ExpirePreviousInSeconds != nil {
		overlap = time.Duration(*req.ExpirePreviousInSeconds) * time.Second
	}
	r, err := m.Service.RotateSecret(c.Request().Context(), routes.PrincipalFrom(c).WorkspaceID, c.Param("id"), overlap)
	if err != nil {
		return err
	}
	return routes.DataJSON(c, http.StatusOK, rotatedData{Webhook: rotatedView{ViewOf(r.Webhook), r.Secret, routes.TimestampPtr(r.Webhook.PreviousSecretExpiresAt)}})
}
