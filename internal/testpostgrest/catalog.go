package testpostgrest

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// schemaName is the one schema served, as Supabase exposes "public" by default.
const schemaName = "public"

// column is one column of a relation: its name and its type as format_type
// renders it (a type name Postgres itself produced, safe to put into SQL).
type column struct {
	name string
	typ  string
}

// relation is a table, view or a function's row type: its columns in order.
type relation struct {
	name    string
	columns []column
	byName  map[string]column
	pk      []string
}

// has reports whether the relation has a column called name.
func (r *relation) has(name string) bool {
	_, ok := r.byName[name]
	return ok
}

// function is one SQL function that POST /rpc/<name> may call.
type function struct {
	name string
	// args are the input arguments in order; the last nDefaults have defaults.
	args      []column
	nDefaults int
	setof     bool
	// rows is the row type when the function returns a composite (a table's
	// row type or OUT/TABLE columns); nil for a scalar.
	rows *relation
}

// catalog is the schema cache: the only identifiers a request may name. It
// plays the part of PostgREST's schema cache, which is also why an unknown
// table or function is refused before any SQL runs.
type catalog struct {
	relations map[string]*relation
	functions map[string][]*function
}

// loadCatalog reads the relations and functions of the served schema.
func loadCatalog(ctx context.Context, pool *pgxpool.Pool) (*catalog, error) {
	c := &catalog{relations: map[string]*relation{}, functions: map[string][]*function{}}
	rows, err := pool.Query(ctx, `
		select c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
		from pg_class c
		join pg_namespace n on n.oid = c.relnamespace
		join pg_attribute a on a.attrelid = c.oid
		where n.nspname = $1 and c.relkind in ('r', 'v', 'm', 'p', 'f')
		  and a.attnum > 0 and not a.attisdropped
		order by c.relname, a.attnum`, schemaName)
	if err != nil {
		return nil, fmt.Errorf("testpostgrest: reading columns: %w", err)
	}
	var table, name, typ string
	if _, err := pgx.ForEachRow(rows, []any{&table, &name, &typ}, func() error {
		r := c.relations[table]
		if r == nil {
			r = &relation{name: table, byName: map[string]column{}}
			c.relations[table] = r
		}
		r.add(column{name: name, typ: typ})
		return nil
	}); err != nil {
		return nil, fmt.Errorf("testpostgrest: reading columns: %w", err)
	}

	rows, err = pool.Query(ctx, `
		select c.relname, a.attname
		from pg_index i
		join pg_class c on c.oid = i.indrelid
		join pg_namespace n on n.oid = c.relnamespace
		join pg_attribute a on a.attrelid = c.oid and a.attnum = any(i.indkey)
		where n.nspname = $1 and i.indisprimary
		order by c.relname, array_position(i.indkey::int2[], a.attnum)`, schemaName)
	if err != nil {
		return nil, fmt.Errorf("testpostgrest: reading primary keys: %w", err)
	}
	if _, err := pgx.ForEachRow(rows, []any{&table, &name}, func() error {
		if r := c.relations[table]; r != nil {
			r.pk = append(r.pk, name)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("testpostgrest: reading primary keys: %w", err)
	}
	if err := c.loadFunctions(ctx, pool); err != nil {
		return nil, err
	}
	return c, nil
}

// add appends a column.
func (r *relation) add(col column) {
	r.columns = append(r.columns, col)
	r.byName[col.name] = col
}

// loadFunctions reads the functions of the served schema. Each argument's
// mode decides where it goes: i (in), b (inout) and v (variadic) are inputs;
// o, b and t (table) are columns of the result.
func (c *catalog) loadFunctions(ctx context.Context, pool *pgxpool.Pool) error {
	rows, err := pool.Query(ctx, `
		select p.proname, p.proretset, p.pronargdefaults,
		       coalesce(p.proargnames, '{}'),
		       coalesce(p.proargmodes::text[], array_fill('i'::text, array[cardinality(p.proargtypes)])),
		       coalesce(p.proallargtypes, p.proargtypes::oid[])::regtype[]::text[],
		       coalesce(rt.typrelid, 0) <> 0,
		       coalesce((select array_agg(a.attname order by a.attnum) from pg_attribute a
		                 where a.attrelid = rt.typrelid and a.attnum > 0 and not a.attisdropped), '{}'),
		       coalesce((select array_agg(format_type(a.atttypid, a.atttypmod) order by a.attnum) from pg_attribute a
		                 where a.attrelid = rt.typrelid and a.attnum > 0 and not a.attisdropped), '{}'),
		       rt.typname
		from pg_proc p
		join pg_namespace n on n.oid = p.pronamespace
		join pg_type rt on rt.oid = p.prorettype
		where n.nspname = $1 and p.prokind = 'f' and rt.typname <> 'trigger'`, schemaName)
	if err != nil {
		return fmt.Errorf("testpostgrest: reading functions: %w", err)
	}
	var (
		name, retType                  string
		setof, composite               bool
		nDefaults                      int
		argNames, modes, types         []string
		compositeNames, compositeTypes []string
	)
	_, err = pgx.ForEachRow(rows, []any{&name, &setof, &nDefaults, &argNames, &modes, &types, &composite, &compositeNames, &compositeTypes, &retType}, func() error {
		f := &function{name: name, setof: setof, nDefaults: nDefaults}
		out := &relation{name: name, byName: map[string]column{}}
		for i, mode := range modes {
			argName := ""
			if i < len(argNames) {
				argName = argNames[i]
			}
			col := column{name: argName, typ: types[i]}
			if mode == "i" || mode == "b" || mode == "v" {
				f.args = append(f.args, col)
			}
			if mode == "o" || mode == "b" || mode == "t" {
				out.add(col)
			}
		}
		switch {
		case composite:
			out = &relation{name: name, byName: map[string]column{}}
			for i := range compositeNames {
				out.add(column{name: compositeNames[i], typ: compositeTypes[i]})
			}
			f.rows = out
		case retType == "record" && len(out.columns) > 0:
			f.rows = out
		}
		c.functions[name] = append(c.functions[name], f)
		return nil
	})
	if err != nil {
		return fmt.Errorf("testpostgrest: reading functions: %w", err)
	}
	return nil
}

// resolve picks the overload of the function called name that the named
// arguments fit: every key names an input argument, and every argument
// without a default is given. It is PostgREST's rule for overloaded functions.
func (c *catalog) resolve(name string, keys []string) *function {
	for _, f := range c.functions[name] {
		if f.fits(keys) {
			return f
		}
	}
	return nil
}

// fits reports whether keys are a valid set of named arguments for f.
func (f *function) fits(keys []string) bool {
	given := map[string]bool{}
	for _, k := range keys {
		given[k] = true
	}
	known := 0
	for i, a := range f.args {
		if a.name == "" {
			return false // an unnamed argument cannot be passed by name
		}
		if given[a.name] {
			known++
			continue
		}
		if i < len(f.args)-f.nDefaults {
			return false
		}
	}
	return known == len(given)
}
