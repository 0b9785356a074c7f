package testpostgrest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	postgrest "github.com/supabase-community/postgrest-go"

	"github.com/leadlex/api-gateway/internal/testdb"
)

// fixtureSQL is a schema that exercises the protocol's pieces: every column
// kind the filters treat differently, a foreign key, and functions of each
// return shape.
const fixtureSQL = `
create table tp_items (
    id         int primary key,
    name       text not null,
    tag        text,
    score      numeric,
    active     boolean not null default true,
    tags       text[] not null default '{}',
    created_at timestamptz not null default '2026-01-01T00:00:00Z',
    constraint tp_items_name_check check (name <> '')
);
insert into tp_items (id, name, tag, score, active, tags, created_at) values
    (1, 'apple',  'fruit', 3,    true,  '{red,green}', '2026-01-01T10:00:00Z'),
    (2, 'banana', 'fruit', null, true,  '{yellow}',    '2026-01-02T10:00:00Z'),
    (3, 'a,b',    null,    5,    false, '{}',          '2026-01-03T10:00:00Z'),
    (4, 'Apricot', 'fruit', 1,   false, '{orange}',    '2026-01-04T10:00:00Z'),
    (5, 'carrot', 'veg',   4,    true,  '{orange}',    '2026-01-05T10:00:00Z');
create table tp_children (
    id      int primary key,
    item_id int not null references tp_items (id)
);
create function tp_add(a int, b int default 10) returns int language sql as 'select a + b';
create function tp_items_over(p_min int) returns setof tp_items language sql as
    'select * from tp_items where id > p_min';
create function tp_doc(p_name text, p_tags text[]) returns jsonb language sql as
    $$select jsonb_build_object('name', p_name, 'tags', p_tags)$$;
create function tp_nothing() returns jsonb language sql as 'select null::jsonb';
create function tp_ids() returns setof int language sql as 'select generate_series(1, 3)';
create function tp_pair(p_x int, out x int, out y text) language sql as $$select p_x, 'y' || p_x$$;
create function tp_fail(p_msg text) returns void language plpgsql as
    $$begin raise exception '%', p_msg; end$$;
create function tp_custom() returns int language plpgsql as
    $$begin raise exception 'limit reached' using errcode = 'LL001'; end$$;
create function tp_insert(p_id int, p_name text) returns setof tp_items language sql as
    'insert into tp_items (id, name) values (p_id, p_name) returning *';
`

// fixture is a server over a fresh database holding fixtureSQL.
type fixture struct {
	t   *testing.T
	srv *Server
}

// newFixture creates the database and serves it.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWith(t, "", Options{})
}

// newFixtureWith creates the database with extra SQL after fixtureSQL and
// serves it with opts.
func newFixtureWith(t *testing.T, extraSQL string, opts Options) *fixture {
	t.Helper()
	pool, _ := testdb.NewEmpty(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := pool.Exec(ctx, fixtureSQL+extraSQL); err != nil {
		t.Fatalf("creating the fixture: %v", err)
	}
	return &fixture{t: t, srv: ServeWith(t, pool, opts)}
}

// reply is what the server answered.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// pgError decodes an error body.
func (r reply) pgError(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("error body %q is not JSON: %v", r.body, err)
	}
	for _, k := range []string{"code", "message", "details", "hint"} {
		if _, ok := m[k]; !ok {
			t.Errorf("error body %s has no %q", r.body, k)
		}
	}
	return m
}

// do sends one request with the service key the way supabase-go does, plus
// the headers in hdr ("" values remove a header).
func (f *fixture) do(method, path, query, body string, hdr map[string]string) reply {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u := f.srv.URL + "/rest/v1/" + path
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("apikey", f.srv.Key)
	req.Header.Set("Authorization", "Bearer "+f.srv.Key)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

// ids decodes a JSON array of rows and returns their ids in order.
func ids(t *testing.T, body []byte) []int {
	t.Helper()
	var rows []struct {
		ID int `json:"id"`
	}
	if err := json.Unmarshal(body, &rows); err != nil {
		t.Fatalf("body %q is not an array of rows: %v", body, err)
	}
	out := []int{}
	for _, r := range rows {
		out = append(out, r.ID)
	}
	return out
}

func TestFilters(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	q := url.QueryEscape
	tests := []struct {
		name  string
		query string
		want  []int
	}{
		{"eq", "id=eq.2", []int{2}},
		{"neq", "id=neq.2", []int{1, 3, 4, 5}},
		{"gt", "id=gt.3", []int{4, 5}},
		{"gte", "id=gte.3", []int{3, 4, 5}},
		{"lt", "id=lt.3", []int{1, 2}},
		{"lte", "id=lte.3", []int{1, 2, 3}},
		{"numeric", "score=gte.4", []int{3, 5}},
		{"timestamp", "created_at=lt." + q("2026-01-03T10:00:00+00:00"), []int{1, 2}},
		{"is null", "tag=is.null", []int{3}},
		{"not is null", "tag=not.is.null", []int{1, 2, 4, 5}},
		{"is true", "active=is.true", []int{1, 2, 5}},
		{"is false", "active=is.false", []int{3, 4}},
		{"in", "id=in.(1,3,5)", []int{1, 3, 5}},
		{"in with a quoted comma", "name=in." + q(`("a,b",carrot)`), []int{3, 5}},
		{"empty in", "id=in.()", []int{}},
		{"not in", "id=not.in.(1,2)", []int{3, 4, 5}},
		{"like", "name=like." + q("*an*"), []int{2}},
		{"like is case-sensitive", "name=like." + q("A*"), []int{4}},
		{"ilike", "name=ilike." + q("AP*"), []int{1, 4}},
		{"not like", "name=not.like." + q("*a*"), []int{4}},
		{"array contains", "tags=cs." + q("{orange}"), []int{4, 5}},
		{"array overlaps", "tags=ov." + q("{red,yellow}"), []int{1, 2}},
		{"two filters on one column", "id=gt.1&id=lt.4", []int{2, 3}},
		{"or", "or=" + q("(id.eq.1,id.eq.5)"), []int{1, 5}},
		{"or with nested and", "or=" + q("(id.eq.1,and(id.gte.4,active.is.false))"), []int{1, 4}},
		{"not.or", "not.or=" + q("(id.eq.1,id.eq.2)"), []int{3, 4, 5}},
		{"and", "and=" + q("(id.gt.1,id.lt.4)"), []int{2, 3}},
		{"or with a quoted timestamp", "or=" + q(`(tag.is.null,created_at.lt."2026-01-02T00:00:00+00:00")`), []int{1, 3}},
		{"or with a quoted comma", "or=" + q(`(name.eq."a,b",id.eq.5)`), []int{3, 5}},
		{"or with not", "or=" + q("(id.not.lte.4,tag.eq.veg)"), []int{5}},
		{"filter and or together", "active=is.true&or=" + q("(tag.eq.veg,score.is.null)"), []int{2, 5}},
		{"a value is never SQL", "name=eq." + q("x'); drop table tp_items; --"), []int{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(http.MethodGet, "tp_items", "select=id&order=id.asc&"+tc.query, "", nil)
			if r.status != http.StatusOK {
				t.Fatalf("status %d, body %s", r.status, r.body)
			}
			if got := ids(t, r.body); !slices.Equal(got, tc.want) {
				t.Errorf("ids = %v, want %v", got, tc.want)
			}
		})
	}
	if r := f.do(http.MethodGet, "tp_items", "select=id", "", nil); len(ids(t, r.body)) != 5 {
		t.Errorf("the table lost rows: %s", r.body)
	}
}

func TestSelectOrderAndRange(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name   string
		query  string
		header map[string]string
		want   []int
	}{
		{"desc nulls last", "order=score.desc.nullslast,id.asc", nil, []int{3, 5, 1, 4, 2}},
		{"desc nulls first", "order=score.desc.nullsfirst", nil, []int{2, 3, 5, 1, 4}},
		{"asc nulls first", "order=score.asc.nullsfirst", nil, []int{2, 4, 1, 5, 3}},
		{"two keys", "order=active.asc,id.desc", nil, []int{4, 3, 5, 2, 1}},
		{"limit", "order=id.asc&limit=2", nil, []int{1, 2}},
		{"offset", "order=id.asc&limit=2&offset=3", nil, []int{4, 5}},
		{"limit zero", "order=id.asc&limit=0", nil, []int{}},
		{"range header", "order=id.asc", map[string]string{"Range": "1-2"}, []int{2, 3}},
		{"open range header", "order=id.asc", map[string]string{"Range": "3-"}, []int{4, 5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(http.MethodGet, "tp_items", "select=id&"+tc.query, "", tc.header)
			if r.status != http.StatusOK {
				t.Fatalf("status %d, body %s", r.status, r.body)
			}
			if got := ids(t, r.body); !slices.Equal(got, tc.want) {
				t.Errorf("ids = %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("columns and renames", func(t *testing.T) {
		r := f.do(http.MethodGet, "tp_items", "select=id,label:name&id=eq.1", "", nil)
		var rows []map[string]any
		if err := json.Unmarshal(r.body, &rows); err != nil || len(rows) != 1 {
			t.Fatalf("body %s: %v", r.body, err)
		}
		if len(rows[0]) != 2 || rows[0]["label"] != "apple" || rows[0]["id"] != float64(1) {
			t.Errorf("row = %v, want only id 1 and label apple", rows[0])
		}
	})
	t.Run("every column by default", func(t *testing.T) {
		r := f.do(http.MethodGet, "tp_items", "id=eq.1", "", nil)
		var rows []map[string]any
		if err := json.Unmarshal(r.body, &rows); err != nil || len(rows) != 1 {
			t.Fatalf("body %s: %v", r.body, err)
		}
		if len(rows[0]) != 7 || rows[0]["created_at"] != "2026-01-01T10:00:00+00:00" {
			t.Errorf("row = %v, want 7 columns and created_at as PostgREST renders it", rows[0])
		}
	})
}

func TestCount(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	exact := map[string]string{"Prefer": "count=exact"}
	tests := []struct {
		name      string
		method    string
		query     string
		header    map[string]string
		status    int
		rng       string
		wantBody  bool
		wantCount int
	}{
		{"whole table", http.MethodGet, "order=id.asc", exact, 200, "0-4/5", true, 5},
		{"a page is partial content", http.MethodGet, "order=id.asc&limit=2&offset=1", exact, 206, "1-2/5", true, 2},
		{"offset at the end", http.MethodGet, "order=id.asc&offset=5", exact, 206, "*/5", true, 0},
		{"filtered", http.MethodGet, "tag=eq.fruit", exact, 200, "0-2/3", true, 3},
		{"nothing matches", http.MethodGet, "tag=eq.none", exact, 200, "*/0", true, 0},
		{"no count asked", http.MethodGet, "order=id.asc&limit=2", nil, 200, "0-1/*", true, 2},
		{"head", http.MethodHead, "tag=eq.fruit", exact, 200, "0-2/3", false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(tc.method, "tp_items", "select=id&"+tc.query, "", tc.header)
			if r.status != tc.status {
				t.Errorf("status %d, want %d (body %s)", r.status, tc.status, r.body)
			}
			if got := r.header.Get("Content-Range"); got != tc.rng {
				t.Errorf("Content-Range %q, want %q", got, tc.rng)
			}
			if !tc.wantBody {
				if len(r.body) != 0 {
					t.Errorf("HEAD answered with a body: %s", r.body)
				}
				return
			}
			if got := len(ids(t, r.body)); got != tc.wantCount {
				t.Errorf("%d rows, want %d", got, tc.wantCount)
			}
		})
	}

	t.Run("offset past the end", func(t *testing.T) {
		r := f.do(http.MethodGet, "tp_items", "offset=6", "", exact)
		if r.status != http.StatusRequestedRangeNotSatisfiable {
			t.Fatalf("status %d, want 416 (body %s)", r.status, r.body)
		}
		if e := r.pgError(t); e["code"] != "PGRST103" {
			t.Errorf("code = %v, want PGRST103", e["code"])
		}
	})
	t.Run("offset past the end without count", func(t *testing.T) {
		if r := f.do(http.MethodGet, "tp_items", "offset=6", "", nil); r.status != 200 || string(r.body) != "[]" {
			t.Errorf("status %d body %s, want 200 []", r.status, r.body)
		}
	})
}

func TestWrites(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	repr := map[string]string{"Prefer": "return=representation"}

	t.Run("insert returns the stored row with defaults", func(t *testing.T) {
		r := f.do(http.MethodPost, "tp_items", "", `{"id":10,"name":"kiwi","tags":["green"]}`, repr)
		if r.status != http.StatusCreated {
			t.Fatalf("status %d, body %s", r.status, r.body)
		}
		var rows []map[string]any
		if err := json.Unmarshal(r.body, &rows); err != nil || len(rows) != 1 {
			t.Fatalf("body %s: %v", r.body, err)
		}
		if rows[0]["active"] != true || rows[0]["created_at"] != "2026-01-01T00:00:00+00:00" || rows[0]["tag"] != nil {
			t.Errorf("row = %v, want the column defaults", rows[0])
		}
	})
	t.Run("minimal insert has no body", func(t *testing.T) {
		r := f.do(http.MethodPost, "tp_items", "", `{"id":11,"name":"fig"}`, map[string]string{"Prefer": "return=minimal"})
		if r.status != http.StatusCreated || len(r.body) != 0 {
			t.Errorf("status %d body %q, want 201 and none", r.status, r.body)
		}
	})
	t.Run("bulk insert", func(t *testing.T) {
		r := f.do(http.MethodPost, "tp_items", "select=id", `[{"id":12,"name":"a"},{"id":13,"name":"b"}]`, repr)
		if got := ids(t, r.body); r.status != 201 || !slices.Equal(got, []int{12, 13}) {
			t.Errorf("status %d ids %v, want 201 [12 13]", r.status, got)
		}
	})
	t.Run("upsert merges duplicates", func(t *testing.T) {
		r := f.do(http.MethodPost, "tp_items", "on_conflict=id&select=id,name", `{"id":12,"name":"merged"}`,
			map[string]string{"Prefer": "return=representation,resolution=merge-duplicates"})
		if r.status != 201 || !strings.Contains(string(r.body), `"merged"`) {
			t.Errorf("status %d body %s, want the merged row", r.status, r.body)
		}
	})
	t.Run("upsert ignores duplicates", func(t *testing.T) {
		r := f.do(http.MethodPost, "tp_items", "", `{"id":12,"name":"ignored"}`,
			map[string]string{"Prefer": "return=representation,resolution=ignore-duplicates"})
		if r.status != 201 || string(r.body) != "[]" {
			t.Errorf("status %d body %s, want 201 []", r.status, r.body)
		}
	})
	t.Run("update with filters", func(t *testing.T) {
		r := f.do(http.MethodPatch, "tp_items", "select=id&id=in.(12,13)&order=id.asc", `{"tag":"bulk","score":7.5}`,
			map[string]string{"Prefer": "return=representation,count=exact"})
		if got := ids(t, r.body); r.status != 200 || !slices.Equal(got, []int{12, 13}) {
			t.Errorf("status %d ids %v, want 200 [12 13]", r.status, got)
		}
		if got := r.header.Get("Content-Range"); got != "0-1/2" {
			t.Errorf("Content-Range %q, want 0-1/2", got)
		}
		check := f.do(http.MethodGet, "tp_items", "select=id&tag=eq.bulk&score=eq.7.5", "", nil)
		if got := ids(t, check.body); len(got) != 2 {
			t.Errorf("updated rows %v, want 2", got)
		}
	})
	t.Run("update that matches nothing", func(t *testing.T) {
		r := f.do(http.MethodPatch, "tp_items", "id=eq.999", `{"tag":"x"}`, repr)
		if r.status != 200 || string(r.body) != "[]" {
			t.Errorf("status %d body %s, want 200 []", r.status, r.body)
		}
	})
	t.Run("minimal update", func(t *testing.T) {
		r := f.do(http.MethodPatch, "tp_items", "id=eq.11", `{"tag":"x"}`, nil)
		if r.status != http.StatusNoContent || len(r.body) != 0 {
			t.Errorf("status %d body %q, want 204", r.status, r.body)
		}
	})
	t.Run("delete counts", func(t *testing.T) {
		r := f.do(http.MethodDelete, "tp_items", "id=gte.10", "", map[string]string{"Prefer": "return=minimal,count=exact"})
		if r.status != http.StatusNoContent || r.header.Get("Content-Range") != "0-3/4" {
			t.Errorf("status %d Content-Range %q, want 204 and 0-3/4", r.status, r.header.Get("Content-Range"))
		}
		if got := ids(t, f.do(http.MethodGet, "tp_items", "select=id&id=gte.10", "", nil).body); len(got) != 0 {
			t.Errorf("rows %v remain", got)
		}
	})
	t.Run("single object", func(t *testing.T) {
		r := f.do(http.MethodGet, "tp_items", "select=id,name&id=eq.1", "", map[string]string{"Accept": objectType})
		if r.status != 200 || compact(t, r.body) != `{"id":1,"name":"apple"}` {
			t.Errorf("status %d body %s, want the one object", r.status, r.body)
		}
		r = f.do(http.MethodGet, "tp_items", "id=gt.1", "", map[string]string{"Accept": objectType})
		if e := r.pgError(t); r.status != http.StatusNotAcceptable || e["code"] != "PGRST116" {
			t.Errorf("status %d code %v, want 406 PGRST116", r.status, e["code"])
		}
	})
	t.Run("single object rolls a write back", func(t *testing.T) {
		r := f.do(http.MethodPatch, "tp_items", "id=lte.2", `{"tag":"rolled"}`,
			map[string]string{"Accept": objectType, "Prefer": "return=representation"})
		if r.status != http.StatusNotAcceptable {
			t.Errorf("status %d, want 406 (body %s)", r.status, r.body)
		}
		if got := ids(t, f.do(http.MethodGet, "tp_items", "tag=eq.rolled", "", nil).body); len(got) != 0 {
			t.Errorf("rows %v were updated by a refused request", got)
		}
	})
}

func TestRPC(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name   string
		fn     string
		query  string
		body   string
		status int
		want   string
	}{
		{"scalar", "tp_add", "", `{"a":1,"b":2}`, 200, `3`},
		{"default argument", "tp_add", "", `{"a":1}`, 200, `11`},
		{"jsonb with an array argument", "tp_doc", "", `{"p_name":"x","p_tags":["a","b"]}`, 200, `{"name": "x", "tags": ["a", "b"]}`},
		{"null", "tp_nothing", "", ``, 200, `null`},
		{"setof scalar", "tp_ids", "", `{}`, 200, `[1,2,3]`},
		{"out parameters give one object", "tp_pair", "", `{"p_x":4}`, 200, `{"x":4,"y":"y4"}`},
		{"setof rows", "tp_items_over", "select=id&order=id.desc", `{"p_min":3}`, 200, `[{"id":5},{"id":4}]`},
		{"setof rows with a filter", "tp_items_over", "select=id&id=eq.5", `{"p_min":3}`, 200, `[{"id":5}]`},
		{"a function may write", "tp_insert", "select=id,name", `{"p_id":20,"p_name":"new"}`, 200, `[{"id":20,"name":"new"}]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(http.MethodPost, "rpc/"+tc.fn, tc.query, tc.body, map[string]string{"Prefer": "return=representation"})
			if r.status != tc.status || compact(t, r.body) != compact(t, []byte(tc.want)) {
				t.Errorf("status %d body %s, want %d %s", r.status, r.body, tc.status, tc.want)
			}
		})
	}
	if got := ids(t, f.do(http.MethodGet, "tp_items", "id=eq.20", "", nil).body); len(got) != 1 {
		t.Errorf("tp_insert's row was not committed: %v", got)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name           string
		method, path   string
		query, body    string
		header         map[string]string
		status         int
		code           string
		messageContain string
	}{
		{"unknown table", "GET", "nope", "", "", nil, 404, "PGRST205", "nope"},
		{"unknown function", "POST", "rpc/nope", "", `{}`, nil, 404, "PGRST202", "nope"},
		{"missing argument", "POST", "rpc/tp_add", "", `{"b":1}`, nil, 404, "PGRST202", "tp_add"},
		{"unknown argument", "POST", "rpc/tp_add", "", `{"a":1,"c":2}`, nil, 404, "PGRST202", "tp_add"},
		{"GET on a function", "GET", "rpc/tp_add", "a=1", "", nil, 405, "PGRST101", ""},
		{"raise exception", "POST", "rpc/tp_fail", "", `{"p_msg":"no way"}`, nil, 400, "P0001", "no way"},
		{"custom SQLSTATE", "POST", "rpc/tp_custom", "", `{}`, nil, 400, "LL001", "limit reached"},
		{"unknown filter column", "GET", "tp_items", "nope=eq.1", "", nil, 400, "42703", "nope"},
		{"unknown select column", "GET", "tp_items", "select=id,nope", "", nil, 400, "42703", "nope"},
		{"unknown order column", "GET", "tp_items", "order=nope.asc", "", nil, 400, "42703", "nope"},
		{"unknown column inside or", "GET", "tp_items", "or=(id.eq.1,nope.eq.2)", "", nil, 400, "42703", "nope"},
		{"unknown operator", "GET", "tp_items", "id=equals.1", "", nil, 400, "PGRST100", ""},
		{"no operator", "GET", "tp_items", "id=1", "", nil, 400, "PGRST100", ""},
		{"bad is value", "GET", "tp_items", "tag=is.maybe", "", nil, 400, "PGRST100", ""},
		{"bad limit", "GET", "tp_items", "limit=-1", "", nil, 400, "PGRST100", ""},
		{"bad ordering", "GET", "tp_items", "order=id.sideways", "", nil, 400, "PGRST100", ""},
		{"value of the wrong type", "GET", "tp_items", "id=eq.abc", "", nil, 400, "22P02", "abc"},
		{"duplicate key", "POST", "tp_items", "", `{"id":1,"name":"again"}`, nil, 409, "23505", "tp_items_pkey"},
		{"foreign key", "POST", "tp_children", "", `{"id":1,"item_id":999}`, nil, 409, "23503", "tp_children"},
		{"check constraint", "POST", "tp_items", "", `{"id":30,"name":""}`, nil, 400, "23514", "tp_items_name_check"},
		{"not null", "POST", "tp_items", "", `{"id":31}`, nil, 400, "23502", "name"},
		{"unknown insert column", "POST", "tp_items", "", `{"id":32,"name":"x","nope":1}`, nil, 400, "PGRST204", "nope"},
		{"keys that differ", "POST", "tp_items", "", `[{"id":33,"name":"x"},{"id":34}]`, nil, 400, "PGRST102", ""},
		{"body not JSON", "POST", "tp_items", "", `{"id":`, nil, 400, "PGRST102", ""},
		{"patch body not an object", "PATCH", "tp_items", "id=eq.1", `[1]`, nil, 400, "PGRST102", ""},
		{"unknown patch column", "PATCH", "tp_items", "id=eq.1", `{"nope":1}`, nil, 400, "PGRST204", "nope"},
		{"other schema", "GET", "tp_items", "", "", map[string]string{"Accept-Profile": "private"}, 406, "PGRST106", "private"},
		{"no apikey", "GET", "tp_items", "", "", map[string]string{"apikey": ""}, 401, "PGRST301", ""},
		{"wrong apikey", "GET", "tp_items", "", "", map[string]string{"apikey": "guess"}, 401, "PGRST301", ""},
		{"no bearer token", "GET", "tp_items", "", "", map[string]string{"Authorization": ""}, 401, "PGRST301", ""},
		{"wrong bearer token", "GET", "tp_items", "", "", map[string]string{"Authorization": "Bearer guess"}, 401, "PGRST301", ""},
		{"bearer without the scheme", "GET", "tp_items", "", "", map[string]string{"Authorization": "KEY"}, 401, "PGRST301", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdr := tc.header
			if v, ok := hdr["Authorization"]; ok && v == "KEY" {
				hdr = map[string]string{"Authorization": f.srv.Key}
			}
			r := f.do(tc.method, tc.path, tc.query, tc.body, hdr)
			if r.status != tc.status {
				t.Errorf("status %d, want %d (body %s)", r.status, tc.status, r.body)
			}
			e := r.pgError(t)
			if e["code"] != tc.code {
				t.Errorf("code %v, want %s (body %s)", e["code"], tc.code, r.body)
			}
			if msg, _ := e["message"].(string); !strings.Contains(msg+" "+str(e["details"]), tc.messageContain) {
				t.Errorf("message %q and details %v do not mention %q", msg, e["details"], tc.messageContain)
			}
			if bytes.Contains(r.body, []byte(f.srv.Key)) {
				t.Errorf("the error body carries the key: %s", r.body)
			}
		})
	}
	if got := ids(t, f.do(http.MethodGet, "tp_items", "select=id", "", nil).body); len(got) != 5 {
		t.Errorf("refused writes changed the table: %v", got)
	}
}

// compact returns the JSON document b without insignificant space, so that
// answers compare by content (json_agg puts spaces and newlines in arrays).
func compact(t *testing.T, b []byte) string {
	t.Helper()
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		t.Fatalf("%q is not JSON: %v", b, err)
	}
	return out.String()
}

// str renders a JSON value for a message, "" for null.
func str(v any) string {
	s, _ := v.(string)
	return s
}

func TestSQLStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code string
		want int
	}{
		{"23505", 409}, {"23503", 409}, {"22P02", 400}, {"23514", 400}, {"23502", 400},
		{"P0001", 400}, {"P0002", 500}, {"LL001", 400}, {"42883", 404}, {"42P01", 404},
		{"42P17", 500}, {"42501", 403}, {"42703", 400}, {"08006", 503}, {"53300", 503},
		{"53400", 500}, {"25006", 405}, {"25P02", 500}, {"40001", 500}, {"28000", 403},
		{"0P000", 403}, {"57014", 500}, {"XX000", 500}, {"", 400},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			if got := sqlStatus(tc.code); got != tc.want {
				t.Errorf("sqlStatus(%q) = %d, want %d", tc.code, got, tc.want)
			}
		})
	}
}

func TestMaxRows(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, "", Options{MaxRows: 2})
	exact := map[string]string{"Prefer": "count=exact"}
	tests := []struct {
		name, path, query string
		want              []int
		rng               string
	}{
		{"no limit", "tp_items", "order=id.asc", []int{1, 2}, "0-1/5"},
		{"a larger limit", "tp_items", "order=id.asc&limit=4&offset=1", []int{2, 3}, "1-2/5"},
		{"a smaller limit", "tp_items", "order=id.asc&limit=1", []int{1}, "0-0/5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(http.MethodGet, tc.path, "select=id&"+tc.query, "", exact)
			if got := ids(t, r.body); r.status != http.StatusPartialContent || !slices.Equal(got, tc.want) {
				t.Errorf("status %d ids %v, want 206 %v", r.status, got, tc.want)
			}
			if got := r.header.Get("Content-Range"); got != tc.rng {
				t.Errorf("Content-Range %q, want %q", got, tc.rng)
			}
		})
	}
	r := f.do(http.MethodPost, "rpc/tp_items_over", "select=id&order=id.asc", `{"p_min":0}`, nil)
	if got := ids(t, r.body); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("rpc rows %v, want the first 2", got)
	}
}

func TestReadsCannotWrite(t *testing.T) {
	t.Parallel()
	// GET runs in a read-only transaction, as in PostgREST: a view that
	// writes is refused with 25006 (405) and changes nothing.
	f := newFixtureWith(t, `
		create function tp_bump() returns setof tp_items language sql as 'update tp_items set score = 0 returning *';
		create view tp_bumped as select * from tp_bump();`, Options{})
	r := f.do(http.MethodGet, "tp_bumped", "", "", nil)
	if e := r.pgError(t); r.status != http.StatusMethodNotAllowed || e["code"] != "25006" {
		t.Errorf("status %d code %v, want 405 25006", r.status, e["code"])
	}
	if got := ids(t, f.do(http.MethodGet, "tp_items", "score=eq.0", "", nil).body); len(got) != 0 {
		t.Errorf("a GET wrote rows %v", got)
	}
}

// TestPostgrestGoEncodings runs the builders of postgrest-go v0.0.12, the
// client the Supabase store uses, so that its encodings (two filters on one
// column become and=(...), In quotes values with commas, Order always adds a
// nulls modifier, Range becomes offset and limit) are the ones parsed here.
func TestPostgrestGoEncodings(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := postgrest.NewClient(f.srv.URL+"/rest/v1", "", map[string]string{
		"apikey": f.srv.Key, "Authorization": "Bearer " + f.srv.Key,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	asc := &postgrest.OrderOpts{Ascending: true}
	tests := []struct {
		name  string
		build func() *postgrest.FilterBuilder
		want  []int
		count int64
	}{
		{"two filters on one column", func() *postgrest.FilterBuilder {
			return c.From("tp_items").Select("id", "exact", false).Gt("id", "1").Lt("id", "4").Order("id", asc)
		}, []int{2, 3}, 2},
		{"three filters on one column", func() *postgrest.FilterBuilder {
			return c.From("tp_items").Select("id", "exact", false).Gt("id", "1").Lt("id", "5").Neq("id", "3").Order("id", asc)
		}, []int{2, 4}, 2},
		{"in with a comma", func() *postgrest.FilterBuilder {
			return c.From("tp_items").Select("id", "exact", false).In("name", []string{"a,b", "apple"}).Order("id", asc)
		}, []int{1, 3}, 2},
		// (Not cannot be used: v0.0.12 refuses its own "not.eq" operator.)
		{"or and neq", func() *postgrest.FilterBuilder {
			return c.From("tp_items").Select("id", "exact", false).Or("tag.is.null,tag.eq.veg", "").Neq("id", "5").Order("id", asc)
		}, []int{3}, 1},
		{"order with nulls and range", func() *postgrest.FilterBuilder {
			return c.From("tp_items").Select("id", "exact", false).Order("score", nil).Order("id", asc).Range(1, 2, "")
		}, []int{5, 1}, 5},
		{"ilike", func() *postgrest.FilterBuilder {
			return c.From("tp_items").Select("id", "exact", false).Ilike("name", "%RR%").Order("id", asc)
		}, []int{5}, 1},
		{"contains", func() *postgrest.FilterBuilder {
			return c.From("tp_items").Select("id", "exact", false).Contains("tags", []string{"red"})
		}, []int{1}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, n, err := tc.build().ExecuteWithContext(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(t, body); !slices.Equal(got, tc.want) || n != tc.count {
				t.Errorf("ids %v count %d, want %v %d", got, n, tc.want, tc.count)
			}
		})
	}

	t.Run("single", func(t *testing.T) {
		body, _, err := c.From("tp_items").Select("name", "", false).Eq("id", "2").Single().ExecuteWithContext(ctx)
		if err != nil || compact(t, body) != `{"name":"banana"}` {
			t.Errorf("Single = %s, %v", body, err)
		}
		_, _, err = c.From("tp_items").Select("name", "", false).Single().ExecuteWithContext(ctx)
		if err == nil || !strings.Contains(err.Error(), "(PGRST116)") {
			t.Errorf("Single on many rows: %v, want PGRST116", err)
		}
	})
	t.Run("rpc", func(t *testing.T) {
		body, _, err := c.From("rpc/tp_add").Insert(map[string]int{"a": 2, "b": 5}, false, "", "", "").ExecuteWithContext(ctx)
		if err != nil || string(body) != "7" {
			t.Errorf("rpc = %s, %v", body, err)
		}
	})
}

func TestNewHandlerRefusesBadSettings(t *testing.T) {
	t.Parallel()
	pool, _ := testdb.NewEmpty(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := NewHandler(ctx, pool, "", Options{}); err == nil {
		t.Error("an empty key was accepted")
	}
	if _, err := NewHandler(ctx, pool, "k", Options{MaxRows: -1}); err == nil {
		t.Error("a negative MaxRows was accepted")
	}
	if _, err := NewHandler(ctx, pool, "k", Options{}); err != nil {
		t.Errorf("valid settings: %v", err)
	}
}
