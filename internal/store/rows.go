package store

import (
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner = interface{ Scan(...any) error }

// collect reads every row of a query with scan and closes the rows; what
// names the query in errors. It takes QueryContext's results as they are:
//
//	rows, err := q.q.QueryContext(ctx, query, args...)
//	return collect(rows, err, "list members", scanMember)
func collect[T any](rows *sql.Rows, err error, what string, scan func(rowScanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// inList appends vals to args and returns their placeholders ("$3, $4"),
// numbered after the arguments args holds already: the list of an IN (…).
func inList[T any](args []any, vals []T) ([]any, string) {
	var sb strings.Builder
	for k, v := range vals {
		if k > 0 {
			sb.WriteString(", ")
		}
		args = append(args, v)
		sb.WriteString("$" + strconv.Itoa(len(args)))
	}
	return args, sb.String()
}

// scanID reads a row of one id.
func scanID(r rowScanner) (int64, error) {
	var id int64
	err := r.Scan(&id)
	return id, err
}
