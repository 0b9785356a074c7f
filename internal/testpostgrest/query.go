package testpostgrest

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// reservedParams are the query parameters that are not filters.
var reservedParams = []string{"select", "order", "limit", "offset", "on_conflict", "columns"}

// operators maps PostgREST's comparison operators to SQL. "is" and "in" are
// handled on their own; like and ilike take the value as a pattern with "*"
// for "%".
var operators = map[string]string{
	"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<=",
	"like": "like", "ilike": "ilike", "match": "~", "imatch": "~*",
	"cs": "@>", "cd": "<@", "ov": "&&",
}

// patternOperators take their value as text, not as the column's type.
var patternOperators = []string{"like", "ilike", "match", "imatch"}

// isValues maps the values "is" accepts to SQL.
var isValues = map[string]string{"null": "null", "true": "true", "false": "false", "unknown": "unknown"}

// query is a parsed request: what to select, which rows, in which order, how
// many.
type query struct {
	rel        *relation
	selects    []selectItem
	where      []node
	order      []orderTerm
	limit      *int64
	offset     int64
	onConflict []string
	columns    []string
}

// selectItem is one entry of select=: a column, optionally renamed, or "*".
type selectItem struct {
	alias, col string
}

// orderTerm is one entry of order=.
type orderTerm struct {
	col   string
	desc  bool
	nulls string // "", "nulls first" or "nulls last"
}

// node is a horizontal filter: a condition or an and/or group.
type node interface {
	sql(b *binder, rel *relation) string
}

// cond is "column [not.]op.value".
type cond struct {
	col, op, value string
	list           []string // the values of in.(...)
	not            bool
}

// group is and(...) or or(...), possibly negated.
type group struct {
	or, not bool
	items   []node
}

// binder collects bound parameters; values never enter the SQL text.
type binder struct {
	args []any
}

// bind adds v and returns its placeholder.
func (b *binder) bind(v any) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
}

// ident quotes an identifier that the catalog vouched for.
func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// parseQuery reads the query string against rel.
func parseQuery(v url.Values, rel *relation) (*query, *apiError) {
	q := &query{rel: rel}
	var err *apiError
	if q.selects, err = parseSelect(v.Get("select"), rel); err != nil {
		return nil, err
	}
	if q.order, err = parseOrder(v.Get("order"), rel); err != nil {
		return nil, err
	}
	if s := v.Get("limit"); s != "" {
		n, perr := strconv.ParseInt(s, 10, 64)
		if perr != nil || n < 0 {
			return nil, errParse("invalid limit %q", s)
		}
		q.limit = &n
	}
	if s := v.Get("offset"); s != "" {
		n, perr := strconv.ParseInt(s, 10, 64)
		if perr != nil || n < 0 {
			return nil, errParse("invalid offset %q", s)
		}
		q.offset = n
	}
	if q.onConflict, err = columnList(v.Get("on_conflict"), rel); err != nil {
		return nil, err
	}
	if q.columns, err = columnList(v.Get("columns"), rel); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys) // a stable statement text for the same request
	for _, key := range keys {
		if slices.Contains(reservedParams, key) {
			continue
		}
		for _, val := range v[key] {
			n, err := parseParam(key, val, rel)
			if err != nil {
				return nil, err
			}
			q.where = append(q.where, n)
		}
	}
	return q, nil
}

// parseParam reads one filter parameter: col=[not.]op.value, or=(...),
// and=(...), not.or=(...), not.and=(...).
func parseParam(key, val string, rel *relation) (node, *apiError) {
	not := false
	logic := key
	if rest, ok := strings.CutPrefix(key, "not."); ok {
		not, logic = true, rest
	}
	if logic == "or" || logic == "and" {
		inner, ok := parenthesised(val)
		if !ok {
			return nil, errParse("%s needs a parenthesised list", key)
		}
		return parseGroup(logic == "or", not, inner, rel)
	}
	if !rel.has(key) {
		return nil, errUnknownColumn(rel.name, key)
	}
	return parseCond(key, val, false)
}

// parseCond reads "[not.]op.value" for col. Inside a logic tree (quoted),
// a value in double quotes is unquoted.
func parseCond(col, s string, quoted bool) (*cond, *apiError) {
	c := &cond{col: col}
	if rest, ok := strings.CutPrefix(s, "not."); ok {
		c.not, s = true, rest
	}
	op, value, ok := strings.Cut(s, ".")
	if !ok {
		return nil, errParse("%q has no operator", s)
	}
	c.op = op
	switch {
	case op == "in":
		inner, ok := parenthesised(value)
		if !ok {
			return nil, errParse("in needs a parenthesised list, got %q", value)
		}
		if inner != "" {
			for _, item := range splitTop(inner) {
				c.list = append(c.list, unquote(item))
			}
		}
	case op == "is":
		if _, ok := isValues[strings.ToLower(value)]; !ok {
			return nil, errParse("is accepts null, true, false or unknown, got %q", value)
		}
		c.value = strings.ToLower(value)
	case operators[op] != "":
		c.value = value
		if quoted {
			c.value = unquote(value)
		}
	default:
		return nil, errParse("unknown operator %q", op)
	}
	return c, nil
}

// parseGroup reads the inside of and(...)/or(...).
func parseGroup(or, not bool, inner string, rel *relation) (*group, *apiError) {
	g := &group{or: or, not: not}
	for _, item := range splitTop(inner) {
		n, err := parseTreeItem(item, rel)
		if err != nil {
			return nil, err
		}
		g.items = append(g.items, n)
	}
	if len(g.items) == 0 {
		return nil, errParse("empty logic tree")
	}
	return g, nil
}

// parseTreeItem reads one element of a logic tree: a nested group or
// col.[not.]op.value.
func parseTreeItem(item string, rel *relation) (node, *apiError) {
	not := false
	s := item
	if rest, ok := strings.CutPrefix(s, "not."); ok {
		not, s = true, rest
	}
	for _, logic := range []string{"and", "or"} {
		if rest, ok := strings.CutPrefix(s, logic+"("); ok && strings.HasSuffix(rest, ")") {
			return parseGroup(logic == "or", not, rest[:len(rest)-1], rel)
		}
	}
	col, rest, ok := strings.Cut(item, ".")
	if !ok {
		return nil, errParse("%q is not column.operator.value", item)
	}
	if !rel.has(col) {
		return nil, errUnknownColumn(rel.name, col)
	}
	return parseCond(col, rest, true)
}

// parenthesised returns what is inside "(...)", and false when s is not
// wrapped in parentheses.
func parenthesised(s string) (string, bool) {
	if len(s) < 2 || s[0] != '(' || s[len(s)-1] != ')' {
		return "", false
	}
	return s[1 : len(s)-1], true
}

// splitTop splits s at the commas that are outside double quotes and
// parentheses.
func splitTop(s string) []string {
	var out []string
	depth, start, inQuote := 0, 0, false
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == '\\' && inQuote:
			i++ // an escaped character inside quotes
		case ch == '"':
			inQuote = !inQuote
		case inQuote:
		case ch == '(':
			depth++
		case ch == ')':
			depth--
		case ch == ',' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// unquote removes surrounding double quotes and the backslash escapes inside
// them; a value without quotes is returned as it is.
func unquote(s string) string {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	var b strings.Builder
	inner := s[1 : len(s)-1]
	for i := 0; i < len(inner); i++ {
		if inner[i] == '\\' && i+1 < len(inner) {
			i++
		}
		b.WriteByte(inner[i])
	}
	return b.String()
}

// parseSelect reads select=: "*", col or alias:col, comma-separated.
// Embedding, casts and JSON paths are not supported.
func parseSelect(s string, rel *relation) ([]selectItem, *apiError) {
	if s == "" || s == "*" {
		return nil, nil
	}
	var out []selectItem
	for _, item := range strings.Split(s, ",") {
		if item == "*" {
			out = append(out, selectItem{})
			continue
		}
		alias, col, ok := strings.Cut(item, ":")
		if !ok {
			alias, col = item, item
		}
		if !rel.has(col) {
			return nil, errUnknownColumn(rel.name, col)
		}
		out = append(out, selectItem{alias: alias, col: col})
	}
	return out, nil
}

// parseOrder reads order=: col[.asc|.desc][.nullsfirst|.nullslast], comma-
// separated.
func parseOrder(s string, rel *relation) ([]orderTerm, *apiError) {
	if s == "" {
		return nil, nil
	}
	var out []orderTerm
	for _, item := range strings.Split(s, ",") {
		parts := strings.Split(item, ".")
		if !rel.has(parts[0]) {
			return nil, errUnknownColumn(rel.name, parts[0])
		}
		t := orderTerm{col: parts[0]}
		for _, p := range parts[1:] {
			switch p {
			case "asc":
				t.desc = false
			case "desc":
				t.desc = true
			case "nullsfirst":
				t.nulls = "nulls first"
			case "nullslast":
				t.nulls = "nulls last"
			default:
				return nil, errParse("unknown ordering %q", p)
			}
		}
		out = append(out, t)
	}
	return out, nil
}

// columnList reads a comma-separated list of columns of rel.
func columnList(s string, rel *relation) ([]string, *apiError) {
	if s == "" {
		return nil, nil
	}
	var out []string
	for _, col := range strings.Split(s, ",") {
		if !rel.has(col) {
			return nil, errUnknownColumn(rel.name, col)
		}
		out = append(out, col)
	}
	return out, nil
}

// sql renders the condition against the row alias _r, binding every value.
func (c *cond) sql(b *binder, rel *relation) string {
	col := "_r." + ident(c.col)
	typ := rel.byName[c.col].typ
	var expr string
	switch c.op {
	case "is":
		expr = col + " is " + isValues[c.value]
	case "in":
		if len(c.list) == 0 {
			expr = "false"
			break
		}
		ph := make([]string, len(c.list))
		for i, v := range c.list {
			ph[i] = b.bind(v) + "::text::" + typ
		}
		expr = col + " in (" + strings.Join(ph, ", ") + ")"
	default:
		if slices.Contains(patternOperators, c.op) {
			value := c.value
			if c.op == "like" || c.op == "ilike" {
				value = strings.ReplaceAll(value, "*", "%")
			}
			expr = col + " " + operators[c.op] + " " + b.bind(value) + "::text"
			break
		}
		expr = col + " " + operators[c.op] + " " + b.bind(c.value) + "::text::" + typ
	}
	if c.not {
		return "not (" + expr + ")"
	}
	return "(" + expr + ")"
}

// sql renders the group, its items joined by and/or.
func (g *group) sql(b *binder, rel *relation) string {
	parts := make([]string, len(g.items))
	for i, n := range g.items {
		parts[i] = n.sql(b, rel)
	}
	joiner := " and "
	if g.or {
		joiner = " or "
	}
	expr := "(" + strings.Join(parts, joiner) + ")"
	if g.not {
		return "not " + expr
	}
	return expr
}

// whereSQL renders every filter, and-ed; no filter is "true".
func (q *query) whereSQL(b *binder) string {
	if len(q.where) == 0 {
		return "true"
	}
	parts := make([]string, len(q.where))
	for i, n := range q.where {
		parts[i] = n.sql(b, q.rel)
	}
	return strings.Join(parts, " and ")
}

// selectSQL renders the select list over the row alias _r.
func (q *query) selectSQL() string {
	if len(q.selects) == 0 {
		return "_r.*"
	}
	parts := make([]string, len(q.selects))
	for i, s := range q.selects {
		if s.col == "" {
			parts[i] = "_r.*"
			continue
		}
		parts[i] = "_r." + ident(s.col) + " as " + ident(s.alias)
	}
	return strings.Join(parts, ", ")
}

// orderSQL renders order by, or "" without one.
func (q *query) orderSQL() string {
	if len(q.order) == 0 {
		return ""
	}
	parts := make([]string, len(q.order))
	for i, t := range q.order {
		p := "_r." + ident(t.col)
		if t.desc {
			p += " desc"
		}
		if t.nulls != "" {
			p += " " + t.nulls
		}
		parts[i] = p
	}
	return " order by " + strings.Join(parts, ", ")
}

// pageSQL renders limit and offset, bound.
func (q *query) pageSQL(b *binder) string {
	s := ""
	if q.limit != nil {
		s += " limit " + b.bind(*q.limit)
	}
	if q.offset > 0 {
		s += " offset " + b.bind(q.offset)
	}
	return s
}
