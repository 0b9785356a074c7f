package webhooks

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/leadlex/api-gateway/gateway"
)

// Module is the webhooks route module.
type Module struct {
	Service  *Service
	BasePath string // for Location headers
}

var _ gateway.Module = (*Module)(nil)

// Name implements gateway.Module.
func (m *Module) Name() string { return "webhooks" }

// Routes implements gateway.Module: each route declares its permission and
// the gateway applies auth, limits and the check from it.
func (m *Module) Routes() []gateway.Route {
	return []gateway.Route{
		{Method: http.MethodPost, Path: "/v1/webhooks", Permission: gateway.PermWebhooksWrite, Handler: m.create, Summary: "Create a webhook"},
	}
}

// createRequest is the body of POST /v1/webhooks. Pointers tell "absent" from
// zero values: active defaults to true.
type createRequest struct {
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Description *string  `json:"description" validate:"omitempty,max=200"`
	Active      *bool    `json:"active"`
}

// View is a webhook as the API shows it. Secret is set only in the response
// that creates it.
type View struct {
	ID          string   `json:"id"`
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Description string   `json:"description"`
	Active      bool     `json:"active"`
	Secret      string   `json:"secret,omitempty"`
	CreatedAt   string   `json:"created_at"`
}

// Timestamp renders a time as the contract wants: RFC 3339, UTC, seconds.
func Timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func (m *Module) create(c echo.Context) error {
	var req createRequest
	if err := gateway.DecodeJSON(c, &req, "url", "events"); err != nil {
		return err
	}
	in := CreateInput{URL: req.URL, Events: req.Events, Active: true}
	if req.Description != nil {
		in.Description = *req.Description
	}
	if req.Active != nil {
		in.Active = *req.Active
	}
	p := gateway.PrincipalFrom(c)
	created, err := m.Service.Create(c.Request().Context(), p.WorkspaceID, in)
	if err != nil {
		return err
	}
	w := created.Webhook
	c.Response().Header().Set(echo.HeaderLocation, m.BasePath+"/v1/webhooks/"+w.ID)
	return c.JSON(http.StatusCreated, map[string]any{"data": map[string]any{"webhook": View{
		ID:          w.ID,
		URL:         w.URL,
		Events:      w.Events,
		Description: w.Description,
		Active:      w.Active,
		Secret:      created.Secret,
		CreatedAt:   Timestamp(w.CreatedAt),
	}}})
}
