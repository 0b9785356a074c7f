// Package apikeys is the route module through which a workspace manages its
// own API keys: create, list, show and revoke. Every route needs the
// admin:api_keys permission, and a key can never hand out more than it holds
// itself: neither a permission it lacks nor a rate-limit tier above its own.
package apikeys

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
)

// Module is the API keys route module. Keys does the work; BasePath is the
// gateway's base path, used for Location headers; Clock, when set, is the
// clock against which expires_at must lie in the future (it should be the
// clock the service was built with; nil means the system clock).
type Module struct {
	Keys     *apikeys.Service
	BasePath string
	Clock    gateway.Clock
}

var _ gateway.Module = (*Module)(nil)

// Name implements gateway.Module.
func (m *Module) Name() string { return "api_keys" }

// Routes implements gateway.Module. Every route requires admin:api_keys; the
// gateway applies authentication, limits and that check before a handler
// runs.
func (m *Module) Routes() []gateway.Route {
	return []gateway.Route{
		{Method: http.MethodPost, Path: "/v1/api-keys", Permission: gateway.PermAdminAPIKeys, Handler: m.create, Summary: "Create an API key",
			Doc: gateway.Doc{Body: createRequest{}, Required: []string{"name", "permissions"}, Data: keyData{}, Status: http.StatusCreated,
				Description: "Issues a key in the caller's workspace with the caller's plan. A key grants only permissions it holds itself and no higher tier than its own. The plaintext key appears only in this response.",
				Example:     `{"name": "CRM sync", "permissions": ["webhooks:read", "events:read"], "description": "Read-only key for the sync job", "rate_limit_tier": "standard", "expires_at": "2099-01-01T00:00:00Z"}`}},
		{Method: http.MethodGet, Path: "/v1/api-keys", Permission: gateway.PermAdminAPIKeys, Handler: m.list, Summary: "List API keys",
			Doc: gateway.Doc{Data: []View{}, Paginated: true, Description: "The workspace's keys, newest first; metadata only.",
				Query: []gateway.Param{{Name: "include_revoked", Type: "boolean", Description: "Include revoked keys (default false)."}}}},
		{Method: http.MethodGet, Path: "/v1/api-keys/:id", Permission: gateway.PermAdminAPIKeys, Handler: m.get, Summary: "Show an API key",
			Doc: gateway.Doc{Data: keyData{}, Errors: []gateway.Code{gateway.CodeNotFound}}},
		{Method: http.MethodDelete, Path: "/v1/api-keys/:id", Permission: gateway.PermAdminAPIKeys, Handler: m.revoke, Summary: "Revoke an API key",
			Doc: gateway.Doc{Data: revokedData{}, Errors: []gateway.Code{gateway.CodeNotFound}, Description: "Revokes the key; running gateways stop accepting it within seconds. Revoking twice is fine."}},
	}
}

// Pagination defaults of the contract.
const (
	defaultPerPage = 50
	maxPerPage     = 100
)

// tierRank orders the rate-limit tiers; a key may grant its own tier or a
// lower one.
var tierRank = map[string]int{
	apikeys.TierStandard:  0,
	apikeys.TierHigh:      1,
	apikeys.TierUnmetered: 2,
}

// Response data shapes, shared by the handlers and the OpenAPI document.
type (
	keyData struct {
		APIKey View `json:"api_key"`
	}
	revokedData struct {
		Revoked bool   `json:"revoked"`
		ID      string `json:"id"`
	}
)

// createRequest is the body of POST /v1/api-keys. Pointers tell an absent
// field from an empty one.
type createRequest struct {
	Name          string   `json:"name" validate:"max=100"`
	Permissions   []string `json:"permissions"`
	Description   *string  `json:"description" validate:"omitempty,max=500"`
	RateLimitTier *string  `json:"rate_limit_tier"`
	ExpiresAt     *string  `json:"expires_at"`
}

// View is an API key as the API shows it. Key, the plaintext, is set only in
// the response that creates the key; a stored key has no plaintext to show.
type View struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Description   string   `json:"description"`
	Key           string   `json:"key,omitempty"`
	Prefix        string   `json:"prefix"`
	Permissions   []string `json:"permissions"`
	RateLimitTier string   `json:"rate_limit_tier"`
	Plan          string   `json:"plan"`
	ExpiresAt     *string  `json:"expires_at"`
	CreatedAt     string   `json:"created_at"`
	RevokedAt     *string  `json:"revoked_at"`
}

// viewOf renders a stored key without its plaintext.
func viewOf(k *apikeys.Key) View {
	perms := make([]string, 0, len(k.Permissions))
	for _, p := range k.Permissions {
		perms = append(perms, string(p))
	}
	return View{
		ID:            k.ID,
		Name:          k.Name,
		Description:   k.Description,
		Prefix:        k.Prefix,
		Permissions:   perms,
		RateLimitTier: k.Tier,
		Plan:          k.Plan,
		ExpiresAt:     timestampPtr(k.ExpiresAt),
		CreatedAt:     timestamp(k.CreatedAt),
		RevokedAt:     timestampPtr(k.RevokedAt),
	}
}

// timestamp renders a time as the contract wants: RFC 3339, UTC, seconds.
func timestamp(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

// timestampPtr is timestamp for optional times; nil stays nil (JSON null).
func timestampPtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := timestamp(*t)
	return &s
}

// invalid is a validation_error naming the offending field or parameter.
func invalid(field, msg string) *gateway.Error {
	return gateway.E(gateway.CodeValidation, msg).WithDetails(map[string]any{"field": field})
}

// errNotFound is the one answer for an id that is malformed, unknown or of
// another workspace, so that ids of other workspaces cannot be probed.
func errNotFound() *gateway.Error {
	return gateway.E(gateway.CodeNotFound, "No API key with that id.")
}

// principal returns the authenticated caller. The gateway authenticates every
// route of this module, so a missing principal is a wiring bug, reported as an
// internal error rather than served.
func principal(c echo.Context) (*gateway.Principal, error) {
	p := gateway.PrincipalFrom(c)
	if p == nil {
		return nil, gateway.Internal(errors.New("apikeys routes: no authenticated principal"))
	}
	return p, nil
}

// now is the module's clock reading, the system clock when none is set.
func (m *Module) now() time.Time {
	if m.Clock == nil {
		return gateway.SystemClock{}.Now()
	}
	return m.Clock.Now()
}

// create handles POST /v1/api-keys. Checks run in this order: the body rules
// (415, 400 invalid_json, missing_required_field, validation_error), then the
// semantic validation of every field (400 validation_error), then what the
// caller may grant (403 insufficient_permissions), and only then the write.
// So a request that is both malformed and over-reaching is told about the
// malformation, and nothing is stored on any error.
func (m *Module) create(c echo.Context) error {
	caller, err := principal(c)
	if err != nil {
		return err
	}
	var req createRequest
	if err := gateway.DecodeJSON(c, &req, "name", "permissions"); err != nil {
		return err
	}
	params, err := m.paramsOf(&req)
	if err != nil {
		return err
	}
	if err := mayGrant(caller, params); err != nil {
		return err
	}
	params.WorkspaceID = caller.WorkspaceID
	params.Plan = caller.Plan

	k, plaintext, err := m.Keys.Create(c.Request().Context(), params)
	if err != nil {
		return err
	}
	v := viewOf(k)
	v.Key = plaintext
	c.Response().Header().Set(echo.HeaderLocation, m.BasePath+"/v1/api-keys/"+k.ID)
	return c.JSON(http.StatusCreated, map[string]any{"data": keyData{APIKey: v}})
}

// paramsOf validates the decoded body field by field and turns it into the
// service's parameters (without workspace and plan, which are the caller's).
// The service validates again; checking here first is what puts every 400
// ahead of the 403s of mayGrant.
func (m *Module) paramsOf(req *createRequest) (apikeys.CreateParams, error) {
	var p apikeys.CreateParams
	if strings.TrimSpace(req.Name) == "" {
		return p, invalid("name", "name must not be blank.")
	}
	p.Name = req.Name
	if req.Description != nil {
		p.Description = *req.Description
	}

	if len(req.Permissions) == 0 {
		return p, invalid("permissions", "permissions must name at least one permission.")
	}
	var unknown []string
	for _, name := range req.Permissions {
		perm := gateway.Permission(name)
		if !gateway.ValidPermission(perm) {
			if !slices.Contains(unknown, name) {
				unknown = append(unknown, name)
			}
			continue
		}
		p.Permissions = append(p.Permissions, perm)
	}
	if len(unknown) > 0 {
		return p, gateway.E(gateway.CodeValidation, fmt.Sprintf("Unknown permission(s): %s.", quoteAll(unknown))).
			WithDetails(map[string]any{"field": "permissions", "invalid": unknown})
	}

	p.Tier = apikeys.TierStandard
	if req.RateLimitTier != nil {
		if _, ok := tierRank[*req.RateLimitTier]; !ok {
			return p, invalid("rate_limit_tier", fmt.Sprintf("Unknown rate_limit_tier %q; use standard, high or unmetered.", *req.RateLimitTier))
		}
		p.Tier = *req.RateLimitTier
	}

	if req.ExpiresAt != nil {
		t, err := time.Parse(time.RFC3339, *req.ExpiresAt)
		if err != nil {
			return p, invalid("expires_at", "expires_at must be an RFC 3339 timestamp, e.g. 2026-04-17T14:23:05Z.")
		}
		// The key expires at a whole second, as it is stored and shown.
		t = t.UTC().Truncate(time.Second)
		if !t.After(m.now()) {
			return p, invalid("expires_at", "expires_at must be in the future.")
		}
		p.ExpiresAt = &t
	}
	return p, nil
}

// mayGrant enforces that a key hands out no more than it holds: every
// requested permission must be satisfied by the caller's own (so that
// webhooks:write may grant webhooks:read), and the tier may not exceed the
// caller's. A caller whose tier is unknown counts as standard.
func mayGrant(caller *gateway.Principal, p apikeys.CreateParams) error {
	var missing []string
	for _, perm := range p.Permissions {
		if !gateway.Satisfies(caller.Permissions, perm) && !slices.Contains(missing, string(perm)) {
			missing = append(missing, string(perm))
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return gateway.E(gateway.CodeInsufficientPermissions,
			fmt.Sprintf("A key can only grant permissions it holds itself; this key lacks %s.", quoteAll(missing))).
			WithDetails(map[string]any{"required": missing})
	}
	own := caller.Tier
	if _, ok := tierRank[own]; !ok {
		own = apikeys.TierStandard
	}
	if tierRank[p.Tier] > tierRank[own] {
		return gateway.E(gateway.CodeInsufficientPermissions,
			fmt.Sprintf("A key can only grant a rate_limit_tier up to its own (%s).", own)).
			WithDetails(map[string]any{"field": "rate_limit_tier", "max_tier": own})
	}
	return nil
}

// quoteAll renders names as a comma-separated list of quoted strings.
func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

// list handles GET /v1/api-keys: the caller's workspace's keys, newest first,
// paginated by page number over the service's list.
func (m *Module) list(c echo.Context) error {
	caller, err := principal(c)
	if err != nil {
		return err
	}
	includeRevoked, err := boolParam(c, "include_revoked")
	if err != nil {
		return err
	}
	pg, err := gateway.ParsePage(c, defaultPerPage)
	if err != nil {
		return err
	}
	page, perPage := pg.Page, pg.PerPage
	keys, err := m.Keys.List(c.Request().Context(), caller.WorkspaceID, includeRevoked)
	if err != nil {
		return err
	}
	data := []View{}
	// A page past the last one is empty. Comparing page numbers before
	// multiplying keeps a huge page parameter from overflowing the offset.
	if page-1 < (len(keys)+perPage-1)/perPage {
		start := (page - 1) * perPage
		end := min(start+perPage, len(keys))
		for i := start; i < end; i++ {
			data = append(data, viewOf(&keys[i]))
		}
	}
	return c.JSON(http.StatusOK, map[string]any{
		"data": data,
		"meta": gateway.Meta{Page: page, PerPage: perPage, Total: len(keys)},
	})
}

// boolParam reads an optional true/false query parameter; absent is false
// and any other spelling is a validation_error naming the parameter.
func boolParam(c echo.Context, name string) (bool, error) {
	vals, ok := c.QueryParams()[name]
	if !ok {
		return false, nil
	}
	if len(vals) == 1 {
		switch vals[0] {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, invalid(name, fmt.Sprintf("Query parameter %q must be true or false.", name))
}

// keyID returns the canonical form of the :id path parameter, or not_found
// when it is not an id by gateway.PathID, the one rule every route's ids
// follow, so that malformed ids never reach the store.
func keyID(c echo.Context) (string, error) {
	id, ok := gateway.PathID(c.Param("id"))
	if !ok {
		return "", errNotFound()
	}
	return id, nil
}

// get handles GET /v1/api-keys/:id, the resource a create's Location names.
// The service has no lookup by id, so this searches the workspace's list,
// which is short; revoked keys are included.
func (m *Module) get(c echo.Context) error {
	caller, err := principal(c)
	if err != nil {
		return err
	}
	id, err := keyID(c)
	if err != nil {
		return err
	}
	keys, err := m.Keys.List(c.Request().Context(), caller.WorkspaceID, true)
	if err != nil {
		return err
	}
	for i := range keys {
		if keys[i].ID == id {
			return c.JSON(http.StatusOK, map[string]any{"data": keyData{APIKey: viewOf(&keys[i])}})
		}
	}
	return errNotFound()
}

// revoke handles DELETE /v1/api-keys/:id. Revoking is scoped to the caller's
// workspace (another workspace's key is not_found) and idempotent: revoking a
// revoked key answers the same and keeps the first revocation time. A key
// may revoke itself.
func (m *Module) revoke(c echo.Context) error {
	caller, err := principal(c)
	if err != nil {
		return err
	}
	id, err := keyID(c)
	if err != nil {
		return err
	}
	// The workspace must never be empty here: the service reads an empty
	// workspace as the operator's unscoped revoke.
	if caller.WorkspaceID == "" {
		return errNotFound()
	}
	if err := m.Keys.Revoke(c.Request().Context(), caller.WorkspaceID, id); err != nil {
		if gateway.CodeOf(err) == gateway.CodeNotFound {
			return errNotFound()
		}
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"data": revokedData{Revoked: true, ID: id}})
}
