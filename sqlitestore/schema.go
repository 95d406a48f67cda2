package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations take the schema from one version to the next: migrations[i]
// from version i to i+1. The version is kept in PRAGMA user_version, 0 in a
// new database. Append to the list; never change what is in it.
var migrations = []string{
	// Times are Unix milliseconds. A record ends at the earlier of its two
	// deadlines; the expiry index is on that expression, which the queries
	// repeat word for word so that SQLite uses it.
	`CREATE TABLE records (
		key               TEXT PRIMARY KEY NOT NULL,
		version           INTEGER NOT NULL,
		created           INTEGER NOT NULL,
		last_seen         INTEGER NOT NULL,
		idle_deadline     INTEGER NOT NULL,
		absolute_deadline INTEGER NOT NULL,
		subject           TEXT NOT NULL,
		sid               TEXT NOT NULL,
		lease_until       INTEGER NOT NULL,
		blob              BLOB
	) STRICT;
	CREATE INDEX records_subject ON records (subject) WHERE subject <> '';
	CREATE INDEX records_sid ON records (sid) WHERE sid <> '';
	CREATE INDEX records_expires ON records (min(idle_deadline, absolute_deadline));`,
}

// migrate brings the schema of db up to the latest version in one
// transaction, and refuses a database written by a later version of this
// package.
func migrate(ctx context.Context, db *sql.DB, path string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("zenkey/sqlitestore: migrate %s: %w", path, err)
	}
	defer tx.Rollback()

	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("zenkey/sqlitestore: migrate %s: %w", path, err)
	}
	if version == len(migrations) {
		return nil
	}
	if version > len(migrations) {
		return fmt.Errorf("zenkey/sqlitestore: %s has schema version %d, and this version "+
			"of the package knows versions up to %d: upgrade it", path, version, len(migrations))
	}
	for v := version; v < len(migrations); v++ {
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			return fmt.Errorf("zenkey/sqlitestore: migrate %s to version %d: %w", path, v+1, err)
		}
	}
	// PRAGMA takes no parameters; len(migrations) is ours.
	setVersion := fmt.Sprintf("PRAGMA user_version = %d", len(migrations))
	if _, err := tx.ExecContext(ctx, setVersion); err != nil {
		return fmt.Errorf("zenkey/sqlitestore: migrate %s: %w", path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("zenkey/sqlitestore: migrate %s: %w", path, err)
	}
	return nil
}
