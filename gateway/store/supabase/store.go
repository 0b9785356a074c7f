// Package supabase stores webhooks and API keys through Supabase's REST API
// (PostgREST), for deployments that reach the database only over HTTPS with a
// service-role key.
//
// The service-role key bypasses row-level security, so the database does not
// scope anything here: every workspace-scoped query filters by workspace_id
// itself, and identifiers are validated in Go before they are put into a filter.
//
// Every call is bounded by the timeout given to New, through the context-aware
// execute methods of postgrest-go v0.0.12. Errors are mapped to the modules'
// sentinel errors in one place (mapError), and no returned error ever carries
// the service key.
package supabase

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/store/sqldoc"

	supa "github.com/supabase-community/supabase-go"

	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/gateway/webhooks"
)

// Compile-time guards: the store implements both module interfaces.
var (
	_ webhooks.Store = (*Store)(nil)
	_ apikeys.Store  = (*Store)(nil)
)

// ErrDuplicateKey means an API key with the same id or hash already exists. The
// apikeys module defines no sentinel for this case, so this package does;
// callers match it with errors.Is.
var ErrDuplicateKey = errors.New("supabase: duplicate api key")

// Table and function names as created by the migrations.
const (
	tableWebhooks = "webhooks"
	tableAPIKeys  = "api_keys"
	// The functions are addressed as "tables" of the form rpc/<function>; see
	// CreateWebhook for why.
	fnCreateWebhook       = "rpc/gateway_create_webhook"
	fnRotateWebhookSecret = "rpc/gateway_rotate_webhook_secret_if_current"
	fnCreateKey           = "rpc/gateway_create_api_key"
	fnRevokeKey           = "rpc/gateway_revoke_api_key"
	fnTouchKey            = "rpc/gateway_touch_api_key"
)

// Store is the Supabase (PostgREST) implementation of webhooks.Store and
// apikeys.Store. It is safe for concurrent use.
type Store struct {
	client  *supa.Client
	timeout time.Duration
	// secret is the service-role key, kept only to scrub it from error text.
	secret string
}

// New returns a Store that talks to the Supabase project at url (for example
// "https://abcd.supabase.co") with the service-role key, bounding every call by
// timeout. The url must be an absolute http or https URL and the timeout must
// be positive.
func New(url, serviceRoleKey string, timeout time.Duration) (*Store, error) {
	if serviceRoleKey == "" {
		return nil, errors.New("supabase: the service-role key is empty")
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("supabase: the timeout must be positive, got %s", timeout)
	}
	base, err := checkURL(url)
	if err != nil {
		return nil, err
	}
	// postgrest-go keeps a URL parse failure in a field that supabase-go never
	// looks at, and then dereferences a nil transport on the first query; the
	// check above is what keeps a bad URL from turning into a panic later.
	client, err := supa.NewClient(base, serviceRoleKey, nil)
	if err != nil {
		return nil, fmt.Errorf("supabase: creating the client: %s", scrub(err.Error(), serviceRoleKey))
	}
	return &Store{client: client, timeout: timeout, secret: serviceRoleKey}, nil
}

// checkURL validates the project URL and returns it without trailing slashes.
func checkURL(raw string) (string, error) {
	raw = strings.TrimRight(strings.TrimSpace(raw), "/")
	if raw == "" {
		return "", errors.New("supabase: the project URL is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", errors.New("supabase: the project URL does not parse")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", errors.New("supabase: the project URL must start with http:// or https://")
	}
	if u.Host == "" {
		return "", errors.New("supabase: the project URL has no host")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("supabase: the project URL must not carry credentials, a query or a fragment")
	}
	return raw, nil
}

// Ping checks that PostgREST answers and that the key can read api_keys, with a
// cheap one-row query. It is meant for readiness checks; it reads no
// workspace's data into the caller.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	_, _, err := s.client.From(tableAPIKeys).
		Select("id", "", false).
		Limit(1, "").
		ExecuteWithContext(ctx)
	return s.mapError("ping", err, errMap{})
}

// errMap names the domain error that a PostgREST/SQLSTATE code means for one
// operation; a nil field means the code is not expected there and is reported
// as a plain wrapped error.
type errMap struct {
	duplicate error // 23505 unique_violation
	limit     error // LL001 raised by gateway_create_webhook
	notFound  error // 22P02 invalid text representation, PGRST116 singular response, LL003
	inactive  error // LL002 raised by gateway_create_api_key and gateway_revoke_api_key
	conflict  error // LL004 raised by gateway_rotate_webhook_secret_if_current
}

// codeRE matches the "(CODE) message" text that postgrest-go builds from a
// PostgREST error body: a five-character SQLSTATE or a PGRSTnnn code.
var codeRE = regexp.MustCompile(`^\(([0-9A-Z]{5}|PGRST[0-9]{3})\) `)

// errorCode returns the PostgREST or SQLSTATE code in err, or "" when err is not
// a parsed PostgREST error (a transport failure, a timeout, a body that was not
// PostgREST's JSON error, such as a proxy's HTML 502 page).
func errorCode(err error) string {
	if m := codeRE.FindStringSubmatch(err.Error()); m != nil {
		return m[1]
	}
	return ""
}

// mapError is the one place where failures become the store's errors. It
// returns nil for nil; a domain sentinel (wrapped with the operation) when the
// code means one for this operation; otherwise a wrapped error with context.
// The text of the result never contains the service key, nor the query string
// of a failed request (it may hold a key hash); the chain keeps only the
// sentinel and the transport or context cause (so errors.Is works for
// context.DeadlineExceeded), never the server's raw text.
func (s *Store) mapError(op string, err error, m errMap) error {
	if err == nil {
		return nil
	}
	var sentinel error
	switch errorCode(err) {
	case "23505":
		sentinel = m.duplicate
	case "LL001":
		sentinel = m.limit
	case "22P02", "PGRST116", "LL003":
		sentinel = m.notFound
	case "LL002":
		sentinel = m.inactive
	case "LL004":
		sentinel = m.conflict
	}
	text, cause := describe(err)
	e := &storeError{}
	if sentinel != nil {
		e.msg = fmt.Sprintf("supabase: %s: %v: %s", op, sentinel, text)
		e.errs = append(e.errs, sentinel)
	} else {
		e.msg = fmt.Sprintf("supabase: %s: %s", op, text)
	}
	if cause != nil {
		e.errs = append(e.errs, cause)
	}
	e.msg = scrub(e.msg, s.secret)
	return e
}

// describe returns the text to report for err and the cause worth keeping in
// the chain. A transport failure (*url.Error) is reported by method and path,
// without the query, and its inner error (a context or network error) is kept.
// postgrest-go's response errors are flat strings: nothing to keep.
func describe(err error) (string, error) {
	var ue *url.Error
	if errors.As(err, &ue) {
		where := "request"
		if u, perr := url.Parse(ue.URL); perr == nil {
			where = u.Path
		}
		return fmt.Sprintf("%s %s: %v", ue.Op, where, ue.Err), ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return err.Error(), err
	}
	return err.Error(), nil
}

// scrub removes secret from text.
func scrub(text, secret string) string {
	if secret == "" {
		return text
	}
	return strings.ReplaceAll(text, secret, "[redacted]")
}

// storeError is the error type the store returns: a scrubbed message and the
// errors that errors.Is and errors.As may match.
type storeError struct {
	msg  string
	errs []error
}

// Error returns the scrubbed message.
func (e *storeError) Error() string { return e.msg }

// Unwrap returns the sentinel and the transport cause, if any.
func (e *storeError) Unwrap() []error { return e.errs }

// failf builds a store error for a failure detected in Go (no cause to keep).
func (s *Store) failf(op, format string, args ...any) error {
	return &storeError{msg: scrub(fmt.Sprintf("supabase: "+op+": "+format, args...), s.secret)}
}

// wrapSentinel returns sentinel wrapped with the operation, for outcomes decided
// in Go (a malformed id, an empty result).
func wrapSentinel(op string, sentinel error) error {
	return &storeError{msg: fmt.Sprintf("supabase: %s: %v", op, sentinel), errs: []error{sentinel}}
}

// canonicalUUID returns the canonical lower-case form of s if s is an id by
// gateway.CanonicalID (the one rule for store ids), and false otherwise. Only
// canonical ids go into PostgREST filters, which also rules out filter
// syntax in an id.
func canonicalUUID(s string) (string, bool) { return gateway.CanonicalID(s) }

// orNow is t, or the current time when t is zero (the stores' rule for a
// time the caller left out).
func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}

// rowIDs returns the canonical id and workspace id of a row to insert, or
// the error that refuses it, without a request, when either is not a UUID.
func (s *Store) rowIDs(op, id, workspaceID string) (string, string, error) {
	cid, ok := canonicalUUID(id)
	if !ok {
		return "", "", s.failf(op, "the id %q is not a UUID", id)
	}
	ws, ok := canonicalUUID(workspaceID)
	if !ok {
		return "", "", s.failf(op, "the workspace id %q is not a UUID", workspaceID)
	}
	return cid, ws, nil
}

// rpc calls a SQL function with args and returns the answer's body.
//
// Why not client.Rpc: in supabase-go v0.0.4 / postgrest-go v0.0.12 Rpc takes
// no context (a stuck PostgREST would hang the request) and returns the
// response body as a string whatever the HTTP status, so a 409 or an LL001
// would read as success. Instead the function goes through the query
// builder: postgrest-go joins the "table" name into the path, so
// From("rpc/gateway_create_webhook") with Insert issues
// POST /rest/v1/rpc/gateway_create_webhook with the JSON object of named
// arguments as the body, which is PostgREST's documented way to call a
// function, and ExecuteWithContext gives the deadline and the error
// statuses. (Insert also sends "Prefer: return=representation", which
// PostgREST ignores for functions; a setof function answers with a JSON
// array of rows either way.)
func (s *Store) rpc(ctx context.Context, fn string, args any) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	body, _, err := s.client.From(fn).
		Insert(args, false, "", "", "").
		ExecuteWithContext(ctx)
	return body, err
}

// createdRow decodes the answer of a function that returns the one row it
// inserted: any other number of rows is an error.
func createdRow[R any](s *Store, op string, body []byte) (R, error) {
	var row R
	rows, err := decodeRows[R](body)
	if err != nil {
		return row, s.failf(op, "%v", err)
	}
	if len(rows) != 1 {
		return row, s.failf(op, "the function returned %d rows, want 1", len(rows))
	}
	return rows[0], nil
}

// oneRow decodes an answer that holds the one row a request by a unique
// column (one what) matched: none is notFound, more than one an error.
func oneRow[R, T any](s *Store, op string, body []byte, what string, notFound error, conv func(R) T) (*T, error) {
	rows, err := decodeRows[R](body)
	if err != nil {
		return nil, s.failf(op, "%v", err)
	}
	switch len(rows) {
	case 0:
		return nil, wrapSentinel(op, notFound)
	case 1:
		v := conv(rows[0])
		return &v, nil
	default:
		return nil, s.failf(op, "%d rows for one %s", len(rows), what)
	}
}

// decodeRows unmarshals a PostgREST JSON array.
func decodeRows[T any](body []byte) ([]T, error) {
	var rows []T
	if err := json.Unmarshal(body, &rows); err != nil {
		return nil, fmt.Errorf("decoding the response: %w", err)
	}
	return rows, nil
}

// pgTime is a timestamptz as PostgREST renders it (see sqldoc.Time).
type pgTime = sqldoc.Time

// formatTime renders t for a request body: UTC, RFC 3339, truncated to the
// microseconds Postgres keeps (as pgx does), so that what is sent is what is
// stored.
func formatTime(t time.Time) string {
	return t.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
}

// formatTimePtr renders a nullable timestamp; nil becomes JSON null.
func formatTimePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := formatTime(*t)
	return &s
}
