package pgstore

import (
	"fmt"

	"github.com/jackc/pgx/v5"
)

// queries holds the statements of a Store, made for its table. Every
// statement that needs the time takes it as a parameter: the app's clock,
// not the database's now().
type queries struct {
	create, get, update, delete string
	deleteSubject, deleteSID    string
	sweep                       string
}

// sweepBatch is how many ended rows one sweep statement deletes at most:
// small enough that no statement holds many locks for long.
const sweepBatch = 500

// newQueries returns the statements for a validated table name.
func newQueries(table string) queries {
	t := pgx.Identifier{table}.Sanitize()
	return queries{
		create: fmt.Sprintf(`INSERT INTO %s (key, version, created, last_seen,
				idle_deadline, absolute_deadline, subject, sid, lease_until, blob)
			VALUES ($1, 1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (key) DO NOTHING`, t),

		get: fmt.Sprintf(`SELECT version, created, last_seen, idle_deadline,
				absolute_deadline, subject, sid, lease_until, blob
			FROM %s
			WHERE key = $1 AND least(idle_deadline, absolute_deadline) > $2`, t),

		update: fmt.Sprintf(`UPDATE %s SET version = version + 1, created = $3,
				last_seen = $4, idle_deadline = $5, absolute_deadline = $6,
				subject = $7, sid = $8, lease_until = $9, blob = $10
			WHERE key = $1 AND version = $2
				AND least(idle_deadline, absolute_deadline) > $11`, t),

		delete: fmt.Sprintf(`DELETE FROM %s WHERE key = $1`, t),

		// The "<> ''" conditions repeat the partial indexes' predicates, so
		// that a generic plan, made without the parameter's value, uses them.
		deleteSubject: deleteCounting(t, `subject = $1 AND subject <> ''`),
		deleteSID:     deleteCounting(t, `sid = $1 AND sid <> ''`),

		// The ORDER BY keeps even a generic plan on the index of ends, and
		// SKIP LOCKED lets the sweepers of several instances share the work.
		sweep: fmt.Sprintf(`DELETE FROM %[1]s WHERE key IN (
				SELECT key FROM %[1]s
				WHERE least(idle_deadline, absolute_deadline) <= $1
				ORDER BY least(idle_deadline, absolute_deadline)
				LIMIT %[2]d FOR UPDATE SKIP LOCKED)`, t, sweepBatch),
	}
}

// deleteCounting returns a statement that deletes the rows of table t that
// match where, and counts those that were live at $2.
func deleteCounting(t, where string) string {
	return fmt.Sprintf(`WITH gone AS (
			DELETE FROM %s WHERE %s
			RETURNING least(idle_deadline, absolute_deadline) AS ends)
		SELECT count(*) FROM gone WHERE ends > $2`, t, where)
}
