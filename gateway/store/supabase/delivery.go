package supabase

import (
	"context"
	"encoding/json"
	"github.com/leadlex/api-gateway/gateway/store/sqldoc"
	"math"
	"time"
	"unicode/utf8"

	postgrest "github.com/supabase-community/postgrest-go"

	"github.com/leadlex/api-gateway/gateway/delivery"
)

// Compile-time guard: the store also implements delivery.Store.
var _ delivery.Store = (*Store)(nil)

// Tables and functions of the delivery migration. The functions go through
// the same From("rpc/<function>").Insert route as CreateWebhook, for the
// reasons given there.
const (
	tableDeliveries      = "deliveries"
	tableAttempts        = "delivery_attempts"
	fnPublishEvent       = "rpc/gateway_publish_event"
	fnClaimDelivery      = "rpc/gateway_claim_delivery"
	fnRecordAttempt      = "rpc/gateway_record_attempt"
	fnCreateTestDelivery = "rpc/gateway_create_test_delivery"
	fnRetryDelivery      = "rpc/gateway_retry_delivery"
	fnListDeliveryLog    = "rpc/gateway_list_delivery_log"
)

// Answers of gateway_record_attempt.
const (
	recordAnswerRecorded = "recorded"
	recordAnswerNotFound = "not_found"
	recordAnswerStale    = "stale"
)

// oldestFirst orders ascending with NULLS LAST, which is what ASC means by
// default ("next_attempt_at.asc.nullslast").
var oldestFirst = &postgrest.OrderOpts{Ascending: true, NullsFirst: false}

// publishArgs are the named arguments of gateway_publish_event. Data travels
// as a JSON string holding the event's bytes, which the text column keeps
// exactly.
type publishArgs struct {
	ID          string `json:"p_id"`
	WorkspaceID string `json:"p_workspace_id"`
	Type        string `json:"p_type"`
	Data        string `json:"p_data"`
	CreatedAt   string `json:"p_created_at"`
}

// claimArgs are the named arguments of gateway_claim_delivery.
type claimArgs struct {
	ID      string `json:"p_id"`
	Now     string `json:"p_now"`
	LeaseMS int64  `json:"p_lease_ms"`
}

// recordArgs are the named arguments of gateway_record_attempt. Nil pointers
// are sent as JSON null (SQL null).
type recordArgs struct {
	ID                 *string `json:"p_id"`
	WorkspaceID        string  `json:"p_workspace_id"`
	WebhookID          string  `json:"p_webhook_id"`
	DeliveryID         string  `json:"p_delivery_id"`
	Attempt            int     `json:"p_attempt"`
	Status             string  `json:"p_status"`
	ResponseStatusCode *int    `json:"p_response_status_code"`
	ResponseBody       string  `json:"p_response_body"`
	DurationMS         int     `json:"p_duration_ms"`
	Error              *string `json:"p_error"`
	DeliveredAt        string  `json:"p_delivered_at"`
	NextAttemptAt      *string `json:"p_next_attempt_at"`
	DisableAfterMS     int64   `json:"p_disable_after_ms"`
}

// testDeliveryArgs are the named arguments of gateway_create_test_delivery.
type testDeliveryArgs struct {
	EventID     string `json:"p_event_id"`
	WorkspaceID string `json:"p_workspace_id"`
	Type        string `json:"p_type"`
	Data        string `json:"p_data"`
	CreatedAt   string `json:"p_created_at"`
	WebhookID   string `json:"p_webhook_id"`
}

// retryArgs are the named arguments of gateway_retry_delivery.
type retryArgs struct {
	WorkspaceID string `json:"p_workspace_id"`
	WebhookID   string `json:"p_webhook_id"`
	ID          string `json:"p_id"`
	Now         string `json:"p_now"`
}

// isNull reports whether a function's answer is JSON null (SQL null).
func isNull(body []byte) bool {
	var v any
	return json.Unmarshal(body, &v) == nil && v == nil
}

// PublishEvent calls gateway_publish_event through
// POST /rest/v1/rpc/gateway_publish_event: the function stores the event and
// one pending delivery for every active webhook of the workspace subscribed
// to its type, in one transaction, unless the workspace has the event
// already, and returns the event's deliveries by id. A zero CreatedAt means
// the current time. Ids that are not UUIDs are refused without a request.
func (s *Store) PublishEvent(ctx context.Context, ev delivery.Event) ([]delivery.Delivery, bool, error) {
	const op = "publish event"
	id, ok := canonicalUUID(ev.ID)
	if !ok {
		return nil, false, s.failf(op, "the event id %q is not a UUID", ev.ID)
	}
	ws, ok := canonicalUUID(ev.WorkspaceID)
	if !ok {
		return nil, false, s.failf(op, "the workspace id %q is not a UUID", ev.WorkspaceID)
	}
	createdAt := orNow(ev.CreatedAt)
	body, err := s.rpc(ctx, fnPublishEvent, publishArgs{
		ID: id, WorkspaceID: ws, Type: ev.Type, Data: string(ev.Data), CreatedAt: formatTime(createdAt),
	})
	if err != nil {
		return nil, false, s.mapError(op, err, errMap{})
	}
	deliveries, created, err := sqldoc.DecodePublish(body)
	if err != nil {
		return nil, false, s.failf(op, "%v", err)
	}
	return deliveries, created, nil
}

// ClaimDelivery calls gateway_claim_delivery through
// POST /rest/v1/rpc/gateway_claim_delivery, whose single UPDATE leases the
// delivery if it is pending, due and not leased, or cancels it if its webhook
// is inactive and it is not a test. A null answer, and an id that is not a
// UUID (without a request), are delivery.ErrNotClaimed. A zero now means the
// current time; the lease is sent in whole milliseconds, and under one is
// refused by the function.
func (s *Store) ClaimDelivery(ctx context.Context, id string, now time.Time, lease time.Duration) (*delivery.Claim, error) {
	const op = "claim delivery"
	did, ok := canonicalUUID(id)
	if !ok {
		return nil, wrapSentinel(op, delivery.ErrNotClaimed)
	}
	now = orNow(now)
	body, err := s.rpc(ctx, fnClaimDelivery, claimArgs{ID: did, Now: formatTime(now), LeaseMS: lease.Milliseconds()})
	if err != nil {
		return nil, s.mapError(op, err, errMap{notFound: delivery.ErrNotClaimed})
	}
	if isNull(body) {
		return nil, wrapSentinel(op, delivery.ErrNotClaimed)
	}
	c, err := sqldoc.DecodeClaim(body)
	if err != nil {
		return nil, s.failf(op, "%v", err)
	}
	return c, nil
}

// RecordAttempt calls gateway_record_attempt through
// POST /rest/v1/rpc/gateway_record_attempt, which stores the attempt and
// applies the outcome to the delivery and the webhook in one transaction.
// The answer "not_found" (and ids that are not UUIDs, without a request) is
// delivery.ErrNotFound; "stale" (the claim that made the attempt no longer
// holds the delivery; the attempt is logged but changes nothing) is
// delivery.ErrNotClaimed. An empty Attempt.ID lets the database choose one;
// one that is not a UUID is refused without a request, as is a response
// body that is not valid UTF-8. A zero DeliveredAt means the current time.
func (s *Store) RecordAttempt(ctx context.Context, o delivery.Outcome) error {
	const op = "record attempt"
	a := o.Attempt
	ws, hook, did, ok := a.CanonicalIDs()
	if !ok {
		return wrapSentinel(op, delivery.ErrNotFound)
	}
	var attemptID *string
	if a.ID != "" {
		id, ok := canonicalUUID(a.ID)
		if !ok {
			return s.failf(op, "the attempt id %q is not a UUID", a.ID)
		}
		attemptID = &id
	}
	if !utf8.ValidString(a.ResponseBody) {
		// JSON cannot carry invalid UTF-8: encoding/json would silently
		// replace it with U+FFFD, storing a body other than the one given
		// where the postgres store refuses it.
		return s.failf(op, "the response body is not valid UTF-8")
	}
	deliveredAt := orNow(a.DeliveredAt)
	body, err := s.rpc(ctx, fnRecordAttempt, recordArgs{
		ID:                 attemptID,
		WorkspaceID:        ws,
		WebhookID:          hook,
		DeliveryID:         did,
		Attempt:            a.Attempt,
		Status:             a.Status,
		ResponseStatusCode: a.ResponseStatusCode,
		ResponseBody:       a.ResponseBody,
		DurationMS:         a.DurationMS,
		Error:              a.Error,
		DeliveredAt:        formatTime(deliveredAt),
		NextAttemptAt:      formatTimePtr(o.NextAttemptAt),
		DisableAfterMS:     max(o.DisableAfter.Milliseconds(), 0),
	})
	if err != nil {
		return s.mapError(op, err, errMap{notFound: delivery.ErrNotFound})
	}
	var answer string
	if err := json.Unmarshal(body, &answer); err != nil {
		return s.failf(op, "decoding the response: %v", err)
	}
	switch answer {
	case recordAnswerRecorded:
		return nil
	case recordAnswerNotFound:
		return wrapSentinel(op, delivery.ErrNotFound)
	case recordAnswerStale:
		return wrapSentinel(op, delivery.ErrNotClaimed)
	default:
		return s.failf(op, "unexpected answer %q", answer)
	}
}

// DueDeliveries returns the ids of up to limit pending deliveries due at or
// before now whose lease, if any, ended before now, by due time then id:
// GET /rest/v1/deliveries?select=id&status=eq.pending&next_attempt_at=lte.<now>
// &or=(lease_until.is.null,lease_until.lt."<now>")&order=...&limit=<limit>.
// The time is quoted inside or=(...), where "." and ":" are reserved. A
// server-side row cap may return fewer. A zero now
// means the current time.
func (s *Store) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]string, error) {
	const op = "due deliveries"
	ids := []string{}
	if limit <= 0 {
		return ids, nil
	}
	now = orNow(now)
	at := formatTime(now)

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	body, _, err := s.client.From(tableDeliveries).
		Select("id", "", false).
		Eq("status", delivery.StatusPending).
		Lte("next_attempt_at", at).
		Or(`lease_until.is.null,lease_until.lt."`+at+`"`, "").
		Order("next_attempt_at", oldestFirst).
		Order("id", oldestFirst).
		Limit(limit, "").
		ExecuteWithContext(ctx)
	if err != nil {
		return nil, s.mapError(op, err, errMap{})
	}
	rows, err := decodeRows[idRow](body)
	if err != nil {
		return nil, s.failf(op, "%v", err)
	}
	for _, r := range rows {
		ids = append(ids, r.ID)
	}
	return ids, nil
}

// CreateTestDelivery calls gateway_create_test_delivery through
// POST /rest/v1/rpc/gateway_create_test_delivery, which stores ev and a test
// delivery of it to the webhook whatever the webhook's subscriptions and
// active flag. A null answer (no such webhook in the workspace; nothing
// stored) and a webhook or workspace id that is not a UUID (without a
// request) are delivery.ErrNotFound; an event id that is not a UUID is
// refused without a request. A zero CreatedAt means the current time.
func (s *Store) CreateTestDelivery(ctx context.Context, ev delivery.Event, webhookID string) (*delivery.Delivery, error) {
	const op = "create test delivery"
	ws, hook, ok := webhookIDs(ev.WorkspaceID, webhookID)
	if !ok {
		return nil, wrapSentinel(op, delivery.ErrNotFound)
	}
	eventID, ok := canonicalUUID(ev.ID)
	if !ok {
		return nil, s.failf(op, "the event id %q is not a UUID", ev.ID)
	}
	createdAt := orNow(ev.CreatedAt)
	body, err := s.rpc(ctx, fnCreateTestDelivery, testDeliveryArgs{
		EventID: eventID, WorkspaceID: ws, Type: ev.Type, Data: string(ev.Data),
		CreatedAt: formatTime(createdAt), WebhookID: hook,
	})
	if err != nil {
		return nil, s.mapError(op, err, errMap{})
	}
	return s.oneDelivery(op, body)
}

// RetryDelivery calls gateway_retry_delivery through
// POST /rest/v1/rpc/gateway_retry_delivery, which makes the delivery pending
// and due at now whatever its status, and returns it. A null answer and ids
// that are not UUIDs (without a request) are delivery.ErrNotFound. A zero now
// means the current time.
func (s *Store) RetryDelivery(ctx context.Context, workspaceID, webhookID, deliveryID string, now time.Time) (*delivery.Delivery, error) {
	const op = "retry delivery"
	ws, hook, ok := webhookIDs(workspaceID, webhookID)
	if !ok {
		return nil, wrapSentinel(op, delivery.ErrNotFound)
	}
	did, ok := canonicalUUID(deliveryID)
	if !ok {
		return nil, wrapSentinel(op, delivery.ErrNotFound)
	}
	now = orNow(now)
	body, err := s.rpc(ctx, fnRetryDelivery, retryArgs{WorkspaceID: ws, WebhookID: hook, ID: did, Now: formatTime(now)})
	if err != nil {
		return nil, s.mapError(op, err, errMap{notFound: delivery.ErrNotFound})
	}
	return s.oneDelivery(op, body)
}

// oneDelivery decodes a function's answer that is one delivery or null (which
// is delivery.ErrNotFound).
func (s *Store) oneDelivery(op string, body []byte) (*delivery.Delivery, error) {
	if isNull(body) {
		return nil, wrapSentinel(op, delivery.ErrNotFound)
	}
	d, err := sqldoc.DecodeDelivery(body)
	if err != nil {
		return nil, s.failf(op, "%v", err)
	}
	if d.ID == "" {
		return nil, s.failf(op, "the response is not a delivery")
	}
	return d, nil
}

// listLogArgs are the named arguments of gateway_list_delivery_log.
type listLogArgs struct {
	WorkspaceID string `json:"p_workspace_id"`
	WebhookID   string `json:"p_webhook_id"`
	Status      string `json:"p_status"`
	Offset      int32  `json:"p_offset"`
	Limit       int32  `json:"p_limit"`
}

// ListAttempts calls gateway_list_delivery_log through
// POST /rest/v1/rpc/gateway_list_delivery_log, the function the postgres
// store calls too: one page of the webhook's delivery log (waiting
// deliveries' pending entries on top, then attempts, newest first, ties by
// id descending), only entries with status unless it is empty, and their
// total, from one statement. A null answer, and ids that are not UUIDs, are
// delivery.ErrNotFound. A negative offset or limit counts as zero.
func (s *Store) ListAttempts(ctx context.Context, workspaceID, webhookID, status string, offset, limit int) ([]delivery.Attempt, int, error) {
	const op = "list attempts"
	ws, hook, ok := webhookIDs(workspaceID, webhookID)
	if !ok {
		return nil, 0, wrapSentinel(op, delivery.ErrNotFound)
	}
	body, err := s.rpc(ctx, fnListDeliveryLog, listLogArgs{WorkspaceID: ws, WebhookID: hook, Status: status,
		Offset: int32(min(max(offset, 0), math.MaxInt32)), Limit: int32(min(max(limit, 0), math.MaxInt32))})
	if err != nil {
		return nil, 0, s.mapError(op, err, errMap{})
	}
	if isNull(body) {
		return nil, 0, wrapSentinel(op, delivery.ErrNotFound)
	}
	page, total, err := sqldoc.DecodeLog(body)
	if err != nil {
		return nil, 0, s.failf(op, "%v", err)
	}
	return page, total, nil
}

// DeleteAttemptsBefore removes the attempts delivered before cutoff, in every
// workspace, with DELETE /rest/v1/delivery_attempts?delivered_at=lt.<cutoff>
// and "Prefer: return=minimal,count=exact": the count comes back in
// Content-Range ("*/<n>") instead of every deleted row in the body.
func (s *Store) DeleteAttemptsBefore(ctx context.Context, cutoff time.Time) (int, error) {
	const op = "delete attempts"
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	_, n, err := s.client.From(tableAttempts).
		Delete("minimal", "exact").
		Lt("delivered_at", formatTime(cutoff)).
		ExecuteWithContext(ctx)
	if err != nil {
		return 0, s.mapError(op, err, errMap{})
	}
	return int(n), nil
}
