package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zenkey-go/zenkey"
)

// Options configures a [Store]. The zero value is ready to use.
type Options struct {
	// Table names the table of records. Default "zenkey_sessions". Only
	// letters, digits and underscores, not starting with a digit, at most 55
	// bytes (the names of its indexes extend it). To use another schema, set
	// the pool's search_path.
	Table string

	// SweepInterval is how often the sweeper deletes ended records. Default
	// five minutes. Negative turns the sweeper off (call [Store.Sweep] from
	// elsewhere then); ended records are invisible either way.
	SweepInterval time.Duration

	// SkipMigrate keeps New from creating or changing the table: for apps
	// that call [Store.Migrate] at deployment, as a role allowed to.
	SkipMigrate bool

	// Logger receives the sweeper's failures. Default nil: silence.
	Logger *slog.Logger
}

// A Store is a [zenkey.Store] kept in PostgreSQL. It is safe for concurrent
// use, also by several app instances sharing the database.
type Store struct {
	pool   *pgxpool.Pool
	table  string // as given, validated
	sql    queries
	logger *slog.Logger

	stop context.CancelFunc // stops the sweeper; nil when there is none
	done chan struct{}      // closed when the sweeper has stopped
}

var _ zenkey.Store = (*Store)(nil)

// New returns a store that keeps its records in pool, after migrating the
// table unless opts.SkipMigrate. It starts the sweeper, which [Store.Close]
// stops. The store does not close the pool.
func New(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Store, error) {
	if pool == nil {
		return nil, errors.New("zenkey/pgstore: nil pool")
	}
	table := opts.Table
	if table == "" {
		table = "zenkey_sessions"
	}
	if err := validTable(table); err != nil {
		return nil, err
	}
	s := &Store{pool: pool, table: table, sql: newQueries(table), logger: opts.Logger}

	if !opts.SkipMigrate {
		if err := s.Migrate(ctx); err != nil {
			return nil, err
		}
	}
	s.startSweeper(opts.SweepInterval)
	return s, nil
}

// Create inserts r if no row has its key, live or ended.
func (s *Store) Create(ctx context.Context, r *zenkey.Record) error {
	tag, err := s.pool.Exec(ctx, s.sql.create, r.Key, r.Created, r.LastSeen,
		r.IdleDeadline, r.AbsoluteDeadline, r.Subject, r.SID, r.LeaseUntil, blob(r))
	if err != nil {
		return fmt.Errorf("zenkey/pgstore: create: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return zenkey.ErrConflict
	}
	r.Version = 1
	return nil
}

// Get returns the live record with the key, in one round trip.
func (s *Store) Get(ctx context.Context, key string) (*zenkey.Record, error) {
	r := &zenkey.Record{Key: key}
	err := s.pool.QueryRow(ctx, s.sql.get, key, time.Now()).Scan(&r.Version, &r.Created,
		&r.LastSeen, &r.IdleDeadline, &r.AbsoluteDeadline, &r.Subject, &r.SID,
		&r.LeaseUntil, &r.Blob)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, zenkey.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("zenkey/pgstore: get: %w", err)
	}

	// pgx reads timestamptz in the local time zone. In UTC, a zero time
	// stays equal to time.Time{}.
	for _, t := range [...]*time.Time{
		&r.Created, &r.LastSeen, &r.IdleDeadline, &r.AbsoluteDeadline, &r.LeaseUntil,
	} {
		*t = t.UTC()
	}
	return r, nil
}

// Update replaces the stored record with r if it is live and has r's
// version.
func (s *Store) Update(ctx context.Context, r *zenkey.Record) error {
	tag, err := s.pool.Exec(ctx, s.sql.update, r.Key, r.Version, r.Created, r.LastSeen,
		r.IdleDeadline, r.AbsoluteDeadline, r.Subject, r.SID, r.LeaseUntil, blob(r),
		time.Now())
	if err != nil {
		return fmt.Errorf("zenkey/pgstore: update: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return zenkey.ErrConflict
	}
	r.Version++
	return nil
}

// Delete removes the record with the key.
func (s *Store) Delete(ctx context.Context, key string) error {
	if _, err := s.pool.Exec(ctx, s.sql.delete, key); err != nil {
		return fmt.Errorf("zenkey/pgstore: delete: %w", err)
	}
	return nil
}

// DeleteSubject removes every record whose Subject equals subject and
// reports how many live ones it removed. Records without a subject are not
// indexed: an empty subject removes nothing.
func (s *Store) DeleteSubject(ctx context.Context, subject string) (int, error) {
	return s.deleteWhere(ctx, s.sql.deleteSubject, subject)
}

// DeleteSID removes every record whose SID equals sid and reports how many
// live ones it removed. An empty sid removes nothing.
func (s *Store) DeleteSID(ctx context.Context, sid string) (int, error) {
	return s.deleteWhere(ctx, s.sql.deleteSID, sid)
}

// deleteWhere runs one of the delete-by-index queries for a value.
func (s *Store) deleteWhere(ctx context.Context, query, value string) (int, error) {
	if value == "" {
		return 0, nil
	}
	var n int
	if err := s.pool.QueryRow(ctx, query, value, time.Now()).Scan(&n); err != nil {
		return 0, fmt.Errorf("zenkey/pgstore: delete: %w", err)
	}
	return n, nil
}

// blob returns r.Blob, empty rather than nil: pgx sends nil as NULL.
func blob(r *zenkey.Record) []byte {
	if r.Blob == nil {
		return []byte{}
	}
	return r.Blob
}
