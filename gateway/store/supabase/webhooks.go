package supabase

import (
	"context"

	postgrest "github.com/supabase-community/postgrest-go"

	"github.com/leadlex/api-gateway/gateway/webhooks"
)

// newestFirst orders by a column descending with NULLS FIRST. postgrest-go's
// Order always appends a nulls modifier and defaults to "nullslast"; DESC NULLS
// LAST does not match the (workspace_id, created_at desc, id desc) indexes, so
// Postgres would sort the whole workspace on every page. NULLS FIRST is what
// DESC means by default, so "created_at.desc.nullsfirst" is exactly
// "created_at.desc" and is served from the index.
var newestFirst = &postgrest.OrderOpts{Ascending: false, NullsFirst: true}

// webhookRow is a row of the webhooks table as PostgREST renders it.
type webhookRow struct {
	ID                       string   `json:"id"`
	WorkspaceID              string   `json:"workspace_id"`
	URL                      string   `json:"url"`
	URLKey                   string   `json:"url_key"`
	Events                   []string `json:"events"`
	Description              string   `json:"description"`
	Active                   bool     `json:"active"`
	SecretCiphertext         string   `json:"secret_ciphertext"`
	PreviousSecretCiphertext *string  `json:"previous_secret_ciphertext"`
	PreviousSecretExpiresAt  *pgTime  `json:"previous_secret_expires_at"`
	CreatedAt                pgTime   `json:"created_at"`
	UpdatedAt                pgTime   `json:"updated_at"`
	LastDeliveryStatus       *string  `json:"last_delivery_status"`
	LastDeliveryAt           *pgTime  `json:"last_delivery_at"`
	DisabledReason           *string  `json:"disabled_reason"`
}

// webhook converts the row to the module's type. A null previous secret
// (never rotated) becomes the empty string.
func (r *webhookRow) webhook() webhooks.Webhook {
	previous := ""
	if r.PreviousSecretCiphertext != nil {
		previous = *r.PreviousSecretCiphertext
	}
	return webhooks.Webhook{
		ID:                       r.ID,
		WorkspaceID:              r.WorkspaceID,
		URL:                      r.URL,
		URLKey:                   r.URLKey,
		Events:                   r.Events,
		Description:              r.Description,
		Active:                   r.Active,
		SecretCiphertext:         r.SecretCiphertext,
		PreviousSecretCiphertext: previous,
		PreviousSecretExpiresAt:  r.PreviousSecretExpiresAt.Ptr(),
		CreatedAt:                r.CreatedAt.Time,
		UpdatedAt:                r.UpdatedAt.Time,
		LastDeliveryStatus:       r.LastDeliveryStatus,
		LastDeliveryAt:           r.LastDeliveryAt.Ptr(),
		DisabledReason:           r.DisabledReason,
	}
}

// createWebhookArgs are the named arguments of gateway_create_webhook, sent as
// one JSON object, which is how PostgREST passes arguments to a function.
type createWebhookArgs struct {
	ID               string   `json:"p_id"`
	WorkspaceID      string   `json:"p_workspace_id"`
	URL              string   `json:"p_url"`
	URLKey           string   `json:"p_url_key"`
	Events           []string `json:"p_events"`
	Description      string   `json:"p_description"`
	Active           bool     `json:"p_active"`
	SecretCiphertext string   `json:"p_secret_ciphertext"`
	CreatedAt        string   `json:"p_created_at"`
	Limit            int      `json:"p_limit"`
}

// CreateWebhook inserts w through the SQL function gateway_create_webhook,
// which holds a per-workspace lock while it counts and inserts, so the limit and
// the unique URL hold under concurrent calls. It returns
// webhooks.ErrLimitReached (SQLSTATE LL001) or webhooks.ErrDuplicateURL
// (SQLSTATE 23505) when a rule refuses the insert. On success w is replaced by
// the stored row (timestamps in UTC at the database's microsecond precision,
// UpdatedAt equal to CreatedAt). A zero CreatedAt is set to the current time.
func (s *Store) CreateWebhook(ctx context.Context, w *webhooks.Webhook, limit int) error {
	const op = "create webhook"
	if w == nil {
		return s.failf(op, "nil webhook")
	}
	id, ws, err := s.rowIDs(op, w.ID, w.WorkspaceID)
	if err != nil {
		return err
	}
	created := orNow(w.CreatedAt)
	events := w.Events
	if events == nil {
		events = []string{}
	}
	args := createWebhookArgs{
		ID:               id,
		WorkspaceID:      ws,
		URL:              w.URL,
		URLKey:           w.URLKey,
		Events:           events,
		Description:      w.Description,
		Active:           w.Active,
		SecretCiphertext: w.SecretCiphertext,
		CreatedAt:        formatTime(created),
		Limit:            limit,
	}

	body, err := s.rpc(ctx, fnCreateWebhook, args)
	if err != nil {
		return s.mapError(op, err, errMap{
			duplicate: webhooks.ErrDuplicateURL,
			limit:     webhooks.ErrLimitReached,
		})
	}
	row, err := createdRow[webhookRow](s, op, body)
	if err != nil {
		return err
	}
	*w = row.webhook()
	return nil
}

// GetWebhook returns the webhook with id in the workspace, or
// webhooks.ErrNotFound, also for ids that are not UUIDs and for ids of other
// workspaces.
func (s *Store) GetWebhook(ctx context.Context, workspaceID, id string) (*webhooks.Webhook, error) {
	const op = "get webhook"
	wid, ok := canonicalUUID(id)
	if !ok {
		return nil, wrapSentinel(op, webhooks.ErrNotFound)
	}
	ws, ok := canonicalUUID(workspaceID)
	if !ok {
		return nil, wrapSentinel(op, webhooks.ErrNotFound)
	}

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	body, _, err := s.client.From(tableWebhooks).
		Select("*", "", false).
		Eq("id", wid).
		Eq("workspace_id", ws).
		ExecuteWithContext(ctx)
	if err != nil {
		return nil, s.mapError(op, err, errMap{notFound: webhooks.ErrNotFound})
	}
	return s.oneWebhook(op, body)
}

// ListWebhooks returns up to limit webhooks of the workspace from offset on,
// newest first (ties broken by id, descending), and the workspace's total count,
// read from PostgREST's Content-Range with "Prefer: count=exact". An offset past
// the end gives an empty page and the total. A workspace id that is not a UUID
// has no webhooks.
func (s *Store) ListWebhooks(ctx context.Context, workspaceID string, offset, limit int) ([]webhooks.Webhook, int, error) {
	const op = "list webhooks"
	empty := []webhooks.Webhook{}
	ws, ok := canonicalUUID(workspaceID)
	if !ok {
		return empty, 0, nil
	}
	offset = max(offset, 0)

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if limit <= 0 {
		total, err := s.countRows(ctx, tableWebhooks, ws)
		if err != nil {
			return nil, 0, s.mapError(op, err, errMap{})
		}
		return empty, total, nil
	}

	body, total, err := s.client.From(tableWebhooks).
		Select("*", "exact", false).
		Eq("workspace_id", ws).
		Order("created_at", newestFirst).
		Order("id", newestFirst).
		Range(offset, offset+limit-1, "").
		ExecuteWithContext(ctx)
	if err != nil && errorCode(err) == "PGRST103" {
		// 416: the offset is past the last row. PostgREST puts the total in the
		// Content-Range of that answer, but postgrest-go drops the headers of
		// error responses, so ask for the count alone.
		n, cerr := s.countRows(ctx, tableWebhooks, ws)
		if cerr != nil {
			return nil, 0, s.mapError(op, cerr, errMap{})
		}
		return empty, n, nil
	}
	if err != nil {
		return nil, 0, s.mapError(op, err, errMap{})
	}
	rows, err := decodeRows[webhookRow](body)
	if err != nil {
		return nil, 0, s.failf(op, "%v", err)
	}
	if len(rows) > 0 && int(total) < offset+len(rows) {
		// postgrest-go reports 0 when Content-Range is missing or has no total.
		return nil, 0, s.failf(op, "the response carries no exact count (Content-Range)")
	}
	out := make([]webhooks.Webhook, len(rows))
	for i := range rows {
		out[i] = rows[i].webhook()
	}
	return out, int(total), nil
}

// countRows returns the number of the workspace's rows in table with a HEAD
// request and "Prefer: count=exact" (the count is in Content-Range).
func (s *Store) countRows(ctx context.Context, table, workspaceID string) (int, error) {
	_, n, err := s.client.From(table).
		Select("id", "exact", true).
		Eq("workspace_id", workspaceID).
		ExecuteWithContext(ctx)
	return int(n), err
}
