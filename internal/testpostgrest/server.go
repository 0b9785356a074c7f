// Package testpostgrest serves the subset of PostgREST's documented HTTP
// protocol that supabase-go and postgrest-go use, over a real PostgreSQL
// database, so that the Supabase store runs the same conformance suites as
// the postgres store without a PostgREST binary (none can be installed on the
// build machines).
//
// It speaks the protocol generically, from the database's own catalog:
// GET/HEAD/POST/PATCH/DELETE on /rest/v1/<table> with select=, horizontal
// filters (eq, neq, gt, gte, lt, lte, like, ilike, match, imatch, is, in, cs,
// cd, ov, not., or=(...), and=(...)), order=, limit=, offset= and the Range
// header; the Prefer header (return=, count=, resolution=); on_conflict= and
// columns=; POST /rest/v1/rpc/<function> with named arguments; the
// single-object Accept type; db-max-rows (Options); and PostgREST's error
// bodies and statuses. A new table, column or function from a migration works
// without a change here. Not served, as the stores use none of it: resource
// embedding, casts and JSON paths in select=, GET on functions, PUT, and
// Prefer: params=single-object.
//
// Identifiers come only from the catalog (anything else is refused, as
// PostgREST refuses what is not in its schema cache) and are quoted; every
// value is a bound parameter. Requests must carry the service key the way
// supabase-go sends it (apikey and Authorization: Bearer); others get 401.
package testpostgrest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/leadlex/api-gateway/internal/testdb"
)

// restPrefix is where Supabase serves PostgREST.
const restPrefix = "/rest/v1/"

// requestTimeout bounds the database work of one request, so that a stuck
// statement fails the test instead of hanging it.
const requestTimeout = 30 * time.Second

// objectType is the Accept type that asks for one JSON object, not an array.
const objectType = "application/vnd.pgrst.object+json"

// maxBody caps a request body; the stores send small documents.
const maxBody = 10 << 20

// Server is a running PostgREST stand-in on a loopback address.
type Server struct {
	// URL is the project URL to give supabase.New ("http://127.0.0.1:port");
	// the REST API is under URL + "/rest/v1".
	URL string
	// Key is the service-role key the server accepts.
	Key string
}

// New creates a fresh database with the project's migrations (internal/testdb)
// and serves it until the test ends.
func New(tb testing.TB) *Server {
	tb.Helper()
	pool, _ := testdb.New(tb)
	return Serve(tb, pool)
}

// Options are the settings of a PostgREST deployment that change what the
// clients see.
type Options struct {
	// MaxRows caps the rows of every read, like PostgREST's db-max-rows
	// (Supabase's "Max rows" setting, 1000 by default): a larger or missing
	// limit is cut to it. Zero means no cap.
	MaxRows int64
}

// Serve serves the database behind pool with a random key until the test
// ends. The catalog is read once, here: create tables and functions first.
func Serve(tb testing.TB, pool *pgxpool.Pool) *Server {
	tb.Helper()
	return ServeWith(tb, pool, Options{})
}

// ServeWith is Serve with deployment settings.
func ServeWith(tb testing.TB, pool *pgxpool.Pool, opts Options) *Server {
	tb.Helper()
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		tb.Fatalf("testpostgrest: random key: %v", err)
	}
	key := "sb-test-" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	h, err := NewHandler(ctx, pool, key, opts)
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(h) // listens on 127.0.0.1 only
	tb.Cleanup(srv.Close)
	return &Server{URL: srv.URL, Key: key}
}

// NewHandler returns the protocol handler for the database behind pool,
// accepting only key. It reads the catalog now.
func NewHandler(ctx context.Context, pool *pgxpool.Pool, key string, opts Options) (http.Handler, error) {
	if key == "" {
		return nil, fmt.Errorf("testpostgrest: the key is empty")
	}
	cat, err := loadCatalog(ctx, pool)
	if err != nil {
		return nil, err
	}
	if opts.MaxRows < 0 {
		return nil, fmt.Errorf("testpostgrest: MaxRows must not be negative, got %d", opts.MaxRows)
	}
	return &handler{pool: pool, cat: cat, key: key, maxRows: opts.MaxRows}, nil
}

// handler serves the protocol.
type handler struct {
	pool    *pgxpool.Pool
	cat     *catalog
	key     string
	maxRows int64
}

// prefer is the parsed Prefer header.
type prefer struct {
	representation bool
	count          bool
	resolution     string // "", "merge-duplicates" or "ignore-duplicates"
}

// parsePrefer reads every Prefer header; unknown preferences are ignored,
// as PostgREST does by default.
func parsePrefer(values []string) prefer {
	var p prefer
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			k, val, _ := strings.Cut(strings.TrimSpace(item), "=")
			switch k {
			case "return":
				p.representation = val == "representation"
			case "count":
				p.count = val == "exact" || val == "planned" || val == "estimated"
			case "resolution":
				p.resolution = val
			}
		}
	}
	return p
}

// answer is a successful response.
type answer struct {
	status int
	body   []byte // nil: no body
	rng    string // Content-Range, or ""
	object bool
}

// ServeHTTP authenticates, routes and answers one request.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a, err := h.serve(r)
	if err != nil {
		err.write(w)
		return
	}
	ct := "application/json; charset=utf-8"
	if a.object {
		ct = objectType + "; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	if a.rng != "" {
		w.Header().Set("Range-Unit", "items")
		w.Header().Set("Content-Range", a.rng)
	}
	w.WriteHeader(a.status)
	if a.body != nil {
		_, _ = w.Write(a.body)
	}
}

// serve does the work of ServeHTTP.
func (h *handler) serve(r *http.Request) (*answer, *apiError) {
	if err := h.authorize(r); err != nil {
		return nil, err
	}
	for _, hdr := range []string{"Accept-Profile", "Content-Profile"} {
		if v := r.Header.Get(hdr); v != "" && v != schemaName {
			return nil, errProfile(v)
		}
	}
	rest, ok := strings.CutPrefix(r.URL.Path, restPrefix)
	if !ok {
		return nil, errNoTable(strings.TrimPrefix(r.URL.Path, "/"))
	}
	body, rerr := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if rerr != nil {
		return nil, errBody("the body could not be read")
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	pref := parsePrefer(r.Header.Values("Prefer"))
	object := slices.ContainsFunc(r.Header.Values("Accept"), func(v string) bool { return strings.Contains(v, objectType) })

	if name, ok := strings.CutPrefix(rest, "rpc/"); ok {
		if r.Method != http.MethodPost {
			return nil, errMethod()
		}
		return h.rpc(ctx, name, r.URL.Query(), body, pref, object)
	}
	rel := h.cat.relations[rest]
	if rel == nil {
		return nil, errNoTable(rest)
	}
	q, err := parseQuery(r.URL.Query(), rel)
	if err != nil {
		return nil, err
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if err := applyRange(q, r.Header.Get("Range")); err != nil {
			return nil, err
		}
		return h.read(ctx, pgx.ReadOnly, q, ident(schemaName)+"."+ident(rel.name), nil, pref, object)
	case http.MethodPost:
		return h.insert(ctx, q, body, pref, object)
	case http.MethodPatch:
		return h.update(ctx, q, body, pref, object)
	case http.MethodDelete:
		return h.delete(ctx, q, pref, object)
	default:
		return nil, errMethod()
	}
}

// authorize checks the two headers supabase-go sends with the service key:
// apikey (which Supabase's API gateway checks) and Authorization: Bearer
// (the JWT PostgREST checks). The comparisons are constant-time.
func (h *handler) authorize(r *http.Request) *apiError {
	apikey := r.Header.Get("apikey")
	if apikey == "" {
		return errUnauthorized("No API key found in request")
	}
	if subtle.ConstantTimeCompare([]byte(apikey), []byte(h.key)) != 1 {
		return errUnauthorized("Invalid API key")
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(token), []byte(h.key)) != 1 {
		return errUnauthorized("JWT invalid")
	}
	return nil
}

// applyRange applies a "Range: from-to" header (items) when the query has no
// limit or offset of its own.
func applyRange(q *query, header string) *apiError {
	if header == "" || q.limit != nil || q.offset != 0 {
		return nil
	}
	from, to, ok := strings.Cut(strings.TrimPrefix(header, "items="), "-")
	lo, err := strconv.ParseInt(from, 10, 64)
	if !ok || err != nil || lo < 0 {
		return errParse("invalid Range header %q", header)
	}
	q.offset = lo
	if to != "" {
		hi, err := strconv.ParseInt(to, 10, 64)
		if err != nil || hi < lo {
			return errParse("invalid Range header %q", header)
		}
		n := hi - lo + 1
		q.limit = &n
	}
	return nil
}

// selectTail is the end of every statement: the total, the page as a JSON
// array, and the page's size, from the CTEs _all and _page.
const selectTail = ` select (select count(*) from _all), coalesce((select json_agg(_t) from _page _t), '[]')::text, (select count(*) from _page)`

// read answers GET/HEAD on a table (in a read-only transaction, as
// PostgREST runs GET), or a function's rows (src is then the call, b holds
// its bound arguments, and the transaction may write).
func (h *handler) read(ctx context.Context, mode pgx.TxAccessMode, q *query, src string, b *binder, pref prefer, object bool) (*answer, *apiError) {
	if b == nil {
		b = &binder{}
	}
	if h.maxRows > 0 && (q.limit == nil || *q.limit > h.maxRows) {
		q.limit = &h.maxRows
	}
	stmt := "with _all as (select _r.* from " + src + " _r where " + q.whereSQL(b) + "), " +
		"_page as (select " + q.selectSQL() + " from _all _r" + q.orderSQL() + q.pageSQL(b) + ")" + selectTail
	total, n, body, err := h.run(ctx, mode, stmt, b.args, object)
	if err != nil {
		return nil, err
	}
	var totalPtr *int64
	status := http.StatusOK
	if pref.count {
		totalPtr = &total
		switch {
		case q.offset > total:
			return nil, errRange(q.offset, total)
		case n < total:
			status = http.StatusPartialContent
		}
	}
	return &answer{status: status, body: body, rng: contentRange(q.offset, n, totalPtr), object: object}, nil
}

// contentRange renders Content-Range as PostgREST does: "from-to/total",
// with "*" for an empty page and for an unknown total.
func contentRange(lower, n int64, total *int64) string {
	rng, tot := "*", "*"
	if total != nil {
		tot = strconv.FormatInt(*total, 10)
	}
	if n > 0 && (total == nil || *total != 0) {
		rng = fmt.Sprintf("%d-%d", lower, lower+n-1)
	}
	return rng + "/" + tot
}

// mutate runs a writing CTE (mut, which returns _r.*) and answers with its
// rows under return=representation, or with status none otherwise.
func (h *handler) mutate(ctx context.Context, q *query, mut string, b *binder, pref prefer, object bool, status, none int) (*answer, *apiError) {
	stmt := "with _all as (" + mut + "), _page as (select " + q.selectSQL() + " from _all _r" + q.orderSQL() + ")" + selectTail
	total, n, body, err := h.run(ctx, pgx.ReadWrite, stmt, b.args, object && pref.representation)
	if err != nil {
		return nil, err
	}
	var totalPtr *int64
	if pref.count {
		totalPtr = &total
	}
	a := &answer{status: status, body: body, rng: contentRange(0, n, totalPtr), object: object && pref.representation}
	if !pref.representation {
		a.status, a.body = none, nil
	}
	return a, nil
}

// insert answers POST on a table: one object or an array of objects with
// the same keys, inserted with json_populate_recordset so that Postgres
// converts every value to its column's type.
func (h *handler) insert(ctx context.Context, q *query, body []byte, pref prefer, object bool) (*answer, *apiError) {
	rows, keys, err := decodeObjects(body)
	if err != nil {
		return nil, err
	}
	if q.columns != nil {
		keys = q.columns
	}
	for _, k := range keys {
		if !q.rel.has(k) {
			return nil, errNoColumn(q.rel.name, k)
		}
	}
	table := ident(schemaName) + "." + ident(q.rel.name)
	b := &binder{}
	if len(rows) == 0 {
		// Nothing to insert: an empty answer, without a statement.
		return h.mutate(ctx, q, "select _r.* from "+table+" _r where false", b, pref, object, http.StatusCreated, http.StatusCreated)
	}
	cols := quoteAll(keys)
	mut := "insert into " + table + " as _r (" + cols + ") select " + cols +
		" from json_populate_recordset(null::" + table + ", " + b.bind(string(rows)) + "::json)"
	if len(keys) == 0 {
		mut = "insert into " + table + " as _r default values"
	}
	if pref.resolution == "merge-duplicates" || pref.resolution == "ignore-duplicates" {
		target := q.onConflict
		if target == nil {
			target = q.rel.pk
		}
		if len(target) == 0 {
			return nil, errParse("%s has no primary key: on_conflict is required", q.rel.name)
		}
		mut += " on conflict (" + quoteAll(target) + ")"
		sets := make([]string, 0, len(keys))
		for _, k := range keys {
			sets = append(sets, ident(k)+" = excluded."+ident(k))
		}
		if pref.resolution == "ignore-duplicates" || len(sets) == 0 {
			mut += " do nothing"
		} else {
			mut += " do update set " + strings.Join(sets, ", ")
		}
	}
	return h.mutate(ctx, q, mut+" returning _r.*", b, pref, object, http.StatusCreated, http.StatusCreated)
}

// update answers PATCH on a table: the object's keys are set on every row
// the filters match.
func (h *handler) update(ctx context.Context, q *query, body []byte, pref prefer, object bool) (*answer, *apiError) {
	if q.limit != nil || q.offset != 0 {
		return nil, errParse("limit and offset are not supported on PATCH here")
	}
	obj, keys, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	table := ident(schemaName) + "." + ident(q.rel.name)
	b := &binder{}
	if len(keys) == 0 {
		return h.mutate(ctx, q, "select _r.* from "+table+" _r where false", b, pref, object, http.StatusOK, http.StatusNoContent)
	}
	sets := make([]string, len(keys))
	for i, k := range keys {
		if !q.rel.has(k) {
			return nil, errNoColumn(q.rel.name, k)
		}
		sets[i] = ident(k) + " = _p." + ident(k)
	}
	mut := "update " + table + " as _r set " + strings.Join(sets, ", ") +
		" from json_populate_record(null::" + table + ", " + b.bind(string(obj)) + "::json) _p" +
		" where " + q.whereSQL(b) + " returning _r.*"
	return h.mutate(ctx, q, mut, b, pref, object, http.StatusOK, http.StatusNoContent)
}

// delete answers DELETE on a table.
func (h *handler) delete(ctx context.Context, q *query, pref prefer, object bool) (*answer, *apiError) {
	if q.limit != nil || q.offset != 0 {
		return nil, errParse("limit and offset are not supported on DELETE here")
	}
	b := &binder{}
	mut := "delete from " + ident(schemaName) + "." + ident(q.rel.name) + " as _r where " + q.whereSQL(b) + " returning _r.*"
	return h.mutate(ctx, q, mut, b, pref, object, http.StatusOK, http.StatusNoContent)
}

// rpc answers POST /rpc/<name>: the body's keys are the named arguments,
// converted to the argument types by json_to_record and passed in named
// notation. A function returning rows answers like a table read (filters,
// order and limits apply; one object for a non-setof composite); a scalar
// answers with its JSON value (null for SQL null), and a setof scalar with
// an array.
func (h *handler) rpc(ctx context.Context, name string, params url.Values, body []byte, pref prefer, object bool) (*answer, *apiError) {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	obj, keys, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	f := h.cat.resolve(name, keys)
	if f == nil {
		return nil, errNoFunction(name, keys)
	}
	b := &binder{}
	call, from := f.call(keys, b, obj)
	if f.rows != nil {
		q, err := parseQuery(params, f.rows)
		if err != nil {
			return nil, err
		}
		src := "(select _f.* from " + from + call + " _f)"
		a, err := h.read(ctx, pgx.ReadWrite, q, src, b, pref, object || !f.setof)
		if err != nil {
			return nil, err
		}
		a.status = http.StatusOK
		a.object = object
		if !f.setof {
			a.rng = ""
		}
		return a, nil
	}
	stmt := "select 1::bigint, to_json(" + call + ")::text, 1::bigint"
	if from != "" {
		stmt = "select 1::bigint, to_json(" + call + ")::text, 1::bigint from " + strings.TrimSuffix(from, " cross join lateral ")
	}
	if f.setof {
		stmt = "select count(*), coalesce(json_agg(_f.v), '[]')::text, count(*) from " + from + call + " as _f(v)"
	}
	_, _, out, err := h.run(ctx, pgx.ReadWrite, stmt, b.args, false)
	if err != nil {
		return nil, err
	}
	return &answer{status: http.StatusOK, body: out}, nil
}

// call renders the function call with the given named arguments and the
// FROM clause that types them ("" when there are none). The arguments are one
// bound JSON object.
func (f *function) call(keys []string, b *binder, obj []byte) (call, from string) {
	call = ident(schemaName) + "." + ident(f.name) + "("
	if len(keys) == 0 {
		return call + ")", ""
	}
	defs := make([]string, len(keys))
	named := make([]string, len(keys))
	for i, k := range keys {
		for _, a := range f.args {
			if a.name == k {
				defs[i] = ident(k) + " " + a.typ
			}
		}
		named[i] = ident(k) + " => _a." + ident(k)
	}
	from = "json_to_record(" + b.bind(string(obj)) + "::json) as _a(" + strings.Join(defs, ", ") + ") cross join lateral "
	return call + strings.Join(named, ", ") + ")", from
}

// run executes stmt, which yields (total, page as JSON, page size), in one
// transaction, as PostgREST runs each request. When object is set, the
// page must hold exactly one row (else 406, and the transaction rolls back)
// and the answer is that row.
func (h *handler) run(ctx context.Context, mode pgx.TxAccessMode, stmt string, args []any, object bool) (total, n int64, body []byte, ae *apiError) {
	tx, err := h.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: mode})
	if err != nil {
		return 0, 0, nil, fromDB(err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var page *string
	if err := tx.QueryRow(ctx, stmt, args...).Scan(&total, &page, &n); err != nil {
		return 0, 0, nil, fromDB(err)
	}
	body = []byte("null")
	if page != nil {
		body = []byte(*page)
	}
	if object {
		if n != 1 {
			return 0, 0, nil, errSingular(n)
		}
		var rows []json.RawMessage
		if err := json.Unmarshal(body, &rows); err != nil || len(rows) != 1 {
			return 0, 0, nil, pgrst(http.StatusInternalServerError, "XX000", "the page is not one row", "")
		}
		body = rows[0]
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, 0, nil, fromDB(err)
	}
	return total, n, body, nil
}

// decodeObject checks that body is one JSON object and returns it with its
// keys, sorted.
func decodeObject(body []byte) ([]byte, []string, *apiError) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return nil, nil, errBody("the body must be a JSON object")
	}
	return body, sortedKeys(m), nil
}

// decodeObjects checks that body is an object or an array of objects with
// the same keys, and returns it as an array with the keys, sorted.
func decodeObjects(body []byte) ([]byte, []string, *apiError) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		trimmed = append(append([]byte("["), trimmed...), ']')
	}
	var rows []map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &rows); err != nil {
		return nil, nil, errBody("the body must be a JSON object or an array of objects")
	}
	if len(rows) == 0 {
		return nil, nil, nil
	}
	keys := sortedKeys(rows[0])
	for _, row := range rows[1:] {
		if !slices.Equal(sortedKeys(row), keys) {
			return nil, nil, errBody("All object keys must match")
		}
	}
	return trimmed, keys, nil
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// quoteAll quotes and joins column names.
func quoteAll(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = ident(c)
	}
	return strings.Join(q, ", ")
}
