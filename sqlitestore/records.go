package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/zenkey-go/zenkey"
)

// The queries compare min(idle_deadline, absolute_deadline), when a record
// ends, with the time bound to :now, as the expiry index is on that
// expression. The conditions that exclude an empty subject or sid match the
// partial indexes.
const (
	createQuery = `INSERT INTO records (key, version, created, last_seen, idle_deadline,
		absolute_deadline, subject, sid, lease_until, blob)
	VALUES (:key, 1, :created, :last_seen, :idle_deadline,
		:absolute_deadline, :subject, :sid, :lease_until, :blob)
	ON CONFLICT (key) DO NOTHING`

	getQuery = `SELECT version, created, last_seen, idle_deadline, absolute_deadline,
		subject, sid, lease_until, blob
	FROM records
	WHERE key = :key AND min(idle_deadline, absolute_deadline) > :now`

	updateQuery = `UPDATE records
	SET version = version + 1, created = :created, last_seen = :last_seen,
		idle_deadline = :idle_deadline, absolute_deadline = :absolute_deadline,
		subject = :subject, sid = :sid, lease_until = :lease_until, blob = :blob
	WHERE key = :key AND version = :version AND min(idle_deadline, absolute_deadline) > :now`

	deleteQuery = `DELETE FROM records WHERE key = :key`
	// The indexed deletes answer a row per record removed: whether it was
	// live, so that only live ones are counted.
	deleteSubjectQuery = `DELETE FROM records WHERE subject = :v AND subject <> ''
	RETURNING min(idle_deadline, absolute_deadline) > :now`
	deleteSIDQuery = `DELETE FROM records WHERE sid = :v AND sid <> ''
	RETURNING min(idle_deadline, absolute_deadline) > :now`

	sweepQuery = `DELETE FROM records WHERE rowid IN (
		SELECT rowid FROM records
		WHERE min(idle_deadline, absolute_deadline) <= :now
		LIMIT :limit)`
)

// statements are the store's queries, prepared once: reads on the read
// pool, writes on the write connection.
type statements struct {
	create, get, update, delete, deleteSubject, deleteSID, sweep *sql.Stmt
}

func (st *statements) prepare(write, read *sql.DB) error {
	list := []struct {
		stmt  **sql.Stmt
		db    *sql.DB
		query string
	}{
		{&st.create, write, createQuery},
		{&st.get, read, getQuery},
		{&st.update, write, updateQuery},
		{&st.delete, write, deleteQuery},
		{&st.deleteSubject, write, deleteSubjectQuery},
		{&st.deleteSID, write, deleteSIDQuery},
		{&st.sweep, write, sweepQuery},
	}
	for _, q := range list {
		stmt, err := q.db.Prepare(q.query)
		if err != nil {
			return fmt.Errorf("zenkey/sqlitestore: prepare: %w", err)
		}
		*q.stmt = stmt
	}
	return nil
}

func (st *statements) close() error {
	var errs []error
	all := []*sql.Stmt{st.create, st.get, st.update, st.delete, st.deleteSubject, st.deleteSID,
		st.sweep}
	for _, stmt := range all {
		if stmt != nil {
			errs = append(errs, stmt.Close())
		}
	}
	return errors.Join(errs...)
}

// Create inserts r with Version 1, or returns zenkey.ErrConflict if its key
// is taken.
func (s *Store) Create(ctx context.Context, r *zenkey.Record) error {
	args := append(recordArgs(r), sql.Named("key", r.Key))
	n, err := affected(s.stmts.create.ExecContext(ctx, args...))
	if err != nil {
		return fmt.Errorf("zenkey/sqlitestore: create: %w", err)
	}
	if n == 0 {
		return zenkey.ErrConflict
	}
	r.Version = 1
	return nil
}

// Get returns the live record with the key, or zenkey.ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) (*zenkey.Record, error) {
	r := &zenkey.Record{Key: key}
	row := s.stmts.get.QueryRowContext(ctx, sql.Named("key", key), sql.Named("now", now()))
	err := row.Scan(&r.Version, millis{&r.Created}, millis{&r.LastSeen},
		millis{&r.IdleDeadline}, millis{&r.AbsoluteDeadline}, &r.Subject, &r.SID,
		millis{&r.LeaseUntil}, &r.Blob)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, zenkey.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("zenkey/sqlitestore: get: %w", err)
	}
	return r, nil
}

// Update replaces the live record with r's key if its version is
// r.Version, and sets r.Version to the next one. Otherwise it returns
// zenkey.ErrConflict.
func (s *Store) Update(ctx context.Context, r *zenkey.Record) error {
	// A version past the range of SQLite's integers matches no record.
	args := append(recordArgs(r), sql.Named("key", r.Key),
		sql.Named("version", int64(r.Version)), sql.Named("now", now()))
	n, err := affected(s.stmts.update.ExecContext(ctx, args...))
	if err != nil {
		return fmt.Errorf("zenkey/sqlitestore: update: %w", err)
	}
	if n == 0 {
		return zenkey.ErrConflict
	}
	r.Version++
	return nil
}

// Delete removes the record with the key, if there is one.
func (s *Store) Delete(ctx context.Context, key string) error {
	if _, err := affected(s.stmts.delete.ExecContext(ctx, sql.Named("key", key))); err != nil {
		return fmt.Errorf("zenkey/sqlitestore: delete: %w", err)
	}
	return nil
}

// DeleteSubject removes every record whose Subject is subject, and reports
// how many live ones it removed. An empty subject removes nothing.
func (s *Store) DeleteSubject(ctx context.Context, subject string) (int, error) {
	return deleteBy(ctx, s.stmts.deleteSubject, "subject", subject)
}

// DeleteSID removes every record whose SID is sid, and reports how many
// live ones it removed. An empty sid removes nothing.
func (s *Store) DeleteSID(ctx context.Context, sid string) (int, error) {
	return deleteBy(ctx, s.stmts.deleteSID, "sid", sid)
}

func deleteBy(ctx context.Context, stmt *sql.Stmt, field, v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	rows, err := stmt.QueryContext(ctx, sql.Named("v", v), sql.Named("now", now()))
	if err != nil {
		return 0, fmt.Errorf("zenkey/sqlitestore: delete by %s: %w", field, err)
	}
	n, err := countTrue(rows)
	if err != nil {
		return 0, fmt.Errorf("zenkey/sqlitestore: delete by %s: %w", field, err)
	}
	return n, nil
}

// countTrue reads rows of one boolean column to the end and counts the true
// ones. The statement is done only once its rows are.
func countTrue(rows *sql.Rows) (int, error) {
	defer rows.Close()
	n := 0
	for rows.Next() {
		var live bool
		if err := rows.Scan(&live); err != nil {
			return n, err
		}
		if live {
			n++
		}
	}
	return n, rows.Err()
}

// recordArgs binds the columns that Create and Update both write.
func recordArgs(r *zenkey.Record) []any {
	return []any{
		sql.Named("created", r.Created.UnixMilli()),
		sql.Named("last_seen", r.LastSeen.UnixMilli()),
		sql.Named("idle_deadline", r.IdleDeadline.UnixMilli()),
		sql.Named("absolute_deadline", r.AbsoluteDeadline.UnixMilli()),
		sql.Named("subject", r.Subject),
		sql.Named("sid", r.SID),
		sql.Named("lease_until", r.LeaseUntil.UnixMilli()),
		sql.Named("blob", r.Blob),
	}
}

func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// millis scans a column of Unix milliseconds into the time it points to.
// The zero time survives the trip: it comes back as a time for which IsZero
// reports true.
type millis struct{ t *time.Time }

func (m millis) Scan(src any) error {
	ms, ok := src.(int64)
	if !ok {
		return fmt.Errorf("zenkey/sqlitestore: time column holds %T, want an integer", src)
	}
	*m.t = time.UnixMilli(ms)
	return nil
}
