// Package apikeys is the route module through which a workspace manages its
// own API keys: create, list, show and revoke. Every route needs the
// admin:api_keys permission, and a key can never hand out more than it holds
// itself: neither a permission it lacks nor a rate-limit tier above its own.
package apikeys

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/gateway/plan"
	"github.com/leadlex/api-gateway/routes"
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

var _ routes.Module = (*Module)(nil)

// Name implements routes.Module.
func (m *Module) Name() string { return "api_keys" }

// Routes implements routes.Module. Every route requires admin:api_keys; the
// gateway applies authentication, limits and that check before a handler
// runs.
func (m *Module) Routes() []routes.Route {
	return []routes.Route{
		{Method: http.MethodPost, Path: "/v1/api-keys", Permission: gateway.PermAdminAPIKeys, Handler: m.create, Summary: "Create an API key",
			Doc: routes.Doc{Body: createRequest{}, Required: []string{"name", "permissions"}, Data: createdView{}, Status: http.StatusCreated,
				Description: "Issues a key in the caller's workspace with the caller's plan. A key grants only permissions it holds itself and no higher tier than its own, and the new key never outlives the caller: its expires_at is capped at the caller's. The new key records the caller in created_by and is revoked with it. The plaintext key appears only in this response.",
				Example:     `{"name": "CRM sync", "permissions": ["webhooks:read", "events:read"], "description": "Read-only key for the sync job", "rate_limit_tier": "standard", "expires_at": "2099-01-01T00:00:00Z"}`}},
		{Method: http.MethodGet, Path: "/v1/api-keys", Permission: gateway.PermAdminAPIKeys, Handler: m.list, Summary: "List API keys",
			Doc: routes.Doc{Data: listData{}, Paginated: true, DefaultPerPage: defaultPerPage, Description: "The workspace's keys, newest first; metadata only. per_page defaults to 25 (at most 100).",
				Query: []routes.Param{
					{Name: "include_revoked", Type: "boolean", Description: "Include revoked keys (default false)."},
					{Name: "search", Type: "string", Description: "Only keys whose name or prefix contains this text, ignoring case; matched literally (no wildcards)."},
				}}},
		{Method: http.MethodGet, Path: "/v1/api-keys/:id", Permission: gateway.PermAdminAPIKeys, Handler: m.get, Summary: "Show an API key",
			Doc: routes.Doc{Data: keyData{}, Errors: []gateway.Code{gateway.CodeNotFound}}},
		{Method: http.MethodDelete, Path: "/v1/api-keys/:id", Permission: gateway.PermAdminAPIKeys, Handler: m.revoke, Summary: "Revoke an API key",
			Doc: routes.Doc{Data: revokedData{}, Errors: []gateway.Code{gateway.CodeNotFound}, Description: "Revokes the key and every key minted from it, transitively; running gateways stop accepting them within seconds. A key may revoke itself, or a key whose permissions and tier its own cover (else 403 insufficient_permissions). Revoking twice is fine."}},
	}
}

// defaultPerPage is the contract's page size for API keys (§4.1); the
// maximum, 100, is routes.ParsePage's.
const defaultPerPage = 25

// Response data shapes, shared by the handlers and the OpenAPI document.
type (
	keyData struct {
		APIKey View `json:"api_key"`
	}
	listData struct {
		APIKeys []View `json:"api_keys"`
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

// View is an API key as a list or a get shows it (contract §4.1). A stored
// key has no plaintext to show.
type View struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Description   string   `json:"description"`
	Prefix        string   `json:"prefix"`
	Permissions   []string `json:"permissions"`
	RateLimitTier string   `json:"rate_limit_tier"`
	// CreatedBy is the id of the key that minted this one; null for keys
	// made with the operator CLI.
	CreatedBy *string `json:"created_by"`
	CreatedAt string  `json:"created_at"`
	// LastUsedAt is refreshed at most once a minute, off the request path.
	LastUsedAt *string `json:"last_used_at"`
	ExpiresAt  *string `json:"expires_at"`
	RevokedAt  *string `json:"revoked_at"`
}

// createdView is the data of POST /v1/api-keys: the key's fields directly in
// data, with the plaintext key, which appears nowhere else (contract §4.1).
type createdView struct {
	ID            string   `json:"id"`
	Key           string   `json:"key"`
	Prefix        string   `json:"prefix"`
	Name          string   `json:"name"`
	Description   string   `json:"description"`
	Permissions   []string `json:"permissions"`
	RateLimitTier string   `json:"rate_limit_tier"`
	ExpiresAt     *string  `json:"expires_at"`
	CreatedAt     string   `json:"created_at"`
}

// permissionNames renders a key's permissions as strings, never null.
func permissionNames(k *apikeys.Key) []string {
	perms := make([]string, 0, len(k.Permissions))
	for _, p := range k.Permissions {
		perms = append(perms, string(p))
	}
	return perms
}

// viewOf renders a stored key without its plaintext.
func viewOf(k *apikeys.Key) View {
	var createdBy *string
	if k.CreatedBy != "" {
		createdBy = &k.CreatedBy
	}
	return View{
		ID:            k.ID,
		Name:          k.Name,
		Description:   k.Description,
		Prefix:        k.Prefix,
		Permissions:   permissionNames(k),
		RateLimitTier: k.Tier,
		CreatedBy:     createdBy,
		CreatedAt:     routes.Timestamp(k.CreatedAt),
		LastUsedAt:    routes.TimestampPtr(k.LastUsedAt),
		ExpiresAt:     routes.TimestampPtr(k.ExpiresAt),
		RevokedAt:     routes.TimestampPtr(k.RevokedAt),
	}
}

// createdViewOf renders a new key with its plaintext.
func createdViewOf(k *apikeys.Key, plaintext string) createdView {
	return createdView{
		ID:            k.ID,
		Key:           plaintext,
		Prefix:        k.Prefix,
		Name:          k.Name,
		Description:   k.Description,
		Permissions:   permissionNames(k),
		RateLimitTier: k.Tier,
		ExpiresAt:     routes.TimestampPtr(k.ExpiresAt),
		CreatedAt:     routes.Timestamp(k.CreatedAt),
	}
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
	p := routes.PrincipalFrom(c)
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
	if err := routes.DecodeJSON(c, &req, "name", "permissions"); err != nil {
		return err
	}
	params, err := m.paramsOf(&req)
	if err != nil {
		return err
	}
	if err := apikeys.Covers(caller, params.Permissions, params.Tier, "grant"); err != nil {
		return err
	}
	params.WorkspaceID = caller.WorkspaceID
	params.Plan = caller.Plan
	params.CreatedBy = caller.KeyID

	k, plaintext, err := m.Keys.Create(c.Request().Context(), params)
	if err != nil {
		return callerRefused(c, err)
	}
	c.Response().Header().Set(echo.HeaderLocation, m.BasePath+"/v1/api-keys/"+k.ID)
	return routes.DataJSON(c, http.StatusCreated, createdViewOf(k, plaintext))
}

// callerRefused turns the service's *apikeys.AuthError, which says that the
// store found the caller's own key no longer live when it minted or revoked
// (the cache had not caught up yet), into the 401 invalid_key the auth
// middleware would give it; other errors pass through.
func callerRefused(c echo.Context, err error) error {
	var ae *apikeys.AuthError
	if !errors.As(err, &ae) {
		return err
	}
	c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="leadlex", error="invalid_token"`)
	return gateway.E(gateway.CodeInvalidKey, "This API key is no longer valid.").WithDetails(map[string]any{"reason": ae.Reason})
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

	p.Tier = plan.TierStandard
	if req.RateLimitTier != nil {
		if !plan.KnownTier(*req.RateLimitTier) {
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

// list handles GET /v1/api-keys: the caller's workspace's keys, newest first,
// filtered by search (name or prefix, partial, literal) and paginated by page
// number.
func (m *Module) list(c echo.Context) error {
	caller, err := principal(c)
	if err != nil {
		return err
	}
	includeRevoked, err := boolParam(c, "include_revoked")
	if err != nil {
		return err
	}
	search, err := stringParam(c, "search")
	if err != nil {
		return err
	}
	pg, err := routes.ParsePage(c, defaultPerPage)
	if err != nil {
		return err
	}
	// A page past the last one is empty; an offset that would overflow is
	// past any list.
	offset := math.MaxInt
	if pg.Page-1 <= math.MaxInt/pg.PerPage {
		offset = (pg.Page - 1) * pg.PerPage
	}
	keys, total, err := m.Keys.Find(c.Request().Context(), apikeys.Query{
		WorkspaceID: caller.WorkspaceID, IncludeRevoked: includeRevoked, Search: search,
		Offset: offset, Limit: pg.PerPage,
	})
	if err != nil {
		return err
	}
	return routes.ListOf(c, "api_keys", keys, viewOf, pg, total)
}

// maxSearchChars bounds the search parameter: longer than any name (100) or
// prefix can match nothing.
const maxSearchChars = 100

// stringParam reads an optional query parameter given at most once, at most
// maxSearchChars characters.
func stringParam(c echo.Context, name string) (string, error) {
	vals, ok := c.QueryParams()[name]
	if !ok {
		return "", nil
	}
	if len(vals) != 1 || utf8.RuneCountInString(vals[0]) > maxSearchChars || !utf8.ValidString(vals[0]) {
		return "", invalid(name, fmt.Sprintf("Query parameter %q must be given once, as valid text of at most %d characters.", name, maxSearchChars))
	}
	return vals[0], nil
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
// when it is not an id by gateway.ParseID, the one rule every route's ids
// follow, so that malformed ids never reach the store.
func keyID(c echo.Context) (string, error) {
	id, ok := gateway.ParseID(c.Param("id"))
	if !ok {
		return "", errNotFound()
	}
	return id, nil
}

// get handles GET /v1/api-keys/:id, the resource a create's Location names;
// revoked keys are included.
func (m *Module) get(c echo.Context) error {
	caller, err := principal(c)
	if err != nil {
		return err
	}
	id, err := keyID(c)
	if err != nil {
		return err
	}
	k, err := m.Keys.Get(c.Request().Context(), caller.WorkspaceID, id)
	if err != nil {
		return err
	}
	return routes.DataJSON(c, http.StatusOK, keyData{APIKey: viewOf(k)})
}

// revoke handles DELETE /v1/api-keys/:id. Revoking is scoped to the caller's
// workspace (another workspace's key is not_found) and idempotent: revoking a
// revoked key answers the same and keeps the first revocation time. It
// revokes every key minted from the target too. A key may revoke itself, or
// a key whose permissions and tier its own cover; any other key of the
// workspace is 403 insufficient_permissions, not 404, because the caller can
// list it anyway: hiding its existence would protect nothing.
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
	if err := m.Keys.RevokeAs(c.Request().Context(), caller, id); err != nil {
		if gateway.CodeOf(err) == gateway.CodeNotFound {
			return errNotFound()
		}
		return callerRefused(c, err)
	}
	return routes.DataJSON(c, http.StatusOK, revokedData{Revoked: true, ID: id})
}

// quoteAll renders names as a comma-separated list of quoted strings.
func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}
