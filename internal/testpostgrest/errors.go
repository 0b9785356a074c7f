package testpostgrest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// apiError is an error answer in PostgREST's shape: {code, message, details,
// hint}, with null for an empty details or hint, and its HTTP status.
type apiError struct {
	status  int
	Code    string  `json:"code"`
	Message string  `json:"message"`
	Details *string `json:"details"`
	Hint    *string `json:"hint"`
}

// Error returns "(code) message", the text postgrest-go makes of an answer.
func (e *apiError) Error() string { return fmt.Sprintf("(%s) %s", e.Code, e.Message) }

// text returns a pointer to s, or nil (JSON null) for an empty s.
func text(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// pgrst builds one of PostgREST's own errors.
func pgrst(status int, code, message, details string) *apiError {
	return &apiError{status: status, Code: code, Message: message, Details: text(details)}
}

// Errors that PostgREST itself raises, with the statuses its documentation
// gives them.
func errParse(format string, args ...any) *apiError {
	return pgrst(http.StatusBadRequest, "PGRST100", "\"failed to parse filter\"", fmt.Sprintf(format, args...))
}

func errBody(details string) *apiError {
	return pgrst(http.StatusBadRequest, "PGRST102", "Empty or invalid json", details)
}

func errRange(offset, total int64) *apiError {
	return pgrst(http.StatusRequestedRangeNotSatisfiable, "PGRST103", "Requested range not satisfiable",
		fmt.Sprintf("An offset of %d was requested, but there are only %d rows.", offset, total))
}

func errProfile(schema string) *apiError {
	return pgrst(http.StatusNotAcceptable, "PGRST106", "Invalid schema: "+schema, "")
}

func errSingular(n int64) *apiError {
	return pgrst(http.StatusNotAcceptable, "PGRST116", "JSON object requested, multiple (or no) rows returned",
		fmt.Sprintf("The result contains %d rows", n))
}

func errNoFunction(name string, keys []string) *apiError {
	e := pgrst(http.StatusNotFound, "PGRST202",
		fmt.Sprintf("Could not find the function %s.%s(%s) in the schema cache", schemaName, name, strings.Join(keys, ", ")), "")
	e.Hint = text("If a new function was created in the database with this name and parameters, try reloading the schema cache.")
	return e
}

func errNoColumn(table, col string) *apiError {
	return pgrst(http.StatusBadRequest, "PGRST204",
		fmt.Sprintf("Could not find the '%s' column of '%s' in the schema cache", col, table), "")
}

func errNoTable(name string) *apiError {
	return pgrst(http.StatusNotFound, "PGRST205",
		fmt.Sprintf("Could not find the table '%s.%s' in the schema cache", schemaName, name), "")
}

func errUnknownColumn(table, col string) *apiError {
	return &apiError{status: http.StatusBadRequest, Code: "42703", Message: fmt.Sprintf("column %s.%s does not exist", table, col)}
}

func errMethod() *apiError {
	return pgrst(http.StatusMethodNotAllowed, "PGRST101", "Unsupported HTTP method for this resource", "")
}

func errUnauthorized(message string) *apiError {
	return pgrst(http.StatusUnauthorized, "PGRST301", message, "")
}

// sqlStatus maps a SQLSTATE to the HTTP status PostgREST answers with, per
// the table in its documentation ("Errors", "HTTP Status Codes"). Exact codes
// come before classes; anything unlisted is 400.
func sqlStatus(code string) int {
	switch code {
	case "23503", "23505":
		return http.StatusConflict
	case "25006":
		return http.StatusMethodNotAllowed
	case "53400":
		return http.StatusInternalServerError
	case "P0001":
		return http.StatusBadRequest
	case "42883", "42P01":
		return http.StatusNotFound
	case "42P17":
		return http.StatusInternalServerError
	case "42501":
		return http.StatusForbidden // the caller is authenticated (the service key)
	}
	if len(code) < 2 {
		return http.StatusBadRequest
	}
	switch code[:2] {
	case "08", "53":
		return http.StatusServiceUnavailable
	case "0L", "0P", "28":
		return http.StatusForbidden
	case "09", "25", "2D", "38", "39", "3B", "40", "54", "55", "57", "58", "F0", "HV", "P0", "XX":
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// fromDB turns a database error into PostgREST's answer. An error that is not
// Postgres's own (the connection, a timeout) is a 503 with no detail, as a
// proxy in front of PostgREST would give.
func fromDB(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return &apiError{status: sqlStatus(pe.Code), Code: pe.Code, Message: pe.Message, Details: text(pe.Detail), Hint: text(pe.Hint)}
	}
	return pgrst(http.StatusServiceUnavailable, "PGRST000", "Could not connect with the database", "")
}

// write sends e as the answer.
func (e *apiError) write(w http.ResponseWriter) {
	body, _ := json.Marshal(e)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
}
