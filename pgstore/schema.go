package pgstore

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// tablePattern admits the table names that need no escaping: 55 bytes
// leave room for the index names, within PostgreSQL's 63.
var tablePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,54}$`)

// validTable checks a table name against tablePattern.
func validTable(name string) error {
	if !tablePattern.MatchString(name) {
		return fmt.Errorf("zenkey/pgstore: table name %q: want letters, digits and "+
			"underscores, not starting with a digit, at most 55 bytes", name)
	}
	return nil
}

// migrations[i] brings the table from schema version i to i+1. In them, %[1]s
// is the quoted table name and %[2]s the bare name, which the index names
// extend.
var migrations = []string{
	`CREATE TABLE IF NOT EXISTS %[1]s (
		key               text PRIMARY KEY,
		version           bigint NOT NULL,
		created           timestamptz NOT NULL,
		last_seen         timestamptz NOT NULL,
		idle_deadline     timestamptz NOT NULL,
		absolute_deadline timestamptz NOT NULL,
		subject           text NOT NULL DEFAULT '',
		sid               text NOT NULL DEFAULT '',
		lease_until       timestamptz NOT NULL,
		blob              bytea NOT NULL
	);
	CREATE INDEX IF NOT EXISTS "%[2]s_subject" ON %[1]s (subject) WHERE subject <> '';
	CREATE INDEX IF NOT EXISTS "%[2]s_sid" ON %[1]s (sid) WHERE sid <> '';
	CREATE INDEX IF NOT EXISTS "%[2]s_ends" ON %[1]s (least(idle_deadline, absolute_deadline));`,
}

// commentPrefix starts the table comment that records the schema version.
const commentPrefix = "zenkey schema "

// Migrate creates the table, or brings it to the schema this package
// expects. It is safe to call from several instances at once: they take
// turns. It fails on a table made by a newer version of this package.
func (s *Store) Migrate(ctx context.Context) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("zenkey/pgstore: migrate: %w", err)
	}
	defer tx.Rollback(ctx) // a no-op after Commit

	if err := s.migrate(ctx, tx); err != nil {
		return fmt.Errorf("zenkey/pgstore: migrate %s: %w", s.table, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("zenkey/pgstore: migrate %s: %w", s.table, err)
	}
	return nil
}

// migrate applies the missing migrations in tx.
func (s *Store) migrate(ctx context.Context, tx pgx.Tx) error {
	// Instances that start together queue here, until the first commits.
	lock := "zenkey/pgstore:" + s.table
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext($1))", lock); err != nil {
		return err
	}

	quoted := pgx.Identifier{s.table}.Sanitize()
	version, err := schemaVersion(ctx, tx, quoted)
	if err != nil {
		return err
	}
	if version > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this package's %d",
			version, len(migrations))
	}
	if version == len(migrations) {
		return nil
	}

	for _, m := range migrations[version:] {
		if _, err := tx.Exec(ctx, fmt.Sprintf(m, quoted, s.table)); err != nil {
			return err
		}
	}
	comment := fmt.Sprintf("COMMENT ON TABLE %s IS '%s%d'", quoted, commentPrefix,
		len(migrations))
	_, err = tx.Exec(ctx, comment)
	return err
}

// schemaVersion reads the table's schema version from its comment: 0 when
// there is no table yet.
func schemaVersion(ctx context.Context, tx pgx.Tx, quoted string) (int, error) {
	var comment *string
	err := tx.QueryRow(ctx, "SELECT obj_description(to_regclass($1), 'pg_class')", quoted).
		Scan(&comment)
	if err != nil || comment == nil {
		return 0, err
	}
	v, ok := strings.CutPrefix(*comment, commentPrefix)
	n, err := strconv.Atoi(v)
	if !ok || err != nil || n < 0 {
		return 0, fmt.Errorf("table comment %q is not a zenkey schema version", *comment)
	}
	return n, nil
}
