// Package portal is the webhook portal (issue 12): the API that issues
// portal links (POST /v1/portal-sessions), revokes them and tells a link
// what it may do, and the page itself, plain HTML, CSS and JavaScript
// modules embedded in the binary and served under the base path with a
// strict Content-Security-Policy. The page talks only to the public API,
// with the short-lived key that its link carries in the fragment, which
// browsers never send to a server.
package portal

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/routes"
)

// Module is the portal sessions route module. Keys mints and revokes the
// links' keys; BasePath is where the API (and so the page) is mounted;
// PublicBaseURL, when set, is the links' origin (else the request's).
type Module struct {
	Keys          *apikeys.Service
	BasePath      string
	PublicBaseURL string
}

var _ routes.Module = (*Module)(nil)

// Name implements routes.Module.
func (m *Module) Name() string { return "portal_sessions" }

// Routes implements routes.Module. Issuing and revoking links needs
// webhooks:write, the most a link can grant; reading the current session
// needs only what a read-only link holds.
func (m *Module) Routes() []routes.Route {
	return []routes.Route{
		{Method: http.MethodPost, Path: "/v1/portal-sessions", Permission: gateway.PermWebhooksWrite, Handler: m.create, Summary: "Create a webhook portal link",
			Doc: routes.Doc{Tag: "portal", Body: createRequest{}, BodyOptional: true, Data: sessionData{}, Status: http.StatusCreated,
				Errors: []gateway.Code{gateway.CodeValidation},
				Description: "Returns a link that opens the webhook portal for the caller's workspace. The link carries a new, short-lived API key in its fragment (#k=…), which browsers never send to a server: " +
					"read_only holds webhooks:read, read_write webhooks:write, never more than the caller holds. The key is a child of the caller's: it expires after expires_in_seconds (default 3600, 60 to 86400) " +
					"or when the caller's key does, whichever comes first (expires_at says which), and is revoked with it. The link is shown only here; revoke it with DELETE /v1/portal-sessions/{id}. " +
					"mode out of range or expires_in_seconds out of range are 400 validation_error naming the field.",
				Example: `{"mode": "read_only", "expires_in_seconds": 3600}`}},
		{Method: http.MethodGet, Path: "/v1/portal-sessions/current", Permission: gateway.PermWebhooksRead, Handler: m.current, Summary: "What the calling key may do in the portal",
			Doc: routes.Doc{Tag: "portal", Data: currentData{},
				Description: "The portal page asks this first: the calling key's id, its portal mode (read_write with webhooks:write, else read_only) and its expiry. An expired or revoked link's key gets 401 invalid_key with details.reason."}},
		{Method: http.MethodDelete, Path: "/v1/portal-sessions/:id", Permission: gateway.PermWebhooksWrite, Handler: m.revoke, Summary: "Revoke a webhook portal link",
			Doc: routes.Doc{Tag: "portal", Data: revokedData{}, Errors: []gateway.Code{gateway.CodeNotFound},
				Description: "Revokes the link's key: running gateways stop accepting it within KEY_CACHE_TTL, and the page then shows that the link is no longer valid. Revoking twice is fine; an id that is not a portal session of the workspace is 404 not_found."}},
	}
}

// createRequest is the optional body of POST /v1/portal-sessions.
type createRequest struct {
	// Mode is read_only (the default) or read_write.
	Mode *string `json:"mode"`
	// ExpiresInSeconds is the link's lifetime, 60 to 86400 (default 3600).
	ExpiresInSeconds *int `json:"expires_in_seconds"`
}

// Session is a portal link as POST /v1/portal-sessions returns it; the URL
// appears only there.
type Session struct {
	ID        string `json:"id"`
	URL       string `json:"url"`
	Mode      string `json:"mode"`
	ExpiresAt string `json:"expires_at"`
	CreatedAt string `json:"created_at"`
}

// Current is what GET /v1/portal-sessions/current tells the page.
type Current struct {
	KeyID       string  `json:"key_id"`
	WorkspaceID string  `json:"workspace_id"`
	Mode        string  `json:"mode"`
	ExpiresAt   *string `json:"expires_at"`
}

// Response data shapes, shared by the handlers and the OpenAPI document.
type (
	sessionData struct {
		PortalSession Session `json:"portal_session"`
	}
	currentData struct {
		PortalSession Current `json:"portal_session"`
	}
	revokedData struct {
		Revoked bool   `json:"revoked"`
		ID      string `json:"id"`
	}
)

// principal returns the authenticated caller; the gateway authenticates
// every route of this module, so a missing one is a wiring bug.
func principal(c echo.Context) (*gateway.Principal, error) {
	p := routes.PrincipalFrom(c)
	if p == nil {
		return nil, gateway.Internal(errors.New("portal routes: no authenticated principal"))
	}
	return p, nil
}

// invalid is a validation_error naming the field.
func invalid(field, msg string) *gateway.Error {
	return gateway.E(gateway.CodeValidation, msg).WithDetails(map[string]any{"field": field})
}

// create handles POST /v1/portal-sessions: body rules, then mode and
// lifetime, then what the caller may grant, then the mint.
func (m *Module) create(c echo.Context) error {
	caller, err := principal(c)
	if err != nil {
		return err
	}
	var req createRequest
	if err := routes.DecodeOptionalJSON(c, &req); err != nil {
		return err
	}
	mode := apikeys.PortalReadOnly
	if req.Mode != nil {
		if _, ok := apikeys.PortalPermissions(*req.Mode); !ok {
			return invalid("mode", "mode must be read_only or read_write.")
		}
		mode = *req.Mode
	}
	ttl := apikeys.PortalDefaultTTL
	if req.ExpiresInSeconds != nil {
		n := *req.ExpiresInSeconds
		if n < int(apikeys.PortalMinTTL.Seconds()) || n > int(apikeys.PortalMaxTTL.Seconds()) {
			return invalid("expires_in_seconds", "expires_in_seconds must be an integer from 60 to 86400.")
		}
		ttl = time.Duration(n) * time.Second
	}
	origin, err := m.origin(c.Request())
	if err != nil {
		return err
	}
	k, plaintext, err := m.Keys.CreatePortalSession(c.Request().Context(), caller, mode, ttl)
	if err != nil {
		return callerRefused(c, err)
	}
	// The answer holds a key: no cache may keep it.
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return routes.DataJSON(c, http.StatusCreated, sessionData{PortalSession: Session{
		ID: k.ID, URL: Link(origin, m.BasePath, plaintext), Mode: mode,
		ExpiresAt: routes.Timestamp(*k.ExpiresAt), CreatedAt: routes.Timestamp(k.CreatedAt),
	}})
}

// Link is a portal link: the page under the base path, the key in the
// fragment, so that it reaches neither a server log nor a Referer header.
func Link(origin, basePath, key string) string {
	return origin + basePath + PagePath + "#k=" + key
}

// origin is the links' origin: PUBLIC_BASE_URL, or the request's scheme
// and Host. A Host that is not a plain host[:port] (nothing a browser would
// send) is refused rather than echoed into a link.
func (m *Module) origin(r *http.Request) (string, error) {
	if m.PublicBaseURL != "" {
		return m.PublicBaseURL, nil
	}
	if !plainHost(r.Host) {
		return "", invalid("Host", "The request's Host header is not a plain host name; ask an operator to set PUBLIC_BASE_URL.")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + strings.ToLower(r.Host), nil
}

// plainHost reports whether h is a host name or IP literal with an optional
// port: letters, digits, dots, hyphens, colons and brackets, at most 255.
func plainHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for _, c := range h {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-:[]", c)
		if !ok {
			return false
		}
	}
	return true
}

// current handles GET /v1/portal-sessions/current.
func (m *Module) current(c echo.Context) error {
	caller, err := principal(c)
	if err != nil {
		return err
	}
	return routes.DataJSON(c, http.StatusOK, currentData{PortalSession: Current{
		KeyID: caller.KeyID, WorkspaceID: caller.WorkspaceID, Mode: apikeys.PortalModeOf(caller.Permissions),
		ExpiresAt: routes.TimestampPtr(caller.ExpiresAt),
	}})
}

// revoke handles DELETE /v1/portal-sessions/:id.
func (m *Module) revoke(c echo.Context) error {
	caller, err := principal(c)
	if err != nil {
		return err
	}
	id, ok := gateway.ParseID(c.Param("id"))
	if !ok || caller.WorkspaceID == "" {
		return gateway.E(gateway.CodeNotFound, "No portal session with that id.")
	}
	if err := m.Keys.RevokePortalSession(c.Request().Context(), caller, id); err != nil {
		return callerRefused(c, err)
	}
	return routes.DataJSON(c, http.StatusOK, revokedData{Revoked: true, ID: id})
}

// callerRefused turns the service's *apikeys.AuthError (the caller's own key
// found no longer live by the store) into the 401 invalid_key the auth
// middleware gives; other errors pass through.
func callerRefused(c echo.Context, err error) error {
	var ae *apikeys.AuthError
	if !errors.As(err, &ae) {
		return err
	}
	c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="leadlex", error="invalid_token"`)
	return gateway.E(gateway.CodeInvalidKey, "This API key is no longer valid.").WithDetails(map[string]any{"reason": ae.Reason})
}
